"""The jobs table (docs/architecture.md): its one owner. Keys, attribute names, typed records
and every read and conditional write of the table live here; ingest, the watcher, the
FinalizeJob planner and the API go through ``Registry``. The state machine's DynamoDB tasks
are the only other writers, and ``tests/unit/test_jobs_table_contract.py`` checks each of
their keys and expressions against the schema declared below (``ITEMS``, ``NESTED``).

Items:

- a job: ``jobKey`` = the job name in lower case (SageMaker job names are unique per account
  and case-insensitive). ``sourceId`` names the manifest object version (or API request) the
  job came from; every write is conditional on it, so two manifests can never share a job and
  a redelivered manifest can never create a second one. The ``ByStatus`` index (``status``
  HASH, ``updatedAt`` RANGE) serves "jobs by status", newest first.
- the watcher's watermark: ``jobKey`` = ``WATERMARK_KEY``.
- an endpoint this stack deployed: ``jobKey`` = ``#endpoint#<endpoint name>`` (lower case;
  job names cannot contain ``#``), written by the state machine, read by the planner.

A name whose record never became a job is released: ``REJECTED`` and ``SUBMISSION_FAILED``
(the quota stayed full through every attempt) records may be claimed by another source, and
an API submission answered 503 gives its claim up (``release_waiting``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypedDict, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from autopilot_flow import vocabulary
from autopilot_flow.vocabulary import TERMINAL, Lifecycle

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

# --- the schema, as data ------------------------------------------------------------------------

KEY = "jobKey"  # the table's only key (HASH, S); template.yaml declares it
STATUS_INDEX = "ByStatus"
STATUS_INDEX_KEYS = ("status", "updatedAt")  # HASH, RANGE
ENDPOINT_KEY_PREFIX = "#endpoint#"
WATERMARK_KEY = "#watcher-watermark"
BATCH_GET_MAX = 100  # keys per BatchGetItem, as DynamoDB allows
# What a watcher tick reads of each listed job (of an item's dozens of attributes, the
# request and history included): the state it last recorded and whether the job is ours.
WATCHER_FIELDS = ("jobStatus", "secondaryStatus", "sourceId", "status")


class StateSeen(TypedDict):
    """One entry of a job's ``stateHistory``: a state the watcher published."""

    status: str
    secondaryStatus: str
    at: str


class BestCandidate(TypedDict, total=False):
    candidateName: str | None
    metricName: str | None
    value: Any


class DeploymentRecord(TypedDict, total=False):
    """A job's ``deployment`` (FinalizeJob's RecordOutcome and RecordFailure states)."""

    state: str  # vocabulary.DeploymentState
    reason: str
    endpointName: str | None
    endpointArn: str | None
    deployedBy: str
    modelName: str | None
    endpointConfigName: str | None
    candidate: dict[str, Any] | None
    live: dict[str, Any] | None
    serving: dict[str, Any] | None
    modelPackageArn: str | None  # the registered package deployed (issue 13)
    strategy: str | None  # the rollout's Type when an endpoint was updated
    # ROLLED_BACK only: the rollback alarm named in the endpoint's FailureReason
    alarm: str | None
    # FAILED only
    stage: str
    code: str
    message: str
    executionArn: str


class RegistrationRecord(TypedDict, total=False):
    """A job's ``registration``: its best candidate's model package (FinalizeJob's
    RecordRegistration state)."""

    modelPackageArn: str
    modelPackageGroupName: str
    modelPackageVersion: Any
    approvalStatus: str  # as registered: Approved or PendingManualApproval
    candidateName: str | None


class ApprovalRecord(TypedDict, total=False):
    """A job's ``approval``: what happened to its pending package (Approved or Rejected)."""

    status: str
    modelPackageArn: str
    by: str | None
    note: str | None
    at: str
    executionName: str | None


