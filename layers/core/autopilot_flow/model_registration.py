"""FinalizeJob's registration step: a completed job's best candidate into the SageMaker Model
Registry (issue 13, "Register"), as the manifest's ``Registry`` section asks.

One call, ``ModelRegistrar.register`` (``register_best_candidate``), does it all:

1. The model package group exists and is this stack's. It is created when missing, tagged
   ``STACK_TAG_KEY`` = the stack name (the tag FinalizeJob puts on endpoints); a group that
   exists without that tag is refused (``ModelPackageGroupNotOwned``): the service never
   registers into a group it did not create. A group created by a concurrent registration
   in between is found again, not refused.
2. ``CreateModelPackage`` in that group: the candidate's inference containers for the
   deployment's hardware (``finalize.choose_containers``; the other unit of a text or image
   classification candidate as an additional inference specification), each environment
   trimmed to the 16 entries a model package container holds (the serving keys kept, the
   trimmed ones named in the package's metadata), the content types its problem type
   serves, ``ModelMetrics`` (the candidate's final metrics as a statistics document next to
   the job's output, and its explainability report), ``ModelApprovalStatus``
   ``PendingManualApproval`` with ``ApprovalRequired`` else ``Approved``, and
   ``CustomerMetadataProperties`` naming the stack, the job, the manifest's source and the
   objective (within AWS's key, value and count limits).
3. Idempotent: the request is deterministic, sent with a ``ClientToken`` derived from the
   stack, group and job; and before creating, the group's packages created since the job
   ended are searched for this job's (``CustomerMetadataProperties``), so a retry after a
   partial failure (the package created, the answer lost) returns that package instead of
   registering a second one.

Failures are exceptions whose names the state machine sees (``FAILURE_CODES`` maps each to
its stable code; ``describe_registration_failure`` gives ``{stage, code, message}``);
messages are plain and never carry AWS's exception names. Throttling that outlasts the
backoff raises ``SageMakerThrottled``, which the state machine retries.

``model_registered_detail`` is the detail of the ``AutoML Model Registered`` event.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Final

from botocore.exceptions import ClientError

from autopilot_flow.deploy_targets import target_of
from autopilot_flow.finalize import JOB_TAG_KEY, STACK_TAG_KEY, choose_containers
from autopilot_flow.leaderboard import LeaderboardError, s3_output_root
from autopilot_flow.problem_types import objective_type
from autopilot_flow.sagemaker import (
    THROTTLING_CODES,
    Backoff,
    SageMakerThrottled,
    all_tags,
    error_code,
)
from autopilot_flow.sections import ModelRegistrySection
from autopilot_flow.vocabulary import JobStatus, ProblemType, problem_type_of

STAGE: Final = "register"
MODEL_REGISTERED: Final = "AutoML Model Registered"
MODEL_REGISTERED_SCHEMA_VERSION: Final = "1.0"

# ModelPackageContainerDefinition.Environment: "We support up to 16 entries in the map"
# (botocore shares CreateModel's 100-entry EnvironmentMap; the service refuses a 17th).
ENVIRONMENT_LIMIT: Final = 16
# CustomerMetadataMap (botocore shape): 1-50 entries, keys 1-128 and values 1-256 characters
# of letters, separators, numbers and _.:/=+-@ only.
METADATA_LIMIT: Final = 50
METADATA_KEY_MAX: Final = 128
METADATA_VALUE_MAX: Final = 256
METADATA_PUNCTUATION: Final = frozenset("_.:/=+-@")
METADATA_PREFIX: Final = "autopilot-flow:"
# Who approved or rejected a package through the stack's API, and which decision that was:
# SageMaker's LastModifiedBy names the API's role, not the person (endpoint_ops writes them,
# approval reads them while the decision is still the package's status).
REVIEWED_BY: Final = METADATA_PREFIX + "reviewed-by"
REVIEWED_AS: Final = METADATA_PREFIX + "reviewed-as"
# ClientToken (botocore shape): 1-36 characters of [a-zA-Z0-9-].
CLIENT_TOKEN_LENGTH: Final = 32
# A model package group's statuses in which no package can be added.
GROUP_UNUSABLE: Final = frozenset({"Failed", "Deleting", "DeleteFailed"})
# The search for an earlier attempt's package reads the packages created since the job ended
# (SageMaker stamps both times), or since now when the job's end is later than this function's
# clock (offline, the simulated clock runs ahead of moto's, which stamps packages), less a
# margin for clocks that disagree a little. On AWS FinalizeJob runs minutes after the end, so
# the window holds few packages however large the group.
LOOKUP_MARGIN: Final = timedelta(minutes=10)
LIST_PAGE_SIZE: Final = 100
STATISTICS_NAME: Final = "model-registry/model-quality.json"

# The environment entries a container needs to serve, kept first when trimming (in this
# order); the rest are kept in name order up to the limit.
SERVING_ENVIRONMENT: Final = (
    # Autopilot's inference output chain: what each container answers with and takes from the
    # previous one (AWS docs: SageMaker Developer Guide, "Configure inference output in
    # generated containers").
    "SAGEMAKER_INFERENCE_INPUT",
    "SAGEMAKER_INFERENCE_OUTPUT",
    "SAGEMAKER_INFERENCE_SUPPORTED",
    # The SageMaker inference toolkit's entry point: the serving script and its directory.
    "SAGEMAKER_PROGRAM",
    "SAGEMAKER_SUBMIT_DIRECTORY",
    # The role of Autopilot's data-processing image in an HPO pipeline (the same image and
    # model serve as feature transform and as inverse label transform).
    "AUTOML_TRANSFORM_MODE",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT",
    "MAX_CONTENT_LENGTH",
    "MODEL_NAME",
    # Text generation (Hugging Face TGI): where the model is, its GPUs, its token limits.
    "HF_MODEL_ID",
    "SM_NUM_GPUS",
    "MAX_INPUT_LENGTH",
    "MAX_TOTAL_TOKENS",
)

# What a package of each problem type advertises it serves (InferenceSpecification's
# SupportedContentTypes / SupportedResponseMIMETypes: shown in Studio and checked by batch
# transform, not by real-time hosting). Tabular, time series and text classification
# candidates read CSV rows (as the AWS example that registers an Autopilot model declares);
# image classification images; a fine-tuned LLM's TGI container JSON.
CONTENT_TYPES: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    ProblemType.TABULAR: (("text/csv",), ("text/csv",)),
    ProblemType.TIME_SERIES: (("text/csv",), ("text/csv",)),
    ProblemType.TEXT_CLASSIFICATION: (("text/csv",), ("text/csv", "application/json")),
    ProblemType.IMAGE_CLASSIFICATION: (
        ("image/jpeg", "image/png", "application/x-image"),
        ("application/json",),
    ),
    ProblemType.TEXT_GENERATION: (("application/json",), ("application/json",)),
}


# --- failures ------------------------------------------------------------------------------


class RegistrationFailed(Exception):
    """The registration did not happen; ``code`` is stable, the message plain."""

    code: ClassVar[str] = "model_registry.failed"


class NoCandidateToRegister(RegistrationFailed):
    code = "model_registry.no_candidate"


class ModelPackageGroupNotOwned(RegistrationFailed):
    code = "model_registry.group_not_owned"


class RegistrationRefused(RegistrationFailed):
    code = "model_registry.refused"


class RegistrationNotAuthorized(RegistrationFailed):
    code = "model_registry.not_authorized"


class RegistrationQuotaExceeded(RegistrationFailed):
    code = "model_registry.quota"


# Error name (what Step Functions sees of a Lambda's exception) -> stable code: what
# finalize.OWN_FAILURE_CODES takes in when the step is wired into FinalizeJob.
FAILURE_CODES: Final[Mapping[str, str]] = {
    cls.__name__: cls.code
    for cls in (
        NoCandidateToRegister,
        ModelPackageGroupNotOwned,
        RegistrationRefused,
        RegistrationNotAuthorized,
        RegistrationQuotaExceeded,
    )
}


def describe_registration_failure(exc: RegistrationFailed) -> dict[str, str]:
    return {"stage": STAGE, "code": exc.code, "message": str(exc)}


# --- the request (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    metric_name: str
    value: float | None
    type: str

    @classmethod
    def of(cls, best: Mapping[str, Any]) -> Objective | None:
        metric = best.get("FinalAutoMLJobObjectiveMetric") or {}
        name = metric.get("MetricName")
        if not name:
            return None
        value = metric.get("Value")
        number = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        return cls(str(name), number, str(metric.get("Type") or objective_type(str(name))))

    def as_dict(self) -> dict[str, Any]:
        return {"metricName": self.metric_name, "value": self.value, "type": self.type}


def trim_environment(environment: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """(the environment a model package container can hold, the keys trimmed, sorted): the
    ``SERVING_ENVIRONMENT`` keys first, then the others by name, up to 16 entries."""
    if len(environment) <= ENVIRONMENT_LIMIT:
        return dict(environment), []
    ordered = [k for k in SERVING_ENVIRONMENT if k in environment] + sorted(
        k for k in environment if k not in SERVING_ENVIRONMENT
    )
    kept = set(ordered[:ENVIRONMENT_LIMIT])
    return (
        {k: v for k, v in environment.items() if k in kept},
        sorted(ordered[ENVIRONMENT_LIMIT:]),
    )


def metadata_text(value: object, limit: int = METADATA_VALUE_MAX) -> str:
    """``value`` as CustomerMetadataMap allows it: a character outside letters, separators,
    numbers and ``_.:/=+-@`` becomes ``_``; longer than ``limit``, it ends with ``...``."""
    clean = "".join(
        ch if ch in METADATA_PUNCTUATION or unicodedata.category(ch)[0] in ("L", "Z", "N") else "_"
        for ch in str(value)
    )
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def describe_source(source: Mapping[str, Any] | None) -> dict[str, str]:
    """The manifest's source as metadata: an S3 object's URI and version, or the API request."""
    source = source or {}
    if source.get("type") == "s3" and source.get("bucket") and source.get("key"):
        described = {"source": f"s3://{source['bucket']}/{source['key']}"}
        if source.get("versionId"):
            described["source-version"] = str(source["versionId"])
        return described
    if source.get("type") == "api" and source.get("requestId"):
        return {"source": f"api:{source['requestId']}"}
    return {}


def client_token(stack: str, group: str, job_name: str) -> str:
    """The same registration (stack, group, job) always sends the same token."""
    digest = hashlib.sha256(f"{stack}\n{group.lower()}\n{job_name.lower()}".encode()).hexdigest()
    return digest[:CLIENT_TOKEN_LENGTH]


def statistics_location(job: Mapping[str, Any]) -> tuple[str, str]:
    """(bucket, key) of the candidate's model-quality statistics, next to the job's output."""
    bucket, prefix = s3_output_root(dict(job))
    return bucket, prefix + STATISTICS_NAME


def statistics_document(job: Mapping[str, Any], best: Mapping[str, Any]) -> dict[str, Any]:
    """The best candidate's final metrics (``ModelMetrics.ModelQuality.Statistics``)."""
    objective = Objective.of(best)
    metrics = (best.get("CandidateProperties") or {}).get("CandidateMetrics") or []
    return {
        "jobName": job.get("AutoMLJobName"),
        "candidateName": best.get("CandidateName"),
        "problemType": problem_type_of(job),
        "objective": objective.as_dict() if objective else None,
        "metrics": [
            {
                "metricName": m.get("MetricName"),
                "standardMetricName": m.get("StandardMetricName"),
                "set": m.get("Set"),
                "value": m.get("Value"),
            }
            for m in metrics
            if isinstance(m, Mapping)
        ],
    }


