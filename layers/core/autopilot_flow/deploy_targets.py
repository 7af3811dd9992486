"""What each deployment target can host: one table, read by every part that decides.

SageMaker refuses some models on some targets only at ``CreateEndpointConfig``, hours after
the training that produced them: a serverless endpoint cannot host an inference pipeline (an
Autopilot tabular ``HYPERPARAMETER_TUNING`` candidate is one), a model in a VPC, a model
that needs GPUs, ... The same table answers three questions:

- validation (``sections.py``): what is certain when the manifest is submitted (``Serverless``
  with ``Mode: HYPERPARAMETER_TUNING``, with ``SecurityConfig.VpcConfig``, with text
  generation) is an error, what depends on Autopilot's choice (``Mode`` AUTO) a warning;
- FinalizeJob's planner (``finalize.py``): what only the result shows (the best candidate of
  an AUTO job is a pipeline) ends the deployment as skipped, with the rule's code;
- the offline stack (``offline/moto_fixes.py``): ``CreateEndpointConfig`` and
  ``CreateEndpoint`` are refused with AWS's ``ValidationException``, whoever calls them.

Each refusal has a stable code (``target.<rule>``): the validation error's code, the
"AutoML Deployment Skipped" event's ``reason`` and the offline ValidationException name it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from autopilot_flow import problem_types as pt
from autopilot_flow.issues import Issue

SERVERLESS: Final = "serverless"
INSTANCE_CPU: Final = "instance-cpu"
INSTANCE_GPU: Final = "instance-gpu"
BATCH_TRANSFORM: Final = "batch-transform"

# Pages of the Amazon SageMaker Developer Guide each row and rule comes from.
SERVERLESS_PAGE: Final = (
    "AWS docs, SageMaker Developer Guide, 'Deploy models with Amazon SageMaker Serverless "
    "Inference': feature exclusions"
)
PIPELINE_PAGE: Final = (
    "AWS docs, SageMaker Developer Guide, 'Inference pipelines in Amazon SageMaker AI': a "
    "linear sequence of two to fifteen containers"
)
AUTOPILOT_MODES_PAGE: Final = (
    "AWS docs, SageMaker Developer Guide, 'Training modes and algorithm support' (Autopilot): "
    "AUTO picks ENSEMBLING for datasets smaller than 100 MB, HYPERPARAMETER_TUNING for larger "
    "ones"
)
AUTOPILOT_DEPLOY_PAGE: Final = (
    "AWS docs, SageMaker Developer Guide, 'Deploy Autopilot models for real-time inference': "
    "a HYPERPARAMETER_TUNING candidate is an inference pipeline (data processing, algorithm, "
    "inverse label transform), an ENSEMBLING candidate one container; fine-tuned LLMs are "
    "hosted on GPU instances"
)

# Autopilot's AUTO mode: ENSEMBLING below this much data, HYPERPARAMETER_TUNING from it.
AUTO_ENSEMBLING_LIMIT_BYTES: Final = 100 * 1024 * 1024
# An inference pipeline holds at most 15 containers (CreateModel's Containers, too).
MAX_PIPELINE_CONTAINERS: Final = 15
# Problem types whose models need GPUs to be hosted.
GPU_PROBLEMS: Final = frozenset({pt.TEXT_GENERATION})
# Instance families with NVIDIA GPUs (ml.g4dn, ml.g5, ml.g6, ml.p3, ml.p4d, ml.p5, ...).
GPU_FAMILY_PREFIXES: Final = ("g", "p")


@dataclass(frozen=True)
class Target:
    """One row of the table: what a deployment target can host."""

    key: str
    name: str  # for messages: "a serverless endpoint"
    chosen_by: str  # the manifest setting that chooses it
    max_containers: int
    gpu: bool
    vpc: bool
    endpoint_kms_key: bool
    network_isolation: bool
    multiple_variants: bool
    data_capture: bool
    # Whether an endpoint that runs on instances can be updated to this target.
    replaces_instance_endpoint: bool
    # False: in the table for completeness, but FinalizeJob does not deploy to it (yet).
    deployed_by_finalize: bool
    source: str

    @property
    def container_unit(self) -> str:
        """Which of a candidate's ``InferenceContainerDefinitions`` it runs: CPU or GPU."""
        return "GPU" if self.gpu else "CPU"