class JobItem(TypedDict, total=False):
    """A job's item. Written here (ingest, the API, the watcher) and by FinalizeJob
    (``deployment``, ``deploymentAt``)."""

    jobKey: str
    jobName: str
    status: str  # vocabulary.Lifecycle
    sourceId: str
    source: dict[str, Any]
    request: str  # the request as sent, JSON text
    problemType: str | None
    defaultsApplied: list[str]
    warnings: list[dict[str, str]]
    attempts: int
    deploymentConfig: str  # the manifest's Deployment section, JSON text
    notificationsConfig: str  # its Notifications section, JSON text
    registryConfig: str  # its Registry section, JSON text
    contentDigest: str
    createdAt: str
    updatedAt: str
    jobArn: str
    waitReason: str
    errors: list[dict[str, str]]
    report: str
    failureReason: str
    cancelRequested: bool
    # the watcher's
    jobStatus: str  # vocabulary.JobStatus
    secondaryStatus: str
    observedAt: str
    stateHistory: list[StateSeen]
    bestCandidate: BestCandidate
    # FinalizeJob's
    deployment: DeploymentRecord
    deploymentAt: str
    registration: RegistrationRecord
    registeredAt: str
    # the approval handler's (a package's approval or rejection)
    approval: ApprovalRecord


class LiveRecord(TypedDict, total=False):
    """What serves on an endpoint (its item's ``live``)."""

    jobName: str
    candidateName: str | None
    metricName: str | None
    value: Any
    objectiveType: str | None
    modelName: str | None
    endpointConfigName: str | None
    serving: dict[str, Any] | None
    modelPackageArn: str | None
    strategy: str | None  # the rollout's Type (AllAtOnce, Canary, Linear); None: created
    change: str | None  # why it went live: finalize, approved, rollback


class EndpointItem(TypedDict, total=False):
    """An endpoint this stack deployed, written by FinalizeJob's ClaimEndpoint (a deployment
    in progress: ``pendingJob``), RecordLiveEndpoint (``liveJob``, ``live``) and
    ReleaseEndpointClaim."""

    jobKey: str
    endpointName: str
    pendingJob: str
    pendingSince: str
    liveJob: str
    live: LiveRecord
    endpointArn: str
    deployedAt: str
    # The job live before the last change ("-" when none): what a rollback puts back.
    previousLiveJob: str
    # The API's undeploy: when the endpoint was deleted, and by whom.
    undeployedAt: str
    undeployedBy: str


class WatermarkItem(TypedDict):
    jobKey: str
    watermark: str  # ISO 8601, UTC


def attributes(record: Any) -> frozenset[str]:
    """The attribute names a typed record declares."""
    return frozenset(record.__required_keys__ | record.__optional_keys__)


class ItemKind(StrEnum):
    JOB = "job"
    ENDPOINT = "endpoint"
    WATERMARK = "watermark"


# Every item kind's attribute names, and the fields of the maps inside them.
ITEMS: Mapping[ItemKind, frozenset[str]] = {
    ItemKind.JOB: attributes(JobItem),
    ItemKind.ENDPOINT: attributes(EndpointItem),
    ItemKind.WATERMARK: attributes(WatermarkItem),
}
NESTED: Mapping[tuple[ItemKind, str], frozenset[str]] = {
    (ItemKind.JOB, "deployment"): attributes(DeploymentRecord),
    (ItemKind.JOB, "bestCandidate"): attributes(BestCandidate),
    (ItemKind.JOB, "stateHistory"): attributes(StateSeen),
    (ItemKind.JOB, "registration"): attributes(RegistrationRecord),
    (ItemKind.JOB, "approval"): attributes(ApprovalRecord),
    (ItemKind.ENDPOINT, "live"): attributes(LiveRecord),
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def job_key(job_name: str) -> str:
    return job_name.lower()


def endpoint_key(endpoint_name: str) -> str:
    return ENDPOINT_KEY_PREFIX + endpoint_name.lower()


def kind_of(key: str) -> ItemKind:
    """Which item a key names."""
    if key == WATERMARK_KEY:
        return ItemKind.WATERMARK
    if key.startswith(ENDPOINT_KEY_PREFIX):
        return ItemKind.ENDPOINT
    return ItemKind.JOB


def _key(value: str) -> dict[str, Any]:
    return {KEY: {"S": value}}


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _SERIALIZER.serialize(v) for k, v in values.items() if v is not None}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _DESERIALIZER.deserialize(v) for k, v in item.items()}


