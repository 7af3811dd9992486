"""Function settings: every problem named at start; the policy built from stack parameters."""

from __future__ import annotations

import json

import pytest

from autopilot_flow.settings import IngestSettings, SettingsError, WatchSettings

BASE = {
    "JOBS_TABLE_NAME": "jobs",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "EVENT_BUS_NAME": "bus",
    "INGEST_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
}
ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"


def test_missing_and_malformed_settings_are_all_reported() -> None:
    env = {
        "EVENT_BUS_NAME": "bus",
        "PREFLIGHT_ENABLED": "yes",
        "MAX_RECEIVE_COUNT": "0",
        "POLICY_DEFAULT_TAGS": "team",
    }
    with pytest.raises(SettingsError) as info:
        IngestSettings.from_env(env)
    problems = " | ".join(info.value.problems)
    for needle in (
        "JOBS_TABLE_NAME is required",
        "IDEMPOTENCY_TABLE_NAME is required",
        "INGEST_QUEUE_URL is required",
        "PREFLIGHT_ENABLED must be true or false",
        "MAX_RECEIVE_COUNT must be a whole number >= 1",
        "POLICY_DEFAULT_TAGS: 'team' is not key=value",
    ):
        assert needle in problems


def test_policy_from_stack_parameters() -> None:
    env = {
        **BASE,
        "POLICY_DEFAULT_ROLE_ARN": ROLE,
        "POLICY_ALLOWED_ROLE_ARNS": ROLE,
        "POLICY_ALLOWED_S3_PREFIXES": "s3://data/, s3://out/",
        "POLICY_OUTPUT_S3_PATH": "s3://out/autopilot/",
        "POLICY_KMS_KEY_ID": "alias/ml",
        "POLICY_VPC_SUBNET_IDS": "subnet-1,subnet-2",
        "POLICY_VPC_SECURITY_GROUP_IDS": "sg-1",
        "POLICY_MAX_CANDIDATES": "100",
        "POLICY_MAX_JOB_RUNTIME_SECONDS": "0",
        "POLICY_REQUIRED_TAG_KEYS": "team",
        "POLICY_DEFAULT_TAGS": "cost-center=ml",
        "POLICY_ALLOWED_TOPIC_ARNS": "",
    }
    policy = IngestSettings.from_env(env).policy
    assert policy.defaults == {
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://out/autopilot/", "KmsKeyId": "alias/ml"},
        "SecurityConfig": {
            "VolumeKmsKeyId": "alias/ml",
            "VpcConfig": {"Subnets": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"]},
        },
        "Tags": [{"Key": "cost-center", "Value": "ml"}],
    }
    assert policy.guardrails == {
        "AllowedRoleArns": [ROLE],
        "AllowedS3Prefixes": ["s3://data/", "s3://out/"],
        "AllowedTopicArns": [],
        "RequiredTagKeys": ["team"],
        "MaxCandidates": 100,
    }


def test_an_invalid_policy_parameter_fails_the_start() -> None:
    with pytest.raises(SettingsError) as info:
        IngestSettings.from_env({**BASE, "POLICY_DEFAULT_ROLE_ARN": "admin"})
    assert "policy Defaults.RoleArn" in info.value.problems[0]


def test_a_whole_policy_document_wins_over_the_parameters() -> None:
    document = {"Guardrails": {"MaxCandidates": 7}}
    env = {**BASE, "POLICY_DOCUMENT": json.dumps(document), "POLICY_MAX_CANDIDATES": "100"}
    assert IngestSettings.from_env(env).policy.guardrails == {"MaxCandidates": 7}
    with pytest.raises(SettingsError) as info:
        IngestSettings.from_env({**BASE, "POLICY_DOCUMENT": '{"Guardrails": {"Max": 1}}'})
    assert "Guardrails.Max" in info.value.problems[0]


def test_watch_settings() -> None:
    settings = WatchSettings.from_env({"JOBS_TABLE_NAME": "jobs", "EVENT_BUS_NAME": "bus"})
    assert settings.overlap_seconds == 300
    with pytest.raises(SettingsError):
        WatchSettings.from_env({"WATCH_OVERLAP_SECONDS": "-1"})
