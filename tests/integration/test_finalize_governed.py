"""Issue 13 through the real FinalizeJob: register -> (approve) -> roll out, with alarm rollback.

The harness is test_finalize's (the state machine provisioned from template.yaml, its
lambda:invoke tasks running the real handlers in-process, jobs driven by the Autopilot
simulator), plus what this flow needs of AWS that moto lacks, each modelled in ``offline/``
with its difference commented:

- ``offline.model_registry.ModelRegistry``: SageMaker's ``Model Package State Change`` on the
  default bus when a package is created or its approval changes (moto publishes none); the
  template's own approval rule on that bus delivers it to the real ApproveModelPackage
  function;
- ``offline.moto_fixes.EndpointLifecycle`` with ``offline.rollouts``: UpdateEndpoint with a
  ``DeploymentConfig`` (moto has no UpdateEndpoint): traffic steps baking on a clock, and a
  rollback when one of the rollout's alarms is in ALARM in moto's CloudWatch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from autopilot_flow import events as ev
from autopilot_flow.finalize import STACK_TAG_KEY
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.event_delivery import LambdaTargets
from offline.lambda_invoke import InProcessLambdas
from offline.lambda_runtime import context_for, lambda_environment
from offline.model_registry import ModelRegistry
from offline.moto_fixes import EndpointLifecycle, moto_as_aws
from offline.provision import REGION, Provisioner
from tests.integration.test_finalize import (
    DEPLOYMENT_EVENTS,
    LEAKS,
    OUTPUT_BUCKET,
    PARAMETERS,
    Execution,
    FinalizeHarness,
    _subscribe_queue,
    churn,
)

GROUP = "churn-models"
ALARM = "churn-classifier-5xx"


class SteppingClock(ManualClock):
    """Rollouts bake on simulated time: every reading moves it on, so each of FinalizeJob's
    DescribeEndpoint polls (one real second apart) sees ``step`` seconds of baking pass."""

    def __init__(self, step: float) -> None:
        super().__init__()
        self.step = step

    def time(self) -> float:
        return self.advance(self.step)


class GovernedHarness(FinalizeHarness):
    # Every SageMaker Model Package State Change the Model Registry model published.
    package_events: list[dict[str, Any]]

    def approvals(self, job: str, timeout: float = 45.0) -> list[str]:
        """The deploy-mode executions started for ``job``'s approvals."""
        self.targets.wait(timeout=timeout)
        listed = self.client("stepfunctions").list_executions(
            stateMachineArn=self.state_machine_arn
        )["executions"]
        return sorted(e["name"] for e in listed if e["name"].startswith(f"{job}-approved-"))

    def package_of(self, job: str) -> str:
        record = self.registry.get(job) or {}
        return str(record["registration"]["modelPackageArn"])

    def set_approval(self, job: str, status: str, note: str) -> None:
        self.client("sagemaker").update_model_package(
            ModelPackageArn=self.package_of(job),
            ModelApprovalStatus=status,
            ApprovalDescription=note,
        )
        self.targets.wait(timeout=45)

    def start_deploy(self, name: str, request: dict[str, Any]) -> Execution:
        self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(request)
        )
        return self.wait_for_execution(name)


