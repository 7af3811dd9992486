"""Ingest against moto on a stack of its own per test: the sample events in
events/ingest_manifest/, which name fixed keys and the example's job name.

The rest of the ingest tests share one stack: tests/integration/shared_stack/test_ingest.py,
whose helpers are re-exported here with this module's fixtures (a stack provisioned from
template.yaml per test, the real ``functions/ingest_manifest/app.py``) for test_cancel_waiting,
test_ingest_guardrails and test_observability.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from moto import mock_aws

from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import lambda_environment
from offline.moto_fixes import moto_as_aws
from tests.integration.ingest_harness import (
    IngestHarness,
    build_harness,
    received_events,
    subscribe_to_bus,
)

# The shared module's helpers, for the modules that import them from here.
from tests.integration.shared_stack.test_ingest import (  # noqa: F401
    _deliver_visible,
    _resend,
    _take_notification,
    visibility_timeout_passes,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {
    json.loads(path.read_text())["title"]: json.loads(path.read_text())
    for path in (ROOT / "schemas").glob("*.json")
}


@pytest.fixture
def aws_env() -> Iterator[AutopilotSimulator]:
    # The simulator fixes moto's crashes on valid requests and injects quota and throttling.
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=3) as simulator,
    ):
        yield simulator


@pytest.fixture
def harness(aws_env: AutopilotSimulator) -> IngestHarness:
    return build_harness()


@pytest.fixture
def subscriber(harness: IngestHarness) -> str:
    return subscribe_to_bus(harness)


def events_of(harness: IngestHarness, url: str) -> list[dict[str, Any]]:
    """Every event the subscriber received, each validated against its JSON Schema."""
    received = list(received_events(harness, url))
    for event in received:
        jsonschema.validate(event, SCHEMAS[event["detail-type"]])
    return received


# --- the sample events in events/ ---------------------------------------------------------------

SAMPLES = ROOT / "events" / "ingest_manifest"


def test_sample_event_with_one_record(harness: IngestHarness) -> None:
    harness.upload_example("churn-tabular.yaml")
    harness.source.drain()  # the real notification, then the sample is a redelivery
    event = json.loads((SAMPLES / "sqs-s3-one-record.json").read_text())
    assert harness.handler(event, harness.source.context) == {"batchItemFailures": []}
    assert len(harness.create_calls) == 1


def test_sample_event_with_several_records(harness: IngestHarness, subscriber: str) -> None:
    sqs = harness.client("sqs")
    # The sample's objects, uploaded without the notification reaching the handler first.
    sqs.purge_queue(QueueUrl=harness.stack.physical("IngestQueue"))
    harness.upload_example("churn-tabular.yaml")
    harness.upload_example(
        "demand-forecast-timeseries.yaml",
        "manifests/team forecasting/demand-forecast-timeseries.yaml",
    )
    harness.upload("manifests/broken.yaml", b"AutoMLJobName: [\n")
    event = json.loads((SAMPLES / "sqs-s3-several-records.json").read_text())
    assert harness.handler(event, harness.source.context) == {"batchItemFailures": []}
    assert sorted(c["AutoMLJobName"] for c in harness.create_calls) == [
        "churn-binary-2026-11",
        "demand-forecast-daily",
    ]
    assert harness.keys("rejections/") == ["rejections/broken.yaml.json"]
    kinds = sorted(e["detail-type"] for e in events_of(harness, subscriber))
    assert kinds == ["AutoML Job Rejected", "AutoML Job Submitted", "AutoML Job Submitted"]
