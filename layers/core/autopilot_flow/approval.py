"""The approval gate (issue 13, "Approve"): a model package's approval changed.

SageMaker publishes ``SageMaker Model Package State Change`` on the account's default bus
whenever a package is created or its approval changes, whoever changes it (our CLI or API,
Studio, the console). The stack's rule sends those with ``ModelApprovalStatus`` Approved or
Rejected here. A package is acted on only when it is one FinalizeJob registered *awaiting
approval*: its metadata names this stack and says approval was required, and its job's
record names it. A package FinalizeJob registered ``Approved`` itself (SageMaker announces it
at creation too) is ignored: that execution deploys it already, and a second deployment
would be a double deploy.

- Approved: a deploy-mode FinalizeJob execution, named ``<job>-approved-<suffix>`` (the
  suffix from the event's id, so a redelivered event starts nothing new), input as
  ``finalize.deploy_request`` reads it.
- Rejected: the job's record says so and ``AutoML Model Rejected`` is published.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

from autopilot_flow import events as ev
from autopilot_flow.finalize import EXECUTION_NAME_MAX
from autopilot_flow.model_registration import METADATA_PREFIX, REVIEWED_AS, REVIEWED_BY
from autopilot_flow.registry import Registry
from autopilot_flow.sagemaker import error_code
from autopilot_flow.sections import deployment_endpoint_name
from autopilot_flow.settings import SettingsError, _Reader
from autopilot_flow.vocabulary import ApprovalStatus, DeployMode, DeployReason

SOURCE: Final = "aws.sagemaker"
DETAIL_TYPE: Final = "SageMaker Model Package State Change"
SUFFIX_LENGTH: Final = 8
NOTE_MAX: Final = 1024


def approval_execution_name(job_name: str, reason: str, unique: str) -> str:
    """``<job>-<reason>-<suffix>``: the suffix is a digest of ``unique`` (the event's id, a
    request's id), so one approval or rollback request starts one execution, ever."""
    suffix = hashlib.sha256(unique.encode("utf-8")).hexdigest()[:SUFFIX_LENGTH]
    head = re.sub(r"[^A-Za-z0-9_-]", "-", f"{job_name}-{reason}")
    return f"{head[: EXECUTION_NAME_MAX - SUFFIX_LENGTH - 1]}-{suffix}"


@dataclass
class ApprovalHandler:
    sagemaker: Any
    registry: Registry
    stepfunctions: Any
    publisher: Any  # events.EventPublisher
    stack: str
    state_machine_arn: str

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        detail = event.get("detail") or {}
        status = str(detail.get("ModelApprovalStatus") or "")
        arn = str(detail.get("ModelPackageArn") or "")
        if (
            event.get("source") != SOURCE
            or event.get("detail-type") != DETAIL_TYPE
            or status not in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)
            or not arn
        ):
            return {"action": "ignored", "reason": "not an approval or a rejection"}
        package = self._describe(arn)
        if package is None:
            return {"action": "ignored", "reason": "the package no longer exists"}
        metadata = package.get("CustomerMetadataProperties") or {}
        if metadata.get(METADATA_PREFIX + "stack") != self.stack:
            return {"action": "ignored", "reason": "not a package of this stack"}
        if metadata.get(METADATA_PREFIX + "approval-required") != "true":
            # Registered Approved by FinalizeJob, which deploys it itself: no double deploy.
            return {"action": "ignored", "reason": "registered approved: FinalizeJob deploys it"}
        job_name = str(metadata.get(METADATA_PREFIX + "job") or "")
        record = self.registry.get(job_name) if job_name else None
        registered = (record or {}).get("registration") or {}
        if not record or registered.get("modelPackageArn") not in (None, arn):
            return {"action": "ignored", "reason": "not the package its job's record names"}
        # The current approval, as SageMaker has it now (the event may be an old one).
        current = str(package.get("ModelApprovalStatus") or status)
        note = str(package.get("ApprovalDescription") or "")[:NOTE_MAX] or None
        by = _modified_by(package)
        if current == ApprovalStatus.REJECTED:
            self.registry.record_approval(job_name, arn, current, by=by, note=note)
            self.publisher.publish(
                ev.MODEL_REJECTED,
                {
                    "jobName": record.get("jobName") or job_name,
                    "jobArn": record.get("jobArn"),
                    "problemType": record.get("problemType"),
                    "modelPackageArn": arn,
                    "modelPackageGroupName": package.get("ModelPackageGroupName"),
                    "modelPackageVersion": package.get("ModelPackageVersion"),
                    "rejectedBy": by,
                    "note": note,
                },
                [arn],
            )
            return {"action": "rejected", "jobName": job_name, "modelPackageArn": arn}
        if current != ApprovalStatus.APPROVED:
            return {"action": "ignored", "reason": f"the package is {current} now"}
        decided = record.get("approval") or {}
        if (
            decided.get("status") == ApprovalStatus.APPROVED
            and decided.get("modelPackageArn") == arn
        ):
            # Another change of an approved package (its description, say): its deployment
            # was started already; a second one would redo it (or record it as skipped).
            return {"action": "ignored", "reason": "already approved and deployed"}
        deployment = _json(record.get("deploymentConfig"))
        if deployment is None:
            self.registry.record_approval(job_name, arn, current, by=by, note=note)
            return {"action": "approved", "jobName": job_name, "reason": "no Deployment section"}
        name = approval_execution_name(job_name, DeployReason.APPROVED, str(event.get("id") or arn))
        request = {
            "mode": DeployMode.DEPLOY,
            "reason": DeployReason.APPROVED,
            "jobName": record.get("jobName") or job_name,
            "endpointName": deployment_endpoint_name(deployment, job_name),
            "requestedBy": by,
            "modelPackageArn": arn,
        }
        started = self._start(name, request)
        self.registry.record_approval(job_name, arn, current, by=by, note=note, execution_name=name)
        return {"action": "deploy", "jobName": job_name, "execution": name, "started": started}

    def _describe(self, arn: str) -> dict[str, Any] | None:
        try:
            package: dict[str, Any] = self.sagemaker.describe_model_package(ModelPackageName=arn)
        except ClientError as exc:
            if error_code(exc) in ("ValidationException", "ResourceNotFound"):
                return None
            raise
        return package

    def _start(self, name: str, request: Mapping[str, Any]) -> bool:
        try:
            self.stepfunctions.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(request)
            )
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            return False
        return True


