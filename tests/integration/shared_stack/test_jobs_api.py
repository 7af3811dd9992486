"""The jobs API against moto and the Autopilot simulator, through the real handler.

The stack is provisioned from template.yaml; requests are API Gateway proxy events (the
samples in events/jobs_api/ and variations of them); every answer is checked against the
committed openapi.json and for leaks of internals (see jobs_api_harness).
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from moto import mock_aws

from autopilot_flow.leaderboard import rank_candidates
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import context_for, load_handler
from offline.moto_fixes import atomic_dynamodb_writes, s3_notification_versions
from tests.integration.ingest_harness import EXAMPLES, OUTPUT_BUCKET, ROLE, received_events
from tests.integration.ingest_harness import subscribe_to_bus as subscribe_ingest
from tests.integration.jobs_api_harness import (
    ApiHarness,
    build_api_harness,
    for_job,
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


# --- POST /jobs: the same pipeline as the bucket ------------------------------------------------


def test_submit_json_creates_one_job_recorded_like_the_s3_door(
    api: ApiHarness, simulator: AutopilotSimulator, subscriber: str
) -> None:
    event = sample("post-jobs-json.json")
    answer = api.call(event)
    assert answer.status == 202
    body = answer.body
    assert body["jobName"] == "churn-binary-2026-11"
    assert body["created"] is True
    assert body["jobArn"].endswith(":automl-job/churn-binary-2026-11")
    request_id = event["requestContext"]["requestId"]
    assert body["source"] == {"type": "api", "requestId": request_id}
    # Links carry the stage prefix the request came through.
    assert answer.headers["Location"] == "/v1/jobs/churn-binary-2026-11"
    assert body["links"]["candidates"] == "/v1/jobs/churn-binary-2026-11/candidates"
    assert creates(simulator) == 1

    record = api.ingest.record("churn-binary-2026-11")
    assert record is not None
    assert record["status"] == "CREATED"
    assert record["source"] == {"type": "api", "requestId": request_id}
    assert record["sourceId"].startswith("api:arn:aws:sts::111122223333:assumed-role/")
    receipt_key = f"receipts/_api/{request_id}.json"
    assert body["receipt"] == f"s3://{api.ingest.bucket}/{receipt_key}"
    receipt = api.ingest.read_json(receipt_key)
    assert receipt["jobArn"] == body["jobArn"]
    assert receipt["manifest"] == body["source"]

    (submitted,) = events_of(api, subscriber)
    assert submitted["detail-type"] == "AutoML Job Submitted"
    assert submitted["detail"]["source"] == body["source"]
    assert submitted["detail"]["receipt"] == body["receipt"]


def test_submit_yaml_with_a_manifest_name(api: ApiHarness) -> None:
    answer = api.call(sample("post-jobs-yaml.json"))
    assert answer.status == 202
    assert answer.body["jobName"] == "demand-forecast-daily"


def test_policy_defaults_fill_what_the_manifest_omits(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    document = manifest("churn-tabular.yaml")
    del document["RoleArn"], document["OutputDataConfig"], document["AutoMLJobName"]
    answer = api.call(post_json(document))
    assert answer.status == 202
    assert {"RoleArn", "OutputDataConfig", "AutoMLJobName"} <= set(answer.body["defaultsApplied"])
    # No file name: the derived name starts from "job".
    assert answer.body["jobName"].startswith("job-")
    job = simulator.job(answer.body["jobName"])
    assert job.role_arn == ROLE


def test_sending_the_same_manifest_again_answers_with_its_job(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    first = api.call(sample("post-jobs-json.json"))
    again = api.call(new_request(sample("post-jobs-json.json"), "another-request"))
    assert again.status == 202
    assert again.body["created"] is False
    assert again.body["jobArn"] == first.body["jobArn"]
    assert creates(simulator) == 1


def test_idempotency_key_replays_the_first_answer(
    api: ApiHarness, simulator: AutopilotSimulator, subscriber: str
) -> None:
    event = sample("post-jobs-idempotency-key.json")
    first = api.call(event)
    replay = api.call(new_request(event, "a-retry"))
    assert first.status == replay.status == 202
    assert replay.body == first.body  # the same answer, the first request's id included
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert creates(simulator) == 1
    assert [e["detail-type"] for e in events_of(api, subscriber)] == ["AutoML Job Submitted"]


def test_idempotency_key_with_another_body_is_a_conflict(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    event = sample("post-jobs-idempotency-key.json")
    assert api.call(event).status == 202
    changed = with_body(event, event["body"].replace("MaxCandidates: 20", "MaxCandidates: 30"))
    answer = api.call(changed)
    assert answer.status == 409
    assert answer.content_type == PROBLEM
    assert answer.body["type"].endswith("/idempotency-key-reused")
    assert creates(simulator) == 1


def test_a_bad_idempotency_key_is_a_bad_request(api: ApiHarness) -> None:
    event = set_header(sample("post-jobs-idempotency-key.json"), "Idempotency-Key", "has space")
    answer = api.call(event)
    assert answer.status == 400
    assert answer.body["type"].endswith("/bad-request")


def test_invalid_manifest_is_422_with_every_error(
    api: ApiHarness, simulator: AutopilotSimulator, subscriber: str
) -> None:
    event = sample("post-jobs-invalid.json")
    answer = api.call(event)
    assert answer.status == 422
    assert answer.content_type == PROBLEM
    problem = answer.body
    assert problem["type"].endswith("/invalid-manifest")
    assert problem["status"] == 422
    codes = sorted(e["code"] for e in problem["errors"])
    assert len(codes) >= 3
    assert "unknown_field" in codes
    paths = {e["path"] for e in problem["errors"]}
    assert "Tagz" in paths
    assert any("ForecastFrequency" in p for p in paths)
    assert creates(simulator) == 0
    report_key = f"rejections/_api/{event['requestContext']['requestId']}.json"
    assert problem["report"] == f"s3://{api.ingest.bucket}/{report_key}"
    assert api.ingest.read_json(report_key)["errors"] == problem["errors"]
    (rejected,) = events_of(api, subscriber)
    assert rejected["detail-type"] == "AutoML Job Rejected"
    assert rejected["detail"]["source"]["type"] == "api"
    assert rejected["detail"]["errors"] == problem["errors"]


def test_a_corrected_manifest_may_take_the_name_of_a_rejected_one(api: ApiHarness) -> None:
    document = manifest("churn-tabular.yaml")
    broken = copy.deepcopy(document)
    broken["AutoMLJobObjective"] = {"MetricName": "MSE"}  # not a classification metric
    assert api.call(post_json(broken, "first")).status == 422
    assert api.ingest.record("churn-binary-2026-11")["status"] == "REJECTED"  # type: ignore[index]
    answer = api.call(post_json(document, "second"))
    assert answer.status == 202, answer.body
    assert api.ingest.record("churn-binary-2026-11")["status"] == "CREATED"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "parse.empty"),
        ("[1, 2]", "parse.not_a_mapping"),
        ('{"AutoMLJobName": "x", "AutoMLJobName": "y"}', "parse.duplicate_key"),
        ("{", "parse.invalid_json"),
    ],
)
def test_unreadable_bodies_are_422(api: ApiHarness, body: str, code: str) -> None:
    answer = api.call(with_body(sample("post-jobs-json.json"), body))
    assert answer.status == 422
    assert [e["code"] for e in answer.body["errors"]] == [code]


def test_a_body_that_is_not_utf8_is_422(api: ApiHarness) -> None:
    event = with_body(sample("post-jobs-yaml.json"), base64.b64encode(b"caf\xe9: 1").decode())
    event["isBase64Encoded"] = True
    answer = api.call(event)
    assert answer.status == 422
    assert [e["code"] for e in answer.body["errors"]] == ["parse.encoding"]


def test_unsupported_media_type_is_415(api: ApiHarness, simulator: AutopilotSimulator) -> None:
    answer = api.call(sample("post-jobs-unsupported-media-type.json"))
    assert answer.status == 415
    assert answer.content_type == PROBLEM
    assert creates(simulator) == 0


def test_a_name_taken_through_the_bucket_is_409(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    api.ingest.upload_example("churn-tabular.yaml")
    api.ingest.source.drain()
    document = manifest("churn-tabular.yaml")
    document["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"][
        "MaxCandidates"
    ] = 40
    answer = api.call(post_json(document))
    assert answer.status == 409
    assert answer.body["type"].endswith("/job-name-taken")
    assert "manifests/churn-tabular.yaml" in answer.body["detail"]
    assert creates(simulator) == 1


def test_a_name_taken_through_the_api_is_rejected_at_the_bucket(api: ApiHarness) -> None:
    assert api.call(sample("post-jobs-json.json")).status == 202
    changed = (EXAMPLES / "churn-tabular.yaml").read_bytes().replace(b"50", b"60")
    api.ingest.upload("manifests/churn.yaml", changed)
    api.ingest.source.drain()
    report = api.ingest.read_json("rejections/churn.yaml.json")
    assert [e["code"] for e in report["errors"]] == ["job_name.taken"]
    assert "the API request" in report["errors"][0]["message"]


def test_quota_full_is_503_and_the_same_request_resumes_later(
    api: ApiHarness, simulator: AutopilotSimulator, subscriber: str
) -> None:
    simulator.quota = 0
    event = sample("post-jobs-json.json")
    answer = api.call(event)
    assert answer.status == 503
    assert answer.headers["Retry-After"] == api.stack.parameters["CapacityRetrySeconds"]
    assert answer.body["type"].endswith("/waiting-for-capacity")
    # Changed: the 503'd submission no longer holds the name (it used to stay
    # WAITING_FOR_CAPACITY for good unless the same request came back).
    assert api.ingest.record("churn-binary-2026-11") is None
    simulator.quota = None
    again = api.call(new_request(event, "later"))
    assert again.status == 202
    assert again.body["created"] is True
    kinds = [e["detail-type"] for e in events_of(api, subscriber)]
    assert kinds == ["AutoML Job Waiting For Capacity", "AutoML Job Submitted"]


def test_a_503_submission_never_sent_again_releases_its_job_name(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    simulator.quota = 0
    answer = api.call(sample("post-jobs-json.json"))
    assert answer.status == 503
    assert answer.body["jobName"] == "churn-binary-2026-11"
    simulator.quota = None
    # The API caller never comes back; a manifest with the same name arrives through the
    # bucket and becomes the job (it used to be rejected: job_name.taken by the API request).
    api.ingest.upload_example("churn-tabular.yaml", "manifests/churn.yaml")
    api.ingest.source.drain()
    assert api.ingest.keys("rejections/") == []
    receipt = api.ingest.read_json("receipts/churn.yaml.json")
    assert receipt["jobName"] == "churn-binary-2026-11"
    record = api.ingest.record("churn-binary-2026-11")
    assert record is not None and record["status"] == "CREATED"
    assert record["source"]["type"] == "s3"
    # And the API caller, coming back after all, is told the name is taken, not a 503.
    late = api.call(new_request(sample("post-jobs-json.json"), "late"))
    assert late.status == 409
    assert late.body["type"].endswith("/job-name-taken")


def test_throttling_is_retried_then_503(api: ApiHarness, simulator: AutopilotSimulator) -> None:
    simulator.throttle_next(2, operation="CreateAutoMLJobV2")
    assert api.call(sample("post-jobs-json.json")).status == 202
    simulator.throttle_next(50, operation="CreateAutoMLJobV2")
    answer = api.call(sample("post-jobs-yaml.json"))
    assert answer.status == 503
    assert answer.body["type"].endswith("/service-unavailable")
    simulator.clear_faults()
    assert api.call(sample("post-jobs-yaml.json")).status == 202


# --- POST /jobs/validate ----------------------------------------------------------------------


def test_dry_run_returns_the_request_as_it_would_be_sent(
    api: ApiHarness, simulator: AutopilotSimulator, subscriber: str
) -> None:
    answer = api.call(sample("post-jobs-validate.json"))
    assert answer.status == 200
    body = answer.body
    assert body["valid"] is True, body["errors"]
    assert body["errors"] == []
    request = body["request"]
    assert request["AutoMLJobName"] == "churn-dry-run"
    assert request["RoleArn"] == ROLE
    assert request["OutputDataConfig"] == {"S3OutputPath": f"s3://{OUTPUT_BUCKET}/autopilot/"}
    assert set(body["defaultsApplied"]) >= {"RoleArn", "OutputDataConfig"}
    assert "Deployment" not in request
    # Nothing created, recorded or announced.
    assert creates(simulator) == 0
    assert api.ingest.record("churn-dry-run") is None
    assert events_of(api, subscriber) == []
    assert api.ingest.keys("receipts/") == api.ingest.keys("rejections/") == []


def test_dry_run_of_an_invalid_manifest_lists_every_error(api: ApiHarness) -> None:
    invalid = sample("post-jobs-invalid.json")
    event = sample("post-jobs-validate.json")
    answer = api.call(with_body(event, invalid["body"]))
    assert answer.status == 200
    assert answer.body["valid"] is False
    assert len(answer.body["errors"]) >= 3


def test_dry_run_runs_the_data_preflight(api: ApiHarness) -> None:
    document = manifest("churn-tabular.yaml")
    document["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] = "Churned"
    event = with_body(sample("post-jobs-validate.json"), json.dumps(document), "application/json")
    answer = api.call(event)
    assert answer.body["valid"] is False
    assert any(e["path"].endswith("TargetAttributeName") for e in answer.body["errors"])


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


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"status": "Running"},
        {"problemType": "Tabular"},
    ],
)
def test_list_rejects_bad_parameters(api: ApiHarness, query: dict[str, str]) -> None:
    answer = api.call(with_query(sample("get-jobs.json"), **query))
    assert answer.status == 400
    assert answer.content_type == PROBLEM
    assert answer.body["errors"]


def test_a_bad_page_token_is_400(api: ApiHarness) -> None:
    answer = api.call(sample("get-jobs-bad-token.json"))
    assert answer.status == 400
    assert answer.body["type"].endswith("/invalid-page-token")
    # A token of other filters is refused too.
    _submit_examples(api, ALL_VALID[:3])
    page = api.call(with_query(sample("get-jobs.json"), limit="1"))
    token = page.body["nextToken"]
    other = api.call(with_query(sample("get-jobs.json"), status="REJECTED", nextToken=token))
    assert other.status == 400


# --- GET /jobs/{name} ------------------------------------------------------------------------


def test_get_job_shows_the_record_and_the_live_status(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    api.call(sample("post-jobs-json.json"))
    simulator.advance(15 * 60)
    answer = api.call(sample("get-job.json"))
    assert answer.status == 200
    job = answer.body
    assert job["lifecycle"] == "CREATED"
    assert job["managed"] is True
    assert job["status"] == "InProgress"
    assert job["secondaryStatus"] == simulator.history("churn-binary-2026-11")[-1][1]
    assert job["problemType"] == "TabularJobConfig"
    assert job["deploymentRequested"] is True
    assert job["links"]["self"] == "/v1/jobs/churn-binary-2026-11"
    simulator.run_until_idle()
    done = api.call(sample("get-job.json")).body
    assert done["status"] == "Completed"
    assert done["bestCandidate"]["value"] > 0
    assert done["endTime"]


def test_job_names_are_case_insensitive(api: ApiHarness) -> None:
    api.call(sample("post-jobs-json.json"))
    answer = api.call(for_job(sample("get-job.json"), "Churn-Binary-2026-11"))
    assert answer.status == 200
    assert answer.body["jobName"] == "churn-binary-2026-11"


@pytest.mark.parametrize("name", ["no-such-job", "#watcher-watermark", "x" * 40, "a_b"])
def test_unknown_jobs_are_404(api: ApiHarness, name: str) -> None:
    event = (
        sample("get-job-unknown.json")
        if name == "no-such-job"
        else for_job(sample("get-job.json"), name)
    )
    answer = api.call(event)
    assert answer.status == 404
    assert answer.content_type == PROBLEM
    # ("#..." does not even match the route: API Gateway would never pass it on.)
    assert answer.body["type"].endswith(("/job-not-found", "/not-found"))


def test_a_rejected_manifest_is_shown_with_its_errors(api: ApiHarness) -> None:
    api.call(sample("post-jobs-invalid.json"))
    answer = api.call(for_job(sample("get-job.json"), "broken-forecast"))
    assert answer.status == 200
    assert answer.body["lifecycle"] == "REJECTED"
    assert answer.body["status"] is None
    assert answer.body["errors"]


def test_a_job_created_elsewhere_is_shown_unmanaged(api: ApiHarness) -> None:
    request = {k: v for k, v in manifest("defect-images.yaml").items() if k != "Deployment"}
    api.ingest.client("sagemaker").create_auto_ml_job_v2(**{**request, "AutoMLJobName": "other"})
    answer = api.call(for_job(sample("get-job.json"), "other"))
    assert answer.status == 200
    assert answer.body["managed"] is False
    assert answer.body["lifecycle"] is None
    assert answer.body["status"] == "InProgress"


# --- GET /jobs/{name}/candidates -----------------------------------------------------------------


def test_candidates_are_ranked_by_the_objective(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    api.call(sample("post-jobs-json.json"))
    simulator.run_until_idle()
    answer = api.call(sample("get-candidates.json"))  # top=3
    assert answer.status == 200
    board = answer.body
    assert board["objective"] == {"metricName": "F1", "type": "Maximize"}
    assert [row["rank"] for row in board["candidates"]] == [1, 2, 3]
    values = [row["value"] for row in board["candidates"]]
    assert values == sorted(values, reverse=True)
    sagemaker = api.ingest.client("sagemaker")
    everything = sagemaker.list_candidates_for_auto_ml_job(
        AutoMLJobName="churn-binary-2026-11", MaxResults=100
    )["Candidates"]
    expected = rank_candidates(everything, "Maximize")
    assert [r["candidateName"] for r in board["candidates"]] == [
        r["candidateName"] for r in expected[:3]
    ]
    assert board["best"]["candidateName"] == expected[0]["candidateName"]
    assert board["candidateCount"] == len(everything)


def test_candidates_of_a_minimized_objective_are_ascending(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    document = json.loads((EXAMPLES / "house-prices-regression.json").read_text())
    name = api.call(post_json(document)).body["jobName"]
    simulator.run_until_idle()
    board = api.call(for_job(sample("get-candidates.json"), name)).body
    values = [r["value"] for r in board["candidates"] if r["rank"] is not None]
    if board["objective"]["type"] == "Minimize":
        assert values == sorted(values)
    else:
        assert values == sorted(values, reverse=True)


def test_candidates_of_a_running_job_and_of_no_job(api: ApiHarness) -> None:
    api.call(sample("post-jobs-json.json"))
    answer = api.call(sample("get-candidates.json"))
    assert answer.status == 200
    assert answer.body["status"] == "InProgress"
    unknown = api.call(for_job(sample("get-candidates.json"), "no-such-job"))
    assert unknown.status == 404
    bad = api.call(with_query(sample("get-candidates.json"), top="0"))
    assert bad.status == 400


# --- POST /jobs/{name}/stop ----------------------------------------------------------------------


def test_stop_a_running_job_then_409_once_ended(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    api.call(sample("post-jobs-json.json"))
    simulator.advance(60)
    answer = api.call(sample("post-stop.json"))
    assert answer.status == 202
    assert answer.body["status"] == "Stopping"
    assert answer.body["previousStatus"] == "InProgress"
    assert answer.headers["Location"] == "/v1/jobs/churn-binary-2026-11"
    assert simulator.history("churn-binary-2026-11")[-1] == ("Stopping", "Stopping")
    # Stopping again while it stops: accepted, nothing more to do.
    assert api.call(sample("post-stop.json")).status == 202
    simulator.run_until_idle()
    ended = api.call(sample("post-stop.json"))
    assert ended.status == 409
    assert ended.body["type"].endswith("/job-already-ended")
    assert ended.body["status"] == 409
    assert ended.body["jobStatus"] == "Stopped"


def test_stop_what_cannot_be_stopped(api: ApiHarness) -> None:
    assert api.call(for_job(sample("post-stop.json"), "no-such-job")).status == 404
    api.call(sample("post-jobs-invalid.json"))
    rejected = api.call(for_job(sample("post-stop.json"), "broken-forecast"))
    assert rejected.status == 409
    assert rejected.body["type"].endswith("/job-not-created")
    request = {k: v for k, v in manifest("defect-images.yaml").items() if k != "Deployment"}
    api.ingest.client("sagemaker").create_auto_ml_job_v2(**{**request, "AutoMLJobName": "other"})
    foreign = api.call(for_job(sample("post-stop.json"), "other"))
    assert foreign.status == 409
    assert foreign.body["type"].endswith("/job-not-managed")


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


def test_every_sample_event_is_answered_as_documented(api: ApiHarness) -> None:
    """Each sample, in an order that makes each meaningful (api.call checks conformance)."""
    expected = {
        "post-jobs-json.json": 202,
        "post-jobs-yaml.json": 202,
        "post-jobs-idempotency-key.json": 202,
        "post-jobs-invalid.json": 422,
        "post-jobs-unsupported-media-type.json": 415,
        "post-jobs-validate.json": 200,
        "get-jobs.json": 200,
        "get-jobs-bad-token.json": 400,
        "get-job.json": 200,
        "get-job-unknown.json": 404,
        "get-candidates.json": 200,
        "post-stop.json": 202,
        "get-policy.json": 200,
        # The job registered no model package (its manifest has no Registry): 409.
        "post-approve.json": 409,
        "post-reject.json": 409,
        "get-endpoints.json": 200,
        # No endpoint of that name (FinalizeJob never ran here): 404.
        "post-rollback.json": 404,
        "delete-endpoint.json": 404,
    }
    samples = sorted(p.name for p in (ROOT / "events" / "jobs_api").glob("*.json"))
    assert sorted(expected) == samples
    for name, status in expected.items():
        assert api.call(sample(name)).status == status, name
