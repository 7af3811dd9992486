"""The registration request, built without AWS: what CreateModelPackage receives for a
completed job's best candidate, checked against botocore's own model of the request (its
validator, and the metadata patterns with the ``regex`` module, which knows ``\\p{L}``)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import regex
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from autopilot_flow import finalize
from autopilot_flow import model_registration as mr
from autopilot_flow.sections import ModelRegistrySection

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "events" / "register_candidate" / "register-tabular.json").read_text())
MODEL = botocore.session.get_session().get_service_model("sagemaker")
CREATE = MODEL.operation_model("CreateModelPackage").input_shape
METADATA_MAP = MODEL.shape_for("CustomerMetadataMap")
# botocore writes the patterns in Java's syntax; the ``regex`` module (installed with statelint,
# requirements-dev.txt) reads their \p{...} classes, which ``re`` does not.
METADATA_KEY = regex.compile(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$")
METADATA_VALUE = regex.compile(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$")
TOKEN = regex.compile("^" + MODEL.shape_for("ClientToken").metadata["pattern"] + "$")
STACK = "autopilot-flow"
SECTION = ModelRegistrySection("churn-models", approval_required=True, description="Churn v3")
SOURCE = SAMPLE["source"]
REGISTRY = "763104351884.dkr.ecr.us-east-1.amazonaws.com"


def tabular() -> dict[str, Any]:
    job: dict[str, Any] = copy.deepcopy(SAMPLE["job"])
    return job


def text_classification() -> dict[str, Any]:
    """A text classification job's best candidate: CPU and GPU inference definitions."""
    job = tabular()
    job["AutoMLProblemTypeConfig"] = {"TextClassificationJobConfig": {}}
    environment = {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/code"}
    definitions = {
        unit: [
            {
                "Image": f"{REGISTRY}/hf-inference:{unit.lower()}",
                "ModelDataUrl": "s3://out/text/model.tar.gz",
                "Environment": dict(environment),
            }
        ]
        for unit in ("CPU", "GPU")
    }
    best = job["BestCandidate"]
    best["InferenceContainerDefinitions"] = definitions
    best["InferenceContainers"] = copy.deepcopy(definitions["CPU"])
    return job


def with_environment(job: dict[str, Any], extra: int) -> dict[str, Any]:
    container = job["BestCandidate"]["InferenceContainers"][0]
    container["Environment"].update({f"AUTOML_EXTRA_{i:02d}": str(i) for i in range(extra)})
    return job


def build(job: dict[str, Any], **kwargs: Any) -> mr.PackageRequest:
    return mr.package_request(
        job,
        kwargs.pop("section", SECTION),
        source=kwargs.pop("source", SOURCE),
        stack=STACK,
        statistics_uri=kwargs.pop("statistics_uri", "s3://out/stats.json"),
        **kwargs,
    )


def assert_valid(request: dict[str, Any]) -> None:
    report = ParamValidator().validate(request, CREATE)
    assert not report.has_errors(), report.generate_report()
    metadata = request["CustomerMetadataProperties"]
    assert 1 <= len(metadata) <= METADATA_MAP.metadata["max"]
    for key, value in metadata.items():
        assert METADATA_KEY.match(key), key
        assert METADATA_VALUE.match(value), (key, value)
    assert TOKEN.match(request["ClientToken"])
    for spec in [
        request["InferenceSpecification"],
        *request.get("AdditionalInferenceSpecifications", []),
    ]:
        for container in spec["Containers"]:
            assert len(container.get("Environment") or {}) <= mr.ENVIRONMENT_LIMIT


# --- the environment ---------------------------------------------------------------------------


def test_an_environment_within_the_limit_is_kept_whole() -> None:
    environment = {f"K{i}": str(i) for i in range(16)}
    assert mr.trim_environment(environment) == (environment, [])


def test_the_serving_keys_are_kept_and_the_rest_trimmed_by_name() -> None:
    serving = dict.fromkeys(mr.SERVING_ENVIRONMENT, "v")  # 13
    extras = dict.fromkeys(("ZETA", "ALPHA", "MID", "BETA", "OMEGA", "GAMMA"), "x")
    # Interleaved: the kept map keeps the candidate's order, whatever the priority.
    environment = {**dict(list(extras.items())[:3]), **serving, **dict(list(extras.items())[3:])}
    kept, trimmed = mr.trim_environment(environment)
    assert len(kept) == 16
    assert set(mr.SERVING_ENVIRONMENT) <= set(kept)
    assert {"ALPHA", "BETA", "GAMMA"} <= set(kept)  # the first three extras by name
    assert trimmed == ["MID", "OMEGA", "ZETA"]
    assert list(kept) == [k for k in environment if k in kept]


def test_without_serving_keys_the_first_sixteen_names_stay() -> None:
    environment = {f"VAR_{i:02d}": str(i) for i in range(20)}
    kept, trimmed = mr.trim_environment(environment)
    assert sorted(kept) == [f"VAR_{i:02d}" for i in range(16)]
    assert trimmed == ["VAR_16", "VAR_17", "VAR_18", "VAR_19"]


def test_a_trimmed_container_is_named_in_the_metadata() -> None:
    built = build(with_environment(tabular(), 14))  # 6 + 14 = 20 entries
    request = built.request
    assert_valid(request)
    environment = request["InferenceSpecification"]["Containers"][0]["Environment"]
    assert len(environment) == 16
    assert environment["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label"
    assert environment["MODEL_NAME"] == "WeightedEnsemble-L3-FULL"
    trimmed = ["AUTOML_EXTRA_10", "AUTOML_EXTRA_11", "AUTOML_EXTRA_12", "AUTOML_EXTRA_13"]
    assert built.trimmed_keys == [{"specification": "main", "container": 1, "keys": trimmed}]
    metadata = request["CustomerMetadataProperties"]
    assert metadata["autopilot-flow:trimmed-environment:1"] == " ".join(trimmed)


# --- the request ---------------------------------------------------------------------------------


def test_the_tabular_request() -> None:
    job = tabular()
    built = build(job)
    request = built.request
    assert_valid(request)
    best = job["BestCandidate"]
    assert request["ModelPackageGroupName"] == "churn-models"
    assert request["ModelApprovalStatus"] == "PendingManualApproval"
    assert request["ModelPackageDescription"] == "Churn v3"
    spec = request["InferenceSpecification"]
    assert spec["Containers"] == finalize.choose_containers(best, None)
    assert spec["SupportedContentTypes"] == ["text/csv"]
    assert "SupportedRealtimeInferenceInstanceTypes" not in spec  # serverless: no instances
    assert "AdditionalInferenceSpecifications" not in request
    locations = best["CandidateProperties"]["CandidateArtifactLocations"]
    assert request["ModelMetrics"] == {
        "ModelQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": "s3://out/stats.json"}
        },
        "Explainability": {
            "Report": {"ContentType": "application/json", "S3Uri": locations["Explainability"]}
        },
    }
    metadata = request["CustomerMetadataProperties"]
    assert metadata["autopilot-flow:stack"] == STACK
    assert metadata["autopilot-flow:job"] == "churn-binary-2026-11"
    assert metadata["autopilot-flow:job-arn"] == job["AutoMLJobArn"]
    assert metadata["autopilot-flow:candidate"] == "WeightedEnsemble-L3-FULL"
    assert metadata["autopilot-flow:objective"] == "F1"
    assert metadata["autopilot-flow:objective-type"] == "Maximize"
    assert (
        float(metadata["autopilot-flow:objective-value"])
        == best["FinalAutoMLJobObjectiveMetric"]["Value"]
    )
    assert (
        metadata["autopilot-flow:source"]
        == "s3://amzn-s3-demo-manifests/manifests/churn/churn-tabular.yaml"
    )
    assert metadata["autopilot-flow:source-version"] == SOURCE["versionId"]
    assert metadata["autopilot-flow:modelinsights"] == locations["ModelInsights"]
    assert request["Tags"] == [
        {"Key": finalize.STACK_TAG_KEY, "Value": STACK},
        {"Key": finalize.JOB_TAG_KEY, "Value": "churn-binary-2026-11"},
    ]
    assert built.objective == mr.Objective(
        "F1", best["FinalAutoMLJobObjectiveMetric"]["Value"], "Maximize"
    )


