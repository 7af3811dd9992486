"""The ingest path keeps a manifest's own sections for FinalizeJob: Deployment and
Notifications are stripped from the CreateAutoMLJobV2 request and stored in the registry;
Registry is stripped too. Through the real IngestManifest handler, provisioned from
template.yaml: the rollout's alarms must exist, and the RequireApprovalForEndpoints stack
parameter refuses a deployment to a matching endpoint without an approval."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from moto import mock_aws

from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import lambda_environment
from offline.moto_fixes import moto_as_aws
from tests.integration.ingest_harness import EXAMPLES, IngestHarness, build_harness


@pytest.fixture
def harness() -> Iterator[IngestHarness]:
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=3),
    ):
        yield build_harness()


def test_deployment_and_notifications_reach_the_registry(harness: IngestHarness) -> None:
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    harness.upload_example("churn-tabular.yaml")
    harness.source.drain()
    record = harness.record(document["AutoMLJobName"]) or {}
    assert record["status"] == "CREATED"
    assert json.loads(record["deploymentConfig"]) == document["Deployment"]
    assert json.loads(record["notificationsConfig"]) == document["Notifications"]
    request = json.loads(record["request"])
    assert "Deployment" not in request and "Notifications" not in request


def test_a_manifest_without_them_stores_none(harness: IngestHarness) -> None:
    document = yaml.safe_load((EXAMPLES / "support-tickets-text.json").read_text())
    document.pop("Deployment", None)
    document.pop("Notifications", None)
    harness.upload("manifests/plain.json", json.dumps(document).encode())
    harness.source.drain()
    record = harness.record(document["AutoMLJobName"]) or {}
    assert record["status"] == "CREATED"
    assert "deploymentConfig" not in record and "notificationsConfig" not in record


# --- Registry and Deployment.Strategy at the S3 door ----------------------------------------

JOB = "churn-binary-2026-11"
ALARMS = ["churn-classifier-5xx", "churn-classifier-latency"]


@pytest.fixture
def stack_with() -> Iterator[Callable[[dict[str, str]], IngestHarness]]:
    """Build a harness with extra stack parameters (inside the same moto and simulator)."""
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=3),
    ):
        yield build_harness


def churn(**sections: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document.update(sections)
    return document


def on_instances(**strategy: Any) -> dict[str, Any]:
    deployment = {
        "EndpointName": "churn-classifier",
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
    harness: IngestHarness,
) -> None:
    for name in ALARMS:
        put_alarm(harness, name)
    deployment = on_instances(Type="Canary", StepPercent=50, AutoRollbackAlarmNames=ALARMS)
    registry = {"ModelPackageGroupName": "churn-models", "ApprovalRequired": True}
    submit(harness, churn(Deployment=deployment, Registry=registry), "manifests/r.json")
    record = harness.record(JOB) or {}
    assert record["status"] == "CREATED"
    assert json.loads(record["deploymentConfig"]) == deployment
    # FinalizeJob registers the best candidate as the job's record says.
    assert json.loads(record["registryConfig"]) == registry
    request = json.loads(record["request"])
    assert not {"Deployment", "Notifications", "Registry"} & set(request)
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]


def test_missing_rollback_alarms_refuse_the_manifest(harness: IngestHarness) -> None:
    put_alarm(harness, ALARMS[0])
    strategy = {"Type": "Canary", "StepPercent": 50, "AutoRollbackAlarmNames": [*ALARMS, "x"]}
    key = submit(harness, churn(Deployment=on_instances(**strategy)), "manifests/a.json")
    assert harness.create_calls == []
    assert rejected(harness, key) == [
        ("Deployment.Strategy.AutoRollbackAlarmNames[1]", "preflight.alarm_missing"),
        ("Deployment.Strategy.AutoRollbackAlarmNames[2]", "preflight.alarm_missing"),
    ]


def test_the_alarm_check_runs_with_the_preflight_off(
    stack_with: Callable[[dict[str, str]], IngestHarness],
) -> None:
    harness = stack_with({"PreflightEnabled": "false"})
    strategy = {"Type": "AllAtOnce", "AutoRollbackAlarmNames": ALARMS[:1]}
    key = submit(harness, churn(Deployment=on_instances(**strategy)), "manifests/off.json")
    assert rejected(harness, key) == [
        ("Deployment.Strategy.AutoRollbackAlarmNames[0]", "preflight.alarm_missing")
    ]
    put_alarm(harness, ALARMS[0])
    submit(harness, churn(Deployment=on_instances(**strategy)), "manifests/on.json")
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]


def test_endpoints_requiring_approval_from_the_stack_parameter(
    stack_with: Callable[[dict[str, str]], IngestHarness],
) -> None:
    harness = stack_with({"RequireApprovalForEndpoints": "churn-*,prod-*"})
    key = submit(harness, churn(Deployment=on_instances()), "manifests/no-approval.json")
    assert rejected(harness, key) == [("Registry.ApprovalRequired", "policy.approval_required")]
    assert harness.create_calls == []
    registry = {"ModelPackageGroupName": "churn-models", "ApprovalRequired": True}
    submit(harness, churn(Deployment=on_instances(), Registry=registry), "manifests/ok.json")
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]