@pytest.fixture(scope="module")
def world() -> Iterator[GovernedHarness]:
    with (
        lambda_environment(),
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        moto_as_aws(),
        EndpointLifecycle(clock=SteppingClock(step=200.0)) as endpoints,
        AutopilotSimulator(clock=ManualClock(), seed=5) as sim,
        LambdaTargets() as targets,
    ):
        registry_model = ModelRegistry().install()
        try:
            session = boto3.session.Session(region_name=REGION)
            session.client("s3").create_bucket(Bucket=OUTPUT_BUCKET)
            stack = Provisioner(session, parameters=PARAMETERS).provision()
            endpoints.owner_tag = (STACK_TAG_KEY, stack.name)
            with InProcessLambdas(session, stack) as lambdas:
                events = session.client("events")
                bus = stack.physical("EventBus")
                # The template's two rules, delivering as EventBridge would: job ends on the
                # stack's bus, package approvals on the default bus.
                for logical_id, event_name, rule_bus in (
                    ("StartFinalizeFunction", "JobEnded", bus),
                    ("ApproveModelPackageFunction", "PackageApprovalChanged", "default"),
                ):
                    spec = stack.functions[logical_id]
                    rule = spec.events[event_name]["Properties"]
                    assert rule["EventBusName"] in (bus, "default")
                    events.put_rule(
                        Name=logical_id,
                        EventBusName=rule_bus,
                        EventPattern=json.dumps(rule["Pattern"]),
                    )
                    arn = stack.attribute(logical_id, "Arn")
                    events.put_targets(
                        Rule=logical_id, EventBusName=rule_bus, Targets=[{"Id": "fn", "Arn": arn}]
                    )
                    handler = lambdas.handler(logical_id)
                    targets.register(
                        arn,
                        lambda event, handler=handler, spec=spec: handler(event, context_for(spec)),
                    )
                queues: dict[str, str] = {}
                sns = session.client("sns")
                url, queue_arn = _subscribe_queue(session, "stack-subscriber")
                sns.subscribe(
                    TopicArn=stack.physical("NotificationsTopic"),
                    Protocol="sqs",
                    Endpoint=queue_arn,
                )
                queues["stack"] = url
                url, queue_arn = _subscribe_queue(session, "bus-subscriber")
                events.put_rule(
                    Name="deployments",
                    EventBusName=bus,
                    EventPattern=json.dumps(
                        {"source": [ev.SOURCE], "detail-type": DEPLOYMENT_EVENTS}
                    ),
                )
                events.put_targets(
                    Rule="deployments", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}]
                )
                queues["bus"] = url
                session.client("cloudwatch").put_metric_alarm(
                    AlarmName=ALARM,
                    Namespace="AWS/SageMaker",
                    MetricName="Invocation5XXErrors",
                    Statistic="Sum",
                    Period=60,
                    EvaluationPeriods=1,
                    Threshold=1,
                    ComparisonOperator="GreaterThanOrEqualToThreshold",
                )
                governed_world = GovernedHarness(
                    session, stack, sim, endpoints, lambdas, targets, queues
                )
                governed_world.package_events = registry_model.events
                yield governed_world
        finally:
            registry_model.uninstall()


@pytest.fixture
def harness(world: GovernedHarness) -> GovernedHarness:
    for queue in world.queues:
        world.drain(queue)
    world.sim.clear_faults()
    world.endpoints.failures.clear()
    world.endpoints.after_change.clear()
    world.endpoints.describes_until_ready = 0
    world.client("cloudwatch").set_alarm_state(
        AlarmName=ALARM, StateValue="OK", StateReason="test start"
    )
    return world


def on_instances(endpoint: str, **strategy: Any) -> dict[str, Any]:
    deployment: dict[str, Any] = {
        "EndpointName": endpoint,
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 2,
        "OnlyIfBetter": False,
    }
    if strategy:
        deployment["Strategy"] = strategy
    return deployment


def registry(approval: bool) -> dict[str, Any]:
    return {"ModelPackageGroupName": GROUP, "ApprovalRequired": approval}


def governed(name: str, endpoint: str, approval: bool, **strategy: Any) -> Any:
    return churn(
        name,
        Deployment=on_instances(endpoint, **strategy),
        Registry=registry(approval),
        Notifications=None,  # the stack's topic only
    )


def of_type(events: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in events if e["detail-type"] == detail_type]


# --- approval required ------------------------------------------------------------------------


