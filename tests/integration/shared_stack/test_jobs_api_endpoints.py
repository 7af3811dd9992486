"""Approve / reject a job's model package, rollback and undeploy (issue 13), through the real
JobsApi handler against moto.

The stack is the package's (see conftest.py): each test's jobs, endpoints and packages have
names of its own (``stack.name``), and what it counts (FinalizeJob's executions) is counted
from its start. The inventory of every endpoint record needs a table of its own:
tests/integration/test_jobs_api_endpoints.py. moto's Model Registry is
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

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from moto.sagemaker.models import sagemaker_backends

from autopilot_flow import registry as reg
from autopilot_flow.finalize import JOB_TAG_KEY, STACK_TAG_KEY
from offline.autopilot_simulator import AutopilotSimulator
from offline.model_registry import DETAIL_TYPE, ModelRegistry
from tests.integration.jobs_api_harness import ApiHarness, sample
from tests.integration.shared_stack.conftest import StackForTest

PRINCIPAL = "arn:aws:sts::111122223333:assumed-role/MLEngineer/ml-engineer"
GROUP = "churn-models"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"


@pytest.fixture
def sim(stack: StackForTest) -> AutopilotSimulator:
    return stack.simulator


@pytest.fixture
def model_registry(stack: StackForTest) -> ModelRegistry:
    return stack.shared.model_registry


@pytest.fixture(autouse=True)
def refusals(stack: StackForTest) -> Iterator[list[tuple[Any, str, Any]]]:
    """The hooks ``answer_as_aws`` registers, unregistered after the test (the handler's
    clients are shared with the tests that follow)."""
    registered: list[tuple[Any, str, Any]] = []
    REFUSALS.append(registered)
    yield registered
    REFUSALS.remove(registered)
    for client, event_name, handler in registered:
        client.meta.events.unregister(event_name, handler)


REFUSALS: list[list[tuple[Any, str, Any]]] = []


# --- requests --------------------------------------------------------------------------------


def request(
    method: str, resource: str, name: str | None = None, body: Any = None
) -> dict[str, Any]:
    """An API Gateway proxy event for ``resource`` (built from a sample's request context)."""
    event = copy.deepcopy(sample("post-stop.json"))
    path = resource.replace("{name}", name) if name is not None else resource
    event.update(
        resource=resource,
        path=path,
        httpMethod=method,
        pathParameters={"name": name} if name is not None else None,
        body=None if body is None else body if isinstance(body, str) else json.dumps(body),
    )
    if body is None:
        event["headers"].pop("Content-Type", None)
        (event.get("multiValueHeaders") or {}).pop("Content-Type", None)
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path="/v1" + path)
    return event


def approve(name: str, body: Any = None) -> dict[str, Any]:
    return request("POST", "/jobs/{name}/approve", name, body)


def reject(name: str, body: Any = None) -> dict[str, Any]:
    return request("POST", "/jobs/{name}/reject", name, body)


def rollback(name: str) -> dict[str, Any]:
    return request("POST", "/endpoints/{name}/rollback", name)


def undeploy(name: str) -> dict[str, Any]:
    return request("DELETE", "/endpoints/{name}", name)


def listing() -> dict[str, Any]:
    return request("GET", "/endpoints")


# --- what FinalizeJob leaves behind ----------------------------------------------------------


def stack_name(api: ApiHarness) -> str:
    return str(api.service.endpoints.stack)


def record_job(api: ApiHarness, job: str, package_arn: str | None = None) -> None:
    """A job's record as ingest claims it, with FinalizeJob's ``registration`` when given."""
    registry: reg.Registry = api.service.ingestor.registry
    claim = registry.claim(
        job_name=job,
        source_id=f"s3:manifests/{job}.yaml#v1",
        source={"type": "s3", "bucket": "b", "key": f"manifests/{job}.yaml"},
        request={"AutoMLJobName": job},
        problem_type="TabularJobConfig",
        defaults_applied=[],
        warnings=[],
    )
    assert claim.state == reg.ClaimState.NEW
    if package_arn is None:
        return
    registration = {
        "modelPackageArn": package_arn,
        "modelPackageGroupName": GROUP,
        "approvalStatus": "PendingManualApproval",
    }
    assert set(registration) <= reg.NESTED[(reg.ItemKind.JOB, "registration")]
    api.ingest.client("dynamodb").update_item(
        TableName=registry.table_name,
        Key={"jobKey": {"S": reg.job_key(job)}},
        UpdateExpression="SET registration = :r",
        ExpressionAttributeValues={":r": reg._SERIALIZER.serialize(registration)},
    )


