"""The job registry (docs/architecture.md): one DynamoDB item per job, conditional writes only.

Key: ``jobKey`` = the job name in lower case (SageMaker job names are unique per account and
case-insensitive). ``sourceId`` names the manifest object version (or API request) the job
came from; every write is conditional on it, so two manifests can never share a job and a
redelivered manifest can never create a second one. The ``ByStatus`` index serves "jobs by
status", newest first (``updatedAt``).

A name whose record never became a job is released: ``REJECTED`` and ``SUBMISSION_FAILED``
(the quota stayed full through every attempt) records may be claimed by another source, and
an API submission answered 503 gives its claim up (``release_waiting``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from autopilot_flow import vocabulary
from autopilot_flow.vocabulary import Lifecycle

# The lifecycle words (autopilot_flow.vocabulary), under the names callers use.
SUBMITTED = Lifecycle.SUBMITTED
CREATED = Lifecycle.CREATED
REJECTED = Lifecycle.REJECTED
WAITING_FOR_CAPACITY = Lifecycle.WAITING_FOR_CAPACITY
SUBMISSION_FAILED = Lifecycle.SUBMISSION_FAILED
EXTERNAL = Lifecycle.EXTERNAL
# Records that never became a SageMaker job: their name is free to claim.
RELEASED = vocabulary.RELEASED

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_key(job_name: str) -> str:
    return job_name.lower()


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a job name for a source."""

    state: str  # "new", "same_source" or "other_source"
    item: dict[str, Any]


class Registry:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def get(self, job_name: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table_name, Key={"jobKey": {"S": job_key(job_name)}}, ConsistentRead=True
        )
        item = response.get("Item")
        return _from_item(item) if item else None

    def claim(
        self,
        *,
        job_name: str,
        source_id: str,
        source: dict[str, Any],
        request: dict[str, Any],
        problem_type: str | None,
        defaults_applied: list[str],
        warnings: list[dict[str, str]],
        deployment: dict[str, Any] | None = None,
        notifications: dict[str, Any] | None = None,
        content_digest: str | None = None,
    ) -> Claim:
        """Create the SUBMITTED record, unless the name is already taken.

        ``deployment`` and ``notifications`` are the manifest's own sections (stripped from
        the request); FinalizeJob reads them when the job ends. Stored as JSON text, like
        ``request``, under ``deploymentConfig`` and ``notificationsConfig``.
        ``content_digest`` (``contentDigest``, the SHA-256 of the manifest's bytes) tells an
        identical re-upload of the same key from a different manifest."""
        stamp = now_iso()
        values = {
            "jobKey": job_key(job_name),
            "jobName": job_name,
            "status": SUBMITTED,
            "sourceId": source_id,
            "source": source,
            "request": json.dumps(request, sort_keys=True),
            "problemType": problem_type,
            "defaultsApplied": defaults_applied,
            "warnings": warnings,
            "attempts": 0,
            "deploymentConfig": json.dumps(deployment, sort_keys=True) if deployment else None,
            "notificationsConfig": (
                json.dumps(notifications, sort_keys=True) if notifications else None
            ),
            "contentDigest": content_digest,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        try:
            # A REJECTED or SUBMISSION_FAILED record never became a job (SageMaker never saw
            # the name, refused it, or had no capacity for it): another manifest, or the
            # same one uploaded again, may take the name over.
            self.client.put_item(
                TableName=self.table_name,
                Item=_to_item(values),
                ConditionExpression="attribute_not_exists(jobKey) OR #status IN (:r0, :r1)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":r0": {"S": RELEASED[0]}, ":r1": {"S": RELEASED[1]}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            existing = self.get(job_name) or {}
            state = "same_source" if existing.get("sourceId") == source_id else "other_source"
            return Claim(state, existing)
        return Claim("new", values)

    def _update(
        self, job_name: str, source_id: str, changes: dict[str, Any], add_attempt: bool = False
    ) -> None:
        changes = {**changes, "updatedAt": now_iso()}
        names = {f"#f{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": _SERIALIZER.serialize(v) for i, v in enumerate(changes.values())}
        values[":source"] = {"S": source_id}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes)))
        if add_attempt:
            expression += " ADD attempts :one"
            values[":one"] = {"N": "1"}
        self.client.update_item(
            TableName=self.table_name,
            Key={"jobKey": {"S": job_key(job_name)}},
            UpdateExpression=expression,
            ConditionExpression="sourceId = :source",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def mark_created(self, job_name: str, source_id: str, job_arn: str) -> None:
        self._update(job_name, source_id, {"status": CREATED, "jobArn": job_arn})

    def mark_waiting(self, job_name: str, source_id: str, reason: str) -> None:
        self._update(
            job_name,
            source_id,
            {"status": WAITING_FOR_CAPACITY, "waitReason": reason},
            add_attempt=True,
        )

    def mark_rejected(
        self, job_name: str, source_id: str, errors: list[dict[str, str]], report: str
    ) -> None:
        self._update(job_name, source_id, {"status": REJECTED, "errors": errors, "report": report})

    def mark_submission_failed(
        self,
        job_name: str,
        source_id: str,
        reason: str,
        errors: list[dict[str, str]] | None = None,
        report: str | None = None,
    ) -> None:
        """The quota stayed full through every attempt: no job, and the name is released."""
        changes: dict[str, Any] = {"status": SUBMISSION_FAILED, "failureReason": reason}
        if errors is not None:
            changes["errors"] = errors
        if report is not None:
            changes["report"] = report
        self._update(job_name, source_id, changes)

    def request_cancel(self, job_name: str) -> bool:
        """Cancel a submission still waiting for capacity: when its queued message comes back,
        it is answered ``cancelled`` (and the name released) instead of creating the job.
        True when it was waiting."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"jobKey": {"S": job_key(job_name)}},
                UpdateExpression="SET cancelRequested = :yes, updatedAt = :now",
                ConditionExpression="#status = :waiting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":yes": {"BOOL": True},
                    ":now": {"S": now_iso()},
                    ":waiting": {"S": WAITING_FOR_CAPACITY},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_waiting(self, job_name: str, source_id: str) -> bool:
        """Give up a claim that is waiting for capacity and that nothing will resume on its
        own (an API submission answered 503: its caller sends it again, and that claims the
        name anew). Only this source's waiting record is removed; True when it was."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"jobKey": {"S": job_key(job_name)}},
                ConditionExpression="sourceId = :source AND #status = :waiting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":source": {"S": source_id},
                    ":waiting": {"S": WAITING_FOR_CAPACITY},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_rejection(
        self,
        *,
        job_name: str,
        source_id: str,
        source: dict[str, Any],
        errors: list[dict[str, str]],
        report: str,
    ) -> bool:
        """Record a rejected manifest under its job name if that name is free (or already this
        source's); a name held by another job is left alone. True when written."""
        stamp = now_iso()
        values = {
            "jobKey": job_key(job_name),
            "jobName": job_name,
            "status": REJECTED,
            "sourceId": source_id,
            "source": source,
            "errors": errors,
            "report": report,
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=_to_item(values),
                ConditionExpression="attribute_not_exists(jobKey) OR "
                "(sourceId = :source AND #status = :rejected)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":source": {"S": source_id},
                    ":rejected": {"S": REJECTED},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True