def test_approval_not_required_registers_approved() -> None:
    request = build(tabular(), section=ModelRegistrySection("churn-models")).request
    assert request["ModelApprovalStatus"] == "Approved"
    assert "ModelPackageDescription" not in request


def test_the_request_is_deterministic_and_its_token_is_the_registration_s() -> None:
    first, second = build(tabular()).request, build(tabular()).request
    assert first == second
    token = first["ClientToken"]
    assert len(token) == mr.CLIENT_TOKEN_LENGTH
    assert token == mr.client_token(
        STACK, "CHURN-MODELS", "Churn-Binary-2026-11"
    )  # names ignore case
    assert token != mr.client_token("other-stack", "churn-models", "churn-binary-2026-11")
    assert token != mr.client_token(STACK, "churn-models", "churn-binary-2026-12")


@pytest.mark.parametrize(
    ("instance_type", "main", "additional"),
    [(None, "CPU", "GPU"), ("ml.m5.large", "CPU", "GPU"), ("ml.g5.xlarge", "GPU", "CPU")],
)
def test_cpu_and_gpu_definitions_main_by_the_deployment_other_as_additional(
    instance_type: str | None, main: str, additional: str
) -> None:
    job = text_classification()
    deployment = {"InstanceType": instance_type} if instance_type else {}
    request = build(job, deployment=deployment).request
    assert_valid(request)
    definitions = job["BestCandidate"]["InferenceContainerDefinitions"]
    spec = request["InferenceSpecification"]
    assert spec["Containers"] == definitions[main]
    assert spec["SupportedResponseMIMETypes"] == ["text/csv", "application/json"]
    if instance_type:
        assert spec["SupportedRealtimeInferenceInstanceTypes"] == [instance_type]
    [other] = request["AdditionalInferenceSpecifications"]
    assert other["Name"] == additional
    assert other["Containers"] == definitions[additional]


