"""The jobs API against moto and the Autopilot simulator, through the real handler.

The stack is the package's (provisioned once from template.yaml, see conftest.py); requests
are API Gateway proxy events (the samples in events/jobs_api/ and variations of them), made
this test's own by ``own``: its job names, request ids and idempotency keys. Every answer is
checked against the committed openapi.json and for leaks of internals (see
jobs_api_harness). What needs a stack of its own (listing every job, deleting the table)
is in tests/integration/test_jobs_api.py.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from autopilot_flow.leaderboard import rank_candidates
from tests.integration.ingest_harness import (
    EXAMPLES,
    OUTPUT_BUCKET,
    ROLE,
    received_events,
    subscribe_to_bus,
    unsubscribe_from_bus,
)
from tests.integration.jobs_api_harness import (
    ApiHarness,
    for_job,
    new_request,
    sample,
    set_header,
    with_body,
    with_query,
)
from tests.integration.shared_stack.conftest import StackForTest

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = {
    json.loads(path.read_text())["title"]: json.loads(path.read_text())
    for path in (ROOT / "schemas").glob("*.json")
}
PROBLEM = "application/problem+json"
# The job names in the samples' bodies and paths, which ``own`` makes each test's own.
SAMPLE_JOBS = ("churn-binary-2026-11", "demand-forecast-daily", "broken-forecast", "churn-dry-run")
Own = Callable[[str], dict[str, Any]]


def mine(stack: StackForTest, event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with this test's job names, request id, idempotency key and manifest name."""
    event = copy.deepcopy(event)

    def rename(text: str) -> str:
        for job in SAMPLE_JOBS:
            text = text.replace(job, stack.name(job))
        return text

    if event.get("body") and not event.get("isBase64Encoded"):
        event["body"] = rename(event["body"])
    if (event.get("pathParameters") or {}).get("name"):
        event = for_job(event, rename(event["pathParameters"]["name"]))
    for header in ("Idempotency-Key", "X-Manifest-Name"):
        value = (event.get("headers") or {}).get(header)
        if value is not None:
            set_header(event, header, f"{stack.token}-{value}")
    return new_request(event, f"{stack.token}-{event['requestContext']['requestId']}")


@pytest.fixture
def own(stack: StackForTest) -> Own:
    """A sample event, made this test's own (see ``mine``)."""
    return lambda name: mine(stack, sample(name))


@pytest.fixture
def job(stack: StackForTest) -> str:
    """This test's name for churn-tabular's job (the JSON sample's)."""
    return stack.name("churn-binary-2026-11")


@pytest.fixture
def subscriber(stack: StackForTest) -> Iterator[str]:
    """A queue of this test's own on the bus: it sees the events sent while the test runs."""
    url = subscribe_to_bus(stack.ingest, stack.name("subscriber"))
    yield url
    unsubscribe_from_bus(stack.ingest, stack.name("subscriber"), url)


def events_of(api: ApiHarness, url: str) -> list[dict[str, Any]]:
    received = list(received_events(api.ingest, url))
    for event in received:
        jsonschema.validate(event, SCHEMAS[event["detail-type"]])
    return received


def manifest(stack: StackForTest, name: str) -> dict[str, Any]:
    """An example manifest, with this test's name for its job (if it names one)."""
    text = (EXAMPLES / name).read_text()
    document: dict[str, Any] = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
    if "AutoMLJobName" in document:
        document["AutoMLJobName"] = stack.name(document["AutoMLJobName"])
    return document


def post_json(stack: StackForTest, document: dict[str, Any], request_id: str) -> dict[str, Any]:
    event = with_body(sample("post-jobs-json.json"), json.dumps(document), "application/json")
    set_header(event, "X-Manifest-Name", None)
    return new_request(event, f"{stack.token}-{request_id}")


def answers(api: ApiHarness) -> set[str]:
    """Every receipt and rejection report in the bucket (the S3 door's and the API's)."""
    return {*api.ingest.keys("receipts/"), *api.ingest.keys("rejections/")}


# --- POST /jobs: the same pipeline as the bucket ------------------------------------------------


