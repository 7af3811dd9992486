"""The approval gate's handler on moto, with the Model Registry as AWS runs it
(``offline.model_registry``: moto publishes no package events and erases fields on update).

Which package approvals start a deployment, and which are left alone: another stack's
package, one registered Approved by FinalizeJob itself (no double deploy), one its job's
record no longer names, one that is gone, a redelivered event. The full flow through the
state machine is in test_finalize_governed.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from autopilot_flow import events as ev
from autopilot_flow.approval import ApprovalHandler, approval_execution_name
from autopilot_flow.finalize import EXECUTION_NAME_MAX, attribute_map
from autopilot_flow.model_registration import ModelRegistrar, register_best_candidate
from autopilot_flow.registry import Registry, job_key
from offline.model_registry import ModelRegistry
from offline.provision import REGION
from tests.published_events import PublishedEvents

ROOT = Path(__file__).resolve().parents[2]
REGISTER = json.loads(
    (ROOT / "events" / "register_candidate" / "register-tabular.json").read_text()
)
SAMPLE = json.loads(
    (ROOT / "events" / "approve_model_package" / "package-approved.json").read_text()
)
STACK = REGISTER["stackTag"]["Value"]
TABLE = "jobs"
BUS = "autopilot-flow-events"


@dataclass
class World:
    session: Any
    handler: ApprovalHandler
    published: PublishedEvents
    machine: str

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    def registered(self, name: str, approval: bool, stack: str = STACK) -> str:
        """A job of this stack's record, and its package registered as FinalizeJob does."""
        job = copy.deepcopy(REGISTER["job"])
        job["AutoMLJobName"] = name
        job["AutoMLJobArn"] = job["AutoMLJobArn"].rsplit("/", 1)[0] + "/" + name
        section = {**REGISTER["registry"], "ApprovalRequired": approval}
        registry = self.handler.registry
        registry.claim(
            job_name=name,
            source_id=f"s3://manifests/{name}.yaml#v1",
            source=REGISTER["source"],
            request={"AutoMLJobName": name},
            problem_type="TabularJobConfig",
            defaults_applied=[],
            warnings=[],
            deployment=REGISTER["deployment"],
            model_registry=section,
        )
        registry.mark_created(name, f"s3://manifests/{name}.yaml#v1", job["AutoMLJobArn"])
        registrar = ModelRegistrar(sagemaker=self.client("sagemaker"), s3=self.client("s3"))
        registration = register_best_candidate(
            registrar, job, section, source=REGISTER["source"], stack=stack
        )
        arn = registration.model_package_arn
        # FinalizeJob's RecordRegistration and RecordOutcome (awaiting approval).
        self.client("dynamodb").update_item(
            TableName=TABLE,
            Key={"jobKey": {"S": job_key(name)}},
            UpdateExpression="SET registration = :r, deployment = :d",
            ExpressionAttributeValues={
                ":r": {"M": attribute_map({"modelPackageArn": arn, "approvalStatus": "x"})},
                ":d": {"M": attribute_map({"state": "AWAITING_APPROVAL"})},
            },
        )
        return arn

    def event(self, arn: str, status: str, event_id: str = "e-1") -> dict[str, Any]:
        event = copy.deepcopy(SAMPLE)
        event["id"] = event_id
        event["detail"]["ModelPackageArn"] = arn
        event["detail"]["ModelApprovalStatus"] = status
        return event

    def decide(self, arn: str, status: str, note: str = "ok") -> None:
        self.client("sagemaker").update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=note
        )

    def executions(self) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        listed = sfn.list_executions(stateMachineArn=self.machine)["executions"]
        return [
            {
                "name": e["name"],
                "input": json.loads(
                    sfn.describe_execution(executionArn=e["executionArn"])["input"]
                ),
            }
            for e in listed
        ]


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws(), ModelRegistry():
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket="amzn-s3-demo-ml-output")
        dynamodb = session.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "jobKey", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "jobKey", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        session.client("events").create_event_bus(Name=BUS)
        iam = session.client("iam")
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        machine = session.client("stepfunctions").create_state_machine(
            name="finalize",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
            roleArn=role,
        )["stateMachineArn"]
        published = PublishedEvents()
        events = published.watch(session.client("events"))
        handler = ApprovalHandler(
            sagemaker=session.client("sagemaker"),
            registry=Registry(dynamodb, TABLE),
            stepfunctions=session.client("stepfunctions"),
            publisher=ev.EventPublisher(events, BUS),
            stack=STACK,
            state_machine_arn=machine,
        )
        yield World(session, handler, published, machine)


def test_an_approved_package_starts_its_deployment_once(world: World) -> None:
    arn = world.registered("churn-approved", approval=True)
    world.decide(arn, "Approved", "fine by me")
    event = world.event(arn, "Approved")

    first = world.handler.handle(event)
    again = world.handler.handle(event)  # EventBridge delivers at least once

    assert first["action"] == "deploy"
    assert again == {"action": "ignored", "reason": "already approved and deployed"}
    # The start happened but its record did not (the function died in between): the
    # redelivery starts the same execution name, which Step Functions keeps to one.
    world.client("dynamodb").update_item(
        TableName=TABLE,
        Key={"jobKey": {"S": job_key("churn-approved")}},
        UpdateExpression="REMOVE approval",
    )
    retried = world.handler.handle(event)
    assert retried["action"] == "deploy" and retried["execution"] == first["execution"]
    (execution,) = world.executions()
    assert execution["name"] == approval_execution_name("churn-approved", "approved", "e-1")
    assert execution["name"].startswith("churn-approved-approved-")
    # The deploy-mode contract, exactly (the rollback command starts executions with it too).
    assert execution["input"] == {
        "mode": "deploy",
        "reason": "approved",
        "jobName": "churn-approved",
        "endpointName": "churn-classifier",
        # Who SageMaker says changed the package (moto answers a made-up Studio user).
        "requestedBy": "fake-user-profile-name",
        "modelPackageArn": arn,
    }
    record = world.handler.registry.get("churn-approved") or {}
    assert record["approval"]["status"] == "Approved"
    assert record["approval"]["note"] == "fine by me"
    assert record["deployment"]["state"] == "AWAITING_APPROVAL"  # FinalizeJob's to change
    assert world.published.of(world.handler.publisher.client) == []


