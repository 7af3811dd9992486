"""The endpoint inventory on a stack of its own per test: listing every endpoint record
needs a table no other test writes to (approve / reject, rollback and undeploy share one
stack: tests/integration/shared_stack/test_jobs_api_endpoints.py, whose helpers these are).
Through the real JobsApi handler against moto.

The stack is provisioned from template.yaml (jobs_api_harness); moto's Model Registry is
made to behave as AWS's (``offline.model_registry.ModelRegistry``: UpdateModelPackage changes
only what is sent, packages can be tagged, SageMaker Model Package State Change is published).
What FinalizeJob writes (a job's ``registration``, an endpoint's record) is written here
with the attributes the registry declares, and the endpoints are created in moto tagged as
FinalizeJob tags them. Every answer is checked against openapi.json and for leaks.

moto enforces no IAM: where AWS would refuse the API's tag-conditioned role (a package or an
endpoint without this stack's tag), a botocore hook answers the call as AWS does
(AccessDeniedException), and the test names it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.model_registry import ModelRegistry
from offline.moto_fixes import atomic_dynamodb_writes, s3_notification_versions
from tests.integration.jobs_api_harness import ApiHarness, build_api_harness

# The shared module's helpers (test_client_endpoints and test_governed_commands import them
# from here, with this module's fixtures).
from tests.integration.shared_stack.test_jobs_api_endpoints import (  # noqa: F401
    PRINCIPAL,
    approve,
    create_endpoint,
    endpoint_exists,
    listing,
    live,
    record_endpoint,
    record_job,
    register_package,
    reject,
    request,
    rollback,
    undeploy,
)


@pytest.fixture
def stack() -> Iterator[tuple[AutopilotSimulator, ModelRegistry]]:
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
            ModelRegistry() as model,
            AutopilotSimulator(clock=ManualClock(), seed=5) as sim,
        ):
            yield sim, model
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def api(stack: tuple[AutopilotSimulator, ModelRegistry]) -> ApiHarness:
    return build_api_harness()


@pytest.fixture
def sim(stack: tuple[AutopilotSimulator, ModelRegistry]) -> AutopilotSimulator:
    return stack[0]


@pytest.fixture
def model_registry(stack: tuple[AutopilotSimulator, ModelRegistry]) -> ModelRegistry:
    return stack[1]


def live_endpoint_with_history(api: ApiHarness, name: str = "churn-classifier") -> str:
    arn = create_endpoint(api, name)
    old_package = register_package(api, "churn-1", status="Approved")
    record_job(api, "churn-1", old_package)
    record_job(api, "churn-2")
    record_endpoint(
        api,
        name,
        liveJob="churn-2",
        live=live("churn-2", 0.91, strategy="Canary", change="finalize"),
        previousLiveJob="churn-1",
        endpointArn=arn,
        deployedAt="2026-01-05T08:00:00.000Z",
    )
    return old_package


def test_the_inventory_lists_every_endpoint_record(api: ApiHarness) -> None:
    assert api.call(listing()).body == {"endpoints": []}
    record_endpoint(
        api,
        "churn-classifier",
        liveJob="churn-2",
        live=live(
            "churn-2", 0.91, modelPackageArn="arn:pkg/2", strategy="Canary", change="approved"
        ),
        previousLiveJob="churn-1",
        endpointArn="arn:aws:sagemaker:us-east-1:111122223333:endpoint/churn-classifier",
        deployedAt="2026-12-05T08:00:00.000Z",
    )
    record_endpoint(api, "a-first", pendingJob="demand-1", pendingSince="2026-12-05T08:01:00Z")
    # An older record, as FinalizeJob wrote it before issue 13: fields it lacks are null.
    record_endpoint(api, "legacy", liveJob="old-1", live=live("old-1", 0.5))
    record_job(api, "churn-1")  # job items are not endpoints
    answer = api.call(listing())
    assert answer.status == 200
    rows = answer.body["endpoints"]
    assert [r["endpointName"] for r in rows] == ["a-first", "churn-classifier", "legacy"]
    first, churn, legacy = rows
    assert first["state"] == "Deploying" and first["pendingJob"] == "demand-1"
    assert churn["state"] == "Live"
    assert (churn["liveJob"], churn["previousLiveJob"]) == ("churn-2", "churn-1")
    assert (churn["metricName"], churn["value"]) == ("F1", 0.91)
    assert (churn["strategy"], churn["lastChange"]) == ("Canary", "approved")
    assert churn["modelPackageArn"] == "arn:pkg/2"
    assert churn["links"] == {
        "self": "/v1/endpoints/churn-classifier",
        "rollback": "/v1/endpoints/churn-classifier/rollback",
    }
    assert legacy["strategy"] is None and legacy["previousLiveJob"] is None


def test_undeploy_deletes_this_stacks_endpoint_and_marks_its_record(api: ApiHarness) -> None:
    live_endpoint_with_history(api)
    answer = api.call(undeploy("churn-classifier"))
    assert answer.status == 202
    assert (answer.body["status"], answer.body["previousStatus"]) == ("Deleting", "InService")
    assert answer.body["undeployedBy"] == PRINCIPAL
    assert not endpoint_exists(api, "churn-classifier")
    record = api.service.ingestor.registry.endpoint_record("churn-classifier")
    assert record["undeployedBy"] == PRINCIPAL
    assert record["liveJob"] == "churn-2"  # the history stays
    (row,) = api.call(listing()).body["endpoints"]
    assert row["state"] == "Deleted"
    # Again: nothing to delete, nothing changes.
    again = api.call(undeploy("churn-classifier"))
    assert again.status == 200
    assert again.body["status"] == "Deleted"
    assert again.body["undeployedAt"] == answer.body["undeployedAt"]
    # A deleted endpoint has nothing to roll back.
    refused = api.call(rollback("churn-classifier"))
    assert refused.status == 409
    assert refused.body["type"].endswith("/endpoint-deleted")