def test_submit_json_creates_one_job_recorded_like_the_s3_door(
    stack: StackForTest, own: Own, job: str, subscriber: str
) -> None:
    api = stack.api
    event = own("post-jobs-json.json")
    answer = api.call(event)
    assert answer.status == 202
    body = answer.body
    assert body["jobName"] == job
    assert body["created"] is True
    assert body["jobArn"].endswith(f":automl-job/{job}")
    request_id = event["requestContext"]["requestId"]
    assert body["source"] == {"type": "api", "requestId": request_id}
    # Links carry the stage prefix the request came through.
    assert answer.headers["Location"] == f"/v1/jobs/{job}"
    assert body["links"]["candidates"] == f"/v1/jobs/{job}/candidates"
    assert stack.creates() == 1

    record = api.ingest.record(job)
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


def test_submit_yaml_with_a_manifest_name(stack: StackForTest, own: Own) -> None:
    answer = stack.api.call(own("post-jobs-yaml.json"))
    assert answer.status == 202
    assert answer.body["jobName"] == stack.name("demand-forecast-daily")


def test_policy_defaults_fill_what_the_manifest_omits(stack: StackForTest) -> None:
    document = manifest(stack, "churn-tabular.yaml")
    del document["RoleArn"], document["OutputDataConfig"], document["AutoMLJobName"]
    answer = stack.api.call(post_json(stack, document, "req-1"))
    assert answer.status == 202
    assert {"RoleArn", "OutputDataConfig", "AutoMLJobName"} <= set(answer.body["defaultsApplied"])
    # No file name: the derived name starts from "job".
    assert answer.body["jobName"].startswith("job-")
    job = stack.simulator.job(answer.body["jobName"])
    assert job.role_arn == ROLE


def test_sending_the_same_manifest_again_answers_with_its_job(
    stack: StackForTest, own: Own
) -> None:
    api = stack.api
    first = api.call(own("post-jobs-json.json"))
    again = api.call(new_request(own("post-jobs-json.json"), f"{stack.token}-another-request"))
    assert again.status == 202
    assert again.body["created"] is False
    assert again.body["jobArn"] == first.body["jobArn"]
    assert stack.creates() == 1


def test_idempotency_key_replays_the_first_answer(
    stack: StackForTest, own: Own, subscriber: str
) -> None:
    api = stack.api
    event = own("post-jobs-idempotency-key.json")
    first = api.call(event)
    replay = api.call(new_request(event, f"{stack.token}-a-retry"))
    assert first.status == replay.status == 202
    assert replay.body == first.body  # the same answer, the first request's id included
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert stack.creates() == 1
    assert [e["detail-type"] for e in events_of(api, subscriber)] == ["AutoML Job Submitted"]


def test_idempotency_key_with_another_body_is_a_conflict(stack: StackForTest, own: Own) -> None:
    api = stack.api
    event = own("post-jobs-idempotency-key.json")
    assert api.call(event).status == 202
    changed = with_body(event, event["body"].replace("MaxCandidates: 20", "MaxCandidates: 30"))
    answer = api.call(changed)
    assert answer.status == 409
    assert answer.content_type == PROBLEM
    assert answer.body["type"].endswith("/idempotency-key-reused")
    assert stack.creates() == 1


def test_a_bad_idempotency_key_is_a_bad_request(stack: StackForTest, own: Own) -> None:
    event = set_header(own("post-jobs-idempotency-key.json"), "Idempotency-Key", "has space")
    answer = stack.api.call(event)
    assert answer.status == 400
    assert answer.body["type"].endswith("/bad-request")


def test_invalid_manifest_is_422_with_every_error(
    stack: StackForTest, own: Own, subscriber: str
) -> None:
    api = stack.api
    event = own("post-jobs-invalid.json")
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
    assert stack.creates() == 0
    report_key = f"rejections/_api/{event['requestContext']['requestId']}.json"
    assert problem["report"] == f"s3://{api.ingest.bucket}/{report_key}"
    assert api.ingest.read_json(report_key)["errors"] == problem["errors"]
    (rejected,) = events_of(api, subscriber)
    assert rejected["detail-type"] == "AutoML Job Rejected"
    assert rejected["detail"]["source"]["type"] == "api"
    assert rejected["detail"]["errors"] == problem["errors"]


