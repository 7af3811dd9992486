"""The RequireApprovalForEndpoints and PreflightEnabled stack parameters at the S3 door:
each test builds a stack with its own parameters (so not the shared stack of
tests/integration/shared_stack/, whose test_manifest_sections covers the rest)."""

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
