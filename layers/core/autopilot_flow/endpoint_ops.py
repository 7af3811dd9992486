"""What people do to models and endpoints after a job (issue 13): approve or reject a job's
model package, list the endpoints this stack manages, roll one back, undeploy one.

Transport-free, like ``jobs.py``: each operation takes plain values and returns a plain
answer, or raises ``Refused`` (an HTTP status, a stable code, a plain message) that the API
turns into a problem. The API (``POST /jobs/{name}/approve|reject``, ``GET /endpoints``,
``POST /endpoints/{name}/rollback``, ``DELETE /endpoints/{name}``) and through it the CLI
(``autopilot-flow approve|reject|endpoints|rollback|undeploy``) are its only doors.

- **approve / reject** change the approval of the job's registered model package
  (``registration.modelPackageArn`` in the job's record) with ``UpdateModelPackage``, only
  while it is ``PendingManualApproval``; ``ApprovalDescription`` is ``<who>: <note>``.
  The package's metadata keeps the reviewer (``REVIEWED_BY``, ``REVIEWED_AS``): SageMaker's
  ``LastModifiedBy`` names the API's role, not the person who asked.
  Nothing is deployed here: SageMaker publishes ``SageMaker Model Package State Change``,
  and the stack's rule on it starts the deployment (or records the rejection), exactly as
  when the package is approved in Studio or the console.
- **endpoints**: every endpoint record of the jobs table (``#endpoint#<name>``), as
  FinalizeJob keeps it: the live job, its model package, score, rollout strategy and last
  change; fields a record does not hold are null.
- **rollback** starts FinalizeJob in deploy mode (the input contract ``rollback_input``)
  for the endpoint's previous live job: the same rollout machinery as any deployment.
- **undeploy** deletes the endpoint (never its configs or models: they cost nothing) and
  marks its record.

Ownership, as everywhere in the service: an endpoint is this stack's only when the jobs
table has its record AND it carries the tag ``STACK_TAG_KEY`` = the stack's name; the API's
IAM role may delete only endpoints with that tag and update only packages with it, so a
check that raced would still be refused by AWS.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final

from botocore.exceptions import ClientError

from autopilot_flow import registry as reg
from autopilot_flow.finalize import STACK_TAG_KEY
from autopilot_flow.model_registration import REVIEWED_AS, REVIEWED_BY, metadata_text
from autopilot_flow.sagemaker import THROTTLING_CODES, Backoff, error_code
from autopilot_flow.vocabulary import ApprovalStatus, DeployMode, DeployReason

# SageMaker's endpoint names (CreateEndpoint's EndpointName pattern and length).
ENDPOINT_NAME: Final = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# ApprovalDescription holds at most 1024 characters: "<who>: <note>".
APPROVAL_DESCRIPTION_MAX: Final = 1024
NOTE_MAX: Final = 500
# An endpoint that is changing already: neither a rollback nor a delete is started on it.
BUSY: Final = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
# previousLiveJob when the endpoint had no model before its last change.
NO_PREVIOUS: Final = "-"
# The package's metadata keeps who reviewed it through the API, and as what: SageMaker's
# LastModifiedBy names the API's own role, not the person who asked.


class Refused(Exception):
    """The operation was refused: ``status`` (HTTP), a stable ``code``, a plain message."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.title = title
        self.message = message
        self.extra = dict(extra or {})
        self.retry_after = retry_after


def _throttled(what: str) -> Refused:
    return Refused(
        503,
        "service-unavailable",
        "Service unavailable",
        f"{what} is throttling requests; try again shortly.",
        retry_after=1,
    )


def job_not_found(name: str) -> Refused:
    return Refused(
        404,
        "job-not-found",
        "Job not found",
        f"there is no job named {name!r} (job names are 1-32 letters, digits and hyphens).",
    )


def endpoint_not_found(name: str) -> Refused:
    return Refused(
        404,
        "endpoint-not-found",
        "Endpoint not found",
        f"there is no endpoint named {name!r} (endpoint names are 1-63 letters, digits and "
        "hyphens).",
    )


def endpoint_not_owned(name: str) -> Refused:
    return Refused(
        403,
        "endpoint-not-owned",
        "Endpoint not managed by this stack",
        f"endpoint {name!r} was not created by this stack (no record of it, or no "
        f"{STACK_TAG_KEY} tag of this stack): it is never changed or deleted from here.",
        extra={"endpointName": name},
    )


