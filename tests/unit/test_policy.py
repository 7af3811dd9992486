"""Policy: defaults fill only what is omitted; allow-lists close once anything is named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from autopilot_flow.policy import Policy, PolicyError, s3_allowed
from autopilot_flow.settings import IngestSettings
from autopilot_flow.validate import validate_document
from tests.conftest import load_example

ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"
OTHER_ROLE = "arn:aws:iam::111122223333:role/Admin"
BASE = load_example("churn-tabular.yaml")


def manifest(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def policy(**sections: Any) -> Policy:
    return Policy.from_document(sections)


def test_defaults_fill_omitted_fields_only() -> None:
    rules = policy(
        Defaults={
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://out/", "KmsKeyId": "alias/ml"},
            "SecurityConfig": {"VolumeKmsKeyId": "alias/ml"},
            "Tags": [{"Key": "cost-center", "Value": "ml"}, {"Key": "team", "Value": "x"}],
        }
    )
    result = validate_document(manifest(RoleArn=None, SecurityConfig=None), policy=rules)
    request = result.request
    assert request is not None
    assert request["RoleArn"] == ROLE
    # The manifest's own output path stays; only the missing KMS key is added.
    assert request["OutputDataConfig"] == {
        "S3OutputPath": BASE["OutputDataConfig"]["S3OutputPath"],
        "KmsKeyId": "alias/ml",
    }
    assert request["SecurityConfig"] == {"VolumeKmsKeyId": "alias/ml"}
    # The manifest's "team" tag wins; the missing cost-center tag is added.
    assert request["Tags"] == [
        {"Key": "team", "Value": "growth-analytics"},
        {"Key": "cost-center", "Value": "ml"},
    ]
    assert result.defaults_applied == [
        "RoleArn",
        "OutputDataConfig.KmsKeyId",
        "SecurityConfig",
        "Tags.cost-center",
    ]
    assert result.valid, result.errors


def test_policy_does_not_change_the_callers_document() -> None:
    document = manifest(RoleArn=None)
    before = copy.deepcopy(document)
    validate_document(document, policy=policy(Defaults={"RoleArn": ROLE}))
    assert document == before


def test_caps_are_written_in_when_the_manifest_leaves_them_to_sagemaker() -> None:
    document = manifest()
    criteria = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"]
    del criteria["MaxCandidates"]
    rules = policy(Guardrails={"MaxCandidates": 20, "MaxRuntimePerTrainingJobInSeconds": 600})
    result = validate_document(document, policy=rules)
    assert result.valid, result.errors
    assert result.request is not None
    filled = result.request["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"]
    assert filled == {
        "MaxCandidates": 20,
        "MaxAutoMLJobRuntimeInSeconds": 14400,
        "MaxRuntimePerTrainingJobInSeconds": 600,
    }


def test_candidate_cap_is_not_written_into_non_tabular_jobs() -> None:
    document = load_example("support-assistant-textgen.yaml")
    result = validate_document(document, policy=policy(Guardrails={"MaxCandidates": 20}))
    assert result.valid, result.errors
    assert result.request is not None
    criteria = result.request["AutoMLProblemTypeConfig"]["TextGenerationJobConfig"][
        "CompletionCriteria"
    ]
    assert "MaxCandidates" not in criteria


def test_default_role_closes_the_role_list() -> None:
    rules = policy(Defaults={"RoleArn": ROLE})
    assert validate_document(manifest(), policy=rules).valid
    result = validate_document(manifest(RoleArn=OTHER_ROLE), policy=rules)
    assert [(e.path, e.code) for e in result.errors] == [("RoleArn", "policy.role_not_allowed")]


def test_role_patterns_and_emr_execution_role() -> None:
    rules = policy(Guardrails={"AllowedRoleArns": ["arn:aws:iam::111122223333:role/Autopilot*"]})
    document = manifest(
        AutoMLComputeConfig={"EmrServerlessComputeConfig": {"ExecutionRoleARN": OTHER_ROLE}}
    )
    result = validate_document(document, policy=rules)
    assert [(e.path, e.code) for e in result.errors] == [
        (
            "AutoMLComputeConfig.EmrServerlessComputeConfig.ExecutionRoleARN",
            "policy.role_not_allowed",
        )
    ]


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("s3://data/team-a/x.csv", True),
        ("s3://data/team-a", True),
        ("s3://data/team-ab/x.csv", False),
        ("s3://data2/team-a/x.csv", False),
        ("https://data.s3.amazonaws.com/team-a/x.csv", False),
        ("s3://logs/anything", True),
        ("s3://other/team-a/x", False),
    ],
)
def test_s3_prefixes_match_whole_segments(uri: str, allowed: bool) -> None:
    assert s3_allowed(uri, ["s3://data/team-a/", "s3://logs"]) is allowed


def test_every_s3_location_is_guarded() -> None:
    rules = policy(Guardrails={"AllowedS3Prefixes": ["s3://amzn-s3-demo-ml-data/churn/"]})
    document = manifest()
    config = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    config["FeatureSpecificationS3Uri"] = "s3://elsewhere/features.json"
    result = validate_document(document, policy=rules)
    assert [(e.path, e.code) for e in result.errors] == [
        ("OutputDataConfig.S3OutputPath", "policy.s3_not_allowed"),
        (
            "AutoMLProblemTypeConfig.TabularJobConfig.FeatureSpecificationS3Uri",
            "policy.s3_not_allowed",
        ),
    ]


def test_default_output_path_is_allowed_once_the_s3_list_is_closed() -> None:
    defaults = {"OutputDataConfig": {"S3OutputPath": "s3://ml-output/autopilot/"}}
    open_list = policy(Defaults=defaults)
    assert validate_document(manifest(), policy=open_list).valid
    closed = policy(Defaults=defaults, Guardrails={"AllowedS3Prefixes": []})
    result = validate_document(manifest(OutputDataConfig=None), policy=closed)
    assert [e.path for e in result.errors] == [
        "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri",
        "AutoMLJobInputDataConfig[1].DataSource.S3DataSource.S3Uri",
    ]


def test_topics_need_an_allow_list() -> None:
    topic = "arn:aws:sns:us-east-1:111122223333:ml-alerts"
    document = manifest(Notifications={"TopicArns": [topic]})
    result = validate_document(document, policy=policy())
    assert [e.code for e in result.errors] == ["policy.topic_not_allowed"]
    allowed = policy(Guardrails={"AllowedTopicArns": ["arn:aws:sns:*:111122223333:ml-*"]})
    assert validate_document(document, policy=allowed).valid


def test_invalid_policy_reports_every_problem() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_document(
            {
                "Defaults": {"RoleArn": "not-an-arn", "Tagz": []},
                "Guardrails": {"MaxCandidates": "5", "RequireVpc": "yes"},
            }
        )
    assert [(i.path, i.code) for i in info.value.issues] == [
        ("Defaults.RoleArn", "min_length"),
        ("Defaults.Tagz", "unknown_field"),
        ("Guardrails.MaxCandidates", "type"),
        ("Guardrails.RequireVpc", "type"),
    ]


def test_policy_from_unparseable_bytes() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_bytes(b"- just\n- a list\n", "policy.yaml")
    assert info.value.issues[0].code == "parse.not_a_mapping"


# --- Endpoint names (AllowedEndpointNames) ------------------------------------------------


def endpoint_errors(document: dict[str, Any], rules: Policy) -> list[tuple[str, str]]:
    return [(e.path, e.code) for e in validate_document(document, policy=rules).errors]


def test_endpoint_names_are_open_without_an_allow_list() -> None:
    assert validate_document(manifest(), policy=policy()).valid


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("churn-classifier", True),
        ("Churn-Classifier", True),  # SageMaker endpoint names ignore case
        ("demand-forecast", True),
        ("demand-forecast-2", False),
        ("prod-churn", False),
    ],
)
def test_deployment_endpoint_must_match_an_allowed_pattern(name: str, allowed: bool) -> None:
    rules = policy(Guardrails={"AllowedEndpointNames": ["churn-*", "demand-forecast"]})
    document = manifest(Deployment={"EndpointName": name, "OnlyIfBetter": False})
    errors = endpoint_errors(document, rules)
    if allowed:
        assert errors == []
        return
    assert errors == [("Deployment.EndpointName", "policy.endpoint_not_allowed")]
    message = validate_document(document, policy=rules).errors[0].message
    assert name in message and "churn-*, demand-forecast" in message


def test_the_default_endpoint_name_is_the_job_name_and_is_checked() -> None:
    rules = policy(Guardrails={"AllowedEndpointNames": ["churn-classifier"]})
    result = validate_document(manifest(Deployment={"OnlyIfBetter": True}), policy=rules)
    assert [(e.path, e.code) for e in result.errors] == [
        ("Deployment.EndpointName", "policy.endpoint_not_allowed")
    ]
    assert "churn-binary-2026-11 (the default: the job name" in result.errors[0].message
    allow_job_name = policy(Guardrails={"AllowedEndpointNames": ["churn-binary-*"]})
    assert validate_document(manifest(Deployment={}), policy=allow_job_name).valid


def test_an_empty_allow_list_allows_no_endpoint() -> None:
    rules = policy(Guardrails={"AllowedEndpointNames": []})
    assert endpoint_errors(manifest(), rules) == [
        ("Deployment.EndpointName", "policy.endpoint_not_allowed")
    ]
    assert validate_document(manifest(Deployment=None), policy=rules).valid


def test_sagemakers_own_deployment_is_checked_too() -> None:
    rules = policy(Guardrails={"AllowedEndpointNames": ["churn-*"]})
    named = manifest(
        Deployment=None,
        ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": "prod-api"},
    )
    assert endpoint_errors(named, rules) == [
        ("ModelDeployConfig.EndpointName", "policy.endpoint_not_allowed")
    ]
    generated = manifest(Deployment=None, ModelDeployConfig={"AutoGenerateEndpointName": True})
    result = validate_document(generated, policy=rules)
    assert [(e.path, e.code) for e in result.errors] == [
        ("ModelDeployConfig.AutoGenerateEndpointName", "policy.endpoint_not_allowed")
    ]
    assert "cannot be checked" in result.errors[0].message
    # Without an allow-list SageMaker may name the endpoint itself.
    assert validate_document(generated, policy=policy()).valid


SETTINGS_BASE = {
    "JOBS_TABLE_NAME": "jobs",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "EVENT_BUS_NAME": "bus",
    "INGEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/ingest",
}


def test_allowed_endpoint_names_come_from_the_stack_parameter() -> None:
    env = {**SETTINGS_BASE, "POLICY_ALLOWED_ENDPOINT_NAMES": "churn-*, demand-forecast"}
    rules = IngestSettings.from_env(env).policy
    assert rules.guardrails["AllowedEndpointNames"] == ["churn-*", "demand-forecast"]
    assert rules.allowed_endpoint_names() == ["churn-*", "demand-forecast"]
    # The parameter's default (empty) leaves endpoint names open.
    empty = IngestSettings.from_env({**SETTINGS_BASE, "POLICY_ALLOWED_ENDPOINT_NAMES": ""})
    assert empty.policy.allowed_endpoint_names() is None
    assert IngestSettings.from_env(SETTINGS_BASE).policy.allowed_endpoint_names() is None


def test_an_endpoint_pattern_is_validated_like_the_other_lists() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_document({"Guardrails": {"AllowedEndpointNames": ["", 5]}})
    assert [(i.path, i.code) for i in info.value.issues] == [
        ("Guardrails.AllowedEndpointNames[0]", "min_length"),
        ("Guardrails.AllowedEndpointNames[1]", "type"),
    ]


# --- Endpoints that need an approval (RequireApprovalForEndpoints) -------------------------

INSTANCES = {"EndpointName": "churn-classifier", "InstanceType": "ml.m5.large"}
APPROVED = {"ModelPackageGroupName": "churn-models", "ApprovalRequired": True}


@pytest.mark.parametrize(
    ("endpoint", "registry", "refused"),
    [
        ("churn-classifier", None, True),
        ("CHURN-classifier", None, True),  # endpoint names ignore case
        ("churn-classifier", {"ModelPackageGroupName": "churn-models"}, True),
        ("churn-classifier", {**APPROVED, "ApprovalRequired": False}, True),
        ("churn-classifier", APPROVED, False),
        ("demand-forecast", None, False),
    ],
)
def test_a_matching_endpoint_needs_an_approval(
    endpoint: str, registry: dict[str, Any] | None, refused: bool
) -> None:
    rules = policy(Guardrails={"RequireApprovalForEndpoints": ["churn-*"]})
    document = manifest(Deployment={**INSTANCES, "EndpointName": endpoint}, Registry=registry)
    result = validate_document(document, policy=rules)
    if not refused:
        assert result.errors == []
        return
    assert [(e.path, e.code) for e in result.errors] == [
        ("Registry.ApprovalRequired", "policy.approval_required")
    ]
    assert endpoint in result.errors[0].message and "churn-*" in result.errors[0].message


def test_without_the_guardrail_no_endpoint_needs_an_approval() -> None:
    assert validate_document(manifest(Deployment=INSTANCES), policy=policy()).valid
    empty = policy(Guardrails={"RequireApprovalForEndpoints": []})
    assert validate_document(manifest(Deployment=INSTANCES), policy=empty).valid


def test_sagemakers_own_deployment_cannot_be_approved() -> None:
    rules = policy(Guardrails={"RequireApprovalForEndpoints": ["churn-*"]})
    named = manifest(
        Deployment=None,
        ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": "churn-api"},
    )
    assert endpoint_errors(named, rules) == [
        ("ModelDeployConfig.EndpointName", "policy.approval_required")
    ]
    other = manifest(
        Deployment=None,
        ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": "fraud-api"},
    )
    assert endpoint_errors(other, rules) == []
    generated = manifest(Deployment=None, ModelDeployConfig={"AutoGenerateEndpointName": True})
    assert endpoint_errors(generated, rules) == [
        ("ModelDeployConfig.AutoGenerateEndpointName", "policy.approval_required")
    ]


def test_endpoints_requiring_approval_come_from_the_stack_parameter() -> None:
    env = {**SETTINGS_BASE, "POLICY_REQUIRE_APPROVAL_FOR_ENDPOINTS": "churn-*, prod-*"}
    rules = IngestSettings.from_env(env).policy
    assert rules.guardrails["RequireApprovalForEndpoints"] == ["churn-*", "prod-*"]
    assert rules.endpoints_requiring_approval() == ["churn-*", "prod-*"]
    result = validate_document(manifest(Deployment=INSTANCES), policy=rules)
    assert [(e.path, e.code) for e in result.errors] == [
        ("Registry.ApprovalRequired", "policy.approval_required")
    ]
    assert validate_document(manifest(Deployment=INSTANCES, Registry=APPROVED), policy=rules).valid
    # The parameter's default (empty) asks for no approval.
    empty = IngestSettings.from_env({**SETTINGS_BASE, "POLICY_REQUIRE_APPROVAL_FOR_ENDPOINTS": ""})
    assert empty.policy.endpoints_requiring_approval() == []
    assert (
        "RequireApprovalForEndpoints"
        not in IngestSettings.from_env(SETTINGS_BASE).policy.guardrails
    )


def test_endpoints_requiring_approval_come_from_a_policy_document_too() -> None:
    document = "Guardrails:\n  RequireApprovalForEndpoints: [churn-*]\n"
    env = {**SETTINGS_BASE, "POLICY_DOCUMENT": document}
    rules = IngestSettings.from_env(env).policy
    assert rules.endpoints_requiring_approval() == ["churn-*"]
    assert not validate_document(manifest(Deployment=INSTANCES), policy=rules).valid


def test_an_approval_pattern_is_validated_like_the_other_lists() -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_document({"Guardrails": {"RequireApprovalForEndpoints": "churn-*"}})
    assert [(i.path, i.code) for i in info.value.issues] == [
        ("Guardrails.RequireApprovalForEndpoints", "type")
    ]
    with pytest.raises(PolicyError) as misspelt:
        Policy.from_document({"Guardrails": {"RequireApprovalForEndpoint": ["churn-*"]}})
    assert "Did you mean 'RequireApprovalForEndpoints'?" in misspelt.value.issues[0].message