TARGETS: Final[dict[str, Target]] = {
    SERVERLESS: Target(
        key=SERVERLESS,
        name="a serverless endpoint",
        chosen_by="Deployment.Serverless (or neither Serverless nor InstanceType)",
        max_containers=1,
        gpu=False,
        vpc=False,
        endpoint_kms_key=False,
        network_isolation=False,
        multiple_variants=False,
        data_capture=False,
        replaces_instance_endpoint=False,
        deployed_by_finalize=True,
        source=SERVERLESS_PAGE,
    ),
    INSTANCE_CPU: Target(
        key=INSTANCE_CPU,
        name="a CPU instance endpoint",
        chosen_by="Deployment.InstanceType of a CPU family (ml.m5.large, ml.c5.xlarge, ...)",
        max_containers=MAX_PIPELINE_CONTAINERS,
        gpu=False,
        vpc=True,
        endpoint_kms_key=True,
        network_isolation=True,
        multiple_variants=True,
        data_capture=True,
        replaces_instance_endpoint=True,
        deployed_by_finalize=True,
        source=PIPELINE_PAGE,
    ),
    INSTANCE_GPU: Target(
        key=INSTANCE_GPU,
        name="a GPU instance endpoint",
        chosen_by="Deployment.InstanceType of a GPU family (ml.g5.2xlarge, ml.p3.2xlarge, ...)",
        max_containers=MAX_PIPELINE_CONTAINERS,
        gpu=True,
        vpc=True,
        endpoint_kms_key=True,
        network_isolation=True,
        multiple_variants=True,
        data_capture=True,
        replaces_instance_endpoint=True,
        deployed_by_finalize=True,
        source=PIPELINE_PAGE,
    ),
    BATCH_TRANSFORM: Target(
        key=BATCH_TRANSFORM,
        name="a batch transform job",
        chosen_by="(not yet: FinalizeJob deploys endpoints only)",
        max_containers=MAX_PIPELINE_CONTAINERS,
        gpu=True,  # on a GPU instance type; the transform's instance type decides
        vpc=True,
        endpoint_kms_key=True,  # TransformResources.VolumeKmsKeyId
        network_isolation=True,
        multiple_variants=False,
        data_capture=False,
        replaces_instance_endpoint=False,  # a transform job is no endpoint
        deployed_by_finalize=False,
        source=PIPELINE_PAGE,
    ),
}


@dataclass(frozen=True)
class Needs:
    """What a model (and the endpoint config around it) asks of its target."""

    containers: int = 1
    gpu: bool = False
    vpc: bool = False
    endpoint_kms_key: bool = False
    network_isolation: bool = False
    variants: int = 1
    data_capture: bool = False


@dataclass(frozen=True)
class Refusal:
    """A target that cannot host a model: a stable code and a message with the way out."""

    code: str
    message: str


@dataclass(frozen=True)
class Exclusion:
    """One rule of the table: a need a target may lack."""

    code: str
    source: str


# Every rule, with the page it comes from (``autopilot-flow rules`` prints the validation
# side; the offline endpoint simulation comments each with the same page).
EXCLUSIONS: Final[tuple[Exclusion, ...]] = (
    Exclusion("target.pipeline", f"{SERVERLESS_PAGE} (inference pipelines); {PIPELINE_PAGE}"),
    Exclusion("target.gpu", f"{SERVERLESS_PAGE} (GPUs); {AUTOPILOT_DEPLOY_PAGE}"),
    Exclusion("target.vpc", f"{SERVERLESS_PAGE} (VPC configuration)"),
    Exclusion("target.kms_key", f"{SERVERLESS_PAGE} (KMS keys)"),
    Exclusion("target.network_isolation", f"{SERVERLESS_PAGE} (network isolation)"),
    Exclusion("target.multiple_variants", f"{SERVERLESS_PAGE} (multiple production variants)"),
    Exclusion("target.data_capture", f"{SERVERLESS_PAGE} (data capture)"),
    Exclusion(
        "target.serverless_update",
        f"{SERVERLESS_PAGE}: an instance-based real-time endpoint cannot be converted to a "
        "serverless one (UpdateEndpoint answers a validation error)",
    ),
)

_INSTEAD = "deploy with Deployment.InstanceType (e.g. ml.m5.large)"


def is_gpu_instance(instance_type: str | None) -> bool:
    family = (instance_type or "").removeprefix("ml.").split(".")[0]
    return family[:1] in GPU_FAMILY_PREFIXES


def target_of(deployment: Mapping[str, Any] | None) -> Target:
    """The target a manifest's ``Deployment`` section chooses (serverless by default)."""
    instance_type = (deployment or {}).get("InstanceType")
    if isinstance(instance_type, str) and instance_type:
        return TARGETS[INSTANCE_GPU if is_gpu_instance(instance_type) else INSTANCE_CPU]
    return TARGETS[SERVERLESS]