@dataclass(frozen=True)
class PackageRequest:
    """A CreateModelPackage request and what the registration reports of it."""

    request: dict[str, Any]
    # Per inference specification ("" the main one, else its Name): container index (from
    # 1) -> the environment keys trimmed.
    trimmed: dict[str, dict[int, list[str]]]
    objective: Objective | None
    candidate_name: str

    @property
    def trimmed_keys(self) -> list[dict[str, Any]]:
        return [
            {"specification": spec or "main", "container": index, "keys": keys}
            for spec, containers in self.trimmed.items()
            for index, keys in containers.items()
        ]


def _containers(
    chosen: Sequence[Mapping[str, Any]], trimmed: dict[int, list[str]]
) -> list[dict[str, Any]]:
    out = []
    for index, container in enumerate(chosen, start=1):
        entry = {k: container[k] for k in ("Image", "ModelDataUrl") if container.get(k)}
        environment = container.get("Environment") or {}
        if environment:
            kept, dropped = trim_environment(environment)
            entry["Environment"] = kept
            if dropped:
                trimmed[index] = dropped
        out.append(entry)
    return out


def _trimmed_metadata(trimmed: dict[str, dict[int, list[str]]]) -> dict[str, str]:
    """One metadata entry per trimmed container: ``trimmed-environment[:<spec>]:<n>``."""
    out = {}
    for spec, containers in trimmed.items():
        for index, keys in containers.items():
            name = "trimmed-environment" + (f":{spec}" if spec else "") + f":{index}"
            out[name] = " ".join(keys)
    return out


