"""The queue side of ingest: SQS records in, idempotent ingest, backpressure out.

A record whose manifest waits for capacity (``ResourceLimitExceeded``), or whose SageMaker
or S3 calls stayed throttled past every retry, is reported failed and hidden for a growing
time (exponential, with jitter), so it comes back when the quota may have freed. The last
attempt (``ApproximateReceiveCount`` reached ``max_receive_count``) answers instead: a
``capacity.exhausted`` rejection, the job name released, and ``AutoML Job Submission
Failed``; its message is consumed. A rejection is an answer, not a failure. Only a message
whose every receive failed for another reason (the function crashed or timed out) still
reaches the DLQ, which has an alarm.

Each manifest's outcome is reported to ``autopilot_flow.observability`` (metrics, and the log
line, with the S3 key and then the job name as correlation id, cleared after the manifest).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.exceptions import ClientError

from autopilot_flow import observability
from autopilot_flow.ingest import (
    CAPACITY_EXHAUSTED,
    REJECTED,
    Ingestor,
    ManifestObject,
    PreflightUnavailable,
    WaitingForCapacity,
    parse_notification,
)
from autopilot_flow.sagemaker import THROTTLING_CODES, error_code

IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600
MAX_VISIBILITY_SECONDS = 12 * 3600


@dataclass
class QueueIngest:
    ingestor: Ingestor
    sqs: Any
    queue_url: str
    max_receive_count: int
    capacity_retry_seconds: int
    capacity_retry_max_seconds: int = MAX_VISIBILITY_SECONDS
    idempotency: IdempotencyConfig | None = None

    def __post_init__(self) -> None:
        self._ingest_idempotent = self._ingest

    def enable_idempotency(self, persistence: DynamoDBPersistenceLayer) -> None:
        """Key on the object identity (bucket, key, version), never on the SQS message id:
        the same notification can arrive as several messages."""
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="identity",
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
            response_hook=_replayed,
        )
        self._ingest_idempotent = idempotent_function(
            data_keyword_argument="source",
            persistence_store=persistence,
            config=self.idempotency,
        )(self._ingest)

    def _ingest(self, source: dict[str, Any], last_attempt: bool) -> dict[str, Any]:
        obj = ManifestObject(
            bucket=source["bucket"],
            key=source["key"],
            version_id=source["version_id"],
            sequencer=source["sequencer"],
        )
        return self.ingestor.ingest(obj, last_attempt=last_attempt).to_dict()

    def handle_record(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one SQS record; raises when the message must stay queued."""
        receive_count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        last_attempt = receive_count >= self.max_receive_count
        outcomes = []
        for obj in parse_notification(record["body"]):
            source = {
                "identity": obj.identity,
                "bucket": obj.bucket,
                "key": obj.key,
                "version_id": obj.version_id,
                "sequencer": obj.sequencer,
            }
            with observability.correlation(obj.key):
                try:
                    outcome = self._ingest_idempotent(source=source, last_attempt=last_attempt)
                except WaitingForCapacity as exc:
                    observability.record_capacity_wait(
                        exc.job_name, final=last_attempt, reason=str(exc)
                    )
                    if not last_attempt:
                        self._delay(record, receive_count)
                    raise
                except (ClientError, PreflightUnavailable) as exc:
                    # Throttled past every retry, or S3/SageMaker out of reach: try again
                    # after the growing delay, not after the queue's whole visibility timeout.
                    transient = isinstance(exc, PreflightUnavailable) or (
                        error_code(exc) in THROTTLING_CODES
                    )
                    if transient and not last_attempt:
                        self._delay(record, receive_count)
                    raise
                replayed = bool(outcome.get("replayed"))
                if _capacity_exhausted(outcome) and not replayed:
                    observability.record_capacity_wait(
                        str(outcome.get("job_name") or ""), final=True, reason=CAPACITY_EXHAUSTED
                    )
                else:
                    observability.record_outcome(outcome, duplicate=replayed)
            outcomes.append(outcome)
        return outcomes

    def delay_seconds(self, receive_count: int) -> int:
        """Exponential in the number of receives, with jitter, capped at SQS's maximum."""
        base = self.capacity_retry_seconds * 2 ** min(receive_count - 1, 16)
        cap = min(self.capacity_retry_max_seconds, MAX_VISIBILITY_SECONDS)
        jittered = min(base, cap) * (0.5 + random.random() / 2)  # noqa: S311 - jitter
        return int(max(1, jittered))

    def _delay(self, record: dict[str, Any], receive_count: int) -> None:
        self.sqs.change_message_visibility(
            QueueUrl=self.queue_url,
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=self.delay_seconds(receive_count),
        )


def _capacity_exhausted(outcome: dict[str, Any]) -> bool:
    """The quota stayed full through the last attempt (a submission failed, answered)."""
    codes = {str(e.get("code")) for e in outcome.get("errors") or []}
    return outcome.get("status") == REJECTED and codes == {CAPACITY_EXHAUSTED}


def _replayed(response: Any, idempotent_data: Any) -> Any:
    """An earlier delivery of the same object version answered already: say so."""
    if isinstance(response, dict):
        return {**response, "replayed": True}
    return response


def build_queue_ingest(settings: Any, session: Any = None) -> QueueIngest:
    """Wire the ingest service from validated settings (``IngestSettings``)."""
    import boto3  # noqa: PLC0415 - the CLI never needs it

    from autopilot_flow import events as ev  # noqa: PLC0415
    from autopilot_flow.ingest import default_preflight  # noqa: PLC0415
    from autopilot_flow.registry import Registry  # noqa: PLC0415
    from autopilot_flow.sagemaker import SageMakerJobs, sagemaker_client  # noqa: PLC0415

    session = session or boto3.session.Session()
    sagemaker = sagemaker_client(session)
    s3 = session.client("s3")
    dynamodb = session.client("dynamodb")
    ingestor = Ingestor(
        s3=s3,
        jobs=SageMakerJobs(sagemaker),
        registry=Registry(dynamodb, settings.jobs_table),
        publisher=ev.EventPublisher(session.client("events"), settings.event_bus),
        policy=settings.policy,
        preflight=default_preflight if settings.preflight_enabled else None,
    )
    service = QueueIngest(
        ingestor=ingestor,
        sqs=session.client("sqs"),
        queue_url=settings.queue_url,
        max_receive_count=settings.max_receive_count,
        capacity_retry_seconds=settings.capacity_retry_seconds,
        capacity_retry_max_seconds=settings.capacity_retry_max_seconds,
    )
    service.enable_idempotency(
        DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)
    )
    return service
