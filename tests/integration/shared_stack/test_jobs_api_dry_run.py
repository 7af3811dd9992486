"""POST /jobs/validate tells a taken job name, as POST /jobs would refuse it (409).

Through the real JobsApi handler on the package's shared stack (see conftest.py and
jobs_api_harness): each test's job names and request ids are its own.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.integration.ingest_harness import EXAMPLES, ROLE
from tests.integration.jobs_api_harness import new_request, sample, set_header, with_body
from tests.integration.shared_stack.conftest import StackForTest


def manifest(stack: StackForTest, name: str) -> dict[str, Any]:
    """An example manifest, under a job name of this test's own."""
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    document["AutoMLJobName"] = stack.name(document["AutoMLJobName"])
    return document


def post_json(document: dict[str, Any], request_id: str) -> dict[str, Any]:
    event = with_body(sample("post-jobs-json.json"), json.dumps(document), "application/json")
    set_header(event, "X-Manifest-Name", None)
    return new_request(event, request_id)


def dry_run(document: dict[str, Any]) -> dict[str, Any]:
    return with_body(sample("post-jobs-validate.json"), json.dumps(document), "application/json")


def test_a_name_taken_by_another_manifest_is_an_error_with_the_existing_job(
    stack: StackForTest,
) -> None:
    api, first = stack.api, f"{stack.token}-req-1"
    document = manifest(stack, "churn-tabular.yaml")
    assert api.call(post_json(document, first)).status == 202
    other = manifest(stack, "churn-tabular.yaml")
    other["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"]["MaxCandidates"] = 40
    answer = api.call(dry_run(other))
    assert answer.status == 200
    assert answer.body["valid"] is False
    assert [e["code"] for e in answer.body["errors"]] == ["job_name.taken"]
    assert f"the API request {first}" in answer.body["errors"][0]["message"]
    existing = answer.body["existingJob"]
    assert existing["jobName"] == document["AutoMLJobName"]
    assert existing["lifecycle"] == "CREATED"
    assert existing["links"]["self"].endswith(f"/jobs/{document['AutoMLJobName']}")
    # What the dry run said is what submitting says.
    assert api.call(post_json(other, f"{stack.token}-req-2")).status == 409
    assert stack.creates() == 1


def test_the_same_manifest_from_the_same_caller_is_a_warning(stack: StackForTest) -> None:
    api, document = stack.api, manifest(stack, "churn-tabular.yaml")
    assert api.call(post_json(document, f"{stack.token}-req-1")).status == 202
    answer = api.call(dry_run(document))
    assert answer.body["valid"] is True
    assert [w["code"] for w in answer.body["warnings"]][-1] == "job_name.submitted"
    assert answer.body["existingJob"]["jobName"] == document["AutoMLJobName"]
    # ... and POST /jobs answers with that job instead of refusing.
    again = api.call(post_json(document, f"{stack.token}-req-2"))
    assert again.status == 202 and again.body["created"] is False


def test_a_name_held_by_a_job_the_stack_did_not_create(stack: StackForTest) -> None:
    api, document = stack.api, manifest(stack, "churn-tabular.yaml")
    request = {k: v for k, v in document.items() if k not in ("Deployment", "Notifications")}
    request["RoleArn"] = ROLE
    api.ingest.client("sagemaker").create_auto_ml_job_v2(**request)
    answer = api.call(dry_run(document))
    assert answer.body["valid"] is False
    assert [e["code"] for e in answer.body["errors"]] == ["job_name.taken"]
    assert answer.body["existingJob"]["lifecycle"] is None
    assert answer.body["existingJob"]["status"] == "InProgress"


def test_a_rejected_record_releases_the_name(stack: StackForTest) -> None:
    api, document = stack.api, manifest(stack, "churn-tabular.yaml")
    broken = dict(document, RoleArn="not-an-arn")
    assert api.call(post_json(broken, f"{stack.token}-req-1")).status == 422
    answer = api.call(dry_run(document))
    assert answer.body["valid"] is True, answer.body["errors"]
    assert answer.body["existingJob"] is None


def test_a_free_name_has_no_existing_job(stack: StackForTest) -> None:
    # The sample's manifest under a name of this test's own: on the shared stack, a name
    # is free only if no test takes it.
    event = sample("post-jobs-validate.json")
    document = yaml.safe_load(event["body"])
    document["AutoMLJobName"] = stack.name(document["AutoMLJobName"])
    answer = stack.api.call(with_body(event, yaml.safe_dump(document)))
    assert answer.body["valid"] is True
    assert answer.body["existingJob"] is None


# --- GET /policy --------------------------------------------------------------------------------


def test_the_policy_the_stack_applies(stack: StackForTest) -> None:
    api = stack.api
    answer = api.call(sample("get-policy.json"))
    assert answer.status == 200
    assert answer.body["defaults"]["RoleArn"] == ROLE
    assert answer.body["defaults"] == api.service.ingestor.policy.defaults
    assert answer.body["guardrails"] == api.service.ingestor.policy.guardrails
    assert answer.body["guardrails"], "the harness's stack sets guardrails"