def test_metadata_values_outside_aws_s_characters_are_replaced_and_cut() -> None:
    assert mr.metadata_text("s3://b/a b#(1),ü.yaml") == "s3://b/a b__1__ü.yaml"
    long = mr.metadata_text("x" * 300)
    assert len(long) == mr.METADATA_VALUE_MAX and long.endswith("...")
    source = {"type": "s3", "bucket": "b", "key": "teams/" + "k#" * 200 + ".yaml", "versionId": "v"}
    request = build(tabular(), source=source).request
    assert_valid(request)
    assert request["CustomerMetadataProperties"]["autopilot-flow:source"].endswith("...")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"type": "api", "requestId": "c0ffee-1"}, {"source": "api:c0ffee-1"}),
        (
            {"type": "s3", "bucket": "b", "key": "m.yaml", "versionId": None},
            {"source": "s3://b/m.yaml"},
        ),
        (None, {}),
        ({"type": "s3", "bucket": "b"}, {}),
    ],
)
def test_sources(source: dict[str, Any] | None, expected: dict[str, str]) -> None:
    assert mr.describe_source(source) == expected
    metadata = build(tabular(), source=source).request["CustomerMetadataProperties"]
    assert {k: v for k, v in metadata.items() if "source" in k} == {
        "autopilot-flow:" + k: v for k, v in expected.items()
    }


def test_without_statistics_or_reports_no_model_metrics() -> None:
    job = tabular()
    del job["BestCandidate"]["CandidateProperties"]["CandidateArtifactLocations"]
    request = build(job, statistics_uri=None).request
    assert_valid(request)
    assert "ModelMetrics" not in request


@pytest.mark.parametrize(
    "change",
    ["failed", "no-best", "no-containers"],
)
def test_nothing_to_register(change: str) -> None:
    job = tabular()
    if change == "failed":
        job["AutoMLJobStatus"] = "Failed"
    elif change == "no-best":
        del job["BestCandidate"]
    else:
        job["BestCandidate"]["InferenceContainers"] = []
    with pytest.raises(mr.NoCandidateToRegister) as caught:
        build(job)
    assert "churn-binary-2026-11" in str(caught.value)