def register_package(
    api: ApiHarness, job: str, status: str = "PendingManualApproval", *, ours: bool = True
) -> str:
    """A model package in the group, as FinalizeJob registers it (tagged with the stack)."""
    sagemaker = api.ingest.client("sagemaker")
    groups = sagemaker.list_model_package_groups(NameContains=GROUP)["ModelPackageGroupSummaryList"]
    if not groups:
        sagemaker.create_model_package_group(
            ModelPackageGroupName=GROUP,
            Tags=[{"Key": STACK_TAG_KEY, "Value": stack_name(api)}],
        )
    tags = [{"Key": JOB_TAG_KEY, "Value": job}]
    if ours:
        tags.append({"Key": STACK_TAG_KEY, "Value": stack_name(api)})
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://out/{job}/model.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelApprovalStatus=status,
        CustomerMetadataProperties={"autopilot-flow:job": job},
        Tags=tags,
    )["ModelPackageArn"]
    return str(arn)


def create_endpoint(api: ApiHarness, name: str, *, tagged: bool = True) -> str:
    sagemaker = api.ingest.client("sagemaker")
    tags = [{"Key": STACK_TAG_KEY, "Value": stack_name(api)}] if tagged else []
    sagemaker.create_model(
        ModelName=f"{name}-model",
        PrimaryContainer={"Image": IMAGE},
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
    )
    arn = sagemaker.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags
    )["EndpointArn"]
    return str(arn)


def record_endpoint(api: ApiHarness, name: str, **fields: Any) -> None:
    """An endpoint record as FinalizeJob's RecordLiveEndpoint leaves it."""
    item = {"jobKey": reg.endpoint_key(name), "endpointName": name, **fields}
    assert set(item) <= reg.ITEMS[reg.ItemKind.ENDPOINT], (
        set(item) - reg.ITEMS[reg.ItemKind.ENDPOINT]
    )
    if "live" in item:
        assert set(item["live"]) <= reg.NESTED[(reg.ItemKind.ENDPOINT, "live")]
    api.ingest.client("dynamodb").put_item(
        TableName=api.service.ingestor.registry.table_name, Item=reg._to_item(item)
    )


def live(job: str, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "jobName": job,
        "candidateName": f"{job}-best",
        "metricName": "F1",
        "value": str(value),
        "objectiveType": "Maximize",
        **extra,
    }


def endpoint_exists(api: ApiHarness, name: str) -> bool:
    sagemaker = api.ingest.client("sagemaker")
    names = [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]]
    return name in names


