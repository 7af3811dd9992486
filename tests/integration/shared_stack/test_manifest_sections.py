"""The ingest path keeps a manifest's own sections for FinalizeJob: Deployment and
Notifications are stripped from the CreateAutoMLJobV2 request and stored in the registry;
Registry is stripped too. Through the real IngestManifest handler, provisioned from
template.yaml and shared by the package (its names are each test's own): the rollout's
alarms must exist. The stack parameters (RequireApprovalForEndpoints, PreflightEnabled) are
tested on stacks of their own, in tests/integration/test_manifest_sections_parameters.py."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.integration.ingest_harness import EXAMPLES, IngestHarness
from tests.integration.shared_stack.conftest import StackForTest


def test_deployment_and_notifications_reach_the_registry(stack: StackForTest) -> None:
    harness = stack.ingest
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document["AutoMLJobName"] = stack.name(document["AutoMLJobName"])
    harness.upload(f"manifests/{stack.token}/churn-tabular.yaml", yaml.safe_dump(document).encode())
    harness.source.drain()
    record = harness.record(document["AutoMLJobName"]) or {}
    assert record["status"] == "CREATED"
    assert json.loads(record["deploymentConfig"]) == document["Deployment"]
    assert json.loads(record["notificationsConfig"]) == document["Notifications"]
    request = json.loads(record["request"])
    assert "Deployment" not in request and "Notifications" not in request


def test_a_manifest_without_them_stores_none(stack: StackForTest) -> None:
    harness = stack.ingest
    document = yaml.safe_load((EXAMPLES / "support-tickets-text.json").read_text())
    document["AutoMLJobName"] = stack.name(document["AutoMLJobName"])
    document.pop("Deployment", None)
    document.pop("Notifications", None)
    harness.upload(f"manifests/{stack.token}/plain.json", json.dumps(document).encode())
    harness.source.drain()
    record = harness.record(document["AutoMLJobName"]) or {}
    assert record["status"] == "CREATED"
    assert "deploymentConfig" not in record and "notificationsConfig" not in record


# --- Registry and Deployment.Strategy at the S3 door ----------------------------------------

JOB = "churn-binary-2026-11"
# The rollout's alarms; each test names its own (alarm names are account-wide).
ALARMS = ["churn-classifier-5xx", "churn-classifier-latency"]


def churn(stack: StackForTest, **sections: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document["AutoMLJobName"] = stack.name(JOB)
    document.update(sections)
    return document


def on_instances(stack: StackForTest, **strategy: Any) -> dict[str, Any]:
    deployment = {
        "EndpointName": stack.name("churn-classifier"),
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 2,
    }
    if strategy:
        deployment["Strategy"] = strategy
    return deployment


def submit(harness: IngestHarness, document: dict[str, Any], key: str) -> str:
    harness.upload(key, json.dumps(document).encode())
    harness.source.drain()
    return key


def rejected(harness: IngestHarness, key: str) -> list[tuple[str, str]]:
    report = harness.read_json(key.replace("manifests/", "rejections/", 1) + ".json")
    return [(e["path"], e["code"]) for e in report["errors"]]


def put_alarm(harness: IngestHarness, name: str) -> None:
    harness.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def test_registry_is_stripped_from_the_request_and_kept_with_the_strategy(
    stack: StackForTest,
) -> None:
    harness, alarms = stack.ingest, [stack.name(name) for name in ALARMS]
    for name in alarms:
        put_alarm(harness, name)
    deployment = on_instances(stack, Type="Canary", StepPercent=50, AutoRollbackAlarmNames=alarms)
    registry = {"ModelPackageGroupName": "churn-models", "ApprovalRequired": True}
    key = f"manifests/{stack.token}/r.json"
    submit(harness, churn(stack, Deployment=deployment, Registry=registry), key)
    record = harness.record(stack.name(JOB)) or {}
    assert record["status"] == "CREATED"
    assert json.loads(record["deploymentConfig"]) == deployment
    # FinalizeJob registers the best candidate as the job's record says.
    assert json.loads(record["registryConfig"]) == registry
    request = json.loads(record["request"])
    assert not {"Deployment", "Notifications", "Registry"} & set(request)
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [stack.name(JOB)]


def test_missing_rollback_alarms_refuse_the_manifest(stack: StackForTest) -> None:
    harness, alarms = stack.ingest, [stack.name(name) for name in ALARMS]
    put_alarm(harness, alarms[0])
    strategy = {"Type": "Canary", "StepPercent": 50, "AutoRollbackAlarmNames": [*alarms, "x"]}
    document = churn(stack, Deployment=on_instances(stack, **strategy))
    key = submit(harness, document, f"manifests/{stack.token}/a.json")
    assert harness.create_calls == []
    assert rejected(harness, key) == [
        ("Deployment.Strategy.AutoRollbackAlarmNames[1]", "preflight.alarm_missing"),
        ("Deployment.Strategy.AutoRollbackAlarmNames[2]", "preflight.alarm_missing"),
    ]