def test_approval_required_registers_waits_and_deploys_once_approved(
    harness: GovernedHarness,
) -> None:
    name = harness.submit(governed("churn-gated", "churn-gated", approval=True))
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "awaiting_approval"
    states = execution.entered()
    for state in ("RegisterCandidate", "PlanRegistered", "RecordRegistration", "PublishRegistered"):
        assert state in states, state
    assert not {"ClaimEndpoint", "CreateModel", "CreateEndpoint", "PublishOutcome"} & set(states)
    sagemaker = harness.client("sagemaker")
    assert "churn-gated" not in {
        e["EndpointName"] for e in sagemaker.list_endpoints(MaxResults=100)["Endpoints"]
    }
    (registered,) = of_type(harness.events(), ev.MODEL_REGISTERED)
    assert registered["approvalStatus"] == "PendingManualApproval"
    assert registered["modelPackageGroupName"] == GROUP
    record = harness.registry.get(name) or {}
    assert record["deployment"]["state"] == "AWAITING_APPROVAL"
    assert record["registration"]["modelPackageArn"] == registered["modelPackageArn"]
    (message,) = harness.notifications("stack")
    assert message["Subject"] == f"Autopilot Flow: {name} Completed, awaiting approval"
    # Nothing starts on the package's creation (PendingManualApproval).
    assert harness.approvals(name) == []

    harness.set_approval(name, "Approved", "looks good")

    (approved,) = harness.approvals(name)
    deployed = harness.wait_for_execution(approved)
    assert deployed.status == "SUCCEEDED", deployed.description
    assert deployed.output["action"] == "deploy"
    assert "RegisterCandidate" not in deployed.entered()  # registered once
    assert "CreateEndpoint" in deployed.entered()
    endpoint = sagemaker.describe_endpoint(EndpointName="churn-gated")
    assert endpoint["EndpointStatus"] == "InService"
    live = harness.endpoint_record("churn-gated") or {}
    assert live["liveJob"] == name
    assert live["live"]["modelPackageArn"] == registered["modelPackageArn"]
    assert live["live"]["change"] == "approved"
    assert live["previousLiveJob"] == "-"
    (event,) = of_type(harness.events(), ev.MODEL_DEPLOYED)
    assert event["jobName"] == name and event["operation"] == "create"
    assert event["change"] == "approved"
    assert event["modelPackageArn"] == registered["modelPackageArn"]
    record = harness.registry.get(name) or {}
    assert record["approval"]["status"] == "Approved"
    assert record["approval"]["note"] == "looks good"
    assert record["approval"]["executionName"] == approved
    assert record["deployment"]["state"] == "DEPLOYED"


def test_a_rejected_package_is_recorded_and_announced(harness: GovernedHarness) -> None:
    name = harness.submit(governed("churn-rejected", "churn-rejected", approval=True))
    assert harness.finish(name).output["action"] == "awaiting_approval"
    harness.events()
    package = harness.package_of(name)

    harness.set_approval(name, "Rejected", "recall too low")

    assert harness.approvals(name) == []
    (rejected,) = of_type(harness.events(), ev.MODEL_REJECTED)
    assert rejected["jobName"] == name
    assert rejected["modelPackageArn"] == package
    assert rejected["note"] == "recall too low"
    assert not any(leak in json.dumps(rejected) for leak in LEAKS)
    record = harness.registry.get(name) or {}
    assert record["deployment"]["state"] == "REJECTED"
    assert record["approval"]["status"] == "Rejected"
    assert harness.endpoint_record("churn-rejected") is None


# --- no approval: registered Approved, deployed once ----------------------------------------


