"""What people do after a job, through the real JobsApi handler and the real FinalizeJob (issue
13): approve a package awaiting approval -> SageMaker's state change -> the approval rule ->
deployed; the endpoint inventory follows each change; rollback puts the previous job back
through FinalizeJob's deploy mode; undeploy deletes the endpoint.

The world is test_finalize_governed's (the stack from template.yaml on moto, the Model
Registry and blue/green models of ``offline/``, the template's rules delivering to the real
functions); the JobsApi handler is loaded in that same stack and called with API Gateway
proxy events, each answer checked against openapi.json.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from offline.lambda_runtime import context_for
from tests.integration.jobs_api_harness import LEAKS, Answer, conform
from tests.integration.test_finalize_governed import (  # noqa: F401 - the module's world
    GovernedHarness,
    governed,
    world,
)
from tests.integration.test_jobs_api_endpoints import (
    PRINCIPAL,
    approve,
    listing,
    request,
    rollback,
    undeploy,
)


@pytest.fixture
def harness(world: GovernedHarness) -> GovernedHarness:  # noqa: F811
    for queue in world.queues:
        world.drain(queue)
    world.sim.clear_faults()
    world.endpoints.failures.clear()
    world.endpoints.after_change.clear()
    world.endpoints.describes_until_ready = 0
    return world


def call(harness: GovernedHarness, event: dict[str, Any]) -> Answer:
    """The stack's own JobsApi handler, as API Gateway calls it."""
    spec = harness.stack.functions["JobsApiFunction"]
    handler = harness.lambdas.handler("JobsApiFunction")
    response = handler(copy.deepcopy(event), context_for(spec))
    raw = response.get("body") or ""
    headers = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name, ", ".join(values))
    answer = Answer(int(response["statusCode"]), headers, json.loads(raw) if raw else None, raw)
    assert not any(leak in raw for leak in LEAKS), raw[:300]
    conform(event, answer)
    return answer


def job_request(name: str) -> dict[str, Any]:
    return request("GET", "/jobs/{name}", name)


def row(harness: GovernedHarness, endpoint: str) -> dict[str, Any]:
    answer = call(harness, listing())
    assert answer.status == 200
    (found,) = [r for r in answer.body["endpoints"] if r["endpointName"] == endpoint]
    return dict(found)


def test_approve_roll_back_and_undeploy_through_the_api(harness: GovernedHarness) -> None:
    endpoint = "churn-people"
    first = harness.submit(governed("churn-people-1", endpoint, approval=True))
    assert harness.finish(first).output["action"] == "awaiting_approval"
    assert all(r["endpointName"] != endpoint for r in call(harness, listing()).body["endpoints"])
    shown = call(harness, job_request(first)).body
    assert shown["registration"]["approvalStatus"] == "PendingManualApproval"
    assert shown["approval"] is None

    # Approve: the API changes the package; SageMaker's event, the stack's rule and the
    # approval function start the deployment.
    approved = call(harness, approve(first, {"note": "holdout F1 is fine"}))
    assert approved.status == 202, approved.body
    package = harness.package_of(first)
    assert approved.body["modelPackageArn"] == package
    harness.targets.wait(timeout=45)
    (execution,) = harness.approvals(first)
    assert harness.wait_for_execution(execution).status == "SUCCEEDED"
    live = row(harness, endpoint)
    assert (live["state"], live["liveJob"], live["lastChange"]) == ("Live", first, "approved")
    assert live["modelPackageArn"] == package
    assert live["previousLiveJob"] is None
    shown = call(harness, job_request(first)).body
    assert shown["approval"]["status"] == "Approved"
    assert shown["approval"]["note"] == f"{PRINCIPAL}: holdout F1 is fine"
    # The reviewer is the caller the API saw, not the API's own role (SageMaker's LastModifiedBy).
    assert shown["approval"]["by"] == PRINCIPAL
    # Reviewed once: a second approval is refused, nothing else starts.
    assert call(harness, approve(first)).status == 409
    assert call(harness, rollback(endpoint)).body["type"].endswith("/no-previous-model")

    # A second job (no approval needed) replaces it; then people roll it back.
    second = harness.submit(governed("churn-people-2", endpoint, approval=False))
    assert harness.finish(second).status == "SUCCEEDED"
    live = row(harness, endpoint)
    assert (live["liveJob"], live["previousLiveJob"]) == (second, first)

    started = call(harness, rollback(endpoint))
    assert started.status == 202, started.body
    assert started.body["jobName"] == first and started.body["modelPackageArn"] == package
    done = harness.wait_for_execution(started.body["executionName"])
    assert done.status == "SUCCEEDED", done.description
    live = row(harness, endpoint)
    assert (live["liveJob"], live["previousLiveJob"]) == (first, second)
    assert live["lastChange"] == "rollback"

    # Undeploy: the endpoint goes, the inventory says so, nothing can be rolled back onto it.
    gone = call(harness, undeploy(endpoint))
    assert gone.status == 202, gone.body
    sagemaker = harness.client("sagemaker")
    assert endpoint not in {
        e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]
    }
    assert row(harness, endpoint)["state"] == "Deleted"
    assert call(harness, rollback(endpoint)).body["type"].endswith("/endpoint-deleted")
