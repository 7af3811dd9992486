"""A rejection too large for AWS's limits is still an answer (found by tests/gauntlet).

A manifest under 1 MiB (and its 5,000-value limit) can have thousands of errors, each a few
hundred bytes, or one error whose path is a 500,000-character field name. The report in S3
keeps every error in full; the registry item (DynamoDB: 400 KB per item, which moto
enforces), the Rejected event (EventBridge: 256 KB) and the answer (an idempotency record;
an API response) list what fits. Before, writing the registry item failed: the ingest
message was retried into the dead-letter queue, and POST /jobs answered 500.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from moto import mock_aws

from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import lambda_environment
from offline.moto_fixes import moto_as_aws
from tests.integration.ingest_harness import EXAMPLES
from tests.integration.jobs_api_harness import (
    ApiHarness,
    build_api_harness,
    new_request,
    sample,
    set_header,
    with_body,
)
from tests.published_events import PublishedEvents

EVENT_LIMIT = 256 * 1024
BASE = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())


def many_errors() -> dict[str, Any]:
    # 2,000 unknown fields with 300-character names: about 2 MB of errors in 4,100 values
    # (the limit is 5,000; 20,000 bad tags, as this test had first, are now refused whole as
    # parse.too_many_values).
    document: dict[str, Any] = copy.deepcopy(BASE)
    for i in range(2_000):
        document[f"{i:05d}" + "x" * 295] = 1
    return document


def one_huge_error() -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(BASE)
    document["x" * 500_000] = 1
    return document


# The events the handlers put on the bus (botocore's hooks on their EventBridge clients).
PUBLISHED = PublishedEvents()
CASES = {"2000-errors": (many_errors, 2_000), "500000-character-field": (one_huge_error, 1)}


@pytest.fixture
def api() -> Iterator[ApiHarness]:
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=11),
    ):
        harness = build_api_harness()
        harness.ingest.source.drain()
        for service in (harness.ingest.service, harness.service):
            PUBLISHED.watch(service.ingestor.publisher.client)
        yield harness


def _check_listed(listed: list[dict[str, str]], report: list[dict[str, str]]) -> None:
    assert listed
    assert len(listed) <= len(report)
    for short, full in zip(listed, report, strict=False):
        assert short["code"] == full["code"]
        assert full["path"].startswith(short["path"].removesuffix("..."))


def _last_event(service: Any) -> dict[str, Any]:
    entry = PUBLISHED.of(service.ingestor.publisher.client)[-1]
    assert entry["DetailType"] == "AutoML Job Rejected"
    assert len(json.dumps(entry).encode()) <= EVENT_LIMIT
    detail: dict[str, Any] = json.loads(entry["Detail"])
    return detail


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_s3_door_answers_a_rejection_of_any_size(name: str, api: ApiHarness) -> None:
    build, count = CASES[name]
    key = f"manifests/{name}.json"
    api.ingest.upload(key, json.dumps(build()).encode())
    api.ingest.source.drain()
    assert api.ingest.queue_depth("IngestQueue") == 0  # answered, not left to be retried
    assert api.ingest.queue_depth("IngestDeadLetterQueue") == 0
    report = api.ingest.read_json(f"rejections/{name}.json.json")
    assert len(report["errors"]) == count  # the report has every error, in full
    assert len(json.dumps(report["errors"]).encode()) > 400 * 1024  # more than any AWS limit
    record = api.ingest.record("churn-binary-2026-11")
    assert record is not None and record["status"] == "REJECTED"
    _check_listed(record["errors"], report["errors"])
    _check_listed(_last_event(api.ingest.service)["errors"], report["errors"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_api_answers_a_rejection_of_any_size_with_a_422(name: str, api: ApiHarness) -> None:
    build, count = CASES[name]
    event = with_body(sample("post-jobs-json.json"), json.dumps(build()), "application/json")
    set_header(event, "X-Manifest-Name", None)
    answer = api.call(new_request(event, f"large-{name}"))
    assert answer.status == 422, answer.body
    assert f"has {count} error" in answer.body["detail"]
    report = api.ingest.read_json(f"rejections/_api/large-{name}.json")
    assert len(report["errors"]) == count
    _check_listed(answer.body["errors"], report["errors"])
    _check_listed(_last_event(api.service)["errors"], report["errors"])