def test_without_approval_the_package_is_approved_and_deployed_once(
    harness: GovernedHarness,
) -> None:
    creates = harness.endpoints.calls["CreateEndpoint"]
    name = harness.submit(governed("churn-direct", "churn-direct", approval=False))
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "deploy"
    assert "RegisterCandidate" in execution.entered()
    events = harness.events()
    (registered,) = of_type(events, ev.MODEL_REGISTERED)
    assert registered["approvalStatus"] == "Approved"
    (deployed,) = of_type(events, ev.MODEL_DEPLOYED)
    assert deployed["jobName"] == name
    # SageMaker announced the package Approved at its creation: the approval handler saw it
    # and started nothing (FinalizeJob was deploying it already).
    announced = [
        e["detail"]
        for e in harness.package_events
        if e["detail"]["ModelPackageArn"] == registered["modelPackageArn"]
    ]
    assert [d["ModelApprovalStatus"] for d in announced] == ["Approved"]
    assert harness.approvals(name) == []
    assert harness.endpoints.calls["CreateEndpoint"] == creates + 1
    live = harness.endpoint_record("churn-direct") or {}
    assert live["live"]["modelPackageArn"] == registered["modelPackageArn"]


# --- rollouts ---------------------------------------------------------------------------------


def test_a_canary_whose_alarm_fires_is_rolled_back_and_the_old_model_stays(
    harness: GovernedHarness,
) -> None:
    first = harness.submit(governed("churn-canary-1", "churn-canary", approval=False))
    assert harness.finish(first).status == "SUCCEEDED"
    serving = harness.client("sagemaker").describe_endpoint(EndpointName="churn-canary")
    harness.events()
    harness.drain("stack")
    strategy = {
        "Type": "Canary",
        "StepPercent": 50,
        "WaitIntervalInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 3600,
        "AutoRollbackAlarmNames": [ALARM],
    }
    second = harness.submit(governed("churn-canary-2", "churn-canary", False, **strategy))
    # The canary's errors: the alarm is in ALARM while it bakes.
    harness.client("cloudwatch").set_alarm_state(
        AlarmName=ALARM, StateValue="ALARM", StateReason="5xx on the canary"
    )

    execution = harness.finish(second)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "rolled_back"
    assert "UpdateEndpointWithRollout" in execution.entered()
    (rollout,) = harness.endpoints.rollouts["churn-canary"]
    assert rollout.plan.routing == "CANARY"
    assert rollout.outcome == "RolledBack"
    assert rollout.tripped is not None and rollout.tripped[1] == ALARM
    after = harness.client("sagemaker").describe_endpoint(EndpointName="churn-canary")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == serving["EndpointConfigName"]
    events = harness.events()
    (rolled,) = of_type(events, ev.DEPLOYMENT_ROLLED_BACK)
    assert rolled["alarm"] == ALARM
    assert rolled["strategy"] == "Canary"
    assert rolled["live"]["jobName"] == first
    assert not of_type(events, ev.MODEL_DEPLOYED)
    live = harness.endpoint_record("churn-canary") or {}
    assert live["liveJob"] == first
    assert "pendingJob" not in live
    record = harness.registry.get(second) or {}
    assert record["deployment"]["state"] == "ROLLED_BACK"
    assert record["deployment"]["alarm"] == ALARM


def test_a_canary_without_alarms_goes_live_with_its_strategy(harness: GovernedHarness) -> None:
    first = harness.submit(governed("churn-linear-1", "churn-linear", approval=False))
    assert harness.finish(first).status == "SUCCEEDED"
    strategy = {"Type": "Linear", "StepPercent": 50, "WaitIntervalInSeconds": 60}
    second = harness.submit(governed("churn-linear-2", "churn-linear", False, **strategy))
    execution = harness.finish(second)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "deploy"
    (rollout,) = harness.endpoints.rollouts["churn-linear"]
    assert rollout.plan.routing == "LINEAR"
    assert rollout.outcome == "InService"
    live = harness.endpoint_record("churn-linear") or {}
    assert live["liveJob"] == second
    assert live["previousLiveJob"] == first
    assert live["live"]["strategy"] == "Linear"


# --- deploy mode: rollback ---------------------------------------------------------------------


