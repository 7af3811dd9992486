"""The ingest path keeps a manifest's own sections for FinalizeJob: Deployment and
Notifications are stripped from the CreateAutoMLJobV2 request and stored in the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator

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
