"""POST /jobs/validate tells a taken job name, as POST /jobs would refuse it (409).

Through the real JobsApi handler on the stack provisioned in moto (see jobs_api_harness);
the fixtures are test_jobs_api's.
"""

# ruff: noqa: F401, F811 - the fixtures api and simulator are test_jobs_api's, used by name

from __future__ import annotations

import json
from typing import Any

from offline.autopilot_simulator import AutopilotSimulator
from tests.integration.ingest_harness import ROLE
from tests.integration.jobs_api_harness import ApiHarness, sample, with_body
from tests.integration.test_jobs_api import api, creates, manifest, post_json, simulator


def dry_run(document: dict[str, Any]) -> dict[str, Any]:
    return with_body(sample("post-jobs-validate.json"), json.dumps(document), "application/json")


def test_a_name_taken_by_another_manifest_is_an_error_with_the_existing_job(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    document = manifest("churn-tabular.yaml")
    assert api.call(post_json(document)).status == 202
    other = manifest("churn-tabular.yaml")
    other["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"]["MaxCandidates"] = 40
    answer = api.call(dry_run(other))
    assert answer.status == 200
    assert answer.body["valid"] is False
    assert [e["code"] for e in answer.body["errors"]] == ["job_name.taken"]
    assert "the API request req-1" in answer.body["errors"][0]["message"]
    existing = answer.body["existingJob"]
    assert existing["jobName"] == document["AutoMLJobName"]
    assert existing["lifecycle"] == "CREATED"
    assert existing["links"]["self"].endswith(f"/jobs/{document['AutoMLJobName']}")
    # What the dry run said is what submitting says.
    assert api.call(post_json(other, "req-2")).status == 409
    assert creates(simulator) == 1


def test_the_same_manifest_from_the_same_caller_is_a_warning(api: ApiHarness) -> None:
    document = manifest("churn-tabular.yaml")
    assert api.call(post_json(document)).status == 202
    answer = api.call(dry_run(document))
    assert answer.body["valid"] is True
    assert [w["code"] for w in answer.body["warnings"]][-1] == "job_name.submitted"
    assert answer.body["existingJob"]["jobName"] == document["AutoMLJobName"]
    # ... and POST /jobs answers with that job instead of refusing.
    again = api.call(post_json(document, "req-2"))
    assert again.status == 202 and again.body["created"] is False


def test_a_name_held_by_a_job_the_stack_did_not_create(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    document = manifest("churn-tabular.yaml")
    request = {k: v for k, v in document.items() if k not in ("Deployment", "Notifications")}
    request["RoleArn"] = ROLE
    api.ingest.client("sagemaker").create_auto_ml_job_v2(**request)
    answer = api.call(dry_run(document))
    assert answer.body["valid"] is False
    assert [e["code"] for e in answer.body["errors"]] == ["job_name.taken"]
    assert answer.body["existingJob"]["lifecycle"] is None
    assert answer.body["existingJob"]["status"] == "InProgress"


def test_a_rejected_record_releases_the_name(api: ApiHarness) -> None:
    document = manifest("churn-tabular.yaml")
    broken = dict(document, RoleArn="not-an-arn")
    assert api.call(post_json(broken)).status == 422
    answer = api.call(dry_run(document))
    assert answer.body["valid"] is True, answer.body["errors"]
    assert answer.body["existingJob"] is None


def test_a_free_name_has_no_existing_job(api: ApiHarness) -> None:
    answer = api.call(sample("post-jobs-validate.json"))
    assert answer.body["valid"] is True
    assert answer.body["existingJob"] is None


# --- GET /policy --------------------------------------------------------------------------------


def test_the_policy_the_stack_applies(api: ApiHarness) -> None:
    answer = api.call(sample("get-policy.json"))
    assert answer.status == 200
    assert answer.body["defaults"]["RoleArn"] == ROLE
    assert answer.body["defaults"] == api.service.ingestor.policy.defaults
    assert answer.body["guardrails"] == api.service.ingestor.policy.guardrails
    assert answer.body["guardrails"], "the harness's stack sets guardrails"