def rollback_input(
    *, job_name: str, endpoint_name: str, requested_by: str | None, model_package_arn: str | None
) -> dict[str, Any]:
    """FinalizeJob's deploy-mode input for a rollback (the contract the machine reads)."""
    return {
        "mode": DeployMode.DEPLOY.value,
        "reason": DeployReason.ROLLBACK.value,
        "jobName": job_name,
        "endpointName": endpoint_name,
        "requestedBy": requested_by,
        "modelPackageArn": model_package_arn,
    }


def rollback_execution_name(job_name: str, suffix: str | None = None) -> str:
    """``<job>-rollback-<12 hex>``: at most 32 + 10 + 12 characters, of letters, digits
    and hyphens only (a valid Step Functions name, unique per request)."""
    return f"{job_name}-{DeployReason.ROLLBACK.value}-{suffix or uuid.uuid4().hex[:12]}"


def approval_description(who: str, note: str | None) -> str:
    text = f"{who}: {note}" if note else who
    return text[:APPROVAL_DESCRIPTION_MAX]


def check_note(note: Any) -> str | None:
    """A review's note: optional text of at most ``NOTE_MAX`` characters."""
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > NOTE_MAX or "\x00" in note:
        raise Refused(
            400,
            "bad-request",
            "Bad request",
            f"note must be text of at most {NOTE_MAX} characters.",
        )
    return note