def test_a_corrected_manifest_may_take_the_name_of_a_rejected_one(
    stack: StackForTest, job: str
) -> None:
    api = stack.api
    document = manifest(stack, "churn-tabular.yaml")
    broken = copy.deepcopy(document)
    broken["AutoMLJobObjective"] = {"MetricName": "MSE"}  # not a classification metric
    assert api.call(post_json(stack, broken, "first")).status == 422
    assert api.ingest.record(job)["status"] == "REJECTED"  # type: ignore[index]
    answer = api.call(post_json(stack, document, "second"))
    assert answer.status == 202, answer.body
    assert api.ingest.record(job)["status"] == "CREATED"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("", "parse.empty"),
        ("[1, 2]", "parse.not_a_mapping"),
        ('{"AutoMLJobName": "x", "AutoMLJobName": "y"}', "parse.duplicate_key"),
        ("{", "parse.invalid_json"),
    ],
)
def test_unreadable_bodies_are_422(stack: StackForTest, own: Own, body: str, code: str) -> None:
    answer = stack.api.call(with_body(own("post-jobs-json.json"), body))
    assert answer.status == 422
    assert [e["code"] for e in answer.body["errors"]] == [code]


def test_a_body_that_is_not_utf8_is_422(stack: StackForTest, own: Own) -> None:
    event = with_body(own("post-jobs-yaml.json"), base64.b64encode(b"caf\xe9: 1").decode())
    event["isBase64Encoded"] = True
    answer = stack.api.call(event)
    assert answer.status == 422
    assert [e["code"] for e in answer.body["errors"]] == ["parse.encoding"]


def test_unsupported_media_type_is_415(stack: StackForTest, own: Own) -> None:
    answer = stack.api.call(own("post-jobs-unsupported-media-type.json"))
    assert answer.status == 415
    assert answer.content_type == PROBLEM
    assert stack.creates() == 0


def test_a_name_taken_through_the_bucket_is_409(stack: StackForTest) -> None:
    api = stack.api
    document = manifest(stack, "churn-tabular.yaml")
    key = f"manifests/{stack.token}/churn-tabular.yaml"
    api.ingest.upload(key, yaml.safe_dump(document).encode())
    api.ingest.source.drain()
    document["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"][
        "MaxCandidates"
    ] = 40
    answer = api.call(post_json(stack, document, "req-1"))
    assert answer.status == 409
    assert answer.body["type"].endswith("/job-name-taken")
    assert key in answer.body["detail"]
    assert stack.creates() == 1


def test_a_name_taken_through_the_api_is_rejected_at_the_bucket(
    stack: StackForTest, own: Own, job: str
) -> None:
    api = stack.api
    assert api.call(own("post-jobs-json.json")).status == 202
    changed = (EXAMPLES / "churn-tabular.yaml").read_bytes().replace(b"50", b"60")
    changed = changed.replace(b"churn-binary-2026-11", job.encode())
    api.ingest.upload(f"manifests/{stack.token}/churn.yaml", changed)
    api.ingest.source.drain()
    report = api.ingest.read_json(f"rejections/{stack.token}/churn.yaml.json")
    assert [e["code"] for e in report["errors"]] == ["job_name.taken"]
    assert "the API request" in report["errors"][0]["message"]


def test_quota_full_is_503_and_the_same_request_resumes_later(
    stack: StackForTest, own: Own, job: str, subscriber: str
) -> None:
    api, simulator = stack.api, stack.simulator
    simulator.quota = 0
    event = own("post-jobs-json.json")
    answer = api.call(event)
    assert answer.status == 503
    assert answer.headers["Retry-After"] == api.stack.parameters["CapacityRetrySeconds"]
    assert answer.body["type"].endswith("/waiting-for-capacity")
    # Changed: the 503'd submission no longer holds the name (it used to stay
    # WAITING_FOR_CAPACITY for good unless the same request came back).
    assert api.ingest.record(job) is None
    simulator.quota = None
    again = api.call(new_request(event, f"{stack.token}-later"))
    assert again.status == 202
    assert again.body["created"] is True
    kinds = [e["detail-type"] for e in events_of(api, subscriber)]
    assert kinds == ["AutoML Job Waiting For Capacity", "AutoML Job Submitted"]


