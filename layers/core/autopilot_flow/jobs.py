"""The jobs service behind the HTTP API: submit, dry-run, list, show, rank and stop jobs;
approve or reject a job's model package, and list, roll back and undeploy endpoints (their
domain logic is ``autopilot_flow.endpoint_ops``).

Transport-free: each operation takes plain values and returns an ``ApiAnswer`` (status,
JSON body, headers) or raises ``ApiProblem`` (an RFC 9457 problem). The HTTP layer
(``autopilot_flow.http_api``) only parses requests and shapes responses.

Submitting goes through the same pipeline as the S3 door (``Ingestor.process``): validate,
policy, preflight, record, create, events, answer. The registry's ``sourceId`` of an API
submission is the caller plus a hash of the body (and its media type and name), so sending
the same manifest again finds its job instead of creating another. An ``Idempotency-Key``
adds Powertools idempotency on top: the same key with the same body replays the first
answer exactly; the same key with another body is a 409. Every submission's outcome is
reported to ``autopilot_flow.observability`` (metrics, log line, job name as correlation id).

Listing reads the registry's ``ByStatus`` index (status HASH, updatedAt RANGE), newest
first. Without a status filter every lifecycle status is a partition of its own: the pages of
each are merged by ``updatedAt``; the opaque page token holds, per partition, the last item
returned (or that the partition is done).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from autopilot_flow import endpoint_ops as eo
from autopilot_flow import leaderboard as lb
from autopilot_flow import observability
from autopilot_flow import registry as reg
from autopilot_flow import report as job_report
from autopilot_flow.ingest import (
    ALREADY_CREATED,
    CREATED,
    ApiSubmission,
    Ingestor,
    PreflightUnavailable,
    WaitingForCapacity,
    name_taken_issue,
)
from autopilot_flow.issues import Issue
from autopilot_flow.manifest import derive_job_name
from autopilot_flow.sagemaker import THROTTLING_CODES, Backoff, error_code
from autopilot_flow.validate import ValidationResult
from autopilot_flow.vocabulary import (
    JOB_PARTITIONS,
    JOB_STATUSES,
    LIFECYCLE_STATUSES,
    TERMINAL,
    ApprovalStatus,
    JobStatus,
    Lifecycle,
    ProblemType,
    problem_type_of,
)
from autopilot_flow.watcher import best_candidate_summary

EXTERNAL = Lifecycle.EXTERNAL

PROBLEM_TYPE_BASE = "https://autopilot-flow.dev/problems/"
PROBLEM_JSON = "application/problem+json"
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
MANIFEST_NAME = re.compile(r"^[^\x00-\x1f/\\]{1,255}$")

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
DEFAULT_TOP = 10
MAX_TOP = 100

YAML_MEDIA_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
JSON_MEDIA_TYPES = ("application/json",)


class ApiProblem(Exception):
    """An RFC 9457 problem: ``status``, a ``type`` URI, a ``title``, a ``detail``, extras."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {kind}: {detail}")
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update((k, v) for k, v in self.extra.items() if k not in body)
        return body

    def answer(self) -> ApiAnswer:
        return ApiAnswer(self.status, self.body(), self.headers, PROBLEM_JSON)


@dataclass
class ApiAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "contentType": self.content_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ApiAnswer:
        return cls(
            int(data["status"]),
            dict(data["body"]),
            dict(data.get("headers") or {}),
            str(data.get("contentType") or "application/json"),
        )


@dataclass(frozen=True)
class Caller:
    """Who asks, as API Gateway tells (IAM auth): for source ids, records and links."""

    request_id: str
    principal: str = "anonymous"
    base_path: str = ""  # the stage prefix of links, e.g. "/Prod" ("" offline)


def media_of(content_type: str | None) -> str:
    """``json`` or ``yaml`` from a Content-Type header (none means JSON); else a 415."""
    value = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if value in JSON_MEDIA_TYPES or value == "":
        return "json"
    if value in YAML_MEDIA_TYPES:
        return "yaml"
    raise ApiProblem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"a manifest is sent as application/json or application/yaml, not {value!r}.",
    )