def _number(value: Any) -> float | None:
    """An objective value as recorded (a number, or the text the state machine copied)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _live_status(record: Mapping[str, Any]) -> str:
    """What the record says of the endpoint: Deleted, Deploying or Live."""
    undeployed = str(record.get("undeployedAt") or "")
    if undeployed and undeployed >= str(record.get("deployedAt") or ""):
        return "Deleted"
    if record.get("pendingJob"):
        return "Deploying"
    return "Live" if record.get("liveJob") else "Deploying"


def endpoint_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """One row of the inventory, from an endpoint record (absent fields are null)."""
    live = record.get("live") or {}
    previous = record.get("previousLiveJob")
    return {
        "endpointName": record.get("endpointName"),
        "state": _live_status(record),
        "liveJob": record.get("liveJob"),
        "candidateName": live.get("candidateName"),
        "modelPackageArn": live.get("modelPackageArn"),
        "metricName": live.get("metricName"),
        "value": _number(live.get("value")),
        "strategy": live.get("strategy"),
        "lastChange": live.get("change"),
        "lastChangeAt": record.get("deployedAt"),
        "previousLiveJob": None if previous in (None, "", NO_PREVIOUS) else previous,
        "pendingJob": record.get("pendingJob"),
        "endpointArn": record.get("endpointArn"),
        "undeployedAt": record.get("undeployedAt"),
        "undeployedBy": record.get("undeployedBy"),
    }


@dataclass
class EndpointOps:
    registry: reg.Registry
    sagemaker: Any
    stepfunctions: Any
    stack: str
    state_machine_arn: str
    backoff: Backoff = field(default_factory=Backoff)

    # --- calls ---------------------------------------------------------------------------

    def _call(self, service: str, call: Callable[[], Any]) -> Any:
        try:
            return self.backoff.call(call)
        except ClientError as exc:
            if error_code(exc) in THROTTLING_CODES:
                raise _throttled(service) from None
            raise

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self._call(
                "SageMaker", lambda: self.sagemaker.describe_endpoint(EndpointName=name)
            )
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", ""))
            # DescribeEndpoint answers a missing endpoint with a ValidationException.
            if error_code(exc) == "ValidationException" and "Could not find" in message:
                return None
            raise
        return response

    def _stack_tagged(self, arn: str) -> bool:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 100}
            if token:
                kwargs["NextToken"] = token
            response = self._call("SageMaker", partial(self.sagemaker.list_tags, **kwargs))
            for tag in response.get("Tags") or []:
                if tag.get("Key") == STACK_TAG_KEY:
                    return bool(tag.get("Value") == self.stack)
            token = response.get("NextToken")
            if not token:
                return False

    def _owned_endpoint(self, name: str) -> tuple[reg.EndpointItem, dict[str, Any] | None]:
        """(the record, the endpoint as described or None when it is gone) of an endpoint
        this stack owns; else refused."""
        if not ENDPOINT_NAME.fullmatch(name):
            raise endpoint_not_found(name)
        record = self.registry.endpoint_record(name)
        endpoint = self.describe_endpoint(name)
        if record is None:
            raise endpoint_not_found(name) if endpoint is None else endpoint_not_owned(name)
        if endpoint is not None and not self._stack_tagged(str(endpoint["EndpointArn"])):
            raise endpoint_not_owned(name)
        return record, endpoint

    # --- approve / reject ------------------------------------------------------------------

    def review(
        self, job_name: str, decision: ApprovalStatus, who: str, note: str | None
    ) -> dict[str, Any]:
        """Approve or reject the job's pending model package."""
        note = check_note(note)
        record = self.registry.get(job_name)
        if record is None:
            raise job_not_found(job_name)
        name = str(record.get("jobName") or job_name)
        arn = str((record.get("registration") or {}).get("modelPackageArn") or "")
        if not arn:
            raise Refused(
                409,
                "no-model-package",
                "No model package",
                f"job {name!r} has no registered model package: its manifest has no Registry "
                "section, or the job has not completed and been registered yet.",
                extra={"jobName": name},
            )
        try:
            package = self._call(
                "SageMaker",
                lambda: self.sagemaker.describe_model_package(ModelPackageName=arn),
            )
        except ClientError as exc:
            raise self._package_refusal(exc, name, arn) from None
        status = str(package.get("ModelApprovalStatus") or "")
        if status != ApprovalStatus.PENDING:
            raise Refused(
                409,
                "not-pending-approval",
                "Not pending approval",
                f"the model package of job {name!r} is {status or 'without a status'}, not "
                f"{ApprovalStatus.PENDING}: only a pending package is approved or rejected.",
                extra={"jobName": name, "modelPackageArn": arn, "approvalStatus": status},
            )
        description = approval_description(who, note)
        try:
            self._call(
                "SageMaker",
                lambda: self.sagemaker.update_model_package(
                    ModelPackageArn=arn,
                    ModelApprovalStatus=decision.value,
                    ApprovalDescription=description,
                    # Added to the package's metadata (AWS replaces only the keys sent).
                    CustomerMetadataProperties={
                        REVIEWED_BY: metadata_text(who),
                        REVIEWED_AS: decision.value,
                    },
                ),
            )
        except ClientError as exc:
            raise self._package_refusal(exc, name, arn) from None
        return {
            "jobName": name,
            "modelPackageArn": arn,
            "approvalStatus": decision.value,
            "previousStatus": status,
            "by": who,
            "note": note,
            "approvalDescription": description,
        }

    @staticmethod
    def _package_refusal(exc: ClientError, job: str, arn: str) -> Refused:
        code = error_code(exc)
        if "AccessDenied" in code:
            return Refused(
                403,
                "model-package-not-owned",
                "Model package not managed by this stack",
                f"the model package of job {job!r} does not carry this stack's "
                f"{STACK_TAG_KEY} tag: it is reviewed where it was registered.",
                extra={"jobName": job, "modelPackageArn": arn},
            )
        if code in ("ValidationException", "ResourceNotFound"):
            return Refused(
                409,
                "no-model-package",
                "No model package",
                f"the model package of job {job!r} no longer exists (deleted?).",
                extra={"jobName": job, "modelPackageArn": arn},
            )
        return Refused(
            409,
            "model-package-refused",
            "Model package update refused",
            f"SageMaker refused to change the model package of job {job!r}; the detail is "
            "in the API's logs.",
            extra={"jobName": job, "modelPackageArn": arn},
        )

    # --- the inventory -----------------------------------------------------------------------

    def inventory(self) -> list[dict[str, Any]]:
        records = self.registry.endpoint_records()
        rows = [endpoint_summary(r) for r in records]
        return sorted(rows, key=lambda row: str(row["endpointName"] or "").lower())

    # --- rollback ----------------------------------------------------------------------------

    def rollback(self, endpoint_name: str, who: str) -> dict[str, Any]:
        """Start FinalizeJob putting the endpoint's previous live job back."""
        record, endpoint = self._owned_endpoint(endpoint_name)
        name = str(record.get("endpointName") or endpoint_name)
        if endpoint is None or _live_status(record) == "Deleted":
            raise Refused(
                409,
                "endpoint-deleted",
                "Endpoint deleted",
                f"endpoint {name!r} no longer exists: there is nothing to roll back.",
                extra={"endpointName": name},
            )
        self._not_busy(name, record, endpoint)
        status = str(endpoint.get("EndpointStatus") or "")
        if status != "InService":
            raise Refused(
                409,
                "endpoint-not-in-service",
                "Endpoint not in service",
                f"endpoint {name!r} is {status or 'without a status'} "
                f"({endpoint.get('FailureReason') or 'no reason given'}): only an endpoint in "
                "service is rolled back; undeploy it, or deploy a job to it again.",
                extra={"endpointName": name, "endpointStatus": status or None},
            )
        previous = str(record.get("previousLiveJob") or "")
        if previous in ("", NO_PREVIOUS):
            raise Refused(
                409,
                "no-previous-model",
                "No previous model",
                f"endpoint {name!r} has had one model only ({record.get('liveJob') or '-'}): "
                "there is no previous model to put back.",
                extra={"endpointName": name, "liveJob": record.get("liveJob")},
            )
        previous_record = self.registry.get(previous) or {}
        package = (previous_record.get("registration") or {}).get("modelPackageArn") or None
        document = rollback_input(
            job_name=previous,
            endpoint_name=name,
            requested_by=who,
            model_package_arn=package,
        )
        execution = rollback_execution_name(previous)
        started = self._call(
            "Step Functions",
            lambda: self.stepfunctions.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=execution,
                input=json.dumps(document),
            ),
        )
        return {
            "endpointName": name,
            "jobName": previous,
            "liveJob": record.get("liveJob"),
            "modelPackageArn": package,
            "requestedBy": who,
            "executionName": execution,
            "executionArn": started.get("executionArn"),
            "startDate": started.get("startDate"),
        }

    @staticmethod
    def _not_busy(name: str, record: Mapping[str, Any], endpoint: Mapping[str, Any]) -> None:
        status = str(endpoint.get("EndpointStatus") or "")
        pending = record.get("pendingJob")
        if pending or status in BUSY:
            doing = f"job {pending} is being deployed to it" if pending else f"it is {status}"
            raise Refused(
                409,
                "endpoint-busy",
                "Endpoint busy",
                f"endpoint {name!r} is changing ({doing}): try again once that is done.",
                extra={"endpointName": name, "endpointStatus": status or None},
            )

    # --- undeploy ----------------------------------------------------------------------------

    def undeploy(self, endpoint_name: str, who: str) -> dict[str, Any]:
        """Delete an endpoint this stack created, and mark its record."""
        record, endpoint = self._owned_endpoint(endpoint_name)
        name = str(record.get("endpointName") or endpoint_name)
        if endpoint is None and _live_status(record) == "Deleted":
            return {  # a repeated undeploy: nothing changes
                "endpointName": name,
                "status": "Deleted",
                "previousStatus": None,
                "liveJob": record.get("liveJob"),
                "undeployedBy": record.get("undeployedBy"),
                "undeployedAt": record.get("undeployedAt"),
            }
        status = str((endpoint or {}).get("EndpointStatus") or "") or None
        if endpoint is not None and status != "Deleting":
            self._not_busy(name, record, endpoint)
            try:
                self._call("SageMaker", lambda: self.sagemaker.delete_endpoint(EndpointName=name))
            except ClientError as exc:
                if "AccessDenied" in error_code(exc):
                    raise endpoint_not_owned(name) from None
                raise
        marked = self.registry.mark_endpoint_undeployed(name, who)
        return {
            "endpointName": name,
            "status": "Deleting" if endpoint is not None else "Deleted",
            "previousStatus": status,
            "liveJob": record.get("liveJob"),
            "undeployedBy": who,
            "undeployedAt": marked,
        }


def build_endpoint_ops(
    registry: reg.Registry,
    sagemaker: Any,
    stepfunctions: Any,
    *,
    stack: str,
    state_machine_arn: str,
    backoff: Backoff | None = None,
) -> EndpointOps:
    return EndpointOps(
        registry=registry,
        sagemaker=sagemaker,
        stepfunctions=stepfunctions,
        stack=stack,
        state_machine_arn=state_machine_arn,
        backoff=backoff or Backoff(),
    )
