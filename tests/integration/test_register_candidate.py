"""Registering a completed job's best candidate, against moto with the Model Registry as AWS
keeps it (``offline.model_registry.ModelRegistry``: 16-entry environments refused, a group
name in use refused, packages tagged, state-change events) and jobs of every problem type
completed by the Autopilot simulator. Real boto3 clients; failures are produced the way they
happen (a throttle from the simulator, a group created by someone else, an answer lost after
the package was created), never by fakes of the calls.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from moto import mock_aws

from autopilot_flow import finalize
from autopilot_flow import model_registration as mr
from autopilot_flow.deploy_targets import target_of
from autopilot_flow.sagemaker import Backoff, SageMakerThrottled, sagemaker_client
from autopilot_flow.sections import ModelRegistrySection
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import LambdaContext, lambda_environment, load_handler, unload_handler
from offline.model_registry import ModelRegistry
from offline.provision import FunctionSpec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
SAMPLE_EVENT = ROOT / "events" / "register_candidate" / "register-tabular.json"
REGION = "us-east-1"
STACK = "autopilot-flow"
GROUP = "churn-models"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SOURCE = {"type": "s3", "bucket": "manifests", "key": "teams/churn.yaml", "versionId": "v1"}

# The "AutoML Model Registered" event's schema, as schemas/automl-model-registered.json will
# hold it once the event is published (events.py's DETAIL_TYPES and template.yaml's Schema
# Registry are wired with the step): every detail this module builds is checked against it.
# The event's contract, as published (schemas/).
MODEL_REGISTERED_SCHEMA: dict[str, Any] = json.loads(
    (ROOT / "schemas" / "automl-model-registered.json").read_text()
)


def assert_event_valid(detail: dict[str, Any]) -> None:
    jsonschema.validate(
        {"source": "autopilot-flow", "detail-type": mr.MODEL_REGISTERED, "detail": detail},
        MODEL_REGISTERED_SCHEMA,
    )


@dataclass
class Registry:
    """moto with the Model Registry model, the simulator, the clients the step uses."""

    sim: AutopilotSimulator
    model: ModelRegistry
    sagemaker: Any
    s3: Any
    slept: list[float] = field(default_factory=list)

    def registrar(self, attempts: int = 6) -> mr.ModelRegistrar:
        return mr.ModelRegistrar(
            self.sagemaker, self.s3, Backoff(attempts=attempts, sleep=self.slept.append)
        )

    def completed(self, example: str, **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the description of the example's job run to completion, its Deployment)."""
        path = EXAMPLES / example
        text = path.read_text()
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        deployment = document.pop("Deployment", None) or {}
        for section in ("Notifications", "Registry"):
            document.pop(section, None)
        document.update(changes)
        bucket = document["OutputDataConfig"]["S3OutputPath"].split("/")[2]
        if bucket not in [b["Name"] for b in self.s3.list_buckets()["Buckets"]]:
            self.s3.create_bucket(Bucket=bucket)
        self.sagemaker.create_auto_ml_job_v2(**document)
        self.sim.run_until_idle()
        job = self.sagemaker.describe_auto_ml_job_v2(AutoMLJobName=document["AutoMLJobName"])
        job.pop("ResponseMetadata")
        assert job["AutoMLJobStatus"] == "Completed"
        return job, deployment

    def register(
        self,
        job: dict[str, Any],
        deployment: dict[str, Any] | None = None,
        section: ModelRegistrySection | None = None,
        registrar: mr.ModelRegistrar | None = None,
        stack: str = STACK,
    ) -> mr.Registration:
        return (registrar or self.registrar()).register(
            job,
            section or ModelRegistrySection(GROUP, approval_required=True),
            source=SOURCE,
            stack=stack,
            deployment=deployment,
        )

    def packages(self, group: str = GROUP) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.sagemaker.list_model_packages(
            ModelPackageGroupName=group
        )["ModelPackageSummaryList"]
        return listed

    def described(self, arn: str) -> dict[str, Any]:
        described: dict[str, Any] = self.sagemaker.describe_model_package(ModelPackageName=arn)
        return described

    def tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.sagemaker.list_tags(ResourceArn=arn)["Tags"]}


