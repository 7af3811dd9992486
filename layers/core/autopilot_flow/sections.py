"""Our own manifest sections, ``Deployment`` and ``Notifications`` (see docs/architecture.md).

They are described with the same node format as the API model (``api_model``), so one
structural walker validates both, and ``autopilot-flow schema`` documents both. They are
stripped from the request before ``CreateAutoMLJobV2`` is called.
"""

from __future__ import annotations

from typing import Any

from autopilot_flow import deploy_targets as targets
from autopilot_flow import problem_types as pt
from autopilot_flow.rules import RuleContext, mapping, rule, text

Node = dict[str, Any]

RESPONSE_KEYS = ("predicted_label", "probability", "probabilities", "labels")
SERVERLESS_MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)
NOTIFY_STATUSES = ("Completed", "Failed", "Stopped")

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

SECTION_NODES: dict[str, Node] = {"Deployment": DEPLOYMENT, "Notifications": NOTIFICATIONS}


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
