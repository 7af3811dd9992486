"""Policy: defaults fill only what is omitted; allow-lists close once anything is named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from autopilot_flow.policy import Policy, PolicyError, s3_allowed
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