def plain(value: Any) -> Any:
    """DynamoDB's numbers back to ints and floats, its sets to lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [plain(v) for v in value]
    return value


class ClaimState(StrEnum):
    NEW = "new"  # the name was free (or released): this source holds it now
    SAME_SOURCE = "same_source"  # this source already held it (a redelivery)
    OTHER_SOURCE = "other_source"  # another manifest holds it


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a job name for a source."""

    state: ClaimState
    item: JobItem


class Registry:
    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def _get(self, key: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=_key(key), ConsistentRead=True
        )
        item = response.get("Item")
        return _from_item(item) if item else None

    def get(self, job_name: str) -> JobItem | None:
        return cast("JobItem | None", self._get(job_key(job_name)))

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
        model_registry: dict[str, Any] | None = None,
    ) -> Claim:
        """Create the SUBMITTED record, unless the name is already taken.

        ``deployment``, ``notifications`` and ``model_registry`` are the manifest's own
        sections (stripped from the request); FinalizeJob reads them when the job ends.
        Stored as JSON text, like ``request``, under ``deploymentConfig``,
        ``notificationsConfig`` and ``registryConfig``.
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
            "registryConfig": (
                json.dumps(model_registry, sort_keys=True) if model_registry else None
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
            same = existing.get("sourceId") == source_id
            state = ClaimState.SAME_SOURCE if same else ClaimState.OTHER_SOURCE
            return Claim(state, existing)
        return Claim(ClaimState.NEW, cast("JobItem", values))

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
            Key=_key(job_key(job_name)),
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
                Key=_key(job_key(job_name)),
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
                Key=_key(job_key(job_name)),
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

    # --- reads for the watcher and the API ------------------------------------------------------

    def get_many(
        self, job_names: list[str], fields: Sequence[str] | None = None
    ) -> dict[str, JobItem]:
        """The items of these jobs, by key (absent jobs are missing), ``BATCH_GET_MAX`` keys
        per BatchGetItem, unprocessed keys asked again. ``fields``: only these attributes
        (and the key) are read, e.g. ``WATCHER_FIELDS``."""
        found: dict[str, JobItem] = {}
        keys = list(dict.fromkeys(job_key(n) for n in job_names))
        projection: dict[str, Any] = {}
        if fields:
            names = {f"#f{i}": name for i, name in enumerate(dict.fromkeys([KEY, *fields]))}
            projection = {
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
            }
        for start in range(0, len(keys), BATCH_GET_MAX):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [_key(k) for k in keys[start : start + BATCH_GET_MAX]],
                    "ConsistentRead": True,
                    **projection,
                }
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    record = cast("JobItem", _from_item(item))
                    found[record["jobKey"]] = record
                request = response.get("UnprocessedKeys") or {}
        return found

    def page_by_status(
        self,
        status: str,
        after: list[str],
        filters: Mapping[str, str],
        limit: int,
    ) -> tuple[list[JobItem], bool]:
        """Items of one ``ByStatus`` partition, newest first, from after ``after``
        (``[updatedAt, jobKey]`` of the last item returned, or ``[]``): at least ``limit``
        items unless the partition ends (True) first. ``filters``: attribute = value."""
        names = {"#status": STATUS_INDEX_KEYS[0]}
        values: dict[str, Any] = {":status": {"S": status}}
        conditions = []
        for index, (attribute, value) in enumerate(sorted(filters.items())):
            if attribute not in ITEMS[ItemKind.JOB]:
                raise ValueError(f"a job item has no attribute {attribute!r}")
            names[f"#f{index}"] = attribute
            values[f":f{index}"] = {"S": value}
            conditions.append(f"#f{index} = :f{index}")
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if conditions:
            kwargs["FilterExpression"] = " AND ".join(conditions)
        if after:
            kwargs["ExclusiveStartKey"] = {
                STATUS_INDEX_KEYS[0]: {"S": status},
                STATUS_INDEX_KEYS[1]: {"S": after[0]},
                KEY: {"S": after[1]},
            }
        found: list[JobItem] = []
        while True:
            response = self.client.query(**kwargs)
            found.extend(cast("JobItem", _from_item(item)) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return found, True
            if len(found) >= limit:
                return found, False
            kwargs["ExclusiveStartKey"] = last

    # --- the watcher's watermark and transitions ------------------------------------------------

    def watermark(self) -> datetime | None:
        item = self._get(WATERMARK_KEY)
        return datetime.fromisoformat(str(item["watermark"])) if item else None

    def advance_watermark(self, seen: datetime) -> None:
        """Move the watermark forward only (a slow tick never moves it back)."""
        value = seen.astimezone(UTC).isoformat()
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.put_item(
                TableName=self.table_name,
                Item=_to_item(WatermarkItem(jobKey=WATERMARK_KEY, watermark=value)),
                ConditionExpression="attribute_not_exists(watermark) OR watermark < :value",
                ExpressionAttributeValues={":value": {"S": value}},
            )

    def record_state(
        self,
        job_name: str,
        *,
        known: bool,
        previous: tuple[Any, Any] | None,
        current: tuple[str, str],
        seen_at: str,
        job_arn: str,
        best: Mapping[str, Any] | None = None,
    ) -> bool:
        """Store a job's new (status, secondary status), conditional on the state the caller
        read (``previous``; None: none yet), and append it to ``stateHistory``. ``known``:
        the table has an item for the job; if not, it is recorded as ``EXTERNAL`` (a job this
        stack did not create). ``best`` (a terminal state): the best candidate's summary.
        False: another writer changed the state first (a lost race)."""
        now = now_iso()
        values: dict[str, Any] = {
            ":status": {"S": current[0]},
            ":secondary": {"S": current[1]},
            ":now": {"S": now},
            ":name": {"S": job_name},
            ":arn": {"S": job_arn},
            # stateHistory: every state observed, in order, for the job's timeline (a job
            # has a dozen or so; SageMaker keeps no such history).
            ":seen": _SERIALIZER.serialize(
                [StateSeen(status=current[0], secondaryStatus=current[1], at=seen_at)]
            ),
            ":none": {"L": []},
        }
        update = (
            "SET jobStatus = :status, secondaryStatus = :secondary, observedAt = :now, "
            "jobName = if_not_exists(jobName, :name), jobArn = if_not_exists(jobArn, :arn), "
            "stateHistory = list_append(if_not_exists(stateHistory, :none), :seen)"
        )
        names: dict[str, str] = {}
        if not known:
            update += ", #lifecycle = if_not_exists(#lifecycle, :external), updatedAt = :now"
            values[":external"] = {"S": EXTERNAL}
            names["#lifecycle"] = "status"
            condition = "attribute_not_exists(jobStatus)"
        elif previous is None or previous == (None, None):
            condition = "attribute_not_exists(jobStatus)"
        else:
            condition = "jobStatus = :prev_status AND secondaryStatus = :prev_secondary"
            values[":prev_status"] = {"S": str(previous[0])}
            values[":prev_secondary"] = {"S": str(previous[1])}
        if current[0] in TERMINAL and best:
            update += ", bestCandidate = :best"
            values[":best"] = {"M": {k: {"S": str(v)} for k, v in best.items()}}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(job_key(job_name)),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def undo_state(
        self, job_name: str, previous: tuple[Any, Any] | None, current: tuple[str, str]
    ) -> None:
        """Give a recorded state back (its event could not be published), unless a later
        writer already moved on."""
        values: dict[str, Any] = {":status": {"S": current[0]}, ":secondary": {"S": current[1]}}
        if previous is None or previous[0] is None:
            update = "REMOVE jobStatus, secondaryStatus"
        else:
            update = "SET jobStatus = :prev_status, secondaryStatus = :prev_secondary"
            values[":prev_status"] = {"S": str(previous[0])}
            values[":prev_secondary"] = {"S": str(previous[1])}
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.update_item(
                TableName=self.table_name,
                Key=_key(job_key(job_name)),
                UpdateExpression=update,
                ConditionExpression="jobStatus = :status AND secondaryStatus = :secondary",
                ExpressionAttributeValues=values,
            )

    # --- the approval gate ----------------------------------------------------------------------

    def record_approval(
        self,
        job_name: str,
        package_arn: str,
        status: str,
        *,
        by: str | None,
        note: str | None,
        execution_name: str | None = None,
    ) -> None:
        """What happened to the job's package awaiting approval (``approval``); a rejection
        also ends its deployment (``deployment.state`` REJECTED)."""
        approval = ApprovalRecord(
            status=status,
            modelPackageArn=package_arn,
            by=by,
            note=note,
            at=now_iso(),
            executionName=execution_name,
        )
        update = "SET approval = :approval, updatedAt = :now"
        values: dict[str, Any] = {
            ":approval": _SERIALIZER.serialize(
                {k: v for k, v in approval.items() if v is not None}
            ),
            ":now": {"S": approval["at"]},
        }
        if status == vocabulary.ApprovalStatus.REJECTED:
            update += ", deployment.#state = :rejected"
            values[":rejected"] = {"S": vocabulary.DeploymentState.REJECTED}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _key(job_key(job_name)),
            "UpdateExpression": update,
            "ConditionExpression": "attribute_exists(jobKey)"
            + (" AND attribute_exists(deployment)" if ":rejected" in values else ""),
            "ExpressionAttributeValues": values,
        }
        if ":rejected" in values:
            kwargs["ExpressionAttributeNames"] = {"#state": "state"}
        try:
            self.client.update_item(**kwargs)
        except self.client.exceptions.ConditionalCheckFailedException:
            # No deployment recorded (a registration without Deployment): the approval only.
            kwargs["UpdateExpression"] = "SET approval = :approval, updatedAt = :now"
            kwargs["ConditionExpression"] = "attribute_exists(jobKey)"
            kwargs["ExpressionAttributeValues"] = {
                k: v for k, v in values.items() if k != ":rejected"
            }
            kwargs.pop("ExpressionAttributeNames", None)
            self.client.update_item(**kwargs)

    # --- FinalizeJob's endpoint records -------------------------------------------------------

    def endpoint_record(self, endpoint_name: str) -> EndpointItem | None:
        """The record of an endpoint this stack deployed (None: it never deployed one there)."""
        item = self._get(endpoint_key(endpoint_name))
        return cast("EndpointItem", plain(item)) if item else None

    # --- the API's endpoint inventory and undeploy --------------------------------------------

    def endpoint_records(self) -> list[EndpointItem]:
        """Every endpoint record (``#endpoint#<name>``), from a Scan of the table filtered on
        the key's prefix: it reads every item, so its cost grows with the number of jobs (the
        table has no index of endpoint records)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "begins_with(#key, :prefix)",
            "ExpressionAttributeNames": {"#key": KEY},
            "ExpressionAttributeValues": {":prefix": {"S": ENDPOINT_KEY_PREFIX}},
            "ConsistentRead": True,
        }
        found: list[EndpointItem] = []
        while True:
            response = self.client.scan(**kwargs)
            found.extend(
                cast("EndpointItem", plain(_from_item(item))) for item in response.get("Items", [])
            )
            last = response.get("LastEvaluatedKey")
            if not last:
                return found
            kwargs["ExclusiveStartKey"] = last

    def mark_endpoint_undeployed(self, endpoint_name: str, by: str) -> str:
        """Record that the endpoint was deleted (``undeployedAt``, ``undeployedBy``), on its
        existing record only. Returns the time written."""
        stamp = now_iso()
        self.client.update_item(
            TableName=self.table_name,
            Key=_key(endpoint_key(endpoint_name)),
            UpdateExpression="SET undeployedAt = :at, undeployedBy = :by",
            ConditionExpression="attribute_exists(#key)",
            ExpressionAttributeNames={"#key": KEY},
            ExpressionAttributeValues={":at": {"S": stamp}, ":by": {"S": by}},
        )
        return stamp
