"""Our own manifest sections, ``Deployment`` (with its rollout ``Strategy``), ``Notifications``
and ``Registry`` (see docs/architecture.md).

They are described with the same node format as the API model (``api_model``), so one
structural walker validates both, and ``autopilot-flow schema`` documents both. They are
stripped from the request before ``CreateAutoMLJobV2`` is called.

``Registry`` and ``Deployment.Strategy`` are read once more after validation, into the typed
``ModelRegistrySection`` and ``RolloutStrategy``: what FinalizeJob's registration and rollout
steps consume (``RolloutStrategy.deployment_config()`` is UpdateEndpoint's DeploymentConfig).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from autopilot_flow import deploy_targets as targets
from autopilot_flow import problem_types as pt
from autopilot_flow.issues import Issue, Loc, describe
from autopilot_flow.rules import RuleContext, integer, mapping, rule, structural_rule, text

Node = dict[str, Any]

RESPONSE_KEYS = ("predicted_label", "probability", "probabilities", "labels")
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
NOTIFY_STATUSES = ("Completed", "Failed", "Stopped")

# Deployment.Strategy: SageMaker's blue/green DeploymentConfig for UpdateEndpoint. Every bound
# is the botocore service model's (sagemaker 2017-07-24), named by its shape.
STRATEGY_TYPES: Final = ("AllAtOnce", "Canary", "Linear")
# Our Type -> TrafficRoutingConfig.Type.
TRAFFIC_ROUTING_TYPES: Final = {"AllAtOnce": "ALL_AT_ONCE", "Canary": "CANARY", "Linear": "LINEAR"}
WAIT_INTERVAL_RANGE: Final = (0, 3600)  # shape WaitIntervalInSeconds
TERMINATION_WAIT_RANGE: Final = (0, 3600)  # shape TerminationWaitInSeconds
EXECUTION_TIMEOUT_RANGE: Final = (600, 28800)  # shape MaximumExecutionTimeoutInSeconds
CANARY_PERCENT_RANGE: Final = (1, 50)  # CapacitySizeValue min 1; CanarySize <= 50%
LINEAR_PERCENT_RANGE: Final = (10, 50)  # LinearStepSize 10-50%
MAX_ROLLBACK_ALARMS: Final = 10  # shape AlarmList
# Our defaults (SageMaker documents none for a canary's or a step's wait): five minutes of
# baking per step; AllAtOnce shifts at once and bakes for 0 s unless told.
DEFAULT_STEP_WAIT_SECONDS: Final = 300

STRATEGY: Node = {
    "type": "structure",
    "shape": "DeploymentStrategy",
    "doc": "How an existing endpoint is updated to the new model: SageMaker's blue/green "
    "deployment with traffic shifting and alarm rollback (instance endpoints only). "
    "Default: AllAtOnce.",
    "required": [],
    "members": {
        "Type": {
            "type": "string",
            "shape": "DeploymentStrategyType",
            "enum": list(STRATEGY_TYPES),
            "doc": "AllAtOnce, Canary (a canary share, then the rest) or Linear (equal steps). "
            "Default: AllAtOnce.",
        },
        "StepPercent": {
            "type": "integer",
            "min": CANARY_PERCENT_RANGE[0],
            "max": CANARY_PERCENT_RANGE[1],
            "doc": "Canary: the canary's share of the new fleet (1-50); Linear: each step's "
            "share (10-50). Required for Canary and Linear, not allowed for AllAtOnce.",
        },
        "WaitIntervalInSeconds": {
            "type": "integer",
            "min": WAIT_INTERVAL_RANGE[0],
            "max": WAIT_INTERVAL_RANGE[1],
            "doc": "Baking time after each traffic shift, while the alarms watch (0-3600). "
            f"Default: {DEFAULT_STEP_WAIT_SECONDS} for Canary and Linear, 0 for AllAtOnce.",
        },
        "TerminationWaitInSeconds": {
            "type": "integer",
            "min": TERMINATION_WAIT_RANGE[0],
            "max": TERMINATION_WAIT_RANGE[1],
            "doc": "How long the old fleet is kept after the last shift (0-3600). Default: 0.",
        },
        "MaximumExecutionTimeoutInSeconds": {
            "type": "integer",
            "min": EXECUTION_TIMEOUT_RANGE[0],
            "max": EXECUTION_TIMEOUT_RANGE[1],
            "doc": "The whole rollout's time limit (600-28800); must exceed the waits. "
            "Default: SageMaker's.",
        },
        "AutoRollbackAlarmNames": {
            "type": "list",
            "min": 1,
            "max": MAX_ROLLBACK_ALARMS,
            "doc": "CloudWatch alarms (this account and region) that roll the update back when "
            "they go to ALARM during a baking period. They must exist (checked before the job).",
            "member": {
                "type": "string",
                "shape": "AlarmName",
                "min": 1,
                "max": 255,
                "pattern": "(?!\\s*$).+",
            },
        },
    },
}

DEPLOYMENT: Node = {
    "type": "structure",
    "shape": "Deployment",
    "doc": "How FinalizeJob deploys the best candidate when the job completes.",
    "required": [],
    "members": {
        "EndpointName": {
            "type": "string",
            "shape": "EndpointName",
            "min": 1,
            "max": 63,
            "pattern": "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            "doc": "The endpoint to create or update. Default: the job name.",
        },
        "OnlyIfBetter": {
            "type": "boolean",
            "doc": "Replace a live model only when the new objective value beats it. "
            "Default: true.",
        },
        "Serverless": {
            "type": "structure",
            "shape": "DeploymentServerless",
            "doc": "Deploy to a serverless endpoint (the default when InstanceType is not set).",
            "required": [],
            "members": {
                "MemorySizeInMB": {
                    "type": "integer",
                    "min": 1024,
                    "max": 6144,
                    "doc": "1024, 2048, 3072, 4096, 5120 or 6144. Default: 2048.",
                },
                "MaxConcurrency": {
                    "type": "integer",
                    "min": 1,
                    "max": 200,
                    "doc": "Concurrent invocations. Default: 5.",
                },
            },
        },
        "InstanceType": {
            "type": "string",
            "shape": "InstanceType",
            "min": 1,
            "max": 64,
            "pattern": "ml\\.[a-z0-9]+\\.[a-z0-9]+",
            "doc": "Deploy to instances of this type, e.g. ml.m5.large.",
        },
        "InitialInstanceCount": {
            "type": "integer",
            "min": 1,
            "max": 100,
            "doc": "How many instances (with InstanceType). Default: 1.",
        },
        "InferenceResponseKeys": {
            "type": "list",
            "min": 1,
            "max": 4,
            "doc": "What a classification model answers with (SAGEMAKER_INFERENCE_OUTPUT).",
            "member": {
                "type": "string",
                "shape": "InferenceResponseKey",
                "enum": list(RESPONSE_KEYS),
            },
        },
        "Strategy": STRATEGY,
    },
}

NOTIFICATIONS: Node = {
    "type": "structure",
    "shape": "Notifications",
    "doc": "Who else hears about this job when it ends.",
    "required": [],
    "members": {
        "TopicArns": {
            "type": "list",
            "min": 1,
            "max": 10,
            "doc": "Extra SNS topics for this job's summary (the policy must allow them).",
            "member": {
                "type": "string",
                "shape": "TopicArn",
                "min": 1,
                "max": 1024,
                "pattern": "arn:aws[a-z\\-]*:sns:[a-z0-9\\-]+:\\d{12}:[A-Za-z0-9_\\-]{1,256}",
            },
        },
        "OnStatus": {
            "type": "list",
            "min": 1,
            "max": 3,
            "doc": "Which final statuses notify. Default: all of Completed, Failed, Stopped.",
            "member": {"type": "string", "shape": "NotifyStatus", "enum": list(NOTIFY_STATUSES)},
        },
    },
}

# Registry: the SageMaker Model Registry. Bounds from the botocore model: the group name is
# CreateModelPackageGroup's ModelPackageGroupName (shape EntityName), the description
# CreateModelPackage's ModelPackageDescription (shape EntityDescription).
APPROVAL_PENDING: Final = "PendingManualApproval"
APPROVED: Final = "Approved"
REGISTRY: Node = {
    "type": "structure",
    "shape": "Registry",
    "doc": "Register the best candidate in the SageMaker Model Registry (and, with "
    "ApprovalRequired, deploy it only once a person approves it).",
    "required": ["ModelPackageGroupName"],
    "members": {
        "ModelPackageGroupName": {
            "type": "string",
            "shape": "EntityName",
            "min": 1,
            "max": 63,
            "pattern": "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
            "doc": "The model package group; created if missing (with this stack's tag).",
        },
        "ApprovalRequired": {
            "type": "boolean",
            "doc": "Register as PendingManualApproval and deploy only once approved. "
            "Default: false (registered as Approved and deployed at once).",
        },
        "Description": {
            "type": "string",
            "shape": "EntityDescription",
            "min": 0,
            "max": 1024,
            "pattern": "[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*",
            "doc": "The model package's description (at most 1024 characters, one line).",
        },
    },
}

SECTION_NODES: dict[str, Node] = {
    "Deployment": DEPLOYMENT,
    "Notifications": NOTIFICATIONS,
    "Registry": REGISTRY,
}


def _deployment(ctx: RuleContext) -> dict[str, Any] | None:
    value = ctx.sections.get("Deployment")
    return value if isinstance(value, dict) else None


@rule(
    "deployment.target",
    cite="Deployment (ours): a serverless endpoint or instances, not both; "
    "InitialInstanceCount goes with InstanceType; serverless memory is 1024-6144 MB in 1 GB "
    "steps (SageMaker ServerlessConfig).",
)
def deployment_target(ctx: RuleContext) -> None:
    deployment = _deployment(ctx)
    if deployment is None:
        return
    if "Serverless" in deployment and "InstanceType" in deployment:
        ctx.error(
            ("Deployment", "Serverless"),
            "deployment.target",
            "choose a serverless endpoint or InstanceType, not both.",
        )
    if "InitialInstanceCount" in deployment and "InstanceType" not in deployment:
        ctx.error(
            ("Deployment", "InitialInstanceCount"),
            "deployment.target",
            "InitialInstanceCount needs InstanceType.",
        )
    memory = mapping(deployment.get("Serverless")).get("MemorySizeInMB")
    if (
        isinstance(memory, int)
        and not isinstance(memory, bool)
        and 1024 <= memory <= 6144
        and memory not in SERVERLESS_MEMORY_SIZES
    ):
        ctx.error(
            ("Deployment", "Serverless", "MemorySizeInMB"),
            "deployment.target",
            f"must be one of {', '.join(map(str, SERVERLESS_MEMORY_SIZES))} (got {memory}).",
        )


@rule(
    "deployment.problem_type",
    cite="Deployment (ours): text generation models need GPU instances (serverless endpoints "
    f"have none: {targets.SERVERLESS_PAGE}, GPUs; nor do CPU instance families); "
    "InferenceResponseKeys apply to classification models only; a job that only generates "
    "candidate definitions has no model to deploy.",
)
def deployment_fits_problem(ctx: RuleContext) -> None:
    deployment = _deployment(ctx)
    if deployment is None or ctx.problem is None:
        return
    target = targets.target_of(deployment)
    if ctx.problem in targets.GPU_PROBLEMS and not target.gpu:
        instance_type = text(deployment.get("InstanceType"))
        hosts = (
            f"{instance_type} has none"
            if instance_type
            else "serverless endpoints cannot host them"
        )
        ctx.error(
            ("Deployment", "InstanceType"),
            "deployment.problem_type",
            f"text generation models need an InstanceType with GPUs (e.g. ml.g5.2xlarge); {hosts}.",
        )
    if "InferenceResponseKeys" in deployment:
        problem_type = ctx.tabular_problem_type()
        classification = ctx.problem in (pt.TEXT_CLASSIFICATION, pt.IMAGE_CLASSIFICATION) or (
            ctx.problem == pt.TABULAR and problem_type != "Regression"
        )
        if not classification:
            what = "Regression" if ctx.problem == pt.TABULAR else ctx.problem
            ctx.error(
                ("Deployment", "InferenceResponseKeys"),
                "deployment.problem_type",
                f"response keys apply to classification models only, not {what}.",
            )
    if ctx.problem == pt.TABULAR and ctx.config.get("GenerateCandidateDefinitionsOnly") is True:
        ctx.error(
            ("Deployment",),
            "deployment.problem_type",
            "GenerateCandidateDefinitionsOnly trains no model, so there is nothing to deploy.",
        )


def _target_loc(deployment: dict[str, Any]) -> tuple[str, ...]:
    return ("Deployment", "Serverless") if "Serverless" in deployment else ("Deployment",)


@rule(
    "target.pipeline",
    "target.vpc",
    "target.auto_mode",
    cite=f"{targets.SERVERLESS_PAGE}: serverless endpoints do not support inference pipelines "
    f"or VPC configuration. {targets.AUTOPILOT_DEPLOY_PAGE}. {targets.AUTOPILOT_MODES_PAGE} "
    "(a warning: AUTO decides after submission).",
)
def deployment_target_hosts_the_model(ctx: RuleContext) -> None:
    """What the chosen target cannot host, as far as the manifest already says (the planner
    checks the rest on the job's best candidate)."""
    deployment = _deployment(ctx)
    if (
        deployment is None
        or ctx.problem is None
        or "ModelDeployConfig" in ctx.request
        or ctx.config.get("GenerateCandidateDefinitionsOnly") is True
    ):
        return
    target = targets.target_of(deployment)
    mode = ctx.tabular_mode() if ctx.problem == pt.TABULAR else None
    vpc = ctx.policy_requires_vpc or bool(
        mapping(ctx.request.get("SecurityConfig")).get("VpcConfig")
    )
    needs = targets.submit_needs(ctx.problem, mode, ctx.tabular_problem_type(), vpc)
    loc = _target_loc(deployment)
    for refusal in targets.refusals(target, needs):
        if refusal.code == "target.pipeline":
            ctx.error(
                loc,
                refusal.code,
                f"Mode HYPERPARAMETER_TUNING trains {needs.containers}-container inference "
                f"pipelines: {refusal.message}",
            )
        elif refusal.code == "target.vpc":
            ctx.error(loc, refusal.code, refusal.message)
        # target.gpu: deployment.problem_type says it (text generation).
    if targets.auto_mode_may_not_fit(ctx.problem, mode, target):
        omitted = " (Mode omitted)" if "Mode" not in ctx.config else ""
        ctx.warn(
            loc,
            "target.auto_mode",
            f"Mode is AUTO{omitted}: Autopilot picks ENSEMBLING (one-container models) below "
            "100 MB of data and HYPERPARAMETER_TUNING (inference pipelines, which "
            f"{target.name} cannot host) from 100 MB; FinalizeJob then skips the deployment "
            "(target.pipeline). Set Mode: ENSEMBLING, or deploy with InstanceType. The data "
            "preflight warns again (preflight.auto_mode) when the data it lists is 100 MB or "
            "more.",
        )


@rule(
    "deployment.model_deploy_config",
    cite="Deployment (ours) beside ModelDeployConfig: SageMaker already deploys the best model, "
    "so FinalizeJob does not deploy it a second time (a warning).",
)
def deployment_beside_model_deploy_config(ctx: RuleContext) -> None:
    if _deployment(ctx) is not None and "ModelDeployConfig" in ctx.request:
        ctx.warn(
            ("Deployment",),
            "deployment.model_deploy_config",
            "ModelDeployConfig already deploys the best model; this Deployment section will "
            "be ignored.",
        )


def deployment_endpoint_name(deployment: dict[str, Any], job_name: str) -> str:
    """The endpoint a Deployment section targets (default: the job name)."""
    return text(deployment.get("EndpointName")) or job_name


# --- Deployment.Strategy ------------------------------------------------------------------------

STRATEGY_PAGE: Final = (
    "AWS docs: SageMaker API reference, UpdateEndpoint's DeploymentConfig, "
    "BlueGreenUpdatePolicy, TrafficRoutingConfig, CapacitySize, AutoRollbackConfig"
)
STRATEGY_LOC: Final[Loc] = ("Deployment", "Strategy")


@dataclass(frozen=True)
class RolloutStrategy:
    """A validated ``Deployment.Strategy``, defaults filled: how FinalizeJob updates an
    existing endpoint (``deployment_config()`` is UpdateEndpoint's ``DeploymentConfig``)."""

    type: str = "AllAtOnce"
    step_percent: int | None = None
    wait_interval_seconds: int = 0
    termination_wait_seconds: int = 0
    maximum_execution_timeout_seconds: int | None = None
    alarm_names: tuple[str, ...] = ()

    @classmethod
    def from_section(cls, strategy: Mapping[str, Any]) -> RolloutStrategy:
        """From a ``Strategy`` mapping the validator accepted."""
        kind = text(strategy.get("Type")) or "AllAtOnce"
        default_wait = 0 if kind == "AllAtOnce" else DEFAULT_STEP_WAIT_SECONDS
        wait = integer(strategy.get("WaitIntervalInSeconds"))
        termination = integer(strategy.get("TerminationWaitInSeconds"))
        alarms = strategy.get("AutoRollbackAlarmNames")
        return cls(
            type=kind,
            step_percent=integer(strategy.get("StepPercent")),
            wait_interval_seconds=default_wait if wait is None else wait,
            termination_wait_seconds=0 if termination is None else termination,
            maximum_execution_timeout_seconds=integer(
                strategy.get("MaximumExecutionTimeoutInSeconds")
            ),
            alarm_names=tuple(a for a in alarms if isinstance(a, str))
            if isinstance(alarms, list)
            else (),
        )

    @classmethod
    def from_deployment(cls, deployment: Mapping[str, Any] | None) -> RolloutStrategy | None:
        """The ``Strategy`` of a validated ``Deployment`` section; None when it has none (an
        existing endpoint is then updated as before: UpdateEndpoint without DeploymentConfig)."""
        strategy = mapping(deployment).get("Strategy") if deployment else None
        return cls.from_section(strategy) if isinstance(strategy, Mapping) else None

    @property
    def traffic_shifts(self) -> int:
        """How many times traffic moves: 1 (AllAtOnce), 2 (Canary), ceil(100 / step) (Linear)."""
        if self.type == "Canary":
            return 2
        if self.type == "Linear" and self.step_percent:
            return math.ceil(100 / self.step_percent)
        return 1

    @property
    def minimum_wait_seconds(self) -> int:
        """The rollout's waiting: a baking period after every traffic shift (the canary's,
        each linear step's, and the final one once all traffic is on the new fleet, as
        SageMaker's canary and linear guides describe them) plus the termination wait."""
        return self.traffic_shifts * self.wait_interval_seconds + self.termination_wait_seconds

    def deployment_config(self) -> dict[str, Any]:
        """UpdateEndpoint's ``DeploymentConfig`` (steps as CAPACITY_PERCENT of the new fleet)."""
        routing: dict[str, Any] = {
            "Type": TRAFFIC_ROUTING_TYPES[self.type],
            "WaitIntervalInSeconds": self.wait_interval_seconds,
        }
        if self.step_percent is not None and self.type in ("Canary", "Linear"):
            size_field = "CanarySize" if self.type == "Canary" else "LinearStepSize"
            routing[size_field] = {"Type": "CAPACITY_PERCENT", "Value": self.step_percent}
        policy: dict[str, Any] = {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": self.termination_wait_seconds,
        }
        if self.maximum_execution_timeout_seconds is not None:
            policy["MaximumExecutionTimeoutInSeconds"] = self.maximum_execution_timeout_seconds
        config: dict[str, Any] = {"BlueGreenUpdatePolicy": policy}
        if self.alarm_names:
            config["AutoRollbackConfiguration"] = {
                "Alarms": [{"AlarmName": name} for name in self.alarm_names]
            }
        return config


def _strategy(ctx: RuleContext) -> dict[str, Any] | None:
    value = mapping(_deployment(ctx)).get("Strategy")
    return value if isinstance(value, dict) else None


def _strategy_type(strategy: Mapping[str, Any]) -> str | None:
    """The strategy's Type (AllAtOnce when omitted); None when it is not a valid type."""
    kind = strategy.get("Type", "AllAtOnce")
    return kind if kind in STRATEGY_TYPES else None


RULES_OF_THE_WALK: Final = "(Checked during the structural walk.)"
structural_rule(
    "min_value",
    "max_value",
    "min_items",
    "max_items",
    "min_length",
    "max_length",
    "pattern",
    name="strategy_bounds",
    cite="Deployment.Strategy (ours), bounds exactly as UpdateEndpoint's DeploymentConfig "
    "documents them (botocore shapes): WaitIntervalInSeconds 0-3600 (TrafficRoutingConfig, "
    "shape WaitIntervalInSeconds); TerminationWaitInSeconds 0-3600 and "
    "MaximumExecutionTimeoutInSeconds 600-28800 (BlueGreenUpdatePolicy, shapes "
    "TerminationWaitInSeconds and MaximumExecutionTimeoutInSeconds); StepPercent 1-50 "
    "(CapacitySize.Value, shape CapacitySizeValue, minimum 1; TrafficRoutingConfig.CanarySize: "
    "Value must be less than or equal to 50% of the variant's total instance count); "
    "AutoRollbackAlarmNames 1-10 names of 1-255 characters, not blank (AutoRollbackConfig."
    f"Alarms, shapes AlarmList and AlarmName). {RULES_OF_THE_WALK} ({STRATEGY_PAGE})",
)


@rule(
    "strategy.target",
    cite="Deployment.Strategy only for instance endpoints: canary and linear steps are "
    "CapacitySize shares of the variant's total instance count, which a serverless endpoint "
    "does not have, and SageMaker's deployment guardrails (traffic shifting, auto-rollback "
    "alarms) are not offered for serverless endpoints (AWS docs: SageMaker Developer Guide, "
    "Deployment guardrails, Exclusions). A serverless Deployment (Serverless, or no "
    "InstanceType) with a Strategy is refused rather than rolled out without its guardrails.",
)
def strategy_needs_instances(ctx: RuleContext) -> None:
    deployment = _deployment(ctx)
    if deployment is None or _strategy(ctx) is None:
        return
    if targets.target_of(deployment).key == targets.SERVERLESS:
        chosen = "Serverless" if "Serverless" in deployment else "no InstanceType (serverless)"
        ctx.error(
            STRATEGY_LOC,
            "strategy.target",
            f"this Deployment is a serverless endpoint ({chosen}); SageMaker has no blue/green "
            "traffic shifting or alarm rollback for serverless endpoints. Deploy to instances "
            "(set InstanceType, e.g. ml.m5.large) or remove Strategy.",
        )


@rule(
    "strategy.step_percent",
    cite="TrafficRoutingConfig: CanarySize is the first step (Value must be less than or equal "
    "to 50% of the variant's total instance count); LinearStepSize each step (Value must be "
    "10-50% of the variant's total instance count); ALL_AT_ONCE shifts in a single step "
    "(neither size). Ours: StepPercent is that Value as CAPACITY_PERCENT, required for Canary "
    f"and Linear (SageMaker documents no default), not allowed for AllAtOnce. ({STRATEGY_PAGE})",
)
def strategy_step_percent(ctx: RuleContext) -> None:
    strategy = _strategy(ctx)
    if strategy is None:
        return
    kind = _strategy_type(strategy)
    loc = (*STRATEGY_LOC, "StepPercent")
    step = integer(strategy.get("StepPercent"))
    if kind == "AllAtOnce" and "StepPercent" in strategy:
        ctx.error(
            loc,
            "strategy.step_percent",
            "AllAtOnce shifts all traffic in one step: StepPercent applies to Canary and Linear "
            "only. Remove it, or choose Type: Canary or Linear.",
        )
    elif kind in ("Canary", "Linear") and "StepPercent" not in strategy:
        share = "the canary's share (1-50)" if kind == "Canary" else "each step's share (10-50)"
        ctx.error(
            loc,
            "strategy.step_percent",
            f"{kind} needs StepPercent: {share} of the new fleet, in percent.",
        )
    elif (
        kind == "Linear"
        and step is not None
        and CANARY_PERCENT_RANGE[0] <= step < LINEAR_PERCENT_RANGE[0]
    ):
        ctx.error(
            loc,
            "strategy.step_percent",
            f"a Linear step must be {LINEAR_PERCENT_RANGE[0]}-{LINEAR_PERCENT_RANGE[1]}% of the "
            f"new fleet (got {step}).",
        )


@rule(
    "strategy.timeout",
    cite="BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds: the timeout value should be "
    "larger than the total waiting time specified in TerminationWaitInSeconds and "
    "WaitIntervalInSeconds (600-28800). Ours: the total waiting time is one "
    "WaitIntervalInSeconds per traffic shift (a baking period follows each, the last one "
    "included: AllAtOnce one, Canary two, Linear ceil(100 / StepPercent)) plus "
    "TerminationWaitInSeconds, defaults included; a total of 28800 s or more leaves no valid "
    "timeout. "
    f"({STRATEGY_PAGE})",
)
def strategy_timeout_covers_the_waits(ctx: RuleContext) -> None:
    strategy = _strategy(ctx)
    if strategy is None or _strategy_type(strategy) is None:
        return
    numbers = {
        name: strategy[name]
        for name in (
            "StepPercent",
            "WaitIntervalInSeconds",
            "TerminationWaitInSeconds",
            "MaximumExecutionTimeoutInSeconds",
        )
        if name in strategy
    }
    if any(integer(value) is None for value in numbers.values()):
        return  # a type error, already reported
    rollout = RolloutStrategy.from_section(strategy)
    if rollout.type == "Linear" and not (
        rollout.step_percent
        and LINEAR_PERCENT_RANGE[0] <= rollout.step_percent <= LINEAR_PERCENT_RANGE[1]
    ):
        return  # strategy.step_percent says it
    waits = rollout.minimum_wait_seconds
    bakes = rollout.traffic_shifts
    spelt = (
        f"{bakes} x WaitIntervalInSeconds {rollout.wait_interval_seconds} + "
        f"TerminationWaitInSeconds {rollout.termination_wait_seconds} = {waits} s"
    )
    timeout = rollout.maximum_execution_timeout_seconds
    high = EXECUTION_TIMEOUT_RANGE[1]
    if waits >= high:
        ctx.error(
            (*STRATEGY_LOC, "WaitIntervalInSeconds")
            if "WaitIntervalInSeconds" in strategy
            else (*STRATEGY_LOC, "TerminationWaitInSeconds"),
            "strategy.timeout",
            f"the rollout waits at least {spelt}: no MaximumExecutionTimeoutInSeconds (at most "
            f"{high}) can exceed it. Shorten the waits or use larger steps.",
        )
    elif timeout is not None and EXECUTION_TIMEOUT_RANGE[0] <= timeout <= waits:
        ctx.error(
            (*STRATEGY_LOC, "MaximumExecutionTimeoutInSeconds"),
            "strategy.timeout",
            f"must be larger than the rollout's waiting time, at least {spelt} (got {timeout}).",
        )


@rule(
    "strategy.single_instance",
    cite="Canary and linear traffic shifting turn on a portion of the new (green) fleet at a "
    "time, at most 50% of its capacity: a fleet of one instance has no such portion (a "
    "warning: the shift may not be gradual). (AWS docs: SageMaker Developer Guide, Use canary "
    "traffic shifting; Use linear traffic shifting)",
)
def strategy_needs_a_fleet(ctx: RuleContext) -> None:
    deployment, strategy = _deployment(ctx), _strategy(ctx)
    if deployment is None or strategy is None or "InstanceType" not in deployment:
        return
    kind = _strategy_type(strategy)
    count = deployment.get("InitialInstanceCount", 1)
    if kind in ("Canary", "Linear") and count == 1:
        ctx.warn(
            (*STRATEGY_LOC, "Type"),
            "strategy.single_instance",
            f"{kind} shifts traffic in portions of the new fleet, but it has one instance "
            "(InitialInstanceCount 1): set InitialInstanceCount to 2 or more for a gradual "
            "shift.",
        )


# --- Registry -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRegistrySection:
    """A validated ``Registry`` section: where FinalizeJob registers the best candidate."""

    group_name: str
    approval_required: bool = False
    description: str | None = None

    @classmethod
    def from_section(cls, registry: Mapping[str, Any] | None) -> ModelRegistrySection | None:
        if not isinstance(registry, Mapping) or not text(registry.get("ModelPackageGroupName")):
            return None
        return cls(
            group_name=str(registry["ModelPackageGroupName"]),
            approval_required=registry.get("ApprovalRequired") is True,
            description=text(registry.get("Description")),
        )

    @property
    def approval_status(self) -> str:
        """CreateModelPackage's ModelApprovalStatus for the new package."""
        return APPROVAL_PENDING if self.approval_required else APPROVED


def check_entity_description(value: str, loc: Loc, out: list[Issue]) -> None:
    """EntityDescription's \\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}: any character but the Unicode
    "other" categories (controls such as line breaks and tabs, format, private use...)."""
    bad = sorted({ch for ch in value if unicodedata.category(ch).startswith("C")})
    if bad:
        shown = ", ".join(describe(ch) for ch in bad[:5])
        out.append(
            Issue(
                loc,
                "registry.description",
                f"must be one line of text without control characters (found {shown}); "
                "join the lines with spaces.",
            )
        )


# Shape name -> checker used by the structural walk instead of the generic pattern message.
STRUCTURAL_CHECKS: Final = {"EntityDescription": check_entity_description}

structural_rule(
    "required",
    "pattern",
    "max_length",
    name="registry_fields",
    cite="Registry (ours): ModelPackageGroupName is required, 1-63 characters matching "
    "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ (CreateModelPackageGroup ModelPackageGroupName, "
    "shape EntityName); Description at most 1024 characters (CreateModelPackage "
    f"ModelPackageDescription, shape EntityDescription). {RULES_OF_THE_WALK} (AWS docs: "
    "SageMaker API reference, CreateModelPackageGroup and CreateModelPackage)",
)
structural_rule(
    "registry.description",
    cite="CreateModelPackage ModelPackageDescription: pattern "
    "[\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]* (shape EntityDescription): letters, marks, "
    "separators, symbols, numbers and punctuation, so no control characters such as line "
    "breaks or tabs. (Checked during the structural walk, in place of the pattern.) (AWS "
    "docs: SageMaker API reference, CreateModelPackage)",
)


def _registry(ctx: RuleContext) -> dict[str, Any] | None:
    value = ctx.sections.get("Registry")
    return value if isinstance(value, dict) else None


@rule(
    "registry.no_model",
    "registry.approval_bypassed",
    "registry.approval_without_deployment",
    cite="Registry (ours): a job that only generates candidate definitions "
    "(GenerateCandidateDefinitionsOnly) trains no model to register; ApprovalRequired gates "
    "FinalizeJob's Deployment, so beside ModelDeployConfig (SageMaker deploys the best model "
    "itself, before anyone approves) it is refused; ApprovalRequired without a Deployment "
    "registers the package for approval but approving it deploys nothing (a warning). (AWS "
    "docs: SageMaker API reference, CreateModelPackage ModelApprovalStatus; "
    "CreateAutoMLJobV2 ModelDeployConfig)",
)
def registry_fits_the_job(ctx: RuleContext) -> None:
    registry = _registry(ctx)
    if registry is None:
        return
    if ctx.problem == pt.TABULAR and ctx.config.get("GenerateCandidateDefinitionsOnly") is True:
        ctx.error(
            ("Registry",),
            "registry.no_model",
            "GenerateCandidateDefinitionsOnly trains no model, so there is nothing to register.",
        )
        return
    if registry.get("ApprovalRequired") is not True:
        return
    if "ModelDeployConfig" in ctx.request:
        ctx.error(
            ("Registry", "ApprovalRequired"),
            "registry.approval_bypassed",
            "ModelDeployConfig makes SageMaker deploy the best model itself, before anyone can "
            "approve it: remove ModelDeployConfig and deploy with a Deployment section.",
        )
    elif _deployment(ctx) is None:
        ctx.warn(
            ("Registry", "ApprovalRequired"),
            "registry.approval_without_deployment",
            "there is no Deployment section: the model is registered as PendingManualApproval, "
            "and approving it deploys nothing.",
        )