def test_a_503_submission_never_sent_again_releases_its_job_name(
    stack: StackForTest, own: Own, job: str
) -> None:
    api, simulator = stack.api, stack.simulator
    simulator.quota = 0
    answer = api.call(own("post-jobs-json.json"))
    assert answer.status == 503
    assert answer.body["jobName"] == job
    simulator.quota = None
    # The API caller never comes back; a manifest with the same name arrives through the
    # bucket and becomes the job (it used to be rejected: job_name.taken by the API request).
    document = manifest(stack, "churn-tabular.yaml")
    api.ingest.upload(f"manifests/{stack.token}/churn.yaml", yaml.safe_dump(document).encode())
    api.ingest.source.drain()
    assert api.ingest.keys(f"rejections/{stack.token}/") == []
    receipt = api.ingest.read_json(f"receipts/{stack.token}/churn.yaml.json")
    assert receipt["jobName"] == job
    record = api.ingest.record(job)
    assert record is not None and record["status"] == "CREATED"
    assert record["source"]["type"] == "s3"
    # And the API caller, coming back after all, is told the name is taken, not a 503.
    late = api.call(new_request(own("post-jobs-json.json"), f"{stack.token}-late"))
    assert late.status == 409
    assert late.body["type"].endswith("/job-name-taken")


def test_throttling_is_retried_then_503(stack: StackForTest, own: Own) -> None:
    api, simulator = stack.api, stack.simulator
    simulator.throttle_next(2, operation="CreateAutoMLJobV2")
    assert api.call(own("post-jobs-json.json")).status == 202
    simulator.throttle_next(50, operation="CreateAutoMLJobV2")
    answer = api.call(own("post-jobs-yaml.json"))
    assert answer.status == 503
    assert answer.body["type"].endswith("/service-unavailable")
    simulator.clear_faults()
    assert api.call(own("post-jobs-yaml.json")).status == 202


# --- POST /jobs/validate ----------------------------------------------------------------------


def test_dry_run_returns_the_request_as_it_would_be_sent(
    stack: StackForTest, own: Own, subscriber: str
) -> None:
    api = stack.api
    answered_before = answers(api)
    answer = api.call(own("post-jobs-validate.json"))
    assert answer.status == 200
    body = answer.body
    assert body["valid"] is True, body["errors"]
    assert body["errors"] == []
    request = body["request"]
    assert request["AutoMLJobName"] == stack.name("churn-dry-run")
    assert request["RoleArn"] == ROLE
    assert request["OutputDataConfig"] == {"S3OutputPath": f"s3://{OUTPUT_BUCKET}/autopilot/"}
    assert set(body["defaultsApplied"]) >= {"RoleArn", "OutputDataConfig"}
    assert "Deployment" not in request
    # Nothing created, recorded or announced.
    assert stack.creates() == 0
    assert api.ingest.record(stack.name("churn-dry-run")) is None
    assert events_of(api, subscriber) == []
    # No receipt and no report written (the bucket is shared: none besides earlier tests').
    assert answers(api) == answered_before


def test_dry_run_of_an_invalid_manifest_lists_every_error(stack: StackForTest, own: Own) -> None:
    invalid = own("post-jobs-invalid.json")
    event = own("post-jobs-validate.json")
    answer = stack.api.call(with_body(event, invalid["body"]))
    assert answer.status == 200
    assert answer.body["valid"] is False
    assert len(answer.body["errors"]) >= 3