def refusals(target: Target, needs: Needs) -> list[Refusal]:
    """Every rule of the table that ``target`` breaks for a model with ``needs``."""
    found: list[Refusal] = []
    if needs.containers > target.max_containers:
        if target.max_containers == 1:
            what = f"cannot host an inference pipeline ({needs.containers} containers)"
        else:
            what = f"hosts at most {target.max_containers} containers, not {needs.containers}"
        found.append(
            Refusal(
                "target.pipeline",
                f"{target.name} {what}; {_INSTEAD}, or train one-container models "
                "(tabular Mode: ENSEMBLING).",
            )
        )
    if needs.gpu and not target.gpu:
        found.append(
            Refusal(
                "target.gpu",
                f"the model needs GPUs and {target.name} has none; deploy with an "
                "InstanceType with GPUs (e.g. ml.g5.2xlarge).",
            )
        )
    if needs.vpc and not target.vpc:
        found.append(
            Refusal(
                "target.vpc",
                f"{target.name} cannot host a model in a VPC (the job's "
                f"SecurityConfig.VpcConfig, from the manifest or the policy); {_INSTEAD}.",
            )
        )
    if needs.endpoint_kms_key and not target.endpoint_kms_key:
        found.append(
            Refusal("target.kms_key", f"{target.name} takes no KMS key (KmsKeyId); {_INSTEAD}.")
        )
    if needs.network_isolation and not target.network_isolation:
        found.append(
            Refusal(
                "target.network_isolation",
                f"{target.name} cannot host a network-isolated model; {_INSTEAD}.",
            )
        )
    if needs.variants > 1 and not target.multiple_variants:
        found.append(
            Refusal(
                "target.multiple_variants",
                f"{target.name} has one production variant, not {needs.variants}.",
            )
        )
    if needs.data_capture and not target.data_capture:
        found.append(
            Refusal(
                "target.data_capture",
                f"{target.name} cannot capture data (DataCaptureConfig); {_INSTEAD}.",
            )
        )
    return found


# --- at submit time (validation) ---------------------------------------------------------------


def tabular_pipeline_containers(problem_type: str | None) -> int:
    """Containers of a tabular HYPERPARAMETER_TUNING candidate: data processing, algorithm
    and, for classification, the inverse label transform."""
    return 2 if problem_type == "Regression" else 3


def submit_needs(
    problem: str | None, mode: str | None, tabular_problem_type: str | None, vpc: bool
) -> Needs:
    """What is certain about the model when the manifest is submitted. ``mode``: the tabular
    Mode (AUTO when omitted), ``None`` for other problem types."""
    containers = 1
    if problem == pt.TABULAR and mode == "HYPERPARAMETER_TUNING":
        containers = tabular_pipeline_containers(tabular_problem_type)
    return Needs(containers=containers, gpu=problem in GPU_PROBLEMS, vpc=vpc)


def auto_mode_may_not_fit(problem: str | None, mode: str | None, target: Target) -> bool:
    """AUTO may choose HYPERPARAMETER_TUNING, whose pipelines ``target`` cannot host."""
    pipeline = Needs(containers=3)
    return problem == pt.TABULAR and mode == "AUTO" and bool(refusals(target, pipeline))


def auto_mode_for_size(listed_bytes: int, complete: bool) -> str | None:
    """The mode AUTO picks for data of ``listed_bytes`` (the sizes listed; ``complete``: all of
    the data was listed), or None when the listing cannot settle it."""
    if listed_bytes >= AUTO_ENSEMBLING_LIMIT_BYTES:
        return "HYPERPARAMETER_TUNING"
    return "ENSEMBLING" if complete else None