def test_a_rejected_package_is_recorded_and_announced(world: World) -> None:
    arn = world.registered("churn-no", approval=True)
    world.decide(arn, "Rejected", "not on this data")

    answer = world.handler.handle(world.event(arn, "Rejected"))

    assert answer["action"] == "rejected"
    assert world.executions() == []
    record = world.handler.registry.get("churn-no") or {}
    assert record["deployment"]["state"] == "REJECTED"
    assert record["approval"] == {
        "status": "Rejected",
        "modelPackageArn": arn,
        "note": "not on this data",
        "by": "fake-user-profile-name",
        "at": record["approval"]["at"],
    }
    (entry,) = world.published.of(world.handler.publisher.client)
    assert entry["DetailType"] == ev.MODEL_REJECTED
    detail = json.loads(entry["Detail"])
    assert detail["schemaVersion"] == ev.schema_version(ev.MODEL_REJECTED)
    assert detail["modelPackageArn"] == arn
    assert detail["modelPackageGroupName"] == "churn-models"
    assert detail["note"] == "not on this data"


def test_an_approved_package_changed_again_starts_nothing_new(world: World) -> None:
    arn = world.registered("churn-twice", approval=True)
    world.decide(arn, "Approved", "fine")
    assert world.handler.handle(world.event(arn, "Approved", "first"))["action"] == "deploy"
    world.decide(arn, "Approved", "fine, and documented")  # a later change, same approval
    answer = world.handler.handle(world.event(arn, "Approved", "second"))
    assert answer == {"action": "ignored", "reason": "already approved and deployed"}
    assert len(world.executions()) == 1
    # Rejected, then approved again: a new decision, a new deployment.
    world.decide(arn, "Rejected", "wait")
    assert world.handler.handle(world.event(arn, "Rejected", "third"))["action"] == "rejected"
    world.decide(arn, "Approved", "now")
    assert world.handler.handle(world.event(arn, "Approved", "fourth"))["action"] == "deploy"
    assert len(world.executions()) == 2


def test_the_current_approval_decides_not_the_event(world: World) -> None:
    """An old Approved event delivered after the package was rejected starts nothing."""
    arn = world.registered("churn-late", approval=True)
    world.decide(arn, "Rejected", "changed my mind")
    answer = world.handler.handle(world.event(arn, "Approved", "old"))
    assert answer["action"] == "rejected"
    assert world.executions() == []


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("registered-approved", "registered approved: FinalizeJob deploys it"),
        ("other-stack", "not a package of this stack"),
        ("record-names-another", "not the package its job's record names"),
        ("no-record", "not the package its job's record names"),
        ("gone", "the package no longer exists"),
    ],
)
def test_packages_that_are_not_waiting_for_this_stack_are_ignored(
    world: World, case: str, reason: str
) -> None:
    name = "churn-" + case
    if case == "registered-approved":
        arn = world.registered(name, approval=False)
    elif case == "other-stack":
        arn = world.registered(name, approval=True, stack="another-stack")
    else:
        arn = world.registered(name, approval=True)
        world.decide(arn, "Approved")
    if case == "record-names-another":
        world.client("dynamodb").update_item(
            TableName=TABLE,
            Key={"jobKey": {"S": job_key(name)}},
            UpdateExpression="SET registration.modelPackageArn = :other",
            ExpressionAttributeValues={":other": {"S": arn[:-1] + "9"}},
        )
    if case == "no-record":
        world.client("dynamodb").delete_item(TableName=TABLE, Key={"jobKey": {"S": job_key(name)}})
    if case == "gone":
        arn = arn[:-1] + "9"  # (moto has no DeleteModelPackage: a version never created)

    answer = world.handler.handle(world.event(arn, "Approved"))

    assert answer == {"action": "ignored", "reason": reason}
    assert world.executions() == []
    assert world.published.of(world.handler.publisher.client) == []


def test_other_events_are_ignored(world: World) -> None:
    event = world.event("arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1", "Approved")
    for changed in (
        {**event, "source": "autopilot-flow"},
        {**event, "detail-type": "SageMaker Endpoint State Change"},
        {**event, "detail": {**event["detail"], "ModelApprovalStatus": "PendingManualApproval"}},
        {**event, "detail": {}},
    ):
        assert world.handler.handle(changed)["action"] == "ignored"
    assert world.executions() == []


def test_execution_names_are_unique_per_request_and_fit() -> None:
    long = "j" * 32
    name = approval_execution_name(long, "approved", "event-1")
    assert len(name) <= EXECUTION_NAME_MAX
    assert name != approval_execution_name(long, "approved", "event-2")
    assert name == approval_execution_name(long, "approved", "event-1")
    assert approval_execution_name("a.b", "rollback", "x").startswith("a-b-rollback-")
