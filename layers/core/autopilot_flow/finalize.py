"""FinalizeJob's decisions: what to deploy, whether it beats the live model, what to say.

The state machine (``statemachines/finalize_job.asl.json``) makes the AWS calls that change
things (CreateModel, CreateEndpointConfig, Create/UpdateEndpoint, the registry writes, the
events and the notifications) through direct service integrations. What ASL cannot express
cleanly lives here and runs in the PlanFinalize function: read the job's registry record
(its manifest's ``Deployment`` and ``Notifications`` sections), look at the live endpoint and
its recorded objective value, decide, and hand the state machine every request, record,
event and message it needs, fully formed (so that the machine's paths only copy values).

Actions:

- ``deploy``: create the endpoint, or update it when it is live (and, with ``OnlyIfBetter``,
  the new objective value beats the one recorded for the live model);
- ``skip``: a deployment was asked for but does not happen (``not-better``,
  ``not-comparable``, ``no-best-candidate``, ``endpoint.not_owned``): an "AutoML Deployment
  Skipped" event says why;
- ``sagemaker``: the job used ``ModelDeployConfig``, SageMaker deployed the model itself;
  the endpoint of ``ModelDeployResult`` is recorded and announced, nothing is deployed again;
- ``none``: nothing to deploy (no ``Deployment`` section, or the job did not complete).

Endpoints are recorded in the jobs table under the key ``#endpoint#<endpoint name>`` (lower
case: endpoint names are case-insensitive; job names cannot contain ``#``): which job's
candidate is live there, with which objective value, and which deployment holds it.

Ownership: the stack changes only endpoints it created. An existing endpoint is this stack's
when the registry has its endpoint record AND it carries the tag ``STACK_TAG_KEY`` = the
stack name (every model, endpoint config and endpoint the machine creates carries it, and the
machine's IAM role may update only resources with it). Any other endpoint is skipped
(``endpoint.not_owned``), never created over, updated or deleted.

Failures: answers and events carry ``{stage, code, message}`` (``describe_failure``, the one
table from error names to stable codes); raw error names and causes stay in the logs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from autopilot_flow import events as ev
from autopilot_flow import registry as reg
from autopilot_flow.deploy_targets import (
    candidate_refusal,
    container_fields,
    is_gpu_instance,
    update_refusal,
)
from autopilot_flow.leaderboard import better
from autopilot_flow.problem_types import objective_type
from autopilot_flow.registry import EndpointItem, Registry, job_key
from autopilot_flow.sagemaker import (
    THROTTLING_CODES,
    Backoff,
    SageMakerThrottled,
    all_tags,
    error_code,
)
from autopilot_flow.sections import (
    ModelRegistrySection,
    RolloutStrategy,
    deployment_endpoint_name,
)
from autopilot_flow.settings import SettingsError, _Reader
from autopilot_flow.vocabulary import (
    FINAL_STATUSES,
    TERMINAL,
    DeployedBy,
    DeploymentAction,
    DeploymentState,
    DeployMode,
    DeployReason,
    JobStatus,
    problem_type_of,
)

# The endpoint records' keys are the jobs table's (autopilot_flow.registry); named here too for
# the modules that read them through FinalizeJob's vocabulary.
ENDPOINT_KEY_PREFIX = reg.ENDPOINT_KEY_PREFIX
endpoint_key = reg.endpoint_key
# The tag that marks what this stack created (value: the stack name). template.yaml passes
# the same key to the state machine (DefinitionSubstitutions StackTagKey) and conditions the
# machine's SageMaker permissions on it; a template test keeps the two equal.
STACK_TAG_KEY = "autopilot-flow:stack"
JOB_TAG_KEY = "autopilot-flow:job"
CANDIDATE_TAG_KEY = "autopilot-flow:candidate"
TAG_VALUE_MAX = 256
VARIANT_NAME = "AllTraffic"
DEFAULT_MEMORY_MB = 2048
DEFAULT_MAX_CONCURRENCY = 5
DEFAULT_INSTANCE_COUNT = 1
NOTIFY_STATUSES = FINAL_STATUSES
EXECUTION_NAME_MAX = 80
SUBJECT_MAX = 100
# Endpoint states in which UpdateEndpoint is refused; the deployment fails instead.
# The claim's "no live job" value (job names never are "-"; DynamoDB needs a non-empty value).
NO_LIVE_JOB = "-"
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})

NOT_OWNED = "endpoint.not_owned"

DEPLOY = DeploymentAction.DEPLOY
SKIP = DeploymentAction.SKIP
SAGEMAKER = DeploymentAction.SAGEMAKER
AWAITING_APPROVAL = DeploymentAction.AWAITING_APPROVAL
ROLLED_BACK = DeploymentAction.ROLLED_BACK
NONE = DeploymentAction.NONE

_SERIALIZER = TypeSerializer()


class DeploymentBlocked(Exception):
    """The target endpoint is in a state that no deployment can change (busy or failed)."""


class UnsupportedResponseKeys(Exception):
    """``InferenceResponseKeys`` the best candidate's containers cannot produce."""


# --- names ------------------------------------------------------------------------------------


def execution_name(job_name: str, status: str) -> str:
    """``<job>-<status>``: one FinalizeJob execution per job and final status, ever (a repeated
    event finds the name taken). Step Functions names allow letters, digits, ``-`` and ``_``
    (1-80 characters); anything else becomes ``-``."""
    name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{job_name}-{status}")
    return name[:EXECUTION_NAME_MAX]


def endpoint_arn(job_arn: str, endpoint_name: str) -> str:
    """The endpoint's ARN in the job's partition, region and account (SageMaker lower-cases
    the name in ARNs)."""
    parts = job_arn.split(":")
    partition, region, account = parts[1], parts[3], parts[4]
    return f"arn:{partition}:sagemaker:{region}:{account}:endpoint/{endpoint_name.lower()}"


def deployment_names(job_name: str, execution_id: str) -> str:
    """Model and endpoint config name: the job name plus a hash of the execution, so that a
    retried task reuses the name and another execution never collides with it (<= 41)."""
    digest = hashlib.sha256(execution_id.encode("utf-8")).hexdigest()[:8]
    return f"{job_name}-{digest}"


# --- the model ------------------------------------------------------------------------------