def test_the_statistics_document_is_the_candidate_s_final_metrics() -> None:
    job = tabular()
    document = mr.statistics_document(job, job["BestCandidate"])
    metrics = job["BestCandidate"]["CandidateProperties"]["CandidateMetrics"]
    assert document["candidateName"] == "WeightedEnsemble-L3-FULL"
    assert document["objective"]["metricName"] == "F1"
    assert [m["metricName"] for m in document["metrics"]] == [m["MetricName"] for m in metrics]
    assert mr.statistics_location(job) == (
        "amzn-s3-demo-ml-output",
        "autopilot/churn/churn-binary-2026-11/model-registry/model-quality.json",
    )


# --- times, failures, the event ------------------------------------------------------------


def test_times_as_boto3_and_step_functions_give_them() -> None:
    moment = datetime(2026, 11, 20, 9, 29, 8, tzinfo=UTC)
    assert mr._time("2026-11-20T09:29:08.000Z") == moment
    assert mr._time(moment.timestamp()) == moment
    assert mr._time(moment.replace(tzinfo=None)) == moment
    assert mr._time("yesterday") is None
    assert mr._time(None) is None


def client_error(code: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"raw {code} text"}}, "CreateModelPackage"
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("AccessDeniedException", mr.RegistrationNotAuthorized),
        ("ResourceLimitExceeded", mr.RegistrationQuotaExceeded),
        ("ValidationException", mr.RegistrationRefused),
        ("ConflictException", mr.RegistrationRefused),
        ("ThrottlingException", finalize.SageMakerThrottled),
    ],
)
def test_aws_errors_become_stable_codes_with_plain_messages(code: str, expected: type) -> None:
    failure = mr.ModelRegistrar._failure(client_error(code), "CreateModelPackage", "churn-models")
    assert type(failure) is expected
    assert "raw" not in str(failure) and "Exception" not in str(failure)
    if isinstance(failure, mr.RegistrationFailed):
        described = mr.describe_registration_failure(failure)
        assert described == {"stage": "register", "code": failure.code, "message": str(failure)}


def test_failure_codes_are_stable_and_apart_from_finalize_s() -> None:
    assert mr.FAILURE_CODES == {
        "NoCandidateToRegister": "model_registry.no_candidate",
        "ModelPackageGroupNotOwned": "model_registry.group_not_owned",
        "RegistrationRefused": "model_registry.refused",
        "RegistrationNotAuthorized": "model_registry.not_authorized",
        "RegistrationQuotaExceeded": "model_registry.quota",
    }
    assert not set(mr.FAILURE_CODES) & set(finalize.OWN_FAILURE_CODES)
    # FinalizeJob describes RegisterCandidate's failures with these codes.
    assert set(mr.FAILURE_CODES.values()) == finalize.REGISTRATION_FAILURE_CODES
    assert finalize.REGISTRATION_FAILURE_CODES <= finalize.FAILURE_CODES
    assert finalize.own_failure_codes().items() >= mr.FAILURE_CODES.items()


def test_the_event_detail() -> None:
    job = tabular()
    built = build(job)
    registration = mr.Registration(
        model_package_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3",
        group_name="churn-models",
        group_arn="arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn-models",
        version=3,
        approval_status="PendingManualApproval",
        objective=built.objective,
        candidate_name=built.candidate_name,
        trimmed_keys=[],
        created=True,
        group_created=False,
    )
    detail = mr.model_registered_detail(registration, job)
    assert detail == {
        "schemaVersion": "1.0",
        "jobName": "churn-binary-2026-11",
        "jobArn": job["AutoMLJobArn"],
        "problemType": "TabularJobConfig",
        "candidateName": "WeightedEnsemble-L3-FULL",
        "modelPackageArn": registration.model_package_arn,
        "modelPackageGroupName": "churn-models",
        "modelPackageVersion": 3,
        "approvalStatus": "PendingManualApproval",
        "objective": {
            "metricName": "F1",
            "value": job["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"],
            "type": "Maximize",
        },
        "trimmedEnvironment": [],
    }