def describe_size(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def auto_mode_hint(request: Mapping[str, Any], listed_bytes: int, complete: bool) -> Issue | None:
    """The data preflight's warning (``preflight.auto_mode``) when the size of the data it
    listed settles that AUTO trains HYPERPARAMETER_TUNING pipelines. ``listed_bytes``: the
    objects listed under the S3Prefix channels; ``complete``: every object was listed."""
    problem_config = request.get("AutoMLProblemTypeConfig")
    config = problem_config.get(pt.TABULAR) if isinstance(problem_config, Mapping) else None
    if not isinstance(config, Mapping) or config.get("Mode", "AUTO") != "AUTO":
        return None
    if config.get("GenerateCandidateDefinitionsOnly") is True:
        return None
    channels = request.get("AutoMLJobInputDataConfig")
    prefixes_only = isinstance(channels, list) and all(
        ((c.get("DataSource") or {}).get("S3DataSource") or {}).get("S3DataType", "S3Prefix")
        == "S3Prefix"
        for c in channels
        if isinstance(c, Mapping)
    )
    if auto_mode_for_size(listed_bytes, complete and prefixes_only) != "HYPERPARAMETER_TUNING":
        return None
    return Issue(
        ("AutoMLProblemTypeConfig", pt.TABULAR, "Mode"),
        "preflight.auto_mode",
        f"Mode is AUTO and the input data is at least {describe_size(listed_bytes)} (100 MB "
        "or more): Autopilot will train in HYPERPARAMETER_TUNING mode, whose candidates are "
        "inference pipelines that a serverless endpoint cannot host. Deploy with "
        "Deployment.InstanceType, or set Mode: ENSEMBLING.",
    )


# --- from the job's result (FinalizeJob) ----------------------------------------------------------


def chosen_containers(best: Mapping[str, Any], target: Target) -> list[dict[str, Any]]:
    """The best candidate's inference containers for ``target``: text and image
    classification candidates carry CPU and GPU definitions; the rest one list."""
    definitions = best.get("InferenceContainerDefinitions") or {}
    chosen = definitions.get(target.container_unit) or best.get("InferenceContainers") or []
    return list(chosen)


def candidate_refusal(
    job: Mapping[str, Any], best: Mapping[str, Any], deployment: Mapping[str, Any] | None
) -> Refusal | None:
    """Why the job's best candidate cannot be hosted where ``deployment`` asks (all reasons
    in one message, the first one's code), or None when it can."""
    target = target_of(deployment)
    config = job.get("AutoMLProblemTypeConfig") or {}
    problem = next(iter(config), None) if isinstance(config, dict) else None
    needs = Needs(
        containers=len(chosen_containers(best, target)),
        gpu=problem in GPU_PROBLEMS,
        vpc=bool((job.get("SecurityConfig") or {}).get("VpcConfig")),
    )
    found = refusals(target, needs)
    if not found:
        return None
    # A reason for FinalizeJob's messages, which end it with their own full stop.
    return Refusal(found[0].code, " ".join(r.message for r in found).rstrip("."))


def container_fields(containers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A CreateModel request's containers as AWS's samples write them: one container is the
    ``PrimaryContainer``; ``Containers`` is only for a real inference pipeline."""
    if len(containers) == 1:
        return {"PrimaryContainer": dict(containers[0])}
    return {"Containers": [dict(c) for c in containers]}


def runs_on_instances(variants: Iterable[Mapping[str, Any]]) -> bool:
    """An endpoint's (DescribeEndpoint) or config's variants run on instances, not serverless."""
    variants = list(variants)
    serverless = ("ServerlessConfig", "CurrentServerlessConfig", "DesiredServerlessConfig")
    return bool(variants) and not any(key in v for v in variants for key in serverless)


def update_refusal(
    endpoint: Mapping[str, Any], deployment: Mapping[str, Any] | None
) -> Refusal | None:
    """Why ``endpoint`` (a DescribeEndpoint answer) cannot be updated to the target
    ``deployment`` chooses, or None: an endpoint on instances never becomes serverless."""
    target = target_of(deployment)
    if target.replaces_instance_endpoint or not runs_on_instances(
        endpoint.get("ProductionVariants") or []
    ):
        return None
    name = endpoint.get("EndpointName")
    return Refusal(
        "target.serverless_update",
        f"endpoint {name} runs on instances, and SageMaker cannot convert an instance-based "
        f"endpoint to {target.name}; deploy with Deployment.InstanceType, or name another "
        "endpoint in Deployment.EndpointName",
    )


# --- a CreateEndpointConfig request (the offline endpoint simulation) --------------------------


def model_needs(model: Mapping[str, Any]) -> Needs:
    """What a CreateModel request (or DescribeModel answer) asks of its target."""
    containers = model.get("Containers") or []
    return Needs(
        containers=len(containers) if containers else 1,
        vpc=bool(model.get("VpcConfig")),
        network_isolation=model.get("EnableNetworkIsolation") is True,
    )


def endpoint_config_refusals(
    variants: Iterable[Mapping[str, Any]],
    models: Mapping[str, Mapping[str, Any]],
    *,
    kms_key: bool = False,
    data_capture: bool = False,
) -> list[Refusal]:
    """What AWS refuses in a CreateEndpointConfig request: ``models`` maps each variant's
    ModelName to its model (as CreateModel received it). Serverless variants are checked
    against the serverless row, instance variants against their instance family's."""
    variants = list(variants)
    found: list[Refusal] = []
    for variant in variants:
        model = models.get(str(variant.get("ModelName")), {})
        if "ServerlessConfig" in variant:
            target = TARGETS[SERVERLESS]
        else:
            target = target_of({"InstanceType": variant.get("InstanceType")})
        needs = replace(
            model_needs(model),
            endpoint_kms_key=kms_key,
            variants=len(variants),
            data_capture=data_capture,
        )
        found += [r for r in refusals(target, needs) if r not in found]
    return found