def _supported(container: dict[str, Any]) -> list[str]:
    raw = (container.get("Environment") or {}).get("SAGEMAKER_INFERENCE_SUPPORTED") or ""
    return [key.strip() for key in str(raw).split(",") if key.strip()]


def apply_response_keys(containers: list[dict[str, Any]], keys: list[str]) -> list[dict[str, Any]]:
    """The containers set to answer with ``keys`` (``SAGEMAKER_INFERENCE_OUTPUT``).

    As the SageMaker Python SDK does for Autopilot models: the last container must support
    every key; each container that declares ``SAGEMAKER_INFERENCE_SUPPORTED`` outputs the
    requested keys it supports, and takes the previous such container's output as its input
    (``SAGEMAKER_INFERENCE_INPUT``), which chains an HPO classifier's algorithm container
    and its inverse-label-transform container."""
    result = copy.deepcopy(containers)
    if not keys:
        return result
    supported = _supported(result[-1]) if result else []
    if not supported:
        raise UnsupportedResponseKeys(
            "the best candidate's model cannot choose its inference response "
            "(its last container declares no SAGEMAKER_INFERENCE_SUPPORTED)"
        )
    unsupported = [key for key in keys if key not in supported]
    if unsupported:
        raise UnsupportedResponseKeys(
            f"InferenceResponseKeys {', '.join(unsupported)} are not supported by the best "
            f"candidate's model (it supports {', '.join(supported)})"
        )
    previous: str | None = None
    for container in result:
        own = _supported(container)
        if not own:
            previous = None
            continue
        output = ",".join(key for key in keys if key in own) or None
        environment = container.setdefault("Environment", {})
        if previous:
            environment["SAGEMAKER_INFERENCE_INPUT"] = previous
        if output:
            environment["SAGEMAKER_INFERENCE_OUTPUT"] = output
        previous = output
    return result


def _gpu(instance_type: str | None) -> bool:
    return is_gpu_instance(instance_type)  # the deployment-target table's GPU families


def choose_containers(best: dict[str, Any], instance_type: str | None) -> list[dict[str, Any]]:
    """The best candidate's inference containers for the target hardware: text and image
    classification candidates carry CPU and GPU definitions; the rest one list."""
    definitions = best.get("InferenceContainerDefinitions") or {}
    unit = "GPU" if _gpu(instance_type) else "CPU"
    chosen = definitions.get(unit) or best.get("InferenceContainers") or []
    return [
        {k: v for k, v in container.items() if k in ("Image", "ModelDataUrl", "Environment")}
        for container in chosen
    ]