@pytest.fixture
def registry() -> Iterator[Registry]:
    with (
        mock_aws(),
        ModelRegistry() as model,
        AutopilotSimulator(clock=ManualClock(START), seed=11) as sim,
    ):
        session = boto3.session.Session(region_name=REGION)
        yield Registry(sim, model, sagemaker_client(session), session.client("s3"))


# --- every problem type -----------------------------------------------------------------------

CASES = {
    "tabular-ensembling": ("churn-tabular.yaml", {}),
    "tabular-hpo-pipeline": ("house-prices-regression.json", {}),
    "time-series": ("demand-forecast-timeseries.yaml", {}),
    "text-classification": ("support-tickets-text.json", {}),
    "image-classification": ("defect-images.yaml", {}),
    "text-generation": ("support-assistant-textgen.yaml", {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_problem_type_s_candidate_is_registered_as_it_serves(
    registry: Registry, case: str
) -> None:
    example, changes = CASES[case]
    job, deployment = registry.completed(example, **changes)
    best = job["BestCandidate"]
    registration = registry.register(job, deployment)

    assert registration.created and registration.group_created
    assert registration.version == 1
    described = registry.described(registration.model_package_arn)
    spec = described["InferenceSpecification"]
    # The containers FinalizeJob would deploy on the Deployment's hardware, as they are.
    expected = finalize.choose_containers(best, deployment.get("InstanceType"))
    assert spec["Containers"] == expected
    if case == "tabular-hpo-pipeline":
        assert len(spec["Containers"]) == 2  # a regression pipeline: transform, algorithm
    content, response = mr.CONTENT_TYPES[next(iter(job["AutoMLProblemTypeConfig"]))]
    assert spec["SupportedContentTypes"] == list(content)
    assert spec["SupportedResponseMIMETypes"] == list(response)
    if deployment.get("InstanceType"):
        assert spec["SupportedRealtimeInferenceInstanceTypes"] == [deployment["InstanceType"]]
    definitions = best.get("InferenceContainerDefinitions") or {}
    additional = described.get("AdditionalInferenceSpecifications") or []
    unit = target_of(deployment).container_unit
    assert [a["Name"] for a in additional] == sorted(u for u in definitions if u != unit)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    metadata = described["CustomerMetadataProperties"]
    assert metadata["autopilot-flow:job"] == job["AutoMLJobName"]
    assert metadata["autopilot-flow:stack"] == STACK
    assert metadata["autopilot-flow:source"] == "s3://manifests/teams/churn.yaml"
    objective = best["FinalAutoMLJobObjectiveMetric"]
    assert metadata["autopilot-flow:objective"] == objective["MetricName"]
    assert registry.tags(registration.model_package_arn) == {
        finalize.STACK_TAG_KEY: STACK,
        finalize.JOB_TAG_KEY: job["AutoMLJobName"],
    }
    # ModelMetrics: the candidate's final metrics, written next to the job's output.
    statistics = described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, _, key = statistics.removeprefix("s3://").partition("/")
    document = json.loads(registry.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert document["objective"]["value"] == objective["Value"]
    assert len(document["metrics"]) == len(best["CandidateProperties"]["CandidateMetrics"])
    locations = best["CandidateProperties"].get("CandidateArtifactLocations") or {}
    if locations.get("Explainability"):
        report = described["ModelMetrics"]["Explainability"]["Report"]
        assert report["S3Uri"] == locations["Explainability"]
    else:  # text generation: Autopilot writes no reports
        assert "Explainability" not in described["ModelMetrics"]
    # SageMaker announces the new package (the offline model of its event).
    [event] = registry.model.events
    assert event["detail"]["ModelPackageArn"] == registration.model_package_arn
    assert event["detail"]["ModelApprovalStatus"] == "PendingManualApproval"
    detail = mr.model_registered_detail(registration, job)
    assert_event_valid(detail)
    assert detail["objective"]["metricName"] == objective["MetricName"]


def test_text_classification_on_gpu_registers_gpu_first_and_cpu_beside(registry: Registry) -> None:
    job, deployment = registry.completed("support-tickets-text.json")
    assert deployment["InstanceType"].startswith("ml.g")
    registration = registry.register(job, deployment)
    described = registry.described(registration.model_package_arn)
    definitions = job["BestCandidate"]["InferenceContainerDefinitions"]
    assert described["InferenceSpecification"]["Containers"] == definitions["GPU"]
    [cpu] = described["AdditionalInferenceSpecifications"]
    assert cpu["Name"] == "CPU"
    assert cpu["Containers"] == definitions["CPU"]


# --- approval ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("required", "status"), [(True, "PendingManualApproval"), (False, "Approved")]
)
def test_approval_required_or_not(registry: Registry, required: bool, status: str) -> None:
    job, deployment = registry.completed("churn-tabular.yaml")
    section = ModelRegistrySection(GROUP, approval_required=required, description="Churn v3")
    registration = registry.register(job, deployment, section)
    assert registration.approval_status == status
    described = registry.described(registration.model_package_arn)
    assert described["ModelApprovalStatus"] == status
    assert described["ModelPackageDescription"] == "Churn v3"
    # The decision rule on the default bus sees an Approved package at once, a pending one not.
    [event] = registry.model.events
    assert event["detail"]["ModelApprovalStatus"] == status


# --- the 16-entry environment ---------------------------------------------------------------------


def test_a_container_over_16_environment_entries_is_trimmed_and_the_keys_named(
    registry: Registry,
) -> None:
    job, deployment = registry.completed("house-prices-regression.json")
    algorithm = job["BestCandidate"]["InferenceContainers"][1]
    algorithm["Environment"].update({f"AUTOML_TUNING_{i:02d}": str(i) for i in range(16)})
    assert len(algorithm["Environment"]) == 18
    # As sent, AWS (the offline model) refuses it: the trim is what makes it registrable.
    untrimmed = {
        "ModelPackageGroupName": GROUP,
        "InferenceSpecification": {"Containers": [algorithm]},
    }
    registry.sagemaker.create_model_package_group(ModelPackageGroupName="scratch")
    with pytest.raises(registry.sagemaker.exceptions.ClientError, match="less than or equal to 16"):
        registry.sagemaker.create_model_package(**{**untrimmed, "ModelPackageGroupName": "scratch"})

    registration = registry.register(job, deployment)
    described = registry.described(registration.model_package_arn)
    kept = described["InferenceSpecification"]["Containers"][1]["Environment"]
    assert len(kept) == 16
    assert kept["SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT"] == "text/csv"
    assert kept["MAX_CONTENT_LENGTH"] == "20971520"
    trimmed = ["AUTOML_TUNING_14", "AUTOML_TUNING_15"]
    assert registration.trimmed_keys == [{"specification": "main", "container": 2, "keys": trimmed}]
    metadata = described["CustomerMetadataProperties"]
    assert metadata["autopilot-flow:trimmed-environment:2"] == " ".join(trimmed)
    # The first container was within the limit: whole, and not named.
    assert (
        described["InferenceSpecification"]["Containers"][0]
        == finalize.choose_containers(job["BestCandidate"], None)[0]
    )
    assert "autopilot-flow:trimmed-environment:1" not in metadata
    detail = mr.model_registered_detail(registration, job)
    assert_event_valid(detail)
    assert detail["trimmedEnvironment"] == registration.trimmed_keys


# --- the group ----------------------------------------------------------------------------------


def test_an_existing_group_of_this_stack_is_used(registry: Registry) -> None:
    registry.sagemaker.create_model_package_group(
        ModelPackageGroupName=GROUP, Tags=[{"Key": finalize.STACK_TAG_KEY, "Value": STACK}]
    )
    first, deployment = registry.completed("churn-tabular.yaml")
    second, _ = registry.completed("churn-tabular.yaml", AutoMLJobName="churn-binary-2026-12")
    one = registry.register(first, deployment)
    two = registry.register(second, deployment)
    assert not one.group_created and not two.group_created
    assert (one.version, two.version) == (1, 2)
    assert one.group_arn == two.group_arn


@pytest.mark.parametrize(
    "tags",
    [
        [],
        [{"Key": finalize.STACK_TAG_KEY, "Value": "another-stack"}],
        [{"Key": "team", "Value": "ml"}],
    ],
    ids=["untagged", "another-stack", "other-tags"],
)
def test_a_group_this_stack_did_not_create_is_refused(
    registry: Registry, tags: list[dict[str, str]]
) -> None:
    registry.sagemaker.create_model_package_group(ModelPackageGroupName=GROUP, Tags=tags)
    job, deployment = registry.completed("churn-tabular.yaml")
    with pytest.raises(mr.ModelPackageGroupNotOwned) as caught:
        registry.register(job, deployment)
    assert GROUP in str(caught.value) and "Registry.ModelPackageGroupName" in str(caught.value)
    assert (
        mr.describe_registration_failure(caught.value)["code"] == "model_registry.group_not_owned"
    )
    assert registry.packages() == []
    assert registry.model.events == []
    # Nor was anything written for it.
    listed = registry.s3.list_objects_v2(Bucket="amzn-s3-demo-ml-output").get("Contents") or []
    assert not [o for o in listed if o["Key"].endswith(mr.STATISTICS_NAME)]


@pytest.mark.parametrize(("owner", "accepted"), [(STACK, True), ("another-stack", False)])
def test_a_group_created_meanwhile_is_judged_by_its_owner(
    registry: Registry, owner: str, accepted: bool
) -> None:
    """The race: the group is missing when looked up, and created (by a concurrent
    registration of this stack, or by someone else) before this one creates it."""
    job, deployment = registry.completed("churn-tabular.yaml")
    other = boto3.client("sagemaker", region_name=REGION)

    def create_first(**_: Any) -> None:
        other.create_model_package_group(
            ModelPackageGroupName=GROUP, Tags=[{"Key": finalize.STACK_TAG_KEY, "Value": owner}]
        )

    registry.sagemaker.meta.events.register_first(
        "before-call.sagemaker.CreateModelPackageGroup", create_first
    )
    if accepted:
        registration = registry.register(job, deployment)
        assert registration.created and not registration.group_created
        assert len(registry.packages()) == 1
    else:
        with pytest.raises(mr.ModelPackageGroupNotOwned):
            registry.register(job, deployment)
        assert registry.packages() == []


# --- idempotency --------------------------------------------------------------------------------


def test_a_retry_registers_nothing_new(registry: Registry) -> None:
    job, deployment = registry.completed("churn-tabular.yaml")
    first = registry.register(job, deployment)
    again = registry.register(job, deployment)
    assert again.model_package_arn == first.model_package_arn
    assert not again.created
    assert again.version == first.version == 1
    assert again.approval_status == "PendingManualApproval"
    assert len(registry.packages()) == 1
    assert len(registry.model.events) == 1
    assert_event_valid(mr.model_registered_detail(again, job))


def test_a_retry_after_the_answer_was_lost_finds_the_package(registry: Registry) -> None:
    """The package was created but the function never learnt it (its answer lost, the
    function timed out): the state machine's retry must not register a second one."""
    job, deployment = registry.completed("churn-tabular.yaml")

    class AnswerLost(Exception):
        pass

    def lose_the_answer(**_: Any) -> None:
        raise AnswerLost

    events = registry.sagemaker.meta.events
    events.register("after-call.sagemaker.CreateModelPackage", lose_the_answer, "lose")
    with pytest.raises(AnswerLost):
        registry.register(job, deployment)
    events.unregister("after-call.sagemaker.CreateModelPackage", unique_id="lose")
    [created] = registry.packages()

    retried = registry.register(job, deployment)
    assert retried.model_package_arn == created["ModelPackageArn"]
    assert not retried.created
    assert len(registry.packages()) == 1


def test_another_job_s_package_and_an_approved_one_are_told_apart(registry: Registry) -> None:
    first, deployment = registry.completed("churn-tabular.yaml")
    second, _ = registry.completed("churn-tabular.yaml", AutoMLJobName="churn-binary-2026-12")
    one = registry.register(first, deployment)
    registry.sagemaker.update_model_package(
        ModelPackageArn=one.model_package_arn, ModelApprovalStatus="Approved"
    )
    two = registry.register(second, deployment)
    assert two.created and two.model_package_arn != one.model_package_arn
    # A retry of the first reports its package as it is now: approved meanwhile.
    again = registry.register(first, deployment)
    assert (again.model_package_arn, again.approval_status) == (one.model_package_arn, "Approved")
    assert len(registry.packages()) == 2


REGISTRY_CALLS = (
    "DescribeModelPackageGroup",
    "CreateModelPackageGroup",
    "ListTags",
    "ListModelPackages",
    "DescribeModelPackage",
    "CreateModelPackage",
)


def registry_calls(registry: Registry) -> dict[str, int]:
    return {name: registry.sim.calls[name] for name in REGISTRY_CALLS if registry.sim.calls[name]}


def test_the_calls_one_registration_makes(registry: Registry) -> None:
    """First into a new group: look, create the group, create the package. Into the stack's
    group: look, check its tag, search this job's package among those created since the job
    ended (one describe each), create."""
    first, deployment = registry.completed("churn-tabular.yaml")
    second, _ = registry.completed("churn-tabular.yaml", AutoMLJobName="churn-binary-2026-12")
    registry.sim.calls.clear()
    registry.register(first, deployment)
    assert registry_calls(registry) == {
        "DescribeModelPackageGroup": 1,
        "CreateModelPackageGroup": 1,
        "CreateModelPackage": 1,
    }
    registry.sim.calls.clear()
    registry.register(second, deployment)
    assert registry_calls(registry) == {
        "DescribeModelPackageGroup": 1,
        "ListTags": 1,
        "ListModelPackages": 1,
        "DescribeModelPackage": 1,  # the first job's package, created since the second ended
        "CreateModelPackage": 1,
    }


def test_the_search_reads_only_packages_created_since_the_job_ended(registry: Registry) -> None:
    """Packages registered before the job ended cannot be its own: the search never
    describes them (here the registration runs three hours after the others, as the job
    ended then)."""
    job, deployment = registry.completed("churn-tabular.yaml")
    for index in range(3):
        other = {**copy.deepcopy(job), "AutoMLJobName": f"churn-older-{index}"}
        registry.register(other, deployment)
    later = datetime.now(UTC) + timedelta(hours=3)
    job = {**job, "EndTime": later}
    registrar = registry.registrar()
    registrar.clock = lambda: later
    registry.sim.calls.clear()
    registration = registry.register(job, deployment, registrar=registrar)
    assert registration.created and registration.version == 4
    assert registry.sim.calls["ListModelPackages"] == 1
    assert registry.sim.calls["DescribeModelPackage"] == 0


# --- throttling and refusals --------------------------------------------------------------------


def test_throttling_is_retried_with_backoff(registry: Registry) -> None:
    job, deployment = registry.completed("churn-tabular.yaml")
    registry.sim.throttle_next(2, "CreateModelPackage")
    registry.sim.throttle_next(1, "DescribeModelPackageGroup")
    registration = registry.register(job, deployment)
    assert registration.created
    assert len(registry.slept) == 3
    assert len(registry.packages()) == 1


@pytest.mark.parametrize(
    "operation", ["DescribeModelPackageGroup", "CreateModelPackageGroup", "CreateModelPackage"]
)
def test_throttling_past_the_backoff_is_the_retryable_error(
    registry: Registry, operation: str
) -> None:
    job, deployment = registry.completed("churn-tabular.yaml")
    registry.sim.throttle_next(3, operation)
    with pytest.raises(SageMakerThrottled):
        registry.register(job, deployment, registrar=registry.registrar(attempts=3))
    assert len(registry.slept) == 2
    # Retried by the state machine once the throttling stops: one package.
    registration = registry.register(job, deployment)
    assert registration.created
    assert len(registry.packages()) == 1


def test_a_job_without_a_usable_output_bucket_registers_nothing(registry: Registry) -> None:
    job, deployment = registry.completed("churn-tabular.yaml")
    job = copy.deepcopy(job)
    job["OutputDataConfig"]["S3OutputPath"] = "s3://no-such-bucket-here/out/"
    with pytest.raises(mr.RegistrationRefused) as caught:
        registry.register(job, deployment)
    assert "no-such-bucket-here" in str(caught.value)
    assert "NoSuchBucket" not in str(caught.value)
    assert registry.packages() == []


def test_a_failed_job_has_nothing_to_register(registry: Registry) -> None:
    job, deployment = registry.completed("churn-tabular.yaml")
    job = {**job, "AutoMLJobStatus": "Failed"}
    job.pop("BestCandidate")
    with pytest.raises(mr.NoCandidateToRegister):
        registry.register(job, deployment)
    assert registry.sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []


# --- the handler, through its event --------------------------------------------------------------


@pytest.fixture
def handler() -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    spec = FunctionSpec(
        logical_id="RegisterCandidateFunction",
        name="register-candidate",
        code_dir=ROOT / "functions" / "register_candidate",
        handler="app.lambda_handler",
        environment={},
        events={},
        timeout=60,
    )
    with lambda_environment(), mock_aws(), ModelRegistry():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="amzn-s3-demo-ml-output")
        function = load_handler(spec)
        try:
            yield lambda event: function(event, LambdaContext(function_name=spec.name))
        finally:
            unload_handler(function)


def sample_event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(SAMPLE_EVENT.read_text())
    return event


def test_the_handler_registers_from_its_sample_event(
    handler: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    event = sample_event()
    answer = handler(event)
    registration = answer["registration"]
    assert registration["modelPackageGroupName"] == "churn-models"
    assert registration["approvalStatus"] == "PendingManualApproval"
    assert registration["created"] and registration["groupCreated"]
    assert answer["event"]["detailType"] == "AutoML Model Registered"
    detail = answer["event"]["detail"]
    assert_event_valid(detail)
    assert detail["modelPackageArn"] == registration["modelPackageArn"]
    assert detail["jobName"] == event["job"]["AutoMLJobName"]
    json.dumps(answer)  # what Step Functions receives is JSON
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    described = sagemaker.describe_model_package(ModelPackageName=registration["modelPackageArn"])
    assert described["ModelPackageDescription"] == event["registry"]["Description"]
    assert (
        described["CustomerMetadataProperties"]["autopilot-flow:source-version"]
        == (event["source"]["versionId"])
    )
    # The state machine's retry of the same step: the same package.
    again = handler(event)
    assert again["registration"]["modelPackageArn"] == registration["modelPackageArn"]
    assert not again["registration"]["created"]


def test_the_handler_refuses_with_a_named_error_and_a_plain_message(
    handler: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    boto3.client("sagemaker", region_name=REGION).create_model_package_group(
        ModelPackageGroupName="churn-models"
    )
    with pytest.raises(mr.RegistrationFailed) as caught:
        handler(sample_event())
    # What Step Functions sees: the error's name (mapped to a stable code) and its message.
    assert mr.FAILURE_CODES[type(caught.value).__name__] == "model_registry.group_not_owned"
    assert "ValidationException" not in str(caught.value)


def test_the_handler_refuses_an_event_without_the_stack_s_tag(
    handler: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    event = sample_event()
    event["stackTag"] = {"Key": "team", "Value": "ml"}
    with pytest.raises(ValueError, match="tag"):
        handler(event)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    assert sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