def test_dry_run_runs_the_data_preflight(stack: StackForTest, own: Own) -> None:
    document = manifest(stack, "churn-tabular.yaml")
    document["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] = "Churned"
    event = with_body(own("post-jobs-validate.json"), json.dumps(document), "application/json")
    answer = stack.api.call(event)
    assert answer.body["valid"] is False
    assert any(e["path"].endswith("TargetAttributeName") for e in answer.body["errors"])


# --- GET /jobs ----------------------------------------------------------------------------------
# Listing every job, and filtering every job, need a table of their own: in test_jobs_api.py.


def _submit_examples(stack: StackForTest, names: list[str]) -> list[str]:
    created = []
    for index, name in enumerate(names):
        document = manifest(stack, name)
        answer = stack.api.call(post_json(stack, document, f"req-{index}"))
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
def test_list_rejects_bad_parameters(stack: StackForTest, own: Own, query: dict[str, str]) -> None:
    answer = stack.api.call(with_query(own("get-jobs.json"), **query))
    assert answer.status == 400
    assert answer.content_type == PROBLEM
    assert answer.body["errors"]


def test_a_bad_page_token_is_400(stack: StackForTest, own: Own) -> None:
    api = stack.api
    answer = api.call(own("get-jobs-bad-token.json"))
    assert answer.status == 400
    assert answer.body["type"].endswith("/invalid-page-token")
    # A token of other filters is refused too.
    _submit_examples(stack, ALL_VALID[:3])
    page = api.call(with_query(own("get-jobs.json"), limit="1"))
    token = page.body["nextToken"]
    other = api.call(with_query(own("get-jobs.json"), status="REJECTED", nextToken=token))
    assert other.status == 400


# --- GET /jobs/{name} ------------------------------------------------------------------------


def test_get_job_shows_the_record_and_the_live_status(
    stack: StackForTest, own: Own, job: str
) -> None:
    api, simulator = stack.api, stack.simulator
    api.call(own("post-jobs-json.json"))
    simulator.advance(15 * 60)
    answer = api.call(own("get-job.json"))
    assert answer.status == 200
    shown = answer.body
    assert shown["lifecycle"] == "CREATED"
    assert shown["managed"] is True
    assert shown["status"] == "InProgress"
    assert shown["secondaryStatus"] == simulator.history(job)[-1][1]
    assert shown["problemType"] == "TabularJobConfig"
    assert shown["deploymentRequested"] is True
    assert shown["links"]["self"] == f"/v1/jobs/{job}"
    simulator.run_until_idle()
    done = api.call(own("get-job.json")).body
    assert done["status"] == "Completed"
    assert done["bestCandidate"]["value"] > 0
    assert done["endTime"]


def test_job_names_are_case_insensitive(stack: StackForTest, own: Own, job: str) -> None:
    stack.api.call(own("post-jobs-json.json"))
    answer = stack.api.call(for_job(own("get-job.json"), job.title()))
    assert job.title() != job
    assert answer.status == 200
    assert answer.body["jobName"] == job


@pytest.mark.parametrize("name", ["no-such-job", "#watcher-watermark", "x" * 40, "a_b"])
def test_unknown_jobs_are_404(stack: StackForTest, own: Own, name: str) -> None:
    event = (
        own("get-job-unknown.json") if name == "no-such-job" else for_job(own("get-job.json"), name)
    )
    answer = stack.api.call(event)
    assert answer.status == 404
    assert answer.content_type == PROBLEM
    # ("#..." does not even match the route: API Gateway would never pass it on.)
    assert answer.body["type"].endswith(("/job-not-found", "/not-found"))


def test_a_rejected_manifest_is_shown_with_its_errors(stack: StackForTest, own: Own) -> None:
    stack.api.call(own("post-jobs-invalid.json"))
    answer = stack.api.call(for_job(own("get-job.json"), stack.name("broken-forecast")))
    assert answer.status == 200
    assert answer.body["lifecycle"] == "REJECTED"
    assert answer.body["status"] is None
    assert answer.body["errors"]


def test_a_job_created_elsewhere_is_shown_unmanaged(stack: StackForTest, own: Own) -> None:
    api, other = stack.api, stack.name("other")
    request = {k: v for k, v in manifest(stack, "defect-images.yaml").items() if k != "Deployment"}
    api.ingest.client("sagemaker").create_auto_ml_job_v2(**{**request, "AutoMLJobName": other})
    answer = api.call(for_job(own("get-job.json"), other))
    assert answer.status == 200
    assert answer.body["managed"] is False
    assert answer.body["lifecycle"] is None
    assert answer.body["status"] == "InProgress"


# --- GET /jobs/{name}/candidates -----------------------------------------------------------------


def test_candidates_are_ranked_by_the_objective(stack: StackForTest, own: Own, job: str) -> None:
    api = stack.api
    api.call(own("post-jobs-json.json"))
    stack.simulator.run_until_idle()
    answer = api.call(own("get-candidates.json"))  # top=3
    assert answer.status == 200
    board = answer.body
    assert board["objective"] == {"metricName": "F1", "type": "Maximize"}
    assert [row["rank"] for row in board["candidates"]] == [1, 2, 3]
    values = [row["value"] for row in board["candidates"]]
    assert values == sorted(values, reverse=True)
    sagemaker = api.ingest.client("sagemaker")
    everything = sagemaker.list_candidates_for_auto_ml_job(AutoMLJobName=job, MaxResults=100)[
        "Candidates"
    ]
    expected = rank_candidates(everything, "Maximize")
    assert [r["candidateName"] for r in board["candidates"]] == [
        r["candidateName"] for r in expected[:3]
    ]
    assert board["best"]["candidateName"] == expected[0]["candidateName"]
    assert board["candidateCount"] == len(everything)


def test_candidates_of_a_minimized_objective_are_ascending(stack: StackForTest, own: Own) -> None:
    api = stack.api
    document = manifest(stack, "house-prices-regression.json")
    name = api.call(post_json(stack, document, "req-1")).body["jobName"]
    stack.simulator.run_until_idle()
    board = api.call(for_job(own("get-candidates.json"), name)).body
    values = [r["value"] for r in board["candidates"] if r["rank"] is not None]
    if board["objective"]["type"] == "Minimize":
        assert values == sorted(values)
    else:
        assert values == sorted(values, reverse=True)


def test_candidates_of_a_running_job_and_of_no_job(stack: StackForTest, own: Own) -> None:
    api = stack.api
    api.call(own("post-jobs-json.json"))
    answer = api.call(own("get-candidates.json"))
    assert answer.status == 200
    assert answer.body["status"] == "InProgress"
    unknown = api.call(for_job(own("get-candidates.json"), "no-such-job"))
    assert unknown.status == 404
    bad = api.call(with_query(own("get-candidates.json"), top="0"))
    assert bad.status == 400


# --- POST /jobs/{name}/stop ----------------------------------------------------------------------


def test_stop_a_running_job_then_409_once_ended(stack: StackForTest, own: Own, job: str) -> None:
    api, simulator = stack.api, stack.simulator
    api.call(own("post-jobs-json.json"))
    simulator.advance(60)
    answer = api.call(own("post-stop.json"))
    assert answer.status == 202
    assert answer.body["status"] == "Stopping"
    assert answer.body["previousStatus"] == "InProgress"
    assert answer.headers["Location"] == f"/v1/jobs/{job}"
    assert simulator.history(job)[-1] == ("Stopping", "Stopping")
    # Stopping again while it stops: accepted, nothing more to do.
    assert api.call(own("post-stop.json")).status == 202
    simulator.run_until_idle()
    ended = api.call(own("post-stop.json"))
    assert ended.status == 409
    assert ended.body["type"].endswith("/job-already-ended")
    assert ended.body["status"] == 409
    assert ended.body["jobStatus"] == "Stopped"


def test_stop_what_cannot_be_stopped(stack: StackForTest, own: Own) -> None:
    api, other = stack.api, stack.name("other")
    assert api.call(for_job(own("post-stop.json"), "no-such-job")).status == 404
    api.call(own("post-jobs-invalid.json"))
    rejected = api.call(for_job(own("post-stop.json"), stack.name("broken-forecast")))
    assert rejected.status == 409
    assert rejected.body["type"].endswith("/job-not-created")
    request = {k: v for k, v in manifest(stack, "defect-images.yaml").items() if k != "Deployment"}
    api.ingest.client("sagemaker").create_auto_ml_job_v2(**{**request, "AutoMLJobName": other})
    foreign = api.call(for_job(own("post-stop.json"), other))
    assert foreign.status == 409
    assert foreign.body["type"].endswith("/job-not-managed")


# --- errors never show internals ---------------------------------------------------------------
# A failure of the table itself (the table deleted) needs a stack of its own: test_jobs_api.py.


def test_every_sample_event_is_answered_as_documented(stack: StackForTest) -> None:
    """Each sample as it is (its names are its own: no other test in the package sends a
    sample unchanged), in an order that makes each meaningful (api.call checks conformance)."""
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
        assert stack.api.call(sample(name)).status == status, name