def package_request(
    job: Mapping[str, Any],
    section: ModelRegistrySection,
    *,
    source: Mapping[str, Any] | None,
    stack: str,
    deployment: Mapping[str, Any] | None = None,
    statistics_uri: str | None = None,
) -> PackageRequest:
    """The CreateModelPackage request for ``job``'s best candidate (deterministic: the same
    input gives the same request, which the ClientToken requires)."""
    name = str(job.get("AutoMLJobName") or "")
    best = job.get("BestCandidate") or None
    status = job.get("AutoMLJobStatus")
    if status != JobStatus.COMPLETED or not best:
        raise NoCandidateToRegister(
            f"AutoML job {name} ended {status or 'without a status'} without a best candidate: "
            "there is no model to register"
        )
    instance_type = (deployment or {}).get("InstanceType")
    chosen = choose_containers(dict(best), instance_type)
    if not chosen:
        raise NoCandidateToRegister(
            f"the best candidate of AutoML job {name} has no inference containers to register"
        )
    problem = problem_type_of(job)
    content, response = CONTENT_TYPES.get(problem or "", (("text/csv",), ("text/csv",)))
    trimmed: dict[str, dict[int, list[str]]] = {}
    main: dict[int, list[str]] = {}
    specification: dict[str, Any] = {
        "Containers": _containers(chosen, main),
        "SupportedContentTypes": list(content),
        "SupportedResponseMIMETypes": list(response),
    }
    if main:
        trimmed[""] = main
    if instance_type:
        specification["SupportedRealtimeInferenceInstanceTypes"] = [instance_type]
    additional = []
    definitions = best.get("InferenceContainerDefinitions") or {}
    unit = target_of(deployment).container_unit
    for other in sorted(u for u in definitions if u != unit and definitions.get(u)):
        other_trimmed: dict[int, list[str]] = {}
        other_spec: dict[str, Any] = {
            "Name": other,
            "Description": f"The candidate's {other} inference containers",
            "Containers": _containers(choose_containers_of(definitions[other]), other_trimmed),
            "SupportedContentTypes": list(content),
            "SupportedResponseMIMETypes": list(response),
        }
        if other_trimmed:
            trimmed[other] = other_trimmed
        additional.append(other_spec)
    objective = Objective.of(best)
    candidate_name = str(best.get("CandidateName") or "")
    locations = (best.get("CandidateProperties") or {}).get("CandidateArtifactLocations") or {}
    metrics: dict[str, Any] = {}
    if statistics_uri:
        metrics["ModelQuality"] = {
            "Statistics": {"ContentType": "application/json", "S3Uri": statistics_uri}
        }
    if locations.get("Explainability"):
        metrics["Explainability"] = {
            "Report": {"ContentType": "application/json", "S3Uri": locations["Explainability"]}
        }
    metadata: dict[str, object] = {
        "stack": stack,
        "job": name,
        "job-arn": job.get("AutoMLJobArn") or "",
        "problem-type": problem or "",
        "candidate": candidate_name,
        # The approval handler acts only on packages registered awaiting approval: one
        # registered Approved is deployed by FinalizeJob itself (no double deploy).
        "approval-required": "true" if section.approval_required else "false",
        **describe_source(source),
    }
    if objective:
        metadata["objective"] = objective.metric_name
        metadata["objective-type"] = objective.type
        if objective.value is not None:
            metadata["objective-value"] = repr(objective.value)
    for location in ("Explainability", "ModelInsights", "BacktestResults"):
        if locations.get(location):
            metadata[location.lower()] = locations[location]
    metadata.update(_trimmed_metadata(trimmed))
    customer_metadata = {
        metadata_text(METADATA_PREFIX + key, METADATA_KEY_MAX): metadata_text(value)
        for key, value in metadata.items()
        if str(value)
    }
    # At most 14 fixed keys plus one per trimmed container (15 per specification): the
    # 50-entry limit (METADATA_LIMIT) is never reached.
    request: dict[str, Any] = {
        "ModelPackageGroupName": section.group_name,
        "InferenceSpecification": specification,
        "ModelApprovalStatus": section.approval_status,
        "CustomerMetadataProperties": customer_metadata,
        "ClientToken": client_token(stack, section.group_name, name),
        "Tags": [
            {"Key": STACK_TAG_KEY, "Value": stack},
            {"Key": JOB_TAG_KEY, "Value": name},
        ],
    }
    if section.description:
        request["ModelPackageDescription"] = section.description
    if metrics:
        request["ModelMetrics"] = metrics
    if additional:
        request["AdditionalInferenceSpecifications"] = additional
    return PackageRequest(request, trimmed, objective, candidate_name)