def _json(raw: Any) -> dict[str, Any] | None:
    if isinstance(raw, str) and raw:
        value = json.loads(raw)
        return value if isinstance(value, dict) else None
    return None


def _modified_by(package: Mapping[str, Any]) -> str | None:
    """Who changed the approval. Through the stack's API, the reviewer its metadata names
    while that review is still the package's status (SageMaker would name the API's role);
    otherwise as SageMaker records it (a Studio user, or an IAM identity)."""
    metadata = package.get("CustomerMetadataProperties") or {}
    reviewer = metadata.get(REVIEWED_BY)
    if reviewer and metadata.get(REVIEWED_AS) == package.get("ModelApprovalStatus"):
        return str(reviewer)
    who = package.get("LastModifiedBy") or {}
    iam = who.get("IamIdentity") or {}
    return str(who.get("UserProfileName") or iam.get("Arn") or "") or None


@dataclass(frozen=True)
class ApprovalSettings:
    jobs_table: str
    state_machine_arn: str
    event_bus: str
    stack: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApprovalSettings:
        reader = _Reader(env)
        jobs_table = reader.required("JOBS_TABLE_NAME")
        arn = reader.required("FINALIZE_STATE_MACHINE_ARN")
        bus = reader.required("EVENT_BUS_NAME")
        stack = reader.required("STACK_NAME")
        if reader.problems:
            raise SettingsError(reader.problems)
        return cls(jobs_table=jobs_table, state_machine_arn=arn, event_bus=bus, stack=stack)


def build_handler(settings: ApprovalSettings, session: Any = None) -> ApprovalHandler:
    import boto3  # noqa: PLC0415 - the CLI never needs it

    from autopilot_flow.sagemaker import sagemaker_client  # noqa: PLC0415

    session = session or boto3.session.Session()
    return ApprovalHandler(
        sagemaker=sagemaker_client(session),
        registry=Registry(session.client("dynamodb"), settings.jobs_table),
        stepfunctions=session.client("stepfunctions"),
        publisher=ev.EventPublisher(session.client("events"), settings.event_bus),
        stack=settings.stack,
        state_machine_arn=settings.state_machine_arn,
    )
