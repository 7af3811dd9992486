"""The jobs API on a stack of its own per test: what a shared stack cannot hold.

Listing and filtering every job of the table, and a failure of the table itself (deleted),
each need a table no other test writes to; the rest of the jobs API's tests share one stack
in tests/integration/shared_stack/test_jobs_api.py. The fixtures here (a stack provisioned
from template.yaml per test, in moto with the Autopilot simulator) are also those of
test_cancel_waiting and test_jobs_api_guardrails. Every answer is checked against the
committed openapi.json and for leaks of internals (see jobs_api_harness).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from moto import mock_aws

from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import context_for, load_handler
from offline.moto_fixes import atomic_dynamodb_writes, s3_notification_versions
from tests.integration.ingest_harness import EXAMPLES, received_events
from tests.integration.ingest_harness import subscribe_to_bus as subscribe_ingest
from tests.integration.jobs_api_harness import (
    ApiHarness,
    build_api_harness,
    new_request,
    sample,
    set_header,
    with_body,
    with_query,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {
    json.loads(path.read_text())["title"]: json.loads(path.read_text())
    for path in (ROOT / "schemas").glob("*.json")
}
PROBLEM = "application/problem+json"


@pytest.fixture
def simulator() -> Iterator[AutopilotSimulator]:
    saved = dict(os.environ)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        POWERTOOLS_LOG_LEVEL="WARNING",
        POWERTOOLS_METRICS_DISABLED="true",
    )
    try:
        with (
            mock_aws(),
            atomic_dynamodb_writes(),
            s3_notification_versions(),
            AutopilotSimulator(clock=ManualClock(), seed=5) as sim,
        ):
            yield sim
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def api(simulator: AutopilotSimulator) -> ApiHarness:
    return build_api_harness()


@pytest.fixture
def subscriber(api: ApiHarness) -> str:
    return subscribe_ingest(api.ingest)


def events_of(api: ApiHarness, url: str) -> list[dict[str, Any]]:
    received = list(received_events(api.ingest, url))
    for event in received:
        jsonschema.validate(event, SCHEMAS[event["detail-type"]])
    return received


def creates(simulator: AutopilotSimulator) -> int:
    return simulator.calls["CreateAutoMLJobV2"]


def manifest(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return document


def post_json(document: dict[str, Any], request_id: str = "req-1") -> dict[str, Any]:
    event = with_body(sample("post-jobs-json.json"), json.dumps(document), "application/json")
    set_header(event, "X-Manifest-Name", None)
    return new_request(event, request_id)


# --- GET /jobs ----------------------------------------------------------------------------------


def _submit_examples(api: ApiHarness, names: list[str]) -> list[str]:
    created = []
    for index, name in enumerate(names):
        document = (
            manifest(name) if name.endswith(".yaml") else json.loads((EXAMPLES / name).read_text())
        )
        answer = api.call(post_json(document, f"req-{index}"))
        assert answer.status == 202, answer.body
        created.append(answer.body["jobName"])
    return created


ALL_VALID = [
    "churn-tabular.yaml",
    "defect-images.yaml",
    "demand-forecast-timeseries.yaml",
    "house-prices-regression.json",
    "product-categories-multiclass.yaml",
    "support-tickets-text.json",
]


def test_list_pages_through_every_status_newest_first(api: ApiHarness) -> None:
    created = _submit_examples(api, ALL_VALID)
    assert api.call(sample("post-jobs-invalid.json")).status == 422
    seen: list[dict[str, Any]] = []
    event = with_query(sample("get-jobs.json"), limit="2")
    token = None
    for _ in range(10):
        answer = api.call(with_query(event, limit="2", nextToken=token))
        assert answer.status == 200
        assert len(answer.body["jobs"]) <= 2
        seen.extend(answer.body["jobs"])
        token = answer.body["nextToken"]
        if token is None:
            break
    names = [j["jobName"] for j in seen]
    assert sorted(names) == sorted([*created, "broken-forecast"])
    stamps = [j["updatedAt"] for j in seen]
    assert stamps == sorted(stamps, reverse=True)
    broken = next(j for j in seen if j["jobName"] == "broken-forecast")
    assert broken["lifecycle"] == "REJECTED"


def test_list_filters_by_lifecycle_problem_type_and_job_status(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    created = _submit_examples(api, ALL_VALID)
    assert api.call(sample("post-jobs-invalid.json")).status == 422
    answer = api.call(sample("get-jobs.json"))  # status=CREATED, limit=2
    assert answer.status == 200
    assert [j["lifecycle"] for j in answer.body["jobs"]] == ["CREATED", "CREATED"]
    assert answer.body["nextToken"]

    rejected = api.call(with_query(sample("get-jobs.json"), status="REJECTED"))
    assert [j["jobName"] for j in rejected.body["jobs"]] == ["broken-forecast"]
    assert rejected.body["nextToken"] is None

    tabular = api.call(with_query(sample("get-jobs.json"), problemType="TabularJobConfig"))
    assert len(tabular.body["jobs"]) == 3
    assert {j["problemType"] for j in tabular.body["jobs"]} == {"TabularJobConfig"}

    # AutoML statuses come from the watcher (WatchJobs), as on AWS.
    watch_spec = api.stack.functions["WatchJobsFunction"]
    watcher = load_handler(watch_spec)
    simulator.run_until_idle()
    watcher({}, context_for(watch_spec))
    completed = api.call(with_query(sample("get-jobs.json"), status="Completed", limit="20"))
    assert sorted(j["jobName"] for j in completed.body["jobs"]) == sorted(created)
    assert all(j["status"] == "Completed" for j in completed.body["jobs"])
    assert all(j["bestCandidate"] for j in completed.body["jobs"])
    running = api.call(with_query(sample("get-jobs.json"), status="InProgress"))
    assert running.body == {"jobs": [], "nextToken": None}


# --- errors never show internals ---------------------------------------------------------------


def test_an_internal_failure_is_a_plain_500(api: ApiHarness) -> None:
    # A real failure: the registry table is gone (DynamoDB's ResourceNotFoundException).
    api.ingest.client("dynamodb").delete_table(TableName=api.stack.physical("JobsTable"))
    event = sample("get-jobs.json")
    answer = api.call(event)
    assert answer.status == 500
    assert answer.content_type == PROBLEM
    assert answer.body["type"].endswith("/internal-error")
    assert event["requestContext"]["requestId"] in answer.body["detail"]