def production_variant(
    deployment: dict[str, Any], model_name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the endpoint config's production variant, a summary of it for events and messages)."""
    variant: dict[str, Any] = {"VariantName": VARIANT_NAME, "ModelName": model_name}
    instance_type = deployment.get("InstanceType")
    if instance_type:
        count = int(deployment.get("InitialInstanceCount") or DEFAULT_INSTANCE_COUNT)
        variant.update(
            InstanceType=instance_type, InitialInstanceCount=count, InitialVariantWeight=1.0
        )
        return variant, {"type": "instances", "instanceType": instance_type, "instanceCount": count}
    serverless = deployment.get("Serverless") or {}
    memory = int(serverless.get("MemorySizeInMB") or DEFAULT_MEMORY_MB)
    concurrency = int(serverless.get("MaxConcurrency") or DEFAULT_MAX_CONCURRENCY)
    variant["ServerlessConfig"] = {"MemorySizeInMB": memory, "MaxConcurrency": concurrency}
    return variant, {"type": "serverless", "memorySizeInMB": memory, "maxConcurrency": concurrency}


# --- helpers ----------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def _dynamo(value: Any) -> Any:
    """Python values as DynamoDB can store them (floats as Decimals, no None in maps)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_dynamo(v) for v in value]
    return value


def attribute_map(values: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB ``M`` member (the inside of ``{"M": ...}``) in the low-level JSON form that
    the state machine's dynamodb:updateItem passes through unchanged."""
    serialized: dict[str, Any] = _SERIALIZER.serialize(_dynamo(values))["M"]
    return serialized


def _json_section(record: Mapping[str, object] | None, name: str) -> dict[str, Any] | None:
    raw = (record or {}).get(name)
    if isinstance(raw, str) and raw:
        value = json.loads(raw)
        return value if isinstance(value, dict) else None
    return raw if isinstance(raw, dict) else None


def _fmt(value: Any) -> str:
    number = _number(value)
    return f"{number:.6g}" if number is not None else "n/a"


def _candidate(best: dict[str, Any] | None) -> dict[str, Any] | None:
    if not best:
        return None
    metric = best.get("FinalAutoMLJobObjectiveMetric") or {}
    value = _number(metric.get("Value"))
    name = metric.get("MetricName")
    return {
        "candidateName": best.get("CandidateName"),
        "metricName": name,
        "value": value,
        "objectiveType": metric.get("Type") or objective_type(name),
    }


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class Decision:
    action: str
    reason: str
    skip_code: str | None = None
    endpoint_exists: bool = False
    live: Mapping[str, Any] | None = None
    # The job the endpoint's registry record names as live ("" when none), even when the
    # endpoint itself is gone: the claim before deploying is conditional on it.
    recorded_job: str = ""


@dataclass
class FinalizePlanner:
    """Reads the registry and the live endpoint; decides; shapes everything the machine needs."""

    sagemaker: Any
    dynamodb: Any
    table: str
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        self.registry = Registry(self.dynamodb, self.table)

    # --- reads --------------------------------------------------------------------------------

    def _read(self, call: Any) -> Any:
        try:
            return self.backoff.call(call)
        except ClientError as exc:
            if error_code(exc) in THROTTLING_CODES:
                raise SageMakerThrottled(str(exc)) from exc
            raise

    def describe_endpoint(self, name: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self._read(
                lambda: self.sagemaker.describe_endpoint(EndpointName=name)
            )
        except ClientError as exc:
            message = str(exc.response.get("Error", {}).get("Message", ""))
            # DescribeEndpoint answers a missing endpoint with a ValidationException.
            if error_code(exc) == "ValidationException" and "Could not find endpoint" in message:
                return None
            raise
        return response

    def endpoint_tags(self, arn: str) -> dict[str, str]:
        """The endpoint's tags (DescribeEndpoint has none), every page."""
        return all_tags(
            arn, lambda request: self._read(lambda: self.sagemaker.list_tags(**request))
        )

    def owns(self, endpoint: dict[str, Any], record: EndpointItem | None, stack: str) -> bool:
        """This stack created the endpoint: it has the stack's endpoint record and tag."""
        if record is None:
            return False
        tags = self.endpoint_tags(str(endpoint["EndpointArn"]))
        return tags.get(STACK_TAG_KEY) == stack

    def endpoint_record(self, name: str) -> EndpointItem | None:
        return self.registry.endpoint_record(name)

    # --- the decision -------------------------------------------------------------------------

    def decide(
        self,
        deployment: dict[str, Any],
        endpoint_name: str,
        candidate: dict[str, Any],
        stack: str,
        rollback: bool = False,
    ) -> Decision:
        """``stack``: the stack's name, the value of its ``STACK_TAG_KEY`` tag. ``rollback``:
        put an earlier job back on an endpoint this stack owns (no comparison)."""
        endpoint = self.describe_endpoint(endpoint_name)
        record = self.endpoint_record(endpoint_name)
        live = (record or {}).get("live") if record else None
        recorded = str((record or {}).get("liveJob") or "")
        if rollback and (endpoint is None or not self.owns(endpoint, record, stack)):
            raise DeploymentBlocked(
                f"endpoint {endpoint_name} is not an endpoint this stack deployed and serves: "
                "a rollback changes only this stack's live endpoints"
            )
        if endpoint is None:
            return Decision(
                DEPLOY,
                f"endpoint {endpoint_name} does not exist: creating it",
                recorded_job=recorded,
            )
        if not self.owns(endpoint, record, stack):
            return Decision(
                SKIP,
                f"endpoint {endpoint_name} exists and was not created by this stack "
                f"(no registry record of it, or no {STACK_TAG_KEY} tag of this stack): "
                "the service never changes an endpoint it did not create. "
                "Name another endpoint in the manifest's Deployment.EndpointName",
                skip_code=NOT_OWNED,
                endpoint_exists=True,
            )
        status = str(endpoint.get("EndpointStatus"))
        if status in BUSY:
            raise DeploymentBlocked(
                f"endpoint {endpoint_name} is {status}: another deployment is in progress; "
                "FinalizeJob does not queue behind it"
            )
        if status != "InService":
            reason = endpoint.get("FailureReason") or "no reason given"
            raise DeploymentBlocked(
                f"endpoint {endpoint_name} is {status} ({reason}); it cannot be updated. "
                "Delete it, or name another endpoint in the manifest's Deployment section"
            )
        unconvertible = update_refusal(endpoint, deployment)  # deploy_targets' table
        if unconvertible is not None:
            return Decision(
                SKIP,
                unconvertible.message,
                skip_code=unconvertible.code,
                endpoint_exists=True,
                live=live,
            )
        if rollback:
            return Decision(
                DEPLOY,
                f"rollback requested: putting the model of job {candidate.get('jobName')} back",
                endpoint_exists=True,
                live=live,
                recorded_job=recorded,
            )
        if deployment.get("OnlyIfBetter", True) is False:
            return Decision(
                DEPLOY,
                "OnlyIfBetter is false: replacing the live model",
                endpoint_exists=True,
                live=live,
                # The claim is conditional on the live job: without it, it always failed.
                recorded_job=recorded,
            )
        live_value = _number((live or {}).get("value"))
        if not live or live_value is None:
            return Decision(
                SKIP,
                f"endpoint {endpoint_name} serves a model without a recorded objective value; "
                "with OnlyIfBetter it is not replaced (set OnlyIfBetter: false to replace it)",
                skip_code="not-comparable",
                endpoint_exists=True,
            )
        if live.get("metricName") != candidate["metricName"]:
            return Decision(
                SKIP,
                f"the live model was judged by {live.get('metricName')}, the new one by "
                f"{candidate['metricName']}: the values cannot be compared",
                skip_code="not-comparable",
                endpoint_exists=True,
                live=live,
            )
        if candidate["value"] is not None and better(
            candidate["value"], live_value, str(candidate["objectiveType"])
        ):
            return Decision(
                DEPLOY,
                f"{candidate['metricName']} {_fmt(candidate['value'])} beats the live model's "
                f"{_fmt(live_value)}: updating the endpoint",
                endpoint_exists=True,
                live=live,
                recorded_job=recorded,
            )
        return Decision(
            SKIP,
            f"{candidate['metricName']} {_fmt(candidate['value'])} does not beat the live "
            f"model's {_fmt(live_value)} ({candidate['objectiveType']})",
            skip_code="not-better",
            endpoint_exists=True,
            live=live,
        )

    # --- the plan -----------------------------------------------------------------------------

    def plan(self, event: dict[str, Any]) -> dict[str, Any]:
        """The plan for one FinalizeJob execution.

        ``event``: ``{"job": <DescribeAutoMLJobV2>, "leaderboard": <LeaderboardWriter.write>,
        "executionId": <$$.Execution.Id>, "stackTag": {"Key": STACK_TAG_KEY, "Value": <stack
        name>}}``. Every key of the result is always present (``None`` when it does not
        apply), so the machine's JSONPaths never miss."""
        stack_tag = stack_tag_of(event)
        request = deploy_request(event)
        registration: dict[str, Any] | None = event.get("registration") or None
        job = event["job"]
        leaderboard = event.get("leaderboard") or {}
        name = str(job["AutoMLJobName"])
        job_arn = str(job["AutoMLJobArn"])
        status = str(job["AutoMLJobStatus"])
        record = self.registry.get(name)
        deployment = _json_section(record, "deploymentConfig")
        notifications = _json_section(record, "notificationsConfig") or {}
        registry_config = _json_section(record, "registryConfig")
        registry_section = ModelRegistrySection.from_section(registry_config)
        best = job.get("BestCandidate") or None
        candidate = _candidate(best)
        base = {
            "jobName": name,
            "jobArn": job_arn,
            "jobStatus": status,
            "secondaryStatus": job.get("AutoMLJobSecondaryStatus"),
            "problemType": problem_type_of(job),
        }
        plan: dict[str, Any] = {
            **base,
            "jobKey": job_key(name),
            "action": NONE,
            "reason": "",
            "endpointName": None,
            "endpointArn": None,
            "endpointExists": False,
            "modelName": None,
            "endpointConfigName": None,
            "model": None,
            "endpointConfig": None,
            "candidate": candidate,
            "live": None,
            "claim": None,
            "records": None,
            "event": None,
            "topics": [],
            "summary": None,
            # issue 13: the registration still to make (RegisterCandidate's input), the
            # package (registered, or named by a deploy request), the rollout
            "register": None,
            "modelPackageArn": (registration or {}).get("modelPackageArn")
            or (request or {}).get("modelPackageArn"),
            "deploymentConfig": None,
            "strategy": None,
            "change": (request or {}).get("reason") or "finalize",
            # DescribeEndpoint polls before the deployment is given up (the machine's
            # PollsLeft): the stack's budget, plus what a rollout's waits need.
            "maxPolls": poll_budget(event)[1],
        }
        serving: dict[str, Any] | None = None
        if (
            request is None
            and registration is None
            and registry_section is not None
            and status == JobStatus.COMPLETED
            and best is not None
        ):
            plan["register"] = {
                "registry": registry_config,
                "deployment": deployment,
                "source": (record or {}).get("source"),
            }
        deploy_result = (job.get("ModelDeployResult") or {}).get("EndpointName")
        if deploy_result:
            plan.update(
                action=SAGEMAKER,
                reason="ModelDeployConfig: SageMaker deployed the best candidate itself",
                endpointName=deploy_result,
                endpointArn=endpoint_arn(job_arn, deploy_result),
            )
        elif job.get("ModelDeployConfig"):
            plan["reason"] = (
                "ModelDeployConfig: SageMaker deploys this job's model, not FinalizeJob"
            )
        elif deployment is None and request is not None:
            raise DeploymentBlocked(
                f"job {name}'s manifest has no Deployment section: there is nothing to "
                f"{'roll back' if request['reason'] == DeployReason.ROLLBACK else 'deploy'}"
            )
        elif deployment is None:
            plan["reason"] = "the manifest asks for no deployment"
        elif status != JobStatus.COMPLETED and request is not None:
            raise DeploymentBlocked(f"job {name} ended {status}: it has no model to deploy")
        elif status != JobStatus.COMPLETED:
            plan["reason"] = f"the job ended {status}: nothing to deploy"
        else:
            endpoint_name = (request or {}).get("endpointName") or deployment_endpoint_name(
                deployment, name
            )
            plan.update(
                endpointName=endpoint_name, endpointArn=endpoint_arn(job_arn, endpoint_name)
            )
            if candidate is None or best is None:
                plan.update(
                    action=SKIP,
                    reason=f"the job completed ({job.get('AutoMLJobSecondaryStatus')}) "
                    "without a best candidate",
                )
                skip_code: str | None = "no-best-candidate"
                decision = Decision(SKIP, plan["reason"], skip_code)
            elif (unhostable := candidate_refusal(job, best, deployment)) is not None:
                # What AWS would refuse at CreateEndpointConfig (deploy_targets' table).
                plan.update(action=SKIP, reason=unhostable.message)
                skip_code = unhostable.code
                decision = Decision(SKIP, unhostable.message, skip_code)
            elif request is None and registry_section and registry_section.approval_required:
                # Deployed later, by a deploy-mode execution, once the package is approved.
                skip_code = None
                decision = Decision(
                    AWAITING_APPROVAL,
                    f"Registry.ApprovalRequired: the model package in group "
                    f"{registry_section.group_name} awaits approval; it is deployed to "
                    f"{endpoint_name} once approved",
                )
                plan.update(action=decision.action, reason=decision.reason)
            else:
                decision = self.decide(
                    deployment,
                    endpoint_name,
                    {**candidate, "jobName": name},
                    stack_tag["Value"],
                    rollback=(request or {}).get("reason") == DeployReason.ROLLBACK,
                )
                skip_code = decision.skip_code
                plan.update(
                    action=decision.action,
                    reason=decision.reason,
                    endpointExists=decision.endpoint_exists,
                    live=decision.live,
                )
            if decision.action == DEPLOY and best is not None:
                serving = self._deployment_requests(
                    plan,
                    deployment=deployment,
                    best=best,
                    job=job,
                    event=event,
                    recorded_job=decision.recorded_job,
                    stack_tag=stack_tag,
                )
            if decision.action == SKIP:
                plan["event"] = {
                    "detailType": ev.DEPLOYMENT_SKIPPED,
                    "detail": {
                        **base,
                        "endpointName": endpoint_name,
                        "reason": skip_code,
                        "message": plan["reason"],
                        "candidate": _event_candidate(candidate),
                        "live": _event_live(decision.live),
                        "leaderboard": leaderboard.get("markdown"),
                    },
                }
        if plan["action"] in (DEPLOY, SAGEMAKER):
            plan["event"] = {
                "detailType": ev.MODEL_DEPLOYED,
                "detail": {
                    **base,
                    "endpointName": plan["endpointName"],
                    "endpointArn": plan["endpointArn"],
                    "deployedBy": _deployed_by(plan["action"]),
                    "operation": (
                        None
                        if plan["action"] == SAGEMAKER
                        else ("update" if plan["endpointExists"] else "create")
                    ),
                    "modelName": plan["modelName"],
                    "endpointConfigName": plan["endpointConfigName"],
                    "candidate": _event_candidate(candidate),
                    "replaced": _event_live(plan["live"]),
                    "serving": serving,
                    "inferenceResponseKeys": (deployment or {}).get("InferenceResponseKeys")
                    if plan["action"] == DEPLOY
                    else None,
                    "leaderboard": leaderboard.get("markdown"),
                    "modelPackageArn": plan["modelPackageArn"],
                    "strategy": plan["strategy"],
                    "change": plan["change"] if plan["action"] == DEPLOY else None,
                },
            }
        if plan["event"]:  # FinalizeJob's PublishOutcome state puts this detail as it is
            event_out = plan["event"]
            event_out["detail"] = ev.versioned(event_out["detailType"], event_out["detail"])
        if plan["action"] != NONE or registration:
            plan["records"] = self._records(plan, candidate, serving, registration)
        on_status = notifications.get("OnStatus") or list(NOTIFY_STATUSES)
        if status in on_status:
            plan["topics"] = list(notifications.get("TopicArns") or [])
        plan["summary"] = summarize(plan, job, leaderboard, serving)
        return plan

    def _deployment_requests(
        self,
        plan: dict[str, Any],
        *,
        deployment: dict[str, Any],
        best: dict[str, Any],
        job: dict[str, Any],
        event: dict[str, Any],
        recorded_job: str,
        stack_tag: dict[str, str],
    ) -> dict[str, Any]:
        name = plan["jobName"]
        resource_name = deployment_names(name, str(event.get("executionId") or name))
        containers = apply_response_keys(
            choose_containers(best, deployment.get("InstanceType")),
            list(deployment.get("InferenceResponseKeys") or []),
        )
        # The stack's tag comes from the state machine (substituted from template.yaml, as
        # in the IAM conditions that require it), so the two can never disagree.
        tags = [
            stack_tag,
            {"Key": JOB_TAG_KEY, "Value": name},
            {"Key": CANDIDATE_TAG_KEY, "Value": str(best.get("CandidateName"))[:TAG_VALUE_MAX]},
        ]
        model: dict[str, Any] = {
            "ModelName": resource_name,
            "ExecutionRoleArn": job["RoleArn"],
            **container_fields(containers),
            "Tags": tags,
        }
        vpc = (job.get("SecurityConfig") or {}).get("VpcConfig")
        if vpc:
            model["VpcConfig"] = vpc
        variant, serving = production_variant(deployment, resource_name)
        if plan["endpointExists"] and serving["type"] == "instances":
            # A blue/green update (issue 13): the manifest's Strategy, else all at once.
            # SageMaker has no blue/green for serverless endpoints (validation refuses a
            # Strategy there): they are updated without a DeploymentConfig.
            strategy = RolloutStrategy.from_deployment(deployment) or RolloutStrategy()
            plan.update(
                deploymentConfig=strategy.deployment_config(),
                strategy=strategy.type,
                maxPolls=rollout_polls(strategy, *poll_budget(event)),
            )
        plan.update(
            modelName=resource_name,
            endpointConfigName=resource_name,
            model=model,
            endpointConfig={
                "EndpointConfigName": resource_name,
                "ProductionVariants": [variant],
                "Tags": tags,
            },
            claim={
                "key": endpoint_key(plan["endpointName"]),
                # The live deployment this decision was made against ("" when none): the
                # claim fails if another deployment went live in between.
                "expectedLiveJob": recorded_job or NO_LIVE_JOB,
            },
        )
        return serving

    def _records(
        self,
        plan: dict[str, Any],
        candidate: dict[str, Any] | None,
        serving: dict[str, Any] | None,
        registration: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        state = {
            SKIP: DeploymentState.SKIPPED,
            AWAITING_APPROVAL: DeploymentState.AWAITING_APPROVAL,
        }.get(plan["action"], DeploymentState.DEPLOYED)
        deployment = {
            "state": state,
            "reason": plan["reason"],
            "endpointName": plan["endpointName"],
            "endpointArn": plan["endpointArn"],
            "deployedBy": _deployed_by(plan["action"]),
            "modelName": plan["modelName"],
            "endpointConfigName": plan["endpointConfigName"],
            "candidate": candidate,
            "live": plan["live"],
            "serving": serving,
            "modelPackageArn": plan["modelPackageArn"],
            "strategy": plan["strategy"],
        }
        live = {
            "jobName": plan["jobName"],
            "candidateName": (candidate or {}).get("candidateName"),
            "metricName": (candidate or {}).get("metricName"),
            "value": (candidate or {}).get("value"),
            "objectiveType": (candidate or {}).get("objectiveType"),
            "modelName": plan["modelName"],
            "endpointConfigName": plan["endpointConfigName"],
            "serving": serving,
            "modelPackageArn": plan["modelPackageArn"],
            "strategy": plan["strategy"],
            "change": plan["change"],
        }
        records = {"deployment": attribute_map(deployment), "live": attribute_map(live)}
        if registration:
            records["registration"] = attribute_map(
                {
                    "modelPackageArn": registration.get("modelPackageArn"),
                    "modelPackageGroupName": registration.get("modelPackageGroupName"),
                    "modelPackageVersion": registration.get("modelPackageVersion"),
                    "approvalStatus": registration.get("approvalStatus"),
                    "candidateName": registration.get("candidateName"),
                }
            )
        return records


DEFAULT_POLL_SECONDS = 30
DEFAULT_MAX_POLLS = 120


def poll_budget(event: Mapping[str, Any]) -> tuple[int, int]:
    """(seconds between polls, polls) as the machine's Init state read them from the stack's
    parameters (EndpointPollSeconds, EndpointMaxPolls)."""
    config = event.get("config") or {}
    seconds = _number(config.get("pollSeconds"))
    polls = _number(config.get("maxPolls"))
    return (
        int(seconds) if seconds and seconds > 0 else DEFAULT_POLL_SECONDS,
        int(polls) if polls and polls > 0 else DEFAULT_MAX_POLLS,
    )


def rollout_polls(strategy: RolloutStrategy, poll_seconds: int, max_polls: int) -> int:
    """The stack's budget (for provisioning the new fleet) plus the rollout's own time: its
    ``MaximumExecutionTimeoutInSeconds`` when set, else its baking and termination waits.
    SageMaker ends the rollout itself (rolled back) past its timeout."""
    rollout = strategy.maximum_execution_timeout_seconds or strategy.minimum_wait_seconds
    return max_polls + math.ceil(rollout / poll_seconds)


def deploy_request(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A deploy-mode execution's request (``event["deploy"]``, as the machine passes its
    input: ``{"mode": "deploy", "reason": "approved" | "rollback", "jobName",
    "endpointName", "requestedBy", "modelPackageArn"}``); None in finalize mode."""
    deploy = event.get("deploy") or {}
    if deploy.get("mode") != DeployMode.DEPLOY:
        return None
    reason = deploy.get("reason")
    if reason not in tuple(DeployReason):
        raise ValueError(f"a deploy request's reason is approved or rollback, not {reason!r}")
    if not deploy.get("jobName") or not deploy.get("endpointName"):
        raise ValueError("a deploy request names a jobName and an endpointName")
    return dict(deploy)


def _deployed_by(action: str) -> DeployedBy:
    return DeployedBy.SAGEMAKER if action == SAGEMAKER else DeployedBy.AUTOPILOT_FLOW


def stack_tag_of(event: Mapping[str, Any]) -> dict[str, str]:
    """The stack's tag as the state machine passes it; anything else is a deployment error
    (a definition out of step with this library would create untagged resources)."""
    tag = event.get("stackTag") or {}
    key, value = tag.get("Key"), tag.get("Value")
    if key != STACK_TAG_KEY or not isinstance(value, str) or not value:
        raise ValueError(f"the state machine passed no {STACK_TAG_KEY} tag: {tag!r}")
    return {"Key": key, "Value": value}


def _event_candidate(candidate: dict[str, Any] | None) -> dict[str, Any] | None:
    if candidate is None:
        return None
    return {k: candidate.get(k) for k in ("candidateName", "metricName", "value", "objectiveType")}


def _event_live(live: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not live:
        return None
    return {
        "jobName": live.get("jobName"),
        "candidateName": live.get("candidateName"),
        "metricName": live.get("metricName"),
        "value": _number(live.get("value")),
    }


# --- deploy mode and rollbacks ----------------------------------------------------------------


def prepare_deploy(request: Mapping[str, Any], registry: Registry) -> dict[str, Any]:
    """A deploy-mode input (``{"mode": "deploy", ...}``) -> what a finalize-mode execution
    starts with: the job's ``detail`` as its state change carried it (from the job's record),
    its ``jobKey``, and the request itself (``deploy``)."""
    checked = deploy_request({"deploy": request})
    if checked is None:
        raise ValueError("not a deploy request")
    name = str(checked["jobName"])
    record = registry.get(name)
    if not record or not record.get("jobArn"):
        raise DeploymentBlocked(f"job {name} is not a job this stack created")
    return {
        "detail": {
            "jobName": record.get("jobName") or name,
            "jobArn": record["jobArn"],
            "managed": True,
            "problemType": record.get("problemType"),
            "current": {
                "status": record.get("jobStatus"),
                "secondaryStatus": record.get("secondaryStatus"),
            },
        },
        "jobKey": job_key(name),
        "deploy": checked,
    }


def _rollback_alarm(plan: Mapping[str, Any], failure_reason: str) -> str | None:
    """Which of the rollout's alarms the endpoint's ``FailureReason`` names (AWS does not
    document the reason's wording: only the alarm names we sent are looked for)."""
    config = plan.get("deploymentConfig") or {}
    alarms = [
        a.get("AlarmName")
        for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])
    ]
    for alarm in sorted((a for a in alarms if a), key=len, reverse=True):
        if alarm in failure_reason:
            return str(alarm)
    return None


def describe_rollback(plan: Mapping[str, Any], endpoint: Mapping[str, Any]) -> dict[str, Any]:
    """SageMaker rolled the update back (the endpoint is InService on its old config): the
    job's record, the ``AutoML Deployment Rolled Back`` event and the notification. The
    endpoint's record keeps the model live before (the machine only releases its claim)."""
    failure_reason = str(endpoint.get("FailureReason") or "")
    alarm = _rollback_alarm(plan, failure_reason)
    live = plan.get("live") or {}
    why = f"the rollback alarm {alarm} fired" if alarm else "the update failed"
    message = (
        f"SageMaker rolled the update of endpoint {plan['endpointName']} back ({why}): it is "
        f"InService on {endpoint.get('EndpointConfigName')}, not on "
        f"{plan['endpointConfigName']}; the model of job "
        f"{live.get('jobName') or 'before'} stays live"
    )
    candidate = plan.get("candidate")
    deployment = {
        "state": DeploymentState.ROLLED_BACK,
        "reason": message,
        "endpointName": plan["endpointName"],
        "endpointArn": plan.get("endpointArn"),
        "deployedBy": DeployedBy.AUTOPILOT_FLOW,
        "modelName": plan.get("modelName"),
        "endpointConfigName": plan.get("endpointConfigName"),
        "candidate": candidate,
        "live": plan.get("live"),
        "modelPackageArn": plan.get("modelPackageArn"),
        "strategy": plan.get("strategy"),
        "alarm": alarm,
    }
    detail = {
        "jobName": plan["jobName"],
        "jobArn": plan["jobArn"],
        "problemType": plan.get("problemType"),
        "endpointName": plan["endpointName"],
        "endpointArn": endpoint.get("EndpointArn") or plan.get("endpointArn"),
        "attemptedEndpointConfigName": plan.get("endpointConfigName"),
        "liveEndpointConfigName": endpoint.get("EndpointConfigName"),
        "strategy": plan.get("strategy"),
        "alarm": alarm,
        "candidate": _event_candidate(candidate),
        "live": _event_live(live),
        "modelPackageArn": plan.get("modelPackageArn"),
        "message": message,
    }
    rolled_back = {**plan, "action": ROLLED_BACK, "reason": message}
    subject = _subject(
        f"Autopilot Flow: {plan['jobName']} {plan.get('jobStatus')}, rolled back on "
        f"{plan['endpointName']}"
    )
    # The plan's message with its last line (the outcome it expected) replaced.
    lines = str((plan.get("summary") or {}).get("message") or "").rstrip("\n").split("\n")
    body = "\n".join([*lines[:-1], _outcome_line(rolled_back, None)]).lstrip("\n") + "\n"
    return {
        "action": ROLLED_BACK,
        "records": {**(plan.get("records") or {}), "deployment": attribute_map(deployment)},
        "event": {
            "detailType": ev.DEPLOYMENT_ROLLED_BACK,
            "detail": ev.versioned(ev.DEPLOYMENT_ROLLED_BACK, detail),
        },
        "summary": {"subject": subject, "message": body},
    }


# --- the summary ------------------------------------------------------------------------------


def _subject(text: str) -> str:
    """SNS subjects: printable ASCII, no line breaks, at most 100 characters."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    return clean if len(clean) <= SUBJECT_MAX else clean[: SUBJECT_MAX - 3] + "..."


def _outcome_line(plan: dict[str, Any], serving: dict[str, Any] | None) -> str:
    action = plan["action"]
    if action == DEPLOY:
        verb = "updated" if plan["endpointExists"] else "created"
        how = ""
        if serving and serving["type"] == "serverless":
            how = (
                f", serverless {serving['memorySizeInMB']} MB, "
                f"{serving['maxConcurrency']} concurrent"
            )
        elif serving:
            how = f", {serving['instanceCount']} x {serving['instanceType']}"
        return f"Endpoint: {plan['endpointName']} ({verb}{how}). {plan['reason']}."
    if action == SAGEMAKER:
        return f"Endpoint: {plan['endpointName']} (deployed by SageMaker, ModelDeployConfig)."
    if action == SKIP:
        return f"Deployment to {plan['endpointName']} skipped: {plan['reason']}."
    if action == AWAITING_APPROVAL:
        return f"Deployment to {plan['endpointName']} awaits approval: {plan['reason']}."
    if action == ROLLED_BACK:
        return f"Deployment to {plan['endpointName']} rolled back: {plan['reason']}."
    return f"No deployment: {plan['reason']}."


def summarize(
    plan: dict[str, Any],
    job: dict[str, Any],
    leaderboard: dict[str, Any],
    serving: dict[str, Any] | None,
) -> dict[str, str]:
    """The notification: a subject and a short plain-text body for people."""
    name, status = plan["jobName"], plan["jobStatus"]
    outcome = {
        DEPLOY: f", deployed to {plan['endpointName']}",
        SAGEMAKER: f", deployed to {plan['endpointName']}",
        SKIP: ", deployment skipped",
        AWAITING_APPROVAL: ", awaiting approval",
        ROLLED_BACK: f", rolled back on {plan['endpointName']}",
    }.get(plan["action"], "")
    subject = _subject(f"Autopilot Flow: {name} {status}{outcome}")
    problem = plan["problemType"] or "unknown"
    resolved = (job.get("ResolvedAttributes") or {}).get(
        "AutoMLProblemTypeResolvedAttributes"
    ) or {}
    tabular = (resolved.get("TabularResolvedAttributes") or {}).get("ProblemType")
    if tabular:
        problem += f" ({tabular})"
    lines = [
        f"AutoML job {name}: {status} ({plan['secondaryStatus']})",
        f"Problem type: {problem}",
    ]
    if job.get("FailureReason"):
        lines.append(f"Failure reason: {job['FailureReason']}")
    candidate = plan["candidate"]
    if candidate:
        lines.append(
            f"Best candidate: {candidate['candidateName']}, {candidate['metricName']} = "
            f"{_fmt(candidate['value'])} ({candidate['objectiveType']})"
        )
    else:
        lines.append("Best candidate: none")
    top = leaderboard.get("top") or []
    objective = leaderboard.get("objective") or {}
    if top:
        direction = {"Maximize": "higher is better", "Minimize": "lower is better"}.get(
            str(objective.get("type")), ""
        )
        lines += [
            "",
            f"Top {len(top)} of {leaderboard.get('count', len(top))} candidates "
            f"({objective.get('metricName')}{', ' + direction if direction else ''}):",
        ]
        lines += [f"  {row['rank']}. {row['candidateName']}  {_fmt(row['value'])}" for row in top]
    elif leaderboard:
        lines += ["", f"Candidates: {leaderboard.get('count', 0)}, none with an objective value."]
    if leaderboard.get("markdown"):
        lines += ["", f"Leaderboard: {leaderboard['markdown']} (JSON: {leaderboard.get('json')})"]
    lines += ["", _outcome_line(plan, serving)]
    return {"subject": subject, "message": "\n".join(lines) + "\n"}


# --- failures: a stage, a stable code, a plain message -----------------------------------------

# Errors whose cause is our own plain text (the machine's Pass states, or the message of
# an exception of this module raised in PlanFinalize).
OWN_FAILURE_CODES = {
    "EndpointFailed": "endpoint.failed",
    "EndpointUpdateRolledBack": "endpoint.rolled_back",
    "EndpointNotInService": "endpoint.not_in_service",
    DeploymentBlocked.__name__: "endpoint.blocked",
    UnsupportedResponseKeys.__name__: "deployment.unsupported_response_keys",
}
# RegisterCandidate's refusals (autopilot_flow.model_registration.FAILURE_CODES, which
# imports this module: ``own_failure_codes`` joins the two tables; a test keeps these equal).
REGISTRATION_FAILURE_CODES = frozenset(
    {
        "model_registry.no_candidate",
        "model_registry.group_not_owned",
        "model_registry.refused",
        "model_registry.not_authorized",
        "model_registry.quota",
    }
)
FAILURE_CODES = frozenset(
    {
        *OWN_FAILURE_CODES.values(),
        *REGISTRATION_FAILURE_CODES,
        "endpoint.claimed",
        "registry.conflict",
        "registry.unavailable",
        "sagemaker.quota",
        "sagemaker.not_authorized",
        "sagemaker.throttled",
        "sagemaker.refused",
        "timeout",
        "internal",
    }
)
NOTIFICATION_CODES = frozenset(
    {
        "notification.topic_not_found",
        "notification.not_authorized",
        "notification.topic_key",
        "notification.event_not_published",
        "notification.failed",
    }
)
MESSAGE_MAX = 1024
_DETAIL_IN_LOGS = "the detail is in FinalizeJob's logs under the job's name"


def _own_message(cause: str) -> str:
    """Our own text: a Lambda error's ``errorMessage`` (never its type or stack trace), or the
    cause as the machine wrote it."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict):
        return str(parsed.get("errorMessage") or "")
    return cause


def _denied(error: str, cause: str) -> bool:
    return "AccessDenied" in error or "not authorized" in cause or "AccessDenied" in cause


def _throttled(error: str, cause: str) -> bool:
    return "Throttl" in error or "Throttl" in cause or "Rate exceeded" in cause


def own_failure_codes() -> dict[str, str]:
    """Error names whose cause is our own plain text -> their codes: this module's and the
    registration step's."""
    from autopilot_flow import model_registration  # noqa: PLC0415 - it imports this module

    return {**OWN_FAILURE_CODES, **model_registration.FAILURE_CODES}


def _failure_code(stage: str, error: str, cause: str, endpoint: str) -> tuple[str, str]:
    own = own_failure_codes()
    if error in own:
        return own[error], _own_message(cause)
    if error.endswith("ConditionalCheckFailedException"):
        if stage == "deploy":
            return "endpoint.claimed", (
                f"another deployment to endpoint {endpoint} is in progress, or another model "
                "went live there after this deployment was planned; nothing was changed"
            )
        return "registry.conflict", "the job registry changed while the outcome was recorded"
    if error.startswith("DynamoDB."):
        return "registry.unavailable", f"the job registry could not be written at stage {stage}"
    if error == SageMakerThrottled.__name__:
        return "sagemaker.throttled", "SageMaker throttled the calls for longer than allowed"
    if error.startswith("SageMaker."):
        if "ResourceLimitExceeded" in error:
            return "sagemaker.quota", (
                "a SageMaker quota (endpoints, instances or concurrency) is exhausted"
            )
        if _denied(error, cause):
            return "sagemaker.not_authorized", (
                "this stack may not make that SageMaker call: it changes only models, "
                f"endpoint configs and endpoints tagged {STACK_TAG_KEY} with its own name"
            )
        if _throttled(error, cause):
            return "sagemaker.throttled", "SageMaker throttled the calls for longer than allowed"
        return "sagemaker.refused", f"SageMaker refused a request at stage {stage}"
    if error == "States.Timeout":
        return "timeout", f"stage {stage} took longer than allowed"
    return "internal", f"an internal error at stage {stage}"


def describe_failure(failure: Mapping[str, Any]) -> dict[str, str]:
    """``{stage, error, cause, endpointName}`` (Step Functions' error name and cause) ->
    ``{stage, code, message}`` for the registry, the event, the API and the message to
    people. The one place that maps error names to stable codes; the raw ones go to logs."""
    stage = str(failure.get("stage") or "unknown")
    error = str(failure.get("error") or "")
    cause = str(failure.get("cause") or "")
    endpoint = str(failure.get("endpointName") or "the endpoint")
    code, message = _failure_code(stage, error, cause, endpoint)
    if code not in own_failure_codes().values():
        message = f"{message} ({_DETAIL_IN_LOGS})"
    message = message.strip() or f"stage {stage} failed ({_DETAIL_IN_LOGS})"
    return {"stage": stage, "code": code, "message": message[:MESSAGE_MAX]}


def describe_notification_failure(failure: Mapping[str, Any]) -> dict[str, str]:
    """``{channel, target, error, cause}`` of a publication that failed (SNS topic or the
    outcome event) -> ``{channel, target, code, message}``."""
    channel = str(failure.get("channel") or "sns")
    target = str(failure.get("target") or "")
    error = str(failure.get("error") or "")
    cause = str(failure.get("cause") or "")
    if channel == "events":
        code = "notification.event_not_published"
        message = f"the outcome event could not be put on the bus {target}"
    elif "NotFound" in error or "does not exist" in cause:
        code, message = "notification.topic_not_found", f"topic {target} does not exist"
    elif "AuthorizationError" in error or _denied(error, cause):
        code = "notification.not_authorized"
        message = f"this stack may not publish to topic {target}"
    elif "KMS" in error:
        code = "notification.topic_key"
        message = f"the KMS key of topic {target} refused the message"
    else:
        code, message = "notification.failed", f"could not publish to topic {target}"
    message = f"{message}; the deployment outcome is unchanged ({_DETAIL_IN_LOGS})"
    return {"channel": channel, "target": target, "code": code, "message": message[:MESSAGE_MAX]}


# --- starting FinalizeJob ---------------------------------------------------------------------


@dataclass
class FinalizeStarter:
    """Starts one FinalizeJob execution per managed job and final status.

    EventBridge's Step Functions target cannot name executions, so this runs between the
    rule and the machine: the execution name ``<job>-<status>`` makes a repeated event start
    nothing new (``ExecutionAlreadyExists`` is success)."""

    stepfunctions: Any
    state_machine_arn: str

    def start(self, event: dict[str, Any]) -> dict[str, Any]:
        detail = event.get("detail") or {}
        current = detail.get("current") or {}
        status = str(current.get("status") or "")
        job_name = str(detail.get("jobName") or "")
        if (
            event.get("detail-type") != ev.JOB_STATE_CHANGE
            or detail.get("managed") is not True
            or status not in TERMINAL
            or not job_name
        ):
            # The rule's pattern admits nothing else; a stray event is ignored, not retried.
            return {"started": False, "reason": "not a managed job's final state change"}
        name = execution_name(job_name, status)
        arn = self._execution_arn(name)
        # The machine's input: the event as EventBridge delivered it, plus the job's registry
        # key (ASL cannot lower-case the name itself).
        execution_input = {**event, "jobKey": job_key(job_name)}
        try:
            response = self.stepfunctions.start_execution(
                stateMachineArn=self.state_machine_arn,
                name=name,
                input=json.dumps(execution_input),
            )
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            return {
                "started": False,
                "executionArn": arn,
                "name": name,
                "reason": "already started",
            }
        return {"started": True, "executionArn": response["executionArn"], "name": name}

    def _execution_arn(self, name: str) -> str:
        prefix, _, machine = self.state_machine_arn.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"


# --- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSettings:
    jobs_table: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PlanSettings:
        reader = _Reader(env)
        jobs_table = reader.required("JOBS_TABLE_NAME")
        if reader.problems:
            raise SettingsError(reader.problems)
        return cls(jobs_table=jobs_table)


@dataclass(frozen=True)
class StartSettings:
    state_machine_arn: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StartSettings:
        reader = _Reader(env)
        arn = reader.required("FINALIZE_STATE_MACHINE_ARN")
        if reader.problems:
            raise SettingsError(reader.problems)
        return cls(state_machine_arn=arn)


def build_planner(settings: PlanSettings, session: Any = None) -> FinalizePlanner:
    import boto3  # noqa: PLC0415 - the CLI never needs it

    from autopilot_flow.sagemaker import sagemaker_client  # noqa: PLC0415

    session = session or boto3.session.Session()
    return FinalizePlanner(
        sagemaker=sagemaker_client(session),
        dynamodb=session.client("dynamodb"),
        table=settings.jobs_table,
    )


def build_starter(settings: StartSettings, session: Any = None) -> FinalizeStarter:
    import boto3  # noqa: PLC0415 - the CLI never needs it

    session = session or boto3.session.Session()
    return FinalizeStarter(session.client("stepfunctions"), settings.state_machine_arn)