def check_manifest_name(name: str | None) -> str | None:
    if name is None or name == "":
        return None
    if not MANIFEST_NAME.fullmatch(name):
        raise ApiProblem(
            400,
            "bad-request",
            "Bad request",
            "X-Manifest-Name must be a file name (1-255 characters, no slashes or control "
            "characters).",
        )
    return name


def submission_source_id(principal: str, media: str, name: str | None, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (media.encode(), (name or "").encode("utf-8", "surrogatepass"), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"api:{principal}:{digest.hexdigest()}"


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value if isinstance(value, str) else None


def _plain(value: Any) -> Any:
    """DynamoDB values as JSON: Decimal -> int/float, sets -> sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _best(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not summary:
        return None
    return {
        "candidateName": summary.get("candidateName"),
        "metricName": summary.get("metricName"),
        "value": _number(summary.get("value")),
    }


def links(name: str, base_path: str = "") -> dict[str, str]:
    own = f"{base_path}/jobs/{name}"
    return {"self": own, "candidates": f"{own}/candidates", "stop": f"{own}/stop"}


def not_found(name: str) -> ApiProblem:
    return ApiProblem(
        404,
        "job-not-found",
        "Job not found",
        f"there is no job named {name!r} (job names are 1-32 letters, digits and hyphens).",
    )


def _is_not_found(exc: ClientError) -> bool:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code == "ValidationException" and ("could not find" in message or "not exist" in message)
    )


def _unavailable(detail: str, retry_after: int) -> ApiProblem:
    return ApiProblem(
        503,
        "service-unavailable",
        "Service unavailable",
        detail,
        headers={"Retry-After": str(retry_after)},
    )


# --- the page token ----------------------------------------------------------------------------


Cursor = dict[str, list[str] | None]  # partition -> [updatedAt, jobKey] of the last item, or done


def encode_token(cursor: Cursor) -> str:
    raw = json.dumps({"v": 1, "c": cursor}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, partitions: tuple[str, ...]) -> Cursor:
    bad = ApiProblem(
        400,
        "invalid-page-token",
        "Invalid page token",
        "nextToken is not a token this API returned for the same filters; start again without it.",
    )
    if len(token) > 4096:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data.get("c"), dict):
        raise bad
    cursor: Cursor = {}
    for partition, value in data["c"].items():
        if partition not in partitions:
            raise bad
        if value is None:
            cursor[partition] = None
        elif (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, str) and 0 < len(v) <= 256 for v in value)
        ):
            cursor[partition] = [str(value[0]), str(value[1])]
        else:
            raise bad
    return cursor


@dataclass
class JobCatalog:
    """Pages of registry items, newest first, across one or more ``ByStatus`` partitions."""

    registry: reg.Registry

    def page(
        self,
        partitions: tuple[str, ...],
        filters: Mapping[str, str],
        limit: int,
        cursor: Cursor | None,
    ) -> tuple[list[reg.JobItem], Cursor | None]:
        state: Cursor = {p: [] for p in partitions}
        state.update(cursor or {})
        fetched: dict[str, list[reg.JobItem]] = {}
        done: dict[str, bool] = {}
        for partition in partitions:
            after = state[partition]
            if after is None:
                continue
            fetched[partition], done[partition] = self._fetch(partition, after, filters, limit)
        # k-way merge of lists already newest first (each in DynamoDB's own order).
        heads = dict.fromkeys(fetched, 0)
        taken: list[reg.JobItem] = []
        while len(taken) < limit:
            ready = [p for p in fetched if heads[p] < len(fetched[p])]
            if not ready:
                break
            best = max(
                ready,
                key=lambda p: (
                    str(fetched[p][heads[p]].get("updatedAt", "")),
                    -partitions.index(p),
                ),
            )
            item = fetched[best][heads[best]]
            heads[best] += 1
            taken.append(item)
            state[best] = [str(item["updatedAt"]), str(item["jobKey"])]
        for partition, items in fetched.items():
            if done[partition] and heads[partition] == len(items):
                state[partition] = None
        more = any(state[p] is not None for p in partitions)
        return taken, (state if more else None)

    def _fetch(
        self, partition: str, after: list[str], filters: Mapping[str, str], limit: int
    ) -> tuple[list[reg.JobItem], bool]:
        return self.registry.page_by_status(partition, after, filters, limit)


# --- the service ---------------------------------------------------------------------------------


@dataclass
class JobsService:
    ingestor: Ingestor
    sagemaker: Any
    bucket: str
    capacity_retry_seconds: int = 60
    backoff: Backoff = field(default_factory=Backoff)
    idempotency: Any = None  # Powertools IdempotencyConfig, once enabled
    endpoints: eo.EndpointOps | None = None  # approve/reject and the endpoint commands

    def __post_init__(self) -> None:
        self.catalog = JobCatalog(self.ingestor.registry)
        self._submit_once: Callable[..., dict[str, Any]] = self._submit_answer

    def enable_idempotency(self, persistence: Any) -> None:
        """``Idempotency-Key``: Powertools idempotency keyed on the caller and the key, with
        the body's hash validated (a different body under the same key is refused)."""
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
            IdempotencyConfig,
            idempotent_function,
        )

        def replayed(response: Any, idempotent_data: Any) -> Any:
            if isinstance(response, dict):
                body = response.get("body")
                job_name = body.get("jobName") if isinstance(body, dict) else None
                observability.record_outcome(
                    {"status": "replayed", "job_name": job_name}, duplicate=True
                )
                headers = dict(response.get("headers") or {})
                headers["Idempotent-Replayed"] = "true"
                return {**response, "headers": headers}
            return response

        self.idempotency = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="payload",
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
            response_hook=replayed,
        )
        self._submit_once = idempotent_function(
            data_keyword_argument="submission",
            persistence_store=persistence,
            config=self.idempotency,
        )(self._submit_answer)

    # --- POST /jobs ---------------------------------------------------------------------------

    def submit(
        self,
        body: bytes,
        media: str,
        caller: Caller,
        *,
        idempotency_key: str | None = None,
        manifest_name: str | None = None,
    ) -> ApiAnswer:
        manifest_name = check_manifest_name(manifest_name)
        source_id = submission_source_id(caller.principal, media, manifest_name, body)
        submission = {
            "key": f"{caller.principal}#{idempotency_key}",
            "payload": source_id,
            "requestId": caller.request_id,
            "basePath": caller.base_path,
            "media": media,
            "manifestName": manifest_name,
        }
        if idempotency_key is None:
            return ApiAnswer.from_dict(self._submit_answer(submission=submission, body=body))
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ApiProblem(
                400,
                "bad-request",
                "Bad request",
                "Idempotency-Key must be 1-255 visible ASCII characters.",
            )
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        try:
            answer = self._submit_once(submission=submission, body=body)
        except IdempotencyValidationError:
            raise ApiProblem(
                409,
                "idempotency-key-reused",
                "Idempotency key reused",
                "this Idempotency-Key was already used with a different request body; use a "
                "new key for a different manifest.",
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise ApiProblem(
                409,
                "request-in-progress",
                "Request in progress",
                "a request with this Idempotency-Key is still being processed; retry shortly.",
                headers={"Retry-After": "1"},
            ) from None
        return ApiAnswer.from_dict(answer)

    def _submit_answer(self, submission: dict[str, Any], body: bytes) -> dict[str, Any]:
        """One submission through the shared pipeline, as a JSON-able answer (so that the
        idempotency layer can store and replay it). Retryable conditions raise."""
        source = ApiSubmission(
            bucket=self.bucket,
            request_id=str(submission["requestId"]),
            source_id=str(submission["payload"]),
            media=str(submission["media"]),
            manifest_name=submission.get("manifestName"),
        )
        base_path = str(submission.get("basePath") or "")
        try:
            outcome = self.ingestor.process(source, body)
        except WaitingForCapacity as exc:
            observability.record_capacity_wait(exc.job_name, final=False, reason=str(exc))
            # Nothing resumes a 503'd submission but its caller sending it again (which claims
            # the name anew), so it holds no name meanwhile: another manifest may take it.
            self.ingestor.registry.release_waiting(exc.job_name, source.identity)
            raise ApiProblem(
                503,
                "waiting-for-capacity",
                "Waiting for AutoML capacity",
                f"the account's AutoML job quota is full; the job {exc.job_name!r} was not "
                "created. Send the same request again later: it resumes this submission.",
                extra={"jobName": exc.job_name},
                headers={"Retry-After": str(self.capacity_retry_seconds)},
            ) from None
        except PreflightUnavailable:
            raise _unavailable(
                "the input data could not be checked right now; send the same request again later.",
                self.capacity_retry_seconds,
            ) from None
        except ClientError as exc:
            if error_code(exc) in THROTTLING_CODES:
                raise _unavailable(
                    "AWS is throttling requests; send the same request again later.",
                    self.capacity_retry_seconds,
                ) from None
            raise
        observability.record_outcome(outcome.to_dict())
        receipt = f"s3://{self.bucket}/{outcome.answer}" if outcome.answer else None
        if outcome.status in (CREATED, ALREADY_CREATED):
            assert outcome.job_name is not None
            job_links = links(outcome.job_name, base_path)
            answer = ApiAnswer(
                202,
                {
                    "jobName": outcome.job_name,
                    "jobArn": outcome.job_arn,
                    "created": outcome.status == CREATED,
                    "source": source.describe(),
                    "receipt": receipt,
                    "defaultsApplied": outcome.defaults_applied,
                    "warnings": outcome.warnings,
                    "links": job_links,
                },
                {"Location": job_links["self"]},
            )
            return answer.to_dict()
        codes = {e["code"] for e in outcome.errors}
        extra = {
            "jobName": outcome.job_name,
            "errors": outcome.errors,
            "warnings": outcome.warnings,
            "report": receipt,
        }
        if codes == {"job_name.taken"}:
            problem = ApiProblem(
                409,
                "job-name-taken",
                "Job name taken",
                outcome.errors[0]["message"],
                extra=extra,
            )
        else:
            count = max(outcome.error_count, len(outcome.errors))
            plural = "s" if count != 1 else ""
            detail = f"the manifest has {count} error{plural}; nothing was created."
            if count > len(outcome.errors):
                detail += f" The first {len(outcome.errors)} are listed; the report has all."
            problem = ApiProblem(422, "invalid-manifest", "Invalid manifest", detail, extra=extra)
        return problem.answer().to_dict()

    # --- POST /jobs/validate --------------------------------------------------------------

    def dry_run(
        self,
        body: bytes,
        media: str,
        manifest_name: str | None = None,
        caller: Caller | None = None,
    ) -> ApiAnswer:
        manifest_name = check_manifest_name(manifest_name)
        source = ApiSubmission(self.bucket, "dry-run", "", media, manifest_name)
        try:
            result: ValidationResult = self.ingestor.check(body, source.source_name)
        except PreflightUnavailable:
            raise _unavailable(
                "the input data could not be checked right now; try again later.",
                self.capacity_retry_seconds,
            ) from None
        existing = None
        if result.valid and result.request is not None:
            # POST /jobs would claim this name next: say now if it cannot.
            job_name = result.job_name or derive_job_name(source.source_name, body)
            holder = self._name_holder(job_name, caller.base_path if caller else "")
            if holder is not None:
                record, existing = holder
                own = (
                    caller is not None
                    and record is not None
                    and record.get("sourceId")
                    == submission_source_id(caller.principal, media, manifest_name, body)
                )
                if own:
                    result.warnings.append(
                        Issue(
                            ("AutoMLJobName",),
                            "job_name.submitted",
                            f"this manifest already became the job {job_name!r}; POST /jobs "
                            "answers with that job (created=false) and creates nothing.",
                        )
                    )
                else:
                    result.errors.append(name_taken_issue(job_name, record))
        return ApiAnswer(
            200,
            {
                **result.to_dict(),
                "jobName": result.job_name,
                "defaultsApplied": result.defaults_applied,
                "request": result.request,
                "existingJob": existing,
            },
        )

    def _name_holder(
        self, job_name: str, base_path: str
    ) -> tuple[reg.JobItem | None, dict[str, Any]] | None:
        """Who already holds ``job_name``: (the registry record or None, the job as the dry run
        reports it), or None when the name is free. The registry's record unless it released
        the name (REJECTED, SUBMISSION_FAILED); else SageMaker's job of that name (names are
        unique per account, forever)."""
        record = self.ingestor.registry.get(job_name)
        if record is not None and record.get("status") not in reg.RELEASED:
            name = str(record.get("jobName") or job_name)
            return record, {
                "jobName": name,
                "lifecycle": record.get("status"),
                "status": record.get("jobStatus"),
                "createdAt": record.get("createdAt"),
                "links": links(name, base_path),
            }
        described = self._describe(job_name)
        if described is None:
            return None
        name = str(described.get("AutoMLJobName") or job_name)
        return None, {
            "jobName": name,
            "lifecycle": None,
            "status": described.get("AutoMLJobStatus"),
            "createdAt": _iso(described.get("CreationTime")),
            "links": links(name, base_path),
        }

    # --- GET /policy ------------------------------------------------------------------------

    def policy(self) -> dict[str, Any]:
        """The policy this stack applies to every manifest (both doors, and the dry run)."""
        policy = self.ingestor.policy
        return {"defaults": _plain(policy.defaults), "guardrails": _plain(policy.guardrails)}

    # --- GET /jobs ------------------------------------------------------------------------------

    def list_jobs(
        self,
        *,
        status: str | None = None,
        problem_type: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        next_token: str | None = None,
        base_path: str = "",
    ) -> dict[str, Any]:
        filters: dict[str, str] = {}
        if status is None:
            partitions: tuple[str, ...] = LIFECYCLE_STATUSES
        elif status in LIFECYCLE_STATUSES:
            partitions = (status,)
        elif status in JOB_STATUSES:
            partitions = JOB_PARTITIONS
            filters["jobStatus"] = status
        else:
            raise ApiProblem(
                400,
                "bad-request",
                "Bad request",
                f"unknown status {status!r}; use one of "
                f"{', '.join(LIFECYCLE_STATUSES + JOB_STATUSES)}.",
            )
        if problem_type is not None:
            if problem_type not in set(ProblemType):
                raise ApiProblem(
                    400,
                    "bad-request",
                    "Bad request",
                    f"unknown problemType {problem_type!r}; use one of {', '.join(ProblemType)}.",
                )
            filters["problemType"] = problem_type
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ApiProblem(400, "bad-request", "Bad request", f"limit must be 1-{MAX_PAGE_SIZE}.")
        cursor = decode_token(next_token, partitions) if next_token else None
        items, after = self.catalog.page(partitions, filters, limit, cursor)
        return {
            "jobs": [self._summary(item, base_path) for item in items],
            "nextToken": encode_token(after) if after else None,
        }

    def _summary(self, item: reg.JobItem, base_path: str) -> dict[str, Any]:
        name = str(item.get("jobName") or item["jobKey"])
        return {
            "jobName": name,
            "lifecycle": item.get("status"),
            "managed": bool(item.get("sourceId")) and item.get("status") != EXTERNAL,
            "status": item.get("jobStatus"),
            "secondaryStatus": item.get("secondaryStatus"),
            "problemType": item.get("problemType"),
            "createdAt": item.get("createdAt"),
            "updatedAt": item.get("updatedAt"),
            "bestCandidate": _best(item.get("bestCandidate")),
            "links": links(name, base_path),
        }

    # --- GET /jobs/{name} -----------------------------------------------------------------

    def _describe(self, name: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self.backoff.call(
                lambda: self.sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name)
            )
        except ClientError as exc:
            if _is_not_found(exc):
                return None
            if error_code(exc) in THROTTLING_CODES:
                raise _unavailable(
                    "SageMaker is throttling requests; try again shortly.", 1
                ) from None
            raise
        return response

    def get_job(self, name: str, base_path: str = "") -> dict[str, Any]:
        if not JOB_NAME.fullmatch(name):
            raise not_found(name)
        record = self.ingestor.registry.get(name)
        live = None
        if record is None or record.get("status") != reg.REJECTED:
            live = self._describe(name)
        if record is None and live is None:
            raise not_found(name)
        record = _plain(record or {})
        live = live or {}
        job_name = str(live.get("AutoMLJobName") or record.get("jobName") or name)
        deploy_result = live.get("ModelDeployResult") or {}
        deployment = record.get("deployment")
        endpoint = deploy_result.get("EndpointName") or (
            deployment.get("endpointName") if isinstance(deployment, dict) else None
        )
        best = best_candidate_summary(live) if live else None
        return {
            "jobName": job_name,
            "jobArn": live.get("AutoMLJobArn") or record.get("jobArn"),
            "managed": bool(record.get("sourceId")) and record.get("status") != EXTERNAL,
            "lifecycle": record.get("status"),
            "status": live.get("AutoMLJobStatus") or record.get("jobStatus"),
            "secondaryStatus": live.get("AutoMLJobSecondaryStatus")
            or record.get("secondaryStatus"),
            "failureReason": live.get("FailureReason") or record.get("failureReason"),
            "problemType": record.get("problemType") or problem_type_of(live),
            "source": record.get("source"),
            "createdAt": record.get("createdAt"),
            "updatedAt": record.get("updatedAt"),
            "creationTime": _iso(live.get("CreationTime")),
            "lastModifiedTime": _iso(live.get("LastModifiedTime")),
            "endTime": _iso(live.get("EndTime")),
            "bestCandidate": _best(best) or _best(record.get("bestCandidate")),
            "endpointName": endpoint,
            "deploymentRequested": bool(record.get("deploymentConfig")),
            "deployment": deployment if isinstance(deployment, dict) else None,
            "deploymentAt": record.get("deploymentAt"),
            "registration": record.get("registration") or None,
            "approval": record.get("approval") or None,
            "stateHistory": record.get("stateHistory") or [],
            "reports": job_report.reports_from_description(live) if live else {},
            "errors": record.get("errors") or [],
            "warnings": record.get("warnings") or [],
            "defaultsApplied": record.get("defaultsApplied") or [],
            "manifest": _manifest_as_sent(record),
            "links": links(job_name, base_path),
        }

    # --- GET /jobs/{name}/candidates ----------------------------------------------------------

    def candidates(self, name: str, top: int = DEFAULT_TOP) -> dict[str, Any]:
        if not 1 <= top <= MAX_TOP:
            raise ApiProblem(400, "bad-request", "Bad request", f"top must be 1-{MAX_TOP}.")
        if not JOB_NAME.fullmatch(name):
            raise not_found(name)
        description = self._describe(name)
        if description is None:
            raise not_found(name)
        reader = lb.LeaderboardWriter(sagemaker=self.sagemaker, s3=None, backoff=self.backoff)
        try:
            found = reader.candidates(str(description["AutoMLJobName"]))
        except ClientError as exc:
            if _is_not_found(exc):
                raise not_found(name) from None
            raise
        board = lb.build(description, found)
        document = board.document()
        document["candidates"] = [_plain(row) for row in board.rows[:top]]
        document["best"] = _plain(board.best)
        return document

    # --- POST /jobs/{name}/stop --------------------------------------------------------------

    def stop(self, name: str, base_path: str = "") -> ApiAnswer:
        if not JOB_NAME.fullmatch(name):
            raise not_found(name)
        record = self.ingestor.registry.get(name)
        managed = (
            record is not None
            and bool(record.get("sourceId"))
            and record.get("status") not in (EXTERNAL, reg.REJECTED)
        )
        if record is not None and record.get("status") == reg.REJECTED:
            raise ApiProblem(
                409,
                "job-not-created",
                "Job not created",
                f"the manifest for {name!r} was rejected; there is no job to stop.",
            )
        if managed and record is not None and record.get("status") == reg.WAITING_FOR_CAPACITY:
            if self.ingestor.registry.request_cancel(name):
                job_links = links(name, base_path)
                return ApiAnswer(
                    202,
                    {
                        "jobName": name,
                        "jobArn": None,
                        "status": "Cancelling",
                        "previousStatus": reg.WAITING_FOR_CAPACITY,
                        "links": job_links,
                    },
                    {"Location": job_links["self"]},
                )
            record = self.ingestor.registry.get(name)  # it moved on meanwhile
        description = self._describe(name)
        if description is None:
            if record is None:
                raise not_found(name)
            raise ApiProblem(
                409,
                "job-not-created",
                "Job not created",
                f"{name!r} has not become a SageMaker job (it is {record.get('status')}); "
                "there is nothing to stop yet.",
            )
        if not managed:
            raise ApiProblem(
                409,
                "job-not-managed",
                "Job not managed here",
                f"{name!r} was not created by Autopilot Flow; stop it where it was started.",
            )
        job_name = str(description["AutoMLJobName"])
        status = str(description.get("AutoMLJobStatus"))
        if status in TERMINAL:
            raise _already_ended(job_name, status)
        if status != JobStatus.STOPPING:
            try:
                self.backoff.call(lambda: self.sagemaker.stop_auto_ml_job(AutoMLJobName=job_name))
            except ClientError as exc:
                if error_code(exc) in THROTTLING_CODES:
                    raise _unavailable(
                        "SageMaker is throttling requests; try again shortly.", 1
                    ) from None
                # The job ended between Describe and Stop.
                again = self._describe(job_name) or {}
                if str(again.get("AutoMLJobStatus")) in TERMINAL:
                    raise _already_ended(job_name, str(again["AutoMLJobStatus"])) from None
                raise
        job_links = links(job_name, base_path)
        return ApiAnswer(
            202,
            {
                "jobName": job_name,
                "jobArn": description.get("AutoMLJobArn"),
                "status": JobStatus.STOPPING,
                "previousStatus": status,
                "links": job_links,
            },
            {"Location": job_links["self"]},
        )

    # --- approve / reject, the endpoint inventory, rollback, undeploy ------------------------

    def _endpoint_ops(self) -> eo.EndpointOps:
        if self.endpoints is None:
            raise RuntimeError("the API has no endpoint operations configured")
        return self.endpoints

    def review(
        self, name: str, decision: ApprovalStatus, caller: Caller, note: str | None
    ) -> ApiAnswer:
        """POST /jobs/{name}/approve|reject: the job's pending model package."""
        if not JOB_NAME.fullmatch(name):
            raise not_found(name)
        with _refusals():
            answer = self._endpoint_ops().review(name, decision, caller.principal, note)
        job_links = links(str(answer["jobName"]), caller.base_path)
        answer["links"] = job_links
        status = 202 if decision == ApprovalStatus.APPROVED else 200
        return ApiAnswer(status, answer, {"Location": job_links["self"]})

    def list_endpoints(self, base_path: str = "") -> dict[str, Any]:
        """GET /endpoints: every endpoint this stack manages."""
        with _refusals():
            rows = self._endpoint_ops().inventory()
        for row in rows:
            row["links"] = endpoint_links(str(row["endpointName"]), base_path)
        return {"endpoints": rows}

    def rollback(self, endpoint: str, caller: Caller) -> ApiAnswer:
        """POST /endpoints/{name}/rollback: FinalizeJob puts the previous live job back."""
        with _refusals():
            answer = self._endpoint_ops().rollback(endpoint, caller.principal)
        answer["startDate"] = _iso(answer.get("startDate"))
        answer["links"] = {
            **endpoint_links(str(answer["endpointName"]), caller.base_path),
            "job": links(str(answer["jobName"]), caller.base_path)["self"],
        }
        return ApiAnswer(202, answer, {"Location": f"{caller.base_path}/endpoints"})

    def undeploy(self, endpoint: str, caller: Caller) -> ApiAnswer:
        """DELETE /endpoints/{name}: delete an endpoint this stack created."""
        with _refusals():
            answer = self._endpoint_ops().undeploy(endpoint, caller.principal)
        answer["links"] = endpoint_links(str(answer["endpointName"]), caller.base_path)
        return ApiAnswer(202 if answer["status"] == "Deleting" else 200, answer)


def endpoint_links(name: str, base_path: str = "") -> dict[str, str]:
    own = f"{base_path}/endpoints/{name}"
    return {"self": own, "rollback": f"{own}/rollback"}


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """endpoint_ops' refusals as problems (status, a stable code, a plain message)."""
    try:
        yield
    except eo.Refused as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
        raise ApiProblem(
            refused.status,
            refused.code,
            refused.title,
            refused.message,
            extra=refused.extra,
            headers=headers,
        ) from None


def _manifest_as_sent(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The registry keeps the request as sent and the manifest's own sections (JSON text):
    together, a manifest that runs the job again (``autopilot-flow resubmit``)."""
    if not record.get("request"):
        return None
    manifest: dict[str, Any] = json.loads(str(record["request"]))
    for section, stored in (
        ("Deployment", "deploymentConfig"),
        ("Notifications", "notificationsConfig"),
    ):
        if record.get(stored):
            manifest[section] = json.loads(str(record[stored]))
    return manifest


def _already_ended(name: str, status: str) -> ApiProblem:
    return ApiProblem(
        409,
        "job-already-ended",
        "Job already ended",
        f"{name!r} is already {status}; only a running job can be stopped.",
        extra={"jobName": name, "jobStatus": status},
    )


def build_jobs_service(settings: Any, session: Any = None) -> JobsService:
    """Wire the API's service from validated settings (``ApiSettings``)."""
    import boto3  # noqa: PLC0415 - the CLI never needs it
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
        DynamoDBPersistenceLayer,
    )
    from botocore.config import Config  # noqa: PLC0415

    from autopilot_flow import events as ev  # noqa: PLC0415
    from autopilot_flow.ingest import default_preflight  # noqa: PLC0415
    from autopilot_flow.sagemaker import SageMakerJobs, sagemaker_client  # noqa: PLC0415

    session = session or boto3.session.Session()
    sagemaker = sagemaker_client(session)
    dynamodb = session.client("dynamodb")
    ingestor = Ingestor(
        s3=session.client("s3"),
        jobs=SageMakerJobs(sagemaker),
        registry=reg.Registry(dynamodb, settings.jobs_table),
        publisher=ev.EventPublisher(session.client("events"), settings.event_bus),
        policy=settings.policy,
        preflight=default_preflight if settings.preflight_enabled else None,
    )
    service = JobsService(
        ingestor=ingestor,
        sagemaker=sagemaker,
        bucket=settings.manifests_bucket,
        capacity_retry_seconds=settings.capacity_retry_seconds,
        backoff=ingestor.jobs.backoff,
    )
    service.enable_idempotency(
        DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb)
    )
    service.endpoints = eo.build_endpoint_ops(
        ingestor.registry,
        sagemaker,
        # One retry policy for throttling (the Backoff), as for SageMaker.
        session.client(
            "stepfunctions", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
        ),
        stack=settings.stack_name,
        state_machine_arn=settings.finalize_state_machine_arn,
        backoff=service.backoff,
    )
    return service