def choose_containers_of(containers: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One unit's containers, as ``finalize.choose_containers`` shapes the chosen ones."""
    return choose_containers({"InferenceContainers": list(containers)}, None)


# --- the result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    model_package_arn: str
    group_name: str
    group_arn: str
    version: int | None
    approval_status: str
    objective: Objective | None
    candidate_name: str
    trimmed_keys: list[dict[str, Any]]
    # False: an earlier attempt had registered it (found, not created again).
    created: bool
    group_created: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "modelPackageArn": self.model_package_arn,
            "modelPackageGroupName": self.group_name,
            "modelPackageGroupArn": self.group_arn,
            "modelPackageVersion": self.version,
            "approvalStatus": self.approval_status,
            "objective": self.objective.as_dict() if self.objective else None,
            "candidateName": self.candidate_name,
            "trimmedEnvironment": self.trimmed_keys,
            "created": self.created,
            "groupCreated": self.group_created,
        }


def model_registered_detail(registration: Registration, job: Mapping[str, Any]) -> dict[str, Any]:
    """The detail of ``AutoML Model Registered``: the job, the package, its group and approval
    status, and the objective it was judged by."""
    return {
        "schemaVersion": MODEL_REGISTERED_SCHEMA_VERSION,
        "jobName": job.get("AutoMLJobName"),
        "jobArn": job.get("AutoMLJobArn"),
        "problemType": problem_type_of(job),
        "candidateName": registration.candidate_name or None,
        "modelPackageArn": registration.model_package_arn,
        "modelPackageGroupName": registration.group_name,
        "modelPackageVersion": registration.version,
        "approvalStatus": registration.approval_status,
        "objective": registration.objective.as_dict() if registration.objective else None,
        "trimmedEnvironment": registration.trimmed_keys,
    }