def answer_as_aws(
    api: ApiHarness, service: str, operation: str, code: str, times: int
) -> list[str]:
    """AWS's error answer to the API's next ``times`` calls of ``operation`` (moto enforces no
    IAM and never throttles these), on the API handler's own client."""
    answered: list[str] = []

    def refuse(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if len(answered) >= times:
            return None
        answered.append(code)
        parsed = {"Error": {"Code": code, "Message": "refused"}}
        return AWSResponse("https://aws", 400, {}, None), parsed

    ops = api.service.endpoints
    client = ops.sagemaker if service == "sagemaker" else ops.stepfunctions
    client.meta.events.register(f"before-call.{service}.{operation}", refuse)
    REFUSALS[-1].append((client, f"before-call.{service}.{operation}", refuse))
    return answered


# --- approve / reject --------------------------------------------------------------------------


def test_approve_a_pending_package_records_who_and_why(
    stack: StackForTest, model_registry: ModelRegistry
) -> None:
    api, n = stack.api, stack.name
    arn = register_package(api, n("churn-1"))
    record_job(api, n("churn-1"), arn)
    answer = api.call(approve(n("churn-1"), {"note": "F1 0.91 on the holdout"}))
    assert answer.status == 202
    assert answer.body["approvalStatus"] == "Approved"
    assert answer.body["previousStatus"] == "PendingManualApproval"
    assert answer.body["by"] == PRINCIPAL
    assert answer.headers["Location"] == f"/v1/jobs/{n('churn-1')}"
    package = api.ingest.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["ApprovalDescription"] == f"{PRINCIPAL}: F1 0.91 on the holdout"
    # The reviewer is kept in the package's metadata (SageMaker's LastModifiedBy is the API's
    # role); nothing else about the package changed (AWS changes only the fields sent).
    assert package["CustomerMetadataProperties"] == {
        "autopilot-flow:job": n("churn-1"),
        "autopilot-flow:reviewed-by": PRINCIPAL,
        "autopilot-flow:reviewed-as": "Approved",
    }
    # SageMaker's own event is what starts the deployment (the stack's rule on it).
    changes = [
        e["detail"]["ModelApprovalStatus"]
        for e in model_registry.events
        if e["detail-type"] == DETAIL_TYPE and e["detail"]["ModelPackageArn"] == arn
    ]
    assert changes[-1] == "Approved"


def test_reject_without_a_note(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    arn = register_package(api, n("churn-2"))
    record_job(api, n("churn-2"), arn)
    answer = api.call(reject(n("churn-2")))
    assert answer.status == 200
    assert answer.body["approvalStatus"] == "Rejected"
    assert answer.body["note"] is None
    package = api.ingest.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Rejected"
    assert package["ApprovalDescription"] == PRINCIPAL
    assert package["CustomerMetadataProperties"]["autopilot-flow:reviewed-as"] == "Rejected"


def test_a_package_is_reviewed_once(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    arn = register_package(api, n("churn-3"))
    record_job(api, n("churn-3"), arn)
    assert api.call(approve(n("churn-3"))).status == 202
    for event in (approve(n("churn-3")), reject(n("churn-3"))):
        answer = api.call(event)
        assert answer.status == 409
        assert answer.body["type"].endswith("/not-pending-approval")
        assert answer.body["approvalStatus"] == "Approved"
    package = api.ingest.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved"


def test_a_package_registered_approved_is_not_pending(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    arn = register_package(api, n("churn-4"), status="Approved")
    record_job(api, n("churn-4"), arn)
    answer = api.call(reject(n("churn-4")))
    assert answer.status == 409
    assert answer.body["type"].endswith("/not-pending-approval")


@pytest.mark.parametrize("name", ["nobody", "bad_name!", "x" * 40])
def test_review_of_an_unknown_job_is_404(stack: StackForTest, name: str) -> None:
    api = stack.api
    answer = api.call(approve(name))
    assert answer.status == 404
    assert answer.body["type"].endswith("/job-not-found")


def test_review_of_a_job_without_a_package_is_409(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    record_job(api, n("churn-5"))
    answer = api.call(approve(n("churn-5")))
    assert answer.status == 409
    assert answer.body["type"].endswith("/no-model-package")
    assert "Registry" in answer.body["detail"]


def test_review_of_a_deleted_package_is_409(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    # moto has no DeleteModelPackage: a package ARN of the group that is not (any longer).
    arn = register_package(api, n("churn-6")).rsplit("/", 1)[0] + "/99"
    record_job(api, n("churn-6"), arn)
    answer = api.call(approve(n("churn-6")))
    assert answer.status == 409
    assert answer.body["type"].endswith("/no-model-package")


def test_a_package_without_the_stack_tag_is_refused(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    arn = register_package(api, n("churn-7"), ours=False)
    record_job(api, n("churn-7"), arn)
    # AWS: the API's role may describe and update only packages tagged with its stack.
    answered = answer_as_aws(api, "sagemaker", "DescribeModelPackage", "AccessDeniedException", 1)
    answer = api.call(approve(n("churn-7")))
    assert answered == ["AccessDeniedException"]
    assert answer.status == 403
    assert answer.body["type"].endswith("/model-package-not-owned")
    package = api.ingest.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


@pytest.mark.parametrize(
    "body", ["not json", "[1]", json.dumps({"note": "x" * 501}), json.dumps({"other": 1})]
)
def test_a_bad_review_body_is_400(stack: StackForTest, body: str) -> None:
    api, n = stack.api, stack.name
    arn = register_package(api, n("churn-8"))
    record_job(api, n("churn-8"), arn)
    answer = api.call(approve(n("churn-8"), body))
    assert answer.status == 400
    package = api.ingest.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


def test_throttling_is_retried_then_503(stack: StackForTest, sim: AutopilotSimulator) -> None:
    api, n = stack.api, stack.name
    arn = register_package(api, n("churn-9"))
    record_job(api, n("churn-9"), arn)
    sim.throttle_next(2, "UpdateModelPackage")
    assert api.call(approve(n("churn-9"))).status == 202

    arn = register_package(api, n("churn-10"))
    record_job(api, n("churn-10"), arn)
    sim.throttle_next(api.service.backoff.attempts, "DescribeModelPackage")
    answer = api.call(approve(n("churn-10")))
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "1"
    package = api.ingest.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "PendingManualApproval"


# --- the endpoint inventory --------------------------------------------------------------------


# The inventory of every endpoint record needs a table of its own: test_jobs_api_endpoints.py.


# --- rollback ----------------------------------------------------------------------------------


def live_endpoint_with_history(stack: StackForTest) -> str:
    api, n = stack.api, stack.name
    name = n("churn-classifier")
    arn = create_endpoint(api, name)
    old_package = register_package(api, n("churn-1"), status="Approved")
    record_job(api, n("churn-1"), old_package)
    record_job(api, n("churn-2"))
    record_endpoint(
        api,
        name,
        liveJob=n("churn-2"),
        live=live(n("churn-2"), 0.91, strategy="Canary", change="finalize"),
        previousLiveJob=n("churn-1"),
        endpointArn=arn,
        deployedAt="2026-01-05T08:00:00.000Z",
    )
    return old_package


def test_rollback_starts_finalize_in_deploy_mode_with_the_previous_job(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    old_package = live_endpoint_with_history(stack)
    answer = api.call(rollback(n("churn-classifier")))
    assert answer.status == 202
    body = answer.body
    assert (body["jobName"], body["liveJob"]) == (n("churn-1"), n("churn-2"))
    assert re.fullmatch(rf"{n('churn-1')}-rollback-[0-9a-f]{{12}}", body["executionName"])
    sfn = api.ingest.client("stepfunctions")
    execution = sfn.describe_execution(executionArn=body["executionArn"])
    assert execution["stateMachineArn"] == api.stack.physical("FinalizeJobStateMachine")
    assert execution["name"] == body["executionName"]
    # The deploy-mode input contract, exactly.
    assert json.loads(execution["input"]) == {
        "mode": "deploy",
        "reason": "rollback",
        "jobName": n("churn-1"),
        "endpointName": n("churn-classifier"),
        "requestedBy": PRINCIPAL,
        "modelPackageArn": old_package,
    }
    # Two rollbacks are two executions (unique names).
    again = api.call(rollback(n("churn-classifier")))
    assert again.status == 202 and again.body["executionName"] != body["executionName"]


def test_rollback_to_a_job_without_a_package_sends_null(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    arn = create_endpoint(api, n("demand"))
    record_job(api, n("demand-1"))
    record_endpoint(
        api, n("demand"), liveJob=n("demand-2"), previousLiveJob=n("demand-1"), endpointArn=arn
    )
    answer = api.call(rollback(n("demand")))
    assert answer.status == 202
    execution = api.ingest.client("stepfunctions").describe_execution(
        executionArn=answer.body["executionArn"]
    )
    assert json.loads(execution["input"])["modelPackageArn"] is None


def test_rollback_refuses_an_endpoint_this_stack_did_not_create(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    create_endpoint(api, n("someone-elses"), tagged=False)
    answer = api.call(rollback(n("someone-elses")))
    assert answer.status == 403
    assert answer.body["type"].endswith("/endpoint-not-owned")
    # A record, but the endpoint does not carry this stack's tag: still not ours.
    record_endpoint(api, n("someone-elses"), liveJob="b", previousLiveJob="a")
    answer = api.call(rollback(n("someone-elses")))
    assert answer.status == 403
    assert not executions(stack)


def executions(stack: StackForTest) -> list[dict[str, Any]]:
    """FinalizeJob's executions started since this test began (the machine is shared)."""
    return [e for e in all_executions(stack.api) if e["executionArn"] not in STARTED_BEFORE]


def all_executions(api: ApiHarness) -> list[dict[str, Any]]:
    sfn = api.ingest.client("stepfunctions")
    machine = api.stack.physical("FinalizeJobStateMachine")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
    return [e for page in pages for e in page["executions"]]


STARTED_BEFORE: set[str] = set()


@pytest.fixture(autouse=True)
def started_before(stack: StackForTest) -> None:
    STARTED_BEFORE.clear()
    STARTED_BEFORE.update(e["executionArn"] for e in all_executions(stack.api))


@pytest.mark.parametrize("name", ["nothing-here", "bad_name", "x" * 70])
def test_rollback_of_an_unknown_endpoint_is_404(stack: StackForTest, name: str) -> None:
    api = stack.api
    answer = api.call(rollback(name))
    assert answer.status == 404
    assert answer.body["type"].endswith("/endpoint-not-found")


@pytest.mark.parametrize("previous", [None, "-"])
def test_rollback_without_a_previous_model_is_409(
    stack: StackForTest, previous: str | None
) -> None:
    api, n = stack.api, stack.name
    arn = create_endpoint(api, n("fresh"))
    fields = {"previousLiveJob": previous} if previous else {}
    record_endpoint(api, n("fresh"), liveJob=n("fresh-1"), endpointArn=arn, **fields)
    answer = api.call(rollback(n("fresh")))
    assert answer.status == 409
    assert answer.body["type"].endswith("/no-previous-model")
    assert not executions(stack)


def test_rollback_during_a_deployment_is_409(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    arn = create_endpoint(api, n("busy"))
    record_endpoint(
        api,
        n("busy"),
        liveJob=n("b-2"),
        previousLiveJob=n("b-1"),
        pendingJob=n("b-3"),
        endpointArn=arn,
    )
    answer = api.call(rollback(n("busy")))
    assert answer.status == 409
    assert answer.body["type"].endswith("/endpoint-busy")
    assert f"job {n('b-3')} is being deployed" in answer.body["detail"]
    assert not executions(stack)


def test_rollback_of_a_failed_endpoint_is_409(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    live_endpoint_with_history(stack)
    # moto's endpoints never fail: its record of this one is put in AWS's Failed state.
    endpoint = sagemaker_backends["123456789012"]["us-east-1"].endpoints[n("churn-classifier")]
    endpoint.endpoint_status = "Failed"
    answer = api.call(rollback(n("churn-classifier")))
    assert answer.status == 409
    assert answer.body["type"].endswith("/endpoint-not-in-service")
    assert answer.body["endpointStatus"] == "Failed"
    assert not executions(stack)
    # A failed endpoint still costs nothing to delete: undeploy takes it.
    assert api.call(undeploy(n("churn-classifier"))).status == 202


def test_rollback_throttled_past_the_backoff_is_503(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    live_endpoint_with_history(stack)
    attempts = api.service.backoff.attempts
    answered = answer_as_aws(
        api, "stepfunctions", "StartExecution", "ThrottlingException", attempts
    )
    answer = api.call(rollback(n("churn-classifier")))
    assert len(answered) == attempts
    assert answer.status == 503
    assert not executions(stack)
    # Once the throttling stops, the same request starts the rollback.
    assert api.call(rollback(n("churn-classifier"))).status == 202


# --- undeploy ----------------------------------------------------------------------------------


def test_undeploy_never_deletes_another_endpoint(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    create_endpoint(api, n("someone-elses"), tagged=False)
    answer = api.call(undeploy(n("someone-elses")))
    assert answer.status == 403
    assert answer.body["type"].endswith("/endpoint-not-owned")
    record_endpoint(api, n("someone-elses"), liveJob="b")
    assert api.call(undeploy(n("someone-elses"))).status == 403
    assert endpoint_exists(api, n("someone-elses"))
    assert api.call(undeploy("no-such-endpoint")).status == 404


def test_undeploy_refused_by_iam_is_403(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    live_endpoint_with_history(stack)
    # AWS: DeleteEndpoint is allowed only on endpoints tagged with this stack (the tag was
    # removed between the check and the call).
    answer_as_aws(api, "sagemaker", "DeleteEndpoint", "AccessDeniedException", 1)
    answer = api.call(undeploy(n("churn-classifier")))
    assert answer.status == 403
    assert endpoint_exists(api, n("churn-classifier"))
    assert "undeployedAt" not in api.service.ingestor.registry.endpoint_record(
        n("churn-classifier")
    )


def test_undeploy_during_a_deployment_is_409(stack: StackForTest) -> None:
    api, n = stack.api, stack.name
    arn = create_endpoint(api, n("busy"))
    record_endpoint(api, n("busy"), liveJob=n("b-2"), pendingJob=n("b-3"), endpointArn=arn)
    answer = api.call(undeploy(n("busy")))
    assert answer.status == 409
    assert answer.body["type"].endswith("/endpoint-busy")
    assert endpoint_exists(api, n("busy"))