def test_a_rollback_request_puts_the_previous_job_back(harness: GovernedHarness) -> None:
    first = harness.submit(governed("churn-back-1", "churn-back", approval=False))
    assert harness.finish(first).status == "SUCCEEDED"
    second = harness.submit(governed("churn-back-2", "churn-back", approval=False))
    assert harness.finish(second).status == "SUCCEEDED"
    assert (harness.endpoint_record("churn-back") or {})["previousLiveJob"] == first
    harness.events()
    registered = harness.registry.get(first) or {}

    execution = harness.start_deploy(
        f"{first}-rollback-t1",
        {
            "mode": "deploy",
            "reason": "rollback",
            "jobName": first,
            "endpointName": "churn-back",
            "requestedBy": "arn:aws:iam::123456789012:user/alice",
            "modelPackageArn": registered["registration"]["modelPackageArn"],
        },
    )

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "deploy"
    states = execution.entered()
    assert "PrepareDeploy" in states and "RegisterCandidate" not in states
    live = harness.endpoint_record("churn-back") or {}
    assert live["liveJob"] == first
    assert live["previousLiveJob"] == second
    assert live["live"]["change"] == "rollback"
    (event,) = of_type(harness.events(), ev.MODEL_DEPLOYED)
    assert event["jobName"] == first
    assert event["replaced"]["jobName"] == second
    assert event["change"] == "rollback"
    assert event["strategy"] == "AllAtOnce"  # no Strategy: blue/green all at once


def test_a_rollback_of_an_endpoint_not_this_stacks_is_refused(harness: GovernedHarness) -> None:
    first = harness.submit(governed("churn-foreign-1", "churn-own", approval=False))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    sagemaker = harness.client("sagemaker")
    own = sagemaker.describe_endpoint(EndpointName="churn-own")
    # Someone else's endpoint on the same config: no registry record, no stack tag.
    sagemaker.create_endpoint(
        EndpointName="churn-foreign", EndpointConfigName=own["EndpointConfigName"]
    )

    execution = harness.start_deploy(
        f"{first}-rollback-foreign",
        {
            "mode": "deploy",
            "reason": "rollback",
            "jobName": first,
            "endpointName": "churn-foreign",
            "requestedBy": None,
            "modelPackageArn": None,
        },
    )

    assert execution.status == "FAILED"
    assert "ClaimEndpoint" not in execution.entered()
    (failed,) = of_type(harness.events(), ev.DEPLOYMENT_FAILED)
    assert failed["code"] == "endpoint.blocked"
    assert failed["stage"] == "plan"
    assert "not an endpoint this stack deployed" in failed["message"]


def test_a_deploy_request_for_an_unknown_job_changes_nothing(harness: GovernedHarness) -> None:
    execution = harness.start_deploy(
        "nobody-rollback-x",
        {"mode": "deploy", "reason": "rollback", "jobName": "nobody", "endpointName": "x"},
    )
    assert execution.status == "FAILED"
    assert execution.description["error"] == "DeployRequestRefused"
    (message,) = harness.notifications("stack")
    assert "was refused" in message["Message"]
    assert not any(leak in message["Message"] for leak in LEAKS)


def test_a_rollback_to_a_job_without_a_model_is_refused(harness: GovernedHarness) -> None:
    live = harness.submit(governed("churn-has-model", "churn-nomodel", approval=False))
    assert harness.finish(live).status == "SUCCEEDED"
    failed = harness.submit(governed("churn-no-model", "churn-nomodel", approval=False))
    harness.sim.fail_job(failed)
    assert harness.finish(failed).output["action"] == "none"
    harness.events()

    execution = harness.start_deploy(
        f"{failed}-rollback-t1",
        {
            "mode": "deploy",
            "reason": "rollback",
            "jobName": failed,
            "endpointName": "churn-nomodel",
        },
    )

    assert execution.status == "FAILED"
    (event,) = of_type(harness.events(), ev.DEPLOYMENT_FAILED)
    assert event["code"] == "endpoint.blocked"
    assert "has no model to deploy" in event["message"]
    assert (harness.endpoint_record("churn-nomodel") or {})["liveJob"] == live