# --- the registrar -----------------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    """A DescribeAutoMLJobV2 time as boto3 gives it (datetime) or Step Functions passes it
    (ISO 8601 text, or epoch seconds)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _version_of(arn: str) -> int | None:
    tail = arn.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ModelRegistrar:
    """Registers best candidates; ``sagemaker`` should have botocore's retries off (the
    ``Backoff`` here is the one retry policy for throttling)."""

    sagemaker: Any
    s3: Any
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], datetime] = _now

    def register(
        self,
        job: Mapping[str, Any],
        section: ModelRegistrySection,
        *,
        source: Mapping[str, Any] | None,
        stack: str,
        deployment: Mapping[str, Any] | None = None,
    ) -> Registration:
        if not stack:
            raise ValueError("the stack's name is needed to tag and find its model packages")
        name = str(job.get("AutoMLJobName") or "")
        statistics = self._statistics_location(job)
        built = package_request(
            job,
            section,
            source=source,
            stack=stack,
            deployment=deployment,
            statistics_uri=f"s3://{statistics[0]}/{statistics[1]}" if statistics else None,
        )
        group_arn, group_created = self.ensure_group(section.group_name, stack)
        found = None if group_created else self.find_package(section.group_name, name, stack, job)
        if found is not None:
            return Registration(
                model_package_arn=str(found["ModelPackageArn"]),
                group_name=section.group_name,
                group_arn=group_arn,
                version=found.get("ModelPackageVersion"),
                approval_status=str(found.get("ModelApprovalStatus") or ""),
                objective=built.objective,
                candidate_name=built.candidate_name,
                trimmed_keys=built.trimmed_keys,
                created=False,
                group_created=False,
            )
        if statistics:
            self._write_statistics(job, statistics)
        arn = str(
            self._call(
                "CreateModelPackage",
                section.group_name,
                lambda: self.sagemaker.create_model_package(**built.request),
            )["ModelPackageArn"]
        )
        return Registration(
            model_package_arn=arn,
            group_name=section.group_name,
            group_arn=group_arn,
            version=_version_of(arn),
            approval_status=section.approval_status,
            objective=built.objective,
            candidate_name=built.candidate_name,
            trimmed_keys=built.trimmed_keys,
            created=True,
            group_created=group_created,
        )

    # --- the group ---------------------------------------------------------------------------

    def ensure_group(self, group: str, stack: str) -> tuple[str, bool]:
        """(the group's ARN, whether this call created it); refuses a group not this stack's."""
        described = self._describe_group(group)
        if described is None:
            try:
                response = self._call(
                    "CreateModelPackageGroup",
                    group,
                    lambda: self.sagemaker.create_model_package_group(
                        ModelPackageGroupName=group,
                        ModelPackageGroupDescription=(
                            f"Models registered by Autopilot Flow (stack {stack})"
                        ),
                        Tags=[{"Key": STACK_TAG_KEY, "Value": stack}],
                    ),
                )
            except RegistrationRefused:
                # Created meanwhile (AWS refuses a name in use with a ValidationException
                # whose wording it does not document): whose it is decides, as below.
                described = self._describe_group(group)
                if described is None:
                    raise
            else:
                return str(response["ModelPackageGroupArn"]), True
        arn = str(described["ModelPackageGroupArn"])
        if self._tags(arn, group).get(STACK_TAG_KEY) != stack:
            raise ModelPackageGroupNotOwned(
                f"model package group {group} exists and was not created by this stack (it has "
                f"no {STACK_TAG_KEY} tag of this stack): the service registers only into groups "
                "it created. Name another group in the manifest's Registry.ModelPackageGroupName"
            )
        status = str(described.get("ModelPackageGroupStatus") or "")
        if status in GROUP_UNUSABLE:
            raise RegistrationRefused(
                f"model package group {group} is {status}: no model can be registered in it"
            )
        return arn, False

    def _describe_group(self, group: str) -> dict[str, Any] | None:
        try:
            response: dict[str, Any] = self.backoff.call(
                lambda: self.sagemaker.describe_model_package_group(ModelPackageGroupName=group)
            )
        except ClientError as exc:
            # A missing group is a ValidationException ("... does not exist").
            if error_code(exc) in ("ValidationException", "ResourceNotFound"):
                return None
            raise self._failure(exc, "DescribeModelPackageGroup", group) from exc
        return response

    def _tags(self, arn: str, group: str) -> dict[str, str]:
        return all_tags(
            arn,
            lambda request: self._call(
                "ListTags", group, partial(self.sagemaker.list_tags, **request)
            ),
        )

    # --- an earlier attempt's package --------------------------------------------------------

    def find_package(
        self, group: str, job_name: str, stack: str, job: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The package an earlier attempt registered for this job in ``group`` (its describe),
        or None. Only packages created since the job ended can be one (less a margin for
        clocks that disagree): few, so each is described."""
        now = self.clock()
        ended = _time(job.get("EndTime")) or _time(job.get("LastModifiedTime")) or now
        since = min(ended, now) - LOOKUP_MARGIN
        wanted = {
            metadata_text(METADATA_PREFIX + "job", METADATA_KEY_MAX): metadata_text(job_name),
            metadata_text(METADATA_PREFIX + "stack", METADATA_KEY_MAX): metadata_text(stack),
        }
        for summary in self._packages_since(group, since):
            arn = str(summary["ModelPackageArn"])
            described: dict[str, Any] = self._call(
                "DescribeModelPackage",
                group,
                partial(self.sagemaker.describe_model_package, ModelPackageName=arn),
            )
            metadata = described.get("CustomerMetadataProperties") or {}
            if all(metadata.get(k) == v for k, v in wanted.items()):
                return described
        return None

    def _packages_since(self, group: str, since: datetime) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            # Every page repeats the first page's filters (a token is bound to them).
            kwargs: dict[str, Any] = {
                "ModelPackageGroupName": group,
                "CreationTimeAfter": since,
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": LIST_PAGE_SIZE,
            }
            if token:
                kwargs["NextToken"] = token
            response = self._call(
                "ListModelPackages",
                group,
                partial(self.sagemaker.list_model_packages, **kwargs),
            )
            yield from response.get("ModelPackageSummaryList") or []
            token = response.get("NextToken")
            if not token:
                return

    # --- the model-quality statistics ----------------------------------------------------------

    @staticmethod
    def _statistics_location(job: Mapping[str, Any]) -> tuple[str, str] | None:
        try:
            return statistics_location(job)
        except LeaderboardError:
            return None  # no usable S3OutputPath: the package goes without the statistics

    def _write_statistics(self, job: Mapping[str, Any], location: tuple[str, str]) -> None:
        bucket, key = location
        document = statistics_document(job, job.get("BestCandidate") or {})
        extra: dict[str, Any] = {}
        kms_key = (job.get("OutputDataConfig") or {}).get("KmsKeyId")
        if kms_key:  # encrypted like the job's own output
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
        try:
            self.s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"),
                ContentType="application/json",
                **extra,
            )
        except ClientError as exc:
            code = error_code(exc)
            where = f"s3://{bucket}/{key}"
            if code in ("AccessDenied", "AllAccessDisabled") or code.startswith("KMS"):
                raise RegistrationNotAuthorized(
                    f"this stack may not write the candidate's model-quality statistics to {where}"
                ) from exc
            raise RegistrationRefused(
                f"the candidate's model-quality statistics could not be written to {where}"
            ) from exc

    # --- calls -------------------------------------------------------------------------------

    def _call(self, operation: str, group: str, call: Callable[[], Any]) -> Any:
        try:
            return self.backoff.call(call)
        except ClientError as exc:
            raise self._failure(exc, operation, group) from exc

    @staticmethod
    def _failure(exc: ClientError, operation: str, group: str) -> Exception:
        code = error_code(exc)
        if code in THROTTLING_CODES:
            return SageMakerThrottled(f"SageMaker throttled {operation} past the backoff")
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            return RegistrationNotAuthorized(
                f"this stack may not call {operation} on model package group {group}: it "
                f"registers only into groups tagged {STACK_TAG_KEY} with its own name"
            )
        if code == "ResourceLimitExceeded":
            return RegistrationQuotaExceeded(
                f"a SageMaker quota (model package groups or versions) is exhausted: {operation} "
                f"for group {group} was refused"
            )
        return RegistrationRefused(
            f"SageMaker refused {operation} for model package group {group} (the detail is in "
            "the function's logs)"
        )


def register_best_candidate(
    registrar: ModelRegistrar,
    job: Mapping[str, Any],
    registry_section: Mapping[str, Any] | ModelRegistrySection,
    *,
    source: Mapping[str, Any] | None,
    stack: str,
    deployment: Mapping[str, Any] | None = None,
) -> Registration:
    """Register ``job``'s best candidate as the manifest's ``Registry`` section asks (the
    section as stored, or already typed)."""
    section = (
        registry_section
        if isinstance(registry_section, ModelRegistrySection)
        else ModelRegistrySection.from_section(registry_section)
    )
    if section is None:
        raise RegistrationRefused(
            "the manifest's Registry section names no ModelPackageGroupName: nothing to register"
        )
    return registrar.register(job, section, source=source, stack=stack, deployment=deployment)


def build_registrar(session: Any = None) -> ModelRegistrar:
    import boto3  # noqa: PLC0415 - the CLI never needs it

    from autopilot_flow.sagemaker import sagemaker_client  # noqa: PLC0415

    session = session or boto3.session.Session()
    return ModelRegistrar(sagemaker=sagemaker_client(session), s3=session.client("s3"))
