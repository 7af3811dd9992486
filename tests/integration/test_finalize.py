"""FinalizeJob end to end in moto's Step Functions interpreter.

The state machine is the ASL file that deploys, provisioned from template.yaml with its
DefinitionSubstitutions; its lambda:invoke tasks run the real handlers in-process
(``offline.lambda_invoke``); jobs are driven by the Autopilot simulator; the watcher's real
"AutoML Job State Change" event reaches the real StartFinalizeJob function through the
template's own rule pattern (``offline.event_delivery``). Subscribers are what users would
have: SQS queues on the SNS topics and on the bus. moto deviations modelled on the way are in
``offline.moto_fixes``: endpoints that take time, fail or roll back, and UpdateEndpoint;
aws-sdk error names as AWS spells them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from moto import mock_aws
from moto.events.models import EventPattern

from autopilot_flow import events as ev
from autopilot_flow.finalize import (
    STACK_TAG_KEY,
    DeploymentBlocked,
    FinalizePlanner,
    SageMakerThrottled,
    endpoint_key,
    execution_name,
)
from autopilot_flow.leaderboard import LeaderboardWriter
from autopilot_flow.manifest import Manifest
from autopilot_flow.registry import Registry
from autopilot_flow.sagemaker import Backoff, sagemaker_client
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.event_delivery import LambdaTargets
from offline.lambda_invoke import InProcessLambdas
from offline.lambda_runtime import context_for, lambda_environment
from offline.moto_fixes import EndpointLifecycle, moto_as_aws
from offline.provision import ACCOUNT, REGION, Provisioner, Stack
from offline.template import load_template

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
SCHEMAS = {path.name: json.loads(path.read_text()) for path in (ROOT / "schemas").glob("*.json")}
OUTPUT_BUCKET = "amzn-s3-demo-ml-output"
TEAM_TOPIC = "team-ml-alerts"
PARAMETERS = {
    "AllowedTopicArns": f"arn:aws:sns:{REGION}:{ACCOUNT}:team-*",
    # Real seconds in moto's interpreter (Wait really sleeps): short, never zero.
    "EndpointPollSeconds": "1",
    "EndpointMaxPolls": "5",
}
DEPLOYMENT_EVENTS = [
    ev.MODEL_DEPLOYED,
    ev.DEPLOYMENT_SKIPPED,
    ev.DEPLOYMENT_FAILED,
    ev.NOTIFICATION_FAILED,
    ev.MODEL_REGISTERED,
    ev.MODEL_REJECTED,
    ev.DEPLOYMENT_ROLLED_BACK,
]
# What an answer or an event must never carry (raw exception names, stack traces, paths).
LEAKS = (
    "Traceback",
    "stackTrace",
    'File "',
    ".py",
    "Exception",
    "ConditionalCheckFailed",
    "NotFound",
    "requestId",
    "botocore",
)


def manifest(example: str, job_name: str, **changes: Any) -> Manifest:
    """An example manifest under another job name; ``changes`` replace top-level fields
    (``None`` removes one)."""
    path = EXAMPLES / example
    document = (
        json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    )
    document["AutoMLJobName"] = job_name
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return Manifest.from_document(document)


@dataclass
class Execution:
    description: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.description["status"])

    @property
    def output(self) -> dict[str, Any]:
        output: dict[str, Any] = json.loads(self.description["output"])
        return output

    def entered(self) -> list[str]:
        """The states entered, in order (Map iterations included)."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history
            if e["type"].endswith("StateEntered")
        ]

    def task_failures(self) -> list[str]:
        return [
            e["taskFailedEventDetails"]["error"] for e in self.history if e["type"] == "TaskFailed"
        ]


@dataclass
class FinalizeHarness:
    session: Any
    stack: Stack
    sim: AutopilotSimulator
    endpoints: EndpointLifecycle
    lambdas: InProcessLambdas
    targets: LambdaTargets
    queues: dict[str, str]

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    @property
    def registry(self) -> Registry:
        return Registry(self.client("dynamodb"), self.stack.physical("JobsTable"))

    @property
    def state_machine_arn(self) -> str:
        return str(self.stack.physical("FinalizeJobStateMachine"))

    # --- jobs ---------------------------------------------------------------------------------

    def submit(self, document: Manifest) -> str:
        """A managed job, recorded as the ingest path does (registry first, then SageMaker)."""
        request = document.request
        name = request["AutoMLJobName"]
        source = f"s3://manifests/{name}.yaml#v1"
        self.registry.claim(
            job_name=name,
            source_id=source,
            source={"type": "s3", "bucket": "manifests", "key": f"{name}.yaml"},
            request=request,
            problem_type=next(iter(request["AutoMLProblemTypeConfig"])),
            defaults_applied=[],
            warnings=[],
            deployment=document.deployment,
            notifications=document.notifications,
            model_registry=document.registry,
        )
        arn = self.client("sagemaker").create_auto_ml_job_v2(**request)["AutoMLJobArn"]
        self.registry.mark_created(name, source, arn)
        return str(name)

    def tick(self) -> dict[str, Any]:
        """One WatchJobs run; its events reach StartFinalizeJob through the template's rule."""
        spec = self.stack.functions["WatchJobsFunction"]
        result: dict[str, Any] = self.lambdas.handler("WatchJobsFunction")({}, context_for(spec))
        self.targets.wait(timeout=30)
        return result

    def finish(self, name: str, timeout: float = 45.0) -> Execution:
        """Run the job to its end, let the watcher see it, and wait for FinalizeJob."""
        self.sim.run_until_idle()
        self.tick()
        status = self.client("sagemaker").describe_auto_ml_job_v2(AutoMLJobName=name)[
            "AutoMLJobStatus"
        ]
        return self.wait_for_execution(execution_name(name, status), timeout)

    def wait_for_execution(self, execution: str, timeout: float = 45.0) -> Execution:
        sfn = self.client("stepfunctions")
        prefix = self.state_machine_arn.replace(":stateMachine:", ":execution:")
        arn = f"{prefix}:{execution}"
        deadline = time.monotonic() + timeout
        while True:
            description = sfn.describe_execution(executionArn=arn)
            if description["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, f"{execution} still running"
            time.sleep(0.05)
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return Execution(description, history)

    # --- what subscribers see ----------------------------------------------------------------

    def drain(self, queue: str) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queues[queue], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.queues[queue], ReceiptHandle=message["ReceiptHandle"]
                )

    def notifications(self, queue: str = "stack") -> list[dict[str, Any]]:
        """SNS envelopes (Subject, Message, MessageAttributes) delivered to the queue."""
        return self.drain(queue)

    def events(self) -> list[dict[str, Any]]:
        """Deployment events on the bus, each valid against its schema."""
        found = self.drain("bus")
        for event in found:
            jsonschema.validate(event, SCHEMAS[ev.schema_file_name(event["detail-type"])])
        return found

    def endpoint_record(self, endpoint: str) -> dict[str, Any] | None:
        planner = FinalizePlanner(
            self.client("sagemaker"), self.client("dynamodb"), self.stack.physical("JobsTable")
        )
        return planner.endpoint_record(endpoint)

    def read_s3(self, uri: str) -> str:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return str(body.decode("utf-8"))


def _subscribe_queue(session: Any, name: str) -> tuple[str, str]:
    sqs = session.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


@pytest.fixture(scope="module")
def world() -> Iterator[FinalizeHarness]:
    """One provisioned stack for the module (provisioning and cold starts cost seconds);
    tests keep apart by job and endpoint names, and ``harness`` empties the queues."""
    with (
        lambda_environment(),
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        moto_as_aws(),
        EndpointLifecycle() as endpoints,
        AutopilotSimulator(clock=ManualClock(), seed=5) as sim,
        LambdaTargets() as targets,
    ):
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=OUTPUT_BUCKET)
        stack = Provisioner(session, parameters=PARAMETERS).provision()
        # The role's IAM condition on UpdateEndpoint (IAM itself is not emulated offline).
        endpoints.owner_tag = (STACK_TAG_KEY, stack.name)
        with InProcessLambdas(session, stack) as lambdas:
            # The template's rule, delivering to StartFinalizeJob as EventBridge would.
            spec = stack.functions["StartFinalizeFunction"]
            rule = spec.events["JobEnded"]["Properties"]
            bus = stack.physical("EventBus")
            events = session.client("events")
            events.put_rule(
                Name="start-finalize",
                EventBusName=bus,
                EventPattern=json.dumps(rule["Pattern"]),
            )
            arn = stack.attribute("StartFinalizeFunction", "Arn")
            events.put_targets(
                Rule="start-finalize", EventBusName=bus, Targets=[{"Id": "fn", "Arn": arn}]
            )
            start = lambdas.handler("StartFinalizeFunction")
            targets.register(arn, lambda event: start(event, context_for(spec)))
            for logical_id in (
                "WatchJobsFunction",
                "BuildLeaderboardFunction",
                "PlanFinalizeFunction",
            ):
                lambdas.handler(logical_id)
            # Subscribers: the stack's topic, a team topic of the manifests, the bus.
            sns = session.client("sns")
            queues: dict[str, str] = {}
            team_topic = sns.create_topic(Name=TEAM_TOPIC)["TopicArn"]
            for queue, topic in (
                ("stack", stack.physical("NotificationsTopic")),
                ("team", team_topic),
            ):
                url, queue_arn = _subscribe_queue(session, f"{queue}-subscriber")
                sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
                queues[queue] = url
            url, queue_arn = _subscribe_queue(session, "bus-subscriber")
            events.put_rule(
                Name="deployments",
                EventBusName=bus,
                EventPattern=json.dumps({"source": [ev.SOURCE], "detail-type": DEPLOYMENT_EVENTS}),
            )
            events.put_targets(
                Rule="deployments", EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}]
            )
            queues["bus"] = url
            yield FinalizeHarness(session, stack, sim, endpoints, lambdas, targets, queues)


@pytest.fixture
def harness(world: FinalizeHarness) -> FinalizeHarness:
    for queue in world.queues:
        world.drain(queue)
    world.sim.clear_faults()
    world.endpoints.failures.clear()
    world.endpoints.after_change.clear()
    # Ready at the first poll: one Wait per deployment (the loop itself is tested once).
    world.endpoints.describes_until_ready = 0
    return world


def team_notifications(**extra: Any) -> dict[str, Any]:
    return {"TopicArns": [f"arn:aws:sns:{REGION}:{ACCOUNT}:{TEAM_TOPIC}"], **extra}


def deployment(endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "EndpointName": endpoint,
        "Serverless": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
        "InferenceResponseKeys": ["predicted_label", "probability"],
        **extra,
    }


def churn(name: str, endpoint: str | None = None, **changes: Any) -> Manifest:
    """The churn example (binary classification, F1) as job ``name``, deploying to
    ``endpoint`` (default: no Deployment section)."""
    changes.setdefault("Deployment", deployment(endpoint) if endpoint else None)
    changes.setdefault("Notifications", team_notifications())
    return manifest("churn-tabular.yaml", name, **changes)


def set_live_value(harness: FinalizeHarness, endpoint: str, value: float) -> None:
    """Pretend the live model scored ``value`` (what RecordLiveEndpoint stored)."""
    harness.client("dynamodb").update_item(
        TableName=harness.stack.physical("JobsTable"),
        Key={"jobKey": {"S": endpoint_key(endpoint)}},
        UpdateExpression="SET live.#value = :value",
        ExpressionAttributeNames={"#value": "value"},
        ExpressionAttributeValues={":value": {"N": str(value)}},
    )


def executions_of(harness: FinalizeHarness, *jobs: str) -> list[str]:
    listed = harness.client("stepfunctions").list_executions(
        stateMachineArn=harness.state_machine_arn
    )["executions"]
    return sorted(e["name"] for e in listed if e["name"].rsplit("-", 1)[0] in jobs)


def endpoint_names(harness: FinalizeHarness) -> set[str]:
    listed = harness.client("sagemaker").list_endpoints(MaxResults=100)["Endpoints"]
    return {e["EndpointName"] for e in listed}


# --- completed, with a deployment ----------------------------------------------------------


def test_completed_job_is_deployed_to_a_new_endpoint(harness: FinalizeHarness) -> None:
    harness.endpoints.describes_until_ready = 1  # Creating at the first poll
    name = harness.submit(churn("churn-new", "churn-classifier"))
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "deploy"
    assert execution.output["endpointName"] == "churn-classifier"
    states = execution.entered()
    for state in (
        "BuildLeaderboard",
        "PlanFinalize",
        "ClaimEndpoint",
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "RecordLiveEndpoint",
        "RecordOutcome",
        "PublishOutcome",
        "NotifyStack",
        "NotifyTopic",
        "Done",
    ):
        assert state in states, state
    assert "UpdateEndpoint" not in states
    # The endpoint was still Creating at the first poll: the wait loop went round twice.
    assert states.count("DescribeEndpoint") == 2
    assert states.count("CountPoll") == 1
    assert not [s for s in states if s.startswith("Failed")]

    sagemaker = harness.client("sagemaker")
    job = sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name)
    best = job["BestCandidate"]
    endpoint = sagemaker.describe_endpoint(EndpointName="churn-classifier")
    assert endpoint["EndpointStatus"] == "InService"
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    # An ENSEMBLING model: one container, the PrimaryContainer (Containers: pipelines only).
    assert not model.get("Containers")  # moto describes an empty list
    container = model["PrimaryContainer"]
    assert container["Image"] == best["InferenceContainers"][0]["Image"]
    assert container["Environment"]["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label,probability"
    assert model["ExecutionRoleArn"] == job["RoleArn"]
    # Everything created carries the stack's tag: the role may change nothing else.
    for arn in (model["ModelArn"], config["EndpointConfigArn"], endpoint["EndpointArn"]):
        tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
        assert tags[STACK_TAG_KEY] == harness.stack.name, arn
        assert tags["autopilot-flow:job"] == name, arn
        assert set(tags) == {STACK_TAG_KEY, "autopilot-flow:job", "autopilot-flow:candidate"}

    # The registry: the job's deployment, and the endpoint's live model.
    record = harness.registry.get(name) or {}
    assert record["deployment"]["state"] == "DEPLOYED"
    assert record["deployment"]["modelName"] == variant["ModelName"]
    live = harness.endpoint_record("churn-classifier") or {}
    assert live["liveJob"] == name
    assert "pendingJob" not in live
    assert live["live"]["value"] == best["FinalAutoMLJobObjectiveMetric"]["Value"]
    assert live["live"]["metricName"] == "F1"

    (event,) = harness.events()
    assert event["detail-type"] == ev.MODEL_DEPLOYED
    detail = event["detail"]
    assert detail["operation"] == "create"
    assert detail["deployedBy"] == "autopilot-flow"
    assert detail["replaced"] is None
    assert detail["candidate"]["candidateName"] == best["CandidateName"]
    assert detail["endpointArn"] == endpoint["EndpointArn"]
    assert detail["inferenceResponseKeys"] == ["predicted_label", "probability"]

    # The leaderboard, next to the job's output, best first by F1 (Maximize).
    prefix = f"s3://{OUTPUT_BUCKET}/autopilot/churn/{name}/"
    assert execution.output["leaderboard"]["json"] == prefix + "leaderboard.json"
    board = json.loads(harness.read_s3(prefix + "leaderboard.json"))
    candidates = sagemaker.list_candidates_for_auto_ml_job(AutoMLJobName=name, MaxResults=100)[
        "Candidates"
    ]
    assert board["candidateCount"] == len(candidates) == execution.output["leaderboard"]["count"]
    values = [row["value"] for row in board["candidates"] if row["rank"] is not None]
    assert values == sorted(values, reverse=True)
    assert board["candidates"][0]["candidateName"] == best["CandidateName"]
    markdown = harness.read_s3(prefix + "leaderboard.md")
    assert f"# Leaderboard: {name}" in markdown
    assert "F1 (higher is better)" in markdown

    # Notifications: the stack's topic and the manifest's, with the same summary.
    (message,) = harness.notifications("stack")
    assert message["Subject"] == f"Autopilot Flow: {name} Completed, deployed to churn-classifier"
    body = message["Message"]
    assert f"Best candidate: {best['CandidateName']}, F1 = " in body
    assert "Top 5 of" in body and "  1. " in body and "  5. " in body
    assert "Endpoint: churn-classifier (created, serverless 2048 MB, 5 concurrent)" in body
    assert prefix + "leaderboard.md" in body
    assert message["MessageAttributes"]["outcome"]["Value"] == "deploy"
    (team,) = harness.notifications("team")
    assert team["Message"] == body


def test_a_better_model_updates_the_live_endpoint(harness: FinalizeHarness) -> None:
    first = harness.submit(churn("churn-first", "churn-better"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    set_live_value(harness, "churn-better", 0.5)  # the live model scored F1 0.5
    sagemaker = harness.client("sagemaker")
    before = sagemaker.describe_endpoint(EndpointName="churn-better")
    updates = harness.endpoints.calls["UpdateEndpoint"]
    harness.drain("stack")

    second = harness.submit(churn("churn-second", "churn-better"))
    execution = harness.finish(second)

    assert execution.status == "SUCCEEDED", execution.description
    states = execution.entered()
    assert "UpdateEndpoint" in states and "CreateEndpoint" not in states
    after = sagemaker.describe_endpoint(EndpointName="churn-better")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] != before["EndpointConfigName"]
    assert harness.endpoints.calls["UpdateEndpoint"] == updates + 1
    best = sagemaker.describe_auto_ml_job_v2(AutoMLJobName=second)["BestCandidate"]
    (event,) = harness.events()
    assert event["detail-type"] == ev.MODEL_DEPLOYED
    assert event["detail"]["operation"] == "update"
    assert event["detail"]["replaced"]["jobName"] == first
    assert event["detail"]["replaced"]["value"] == 0.5
    assert event["detail"]["candidate"]["value"] == best["FinalAutoMLJobObjectiveMetric"]["Value"]
    live = harness.endpoint_record("churn-better") or {}
    assert live["liveJob"] == second
    assert live["live"]["endpointConfigName"] == after["EndpointConfigName"]
    (message,) = harness.notifications("stack")
    assert "Endpoint: churn-better (updated" in message["Message"]
    assert "beats the live model's 0.5" in message["Message"]


def test_a_worse_model_is_not_deployed(harness: FinalizeHarness) -> None:
    first = harness.submit(churn("churn-live", "churn-worse"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    set_live_value(harness, "churn-worse", 0.995)
    before = harness.client("sagemaker").describe_endpoint(EndpointName="churn-worse")
    harness.drain("stack")

    second = harness.submit(churn("churn-not-better", "churn-worse"))
    execution = harness.finish(second)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "skip"
    assert not {"ClaimEndpoint", "CreateModel", "UpdateEndpoint"} & set(execution.entered())
    after = harness.client("sagemaker").describe_endpoint(EndpointName="churn-worse")
    assert after["EndpointConfigName"] == before["EndpointConfigName"]
    (event,) = harness.events()
    assert event["detail-type"] == ev.DEPLOYMENT_SKIPPED
    detail = event["detail"]
    assert detail["reason"] == "not-better"
    assert detail["live"]["jobName"] == first
    assert detail["live"]["value"] == 0.995
    assert detail["candidate"]["value"] < 0.995
    assert (harness.registry.get(second) or {})["deployment"]["state"] == "SKIPPED"
    assert (harness.endpoint_record("churn-worse") or {})["liveJob"] == first
    (message,) = harness.notifications("stack")
    assert message["Subject"].endswith("Completed, deployment skipped")
    assert "does not beat the live model's 0.995" in message["Message"]


def test_completed_job_without_a_deployment_section(harness: FinalizeHarness) -> None:
    name = harness.submit(
        manifest("house-prices-regression.json", "houses-nodeploy", Deployment=None)
    )
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "none"
    assert execution.output["reason"] == "the manifest asks for no deployment"
    assert "ClaimEndpoint" not in execution.entered()
    assert harness.events() == []
    (message,) = harness.notifications("stack")
    assert message["Subject"] == f"Autopilot Flow: {name} Completed"
    assert "No deployment: the manifest asks for no deployment." in message["Message"]
    # Regression on RMSE (the manifest's objective): lower is better, ranked ascending.
    board = json.loads(harness.read_s3(execution.output["leaderboard"]["json"]))
    assert board["objective"] == {"metricName": "RMSE", "type": "Minimize"}
    values = [row["value"] for row in board["candidates"] if row["rank"] is not None]
    assert values == sorted(values)
    assert "house-prices" not in endpoint_names(harness)


# --- jobs that did not complete -----------------------------------------------------------


def test_failed_job_is_reported_and_not_deployed(harness: FinalizeHarness) -> None:
    name = harness.submit(churn("churn-fails", "churn-fails"))
    reason = "ClientError: the target column churned has a single value"
    harness.sim.fail_job(name, reason)
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["jobStatus"] == "Failed"
    assert execution.output["action"] == "none"
    assert execution.output["reason"] == "the job ended Failed: nothing to deploy"
    assert harness.events() == []
    (message,) = harness.notifications("stack")
    assert message["Subject"] == f"Autopilot Flow: {name} Failed"
    assert f"Failure reason: {reason}" in message["Message"]
    assert "Best candidate: none" in message["Message"]
    # Notifications.OnStatus defaults to every final status: the team hears too.
    assert [m["Message"] for m in harness.notifications("team")] == [message["Message"]]
    assert "churn-fails" not in endpoint_names(harness)


def test_stopped_job_notifies_only_the_topics_that_asked(harness: FinalizeHarness) -> None:
    name = harness.submit(
        churn(
            "churn-stopped",
            "churn-stopped",
            Notifications=team_notifications(OnStatus=["Completed", "Failed"]),
        )
    )
    harness.sim.advance(15 * 60)
    harness.client("sagemaker").stop_auto_ml_job(AutoMLJobName=name)
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["jobStatus"] == "Stopped"
    assert execution.output["action"] == "none"
    assert execution.output["notifiedTopics"] == []
    (message,) = harness.notifications("stack")
    assert message["Subject"] == f"Autopilot Flow: {name} Stopped"
    assert harness.notifications("team") == []
    assert harness.events() == []
    assert "churn-stopped" not in endpoint_names(harness)


def test_completed_without_a_best_candidate_skips_the_deployment(harness: FinalizeHarness) -> None:
    document = churn("churn-no-best", "churn-no-best")
    config = document.request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    config["CompletionCriteria"] = {"MaxCandidates": 10, "MaxAutoMLJobRuntimeInSeconds": 120}
    name = harness.submit(document)
    execution = harness.finish(name)

    job = harness.client("sagemaker").describe_auto_ml_job_v2(AutoMLJobName=name)
    assert (job["AutoMLJobStatus"], job["AutoMLJobSecondaryStatus"]) == (
        "Completed",
        "MaxAutoMLJobRuntimeReached",
    )
    assert "BestCandidate" not in job
    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "skip"
    (event,) = harness.events()
    assert event["detail-type"] == ev.DEPLOYMENT_SKIPPED
    assert event["detail"]["reason"] == "no-best-candidate"
    assert event["detail"]["candidate"] is None
    (message,) = harness.notifications("stack")
    assert "Best candidate: none" in message["Message"]
    assert "without a best candidate" in message["Message"]
    board = json.loads(harness.read_s3(execution.output["leaderboard"]["json"]))
    assert board["rankedCount"] == 0


# --- failures -----------------------------------------------------------------------------


def test_endpoint_creation_failing_ends_in_a_failure_notification(
    harness: FinalizeHarness,
) -> None:
    reason = (
        "The primary container for production variant AllTraffic did not pass the ping "
        "health check. Please check CloudWatch logs for this endpoint."
    )
    harness.endpoints.fail_next("churn-broken", reason)
    name = harness.submit(churn("churn-broken", "churn-broken"))
    execution = harness.finish(name)

    assert execution.status == "FAILED"
    assert execution.description["error"] == "EndpointFailed"
    assert reason in execution.description["cause"]
    states = execution.entered()
    for state in (
        "CreateEndpoint",
        "EndpointFailedWithReason",
        "FailedAtDeploy",
        "ReleaseEndpointClaim",
        "PublishDeploymentFailed",
        "RecordFailure",
        "NotifyFailure",
        "FinalizeFailed",
    ):
        assert state in states, state
    assert "RecordLiveEndpoint" not in states
    (event,) = harness.events()
    assert event["detail-type"] == ev.DEPLOYMENT_FAILED
    detail = event["detail"]
    assert detail["stage"] == "deploy"
    assert detail["endpointName"] == "churn-broken"
    # A stable code and a plain message (the endpoint's own reason is plain text).
    assert detail["code"] == "endpoint.failed"
    assert reason in detail["message"]
    assert detail["executionArn"] == execution.description["executionArn"]
    (message,) = harness.notifications("stack")
    assert message["Subject"] == f"Autopilot Flow: finalizing {name} failed"
    assert "at stage deploy" in message["Message"]
    assert reason in message["Message"]
    assert "(endpoint.failed)" in message["Message"]
    record = harness.registry.get(name) or {}
    assert record["deployment"]["state"] == "FAILED"
    assert record["deployment"]["stage"] == "deploy"
    assert record["deployment"]["code"] == "endpoint.failed"
    assert reason in record["deployment"]["message"]
    # The claim is released: the next deployment to this endpoint may proceed.
    assert "pendingJob" not in (harness.endpoint_record("churn-broken") or {})


def test_a_failed_update_rolls_back_and_the_old_model_stays_live(harness: FinalizeHarness) -> None:
    first = harness.submit(churn("churn-serving", "churn-rollback"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    harness.drain("stack")
    set_live_value(harness, "churn-rollback", 0.5)
    serving = harness.client("sagemaker").describe_endpoint(EndpointName="churn-rollback")
    harness.endpoints.fail_next("churn-rollback", "Insufficient capacity for the new variant")

    second = harness.submit(churn("churn-rolled-back", "churn-rollback"))
    execution = harness.finish(second)

    # SageMaker's silent rollback: not a failed execution, an outcome of its own.
    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "rolled_back"
    states = execution.entered()
    assert {"EndpointRolledBack", "ReleaseRolledBackClaim", "CountDeploymentRolledBack"} <= set(
        states
    )
    assert "RecordLiveEndpoint" not in states and "FailedAtDeploy" not in states
    after = harness.client("sagemaker").describe_endpoint(EndpointName="churn-rollback")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == serving["EndpointConfigName"]
    assert after["FailureReason"] == "Insufficient capacity for the new variant"
    (event,) = harness.events()
    assert event["detail-type"] == ev.DEPLOYMENT_ROLLED_BACK
    detail = event["detail"]
    assert detail["liveEndpointConfigName"] == serving["EndpointConfigName"]
    assert detail["attemptedEndpointConfigName"] != serving["EndpointConfigName"]
    assert detail["alarm"] is None  # no rollback alarm named: the update itself failed
    assert detail["live"]["jobName"] == first
    assert "the update failed" in detail["message"]
    assert not any(leak in json.dumps(detail) for leak in LEAKS)
    live = harness.endpoint_record("churn-rollback") or {}
    assert live["liveJob"] == first
    assert "pendingJob" not in live
    record = harness.registry.get(second) or {}
    assert record["deployment"]["state"] == "ROLLED_BACK"
    (message,) = harness.notifications("stack")
    assert (
        message["Subject"] == f"Autopilot Flow: {second} Completed, rolled back on churn-rollback"
    )
    assert message["MessageAttributes"]["outcome"]["Value"] == "rolled_back"


def test_throttled_sagemaker_calls_are_retried_with_backoff(harness: FinalizeHarness) -> None:
    throttled = harness.sim.throttled["CreateModel"]
    harness.sim.throttle_next(2, operation="CreateModel")
    name = harness.submit(churn("churn-throttled", "churn-throttled"))
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    # AWS's name for an error the SageMaker model does not declare (see moto_fixes).
    assert execution.task_failures() == ["SageMaker.SageMakerException"] * 2
    assert harness.sim.throttled["CreateModel"] == throttled + 2
    assert execution.entered().count("CreateModel") == 1  # retried within the state
    (event,) = harness.events()
    assert event["detail-type"] == ev.MODEL_DEPLOYED


# --- SageMaker's own deployment, and the trigger --------------------------------------------


def test_model_deploy_config_job_is_recorded_not_deployed_again(harness: FinalizeHarness) -> None:
    name = harness.submit(
        churn(
            "churn-sm-deploys",
            ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": "churn-by-sm"},
        )
    )
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "sagemaker"
    assert not {"CreateModel", "CreateEndpoint", "UpdateEndpoint"} & set(execution.entered())
    (event,) = harness.events()
    assert event["detail-type"] == ev.MODEL_DEPLOYED
    assert event["detail"]["deployedBy"] == "sagemaker"
    assert event["detail"]["endpointName"] == "churn-by-sm"
    assert event["detail"]["operation"] is None
    record = harness.registry.get(name) or {}
    assert record["deployment"]["endpointName"] == "churn-by-sm"
    assert record["deployment"]["deployedBy"] == "sagemaker"


def test_a_repeated_event_starts_nothing_new(harness: FinalizeHarness) -> None:
    name = harness.submit(churn("churn-twice"))
    first = harness.finish(name)
    assert first.status == "SUCCEEDED"
    # The same final state change delivered again (an EventBridge retry, a re-publication).
    state_change = {
        "version": "0",
        "id": "f0e1d2c3-0000-4000-8000-000000000001",
        "detail-type": ev.JOB_STATE_CHANGE,
        "source": ev.SOURCE,
        "account": ACCOUNT,
        "time": "2026-11-28T08:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "schemaVersion": ev.schema_version(ev.JOB_STATE_CHANGE),
            "jobName": name,
            "jobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:automl-job/{name}",
            "managed": True,
            "problemType": "TabularJobConfig",
            "previous": {
                "status": "InProgress",
                "secondaryStatus": "GeneratingModelInsightsReport",
            },
            "current": {"status": "Completed", "secondaryStatus": "Completed"},
            "terminal": True,
            "bestCandidate": None,
        },
    }
    jsonschema.validate(state_change, SCHEMAS["automl-job-state-change.json"])
    spec = harness.stack.functions["StartFinalizeFunction"]
    result = harness.lambdas.handler("StartFinalizeFunction")(state_change, context_for(spec))
    assert result["started"] is False
    assert result["executionArn"] == first.description["executionArn"]
    assert executions_of(harness, name) == [execution_name(name, "Completed")]
    assert len(harness.notifications("stack")) == 1


def test_unmanaged_and_unfinished_jobs_start_nothing(harness: FinalizeHarness) -> None:
    harness.client("sagemaker").create_auto_ml_job_v2(**churn("console-made").request)
    harness.submit(churn("still-running"))
    harness.sim.advance(300)
    harness.tick()
    assert executions_of(harness, "console-made", "still-running") == []
    harness.sim.run_until_idle()
    harness.tick()  # both end now; only the managed one is finalized
    assert executions_of(harness, "console-made", "still-running") == ["still-running-Completed"]
    assert harness.wait_for_execution("still-running-Completed").status == "SUCCEEDED"


# --- endpoint ownership (issue 11, item 1) --------------------------------------------------


def foreign_endpoint(harness: FinalizeHarness, name: str) -> str:
    """An endpoint made outside the stack (console, another team), InService; returns its
    config name."""
    sagemaker = harness.client("sagemaker")
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/someone-elses-role",
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/theirs:1"},
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": f"{name}-model",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config", ProductionVariants=[variant]
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    return f"{name}-config"


def assert_not_taken_over(
    harness: FinalizeHarness, execution: Execution, name: str, endpoint: str, config: str
) -> None:
    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "skip"
    assert not {"ClaimEndpoint", "CreateModel", "CreateEndpoint", "UpdateEndpoint"} & set(
        execution.entered()
    )
    after = harness.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    assert after["EndpointConfigName"] == config
    (event,) = harness.events()
    assert event["detail-type"] == ev.DEPLOYMENT_SKIPPED
    assert event["detail"]["reason"] == "endpoint.not_owned"
    assert event["detail"]["endpointName"] == endpoint
    assert "was not created by this stack" in event["detail"]["message"]
    record = harness.registry.get(name) or {}
    assert record["deployment"]["state"] == "SKIPPED"
    (message,) = harness.notifications("stack")
    assert "skipped: endpoint" in message["Message"]


def test_an_endpoint_made_outside_the_stack_is_never_taken_over(harness: FinalizeHarness) -> None:
    config = foreign_endpoint(harness, "theirs-endpoint")
    updates = harness.endpoints.calls["UpdateEndpoint"]

    name = harness.submit(
        churn(
            "churn-takeover",
            Deployment=deployment("theirs-endpoint", OnlyIfBetter=False),
        )
    )
    execution = harness.finish(name)

    assert_not_taken_over(harness, execution, name, "theirs-endpoint", config)
    assert harness.endpoints.calls["UpdateEndpoint"] == updates
    assert harness.endpoint_record("theirs-endpoint") is None


def test_an_endpoint_recreated_outside_the_stack_under_our_name_is_not_ours(
    harness: FinalizeHarness,
) -> None:
    """The registry still has the endpoint's record, but the endpoint there now is someone
    else's (ours was deleted, theirs has no stack tag)."""
    first = harness.submit(churn("churn-was-ours", "churn-recreated"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    harness.drain("stack")
    harness.client("sagemaker").delete_endpoint(EndpointName="churn-recreated")
    config = foreign_endpoint(harness, "churn-recreated")

    second = harness.submit(
        churn("churn-not-ours", Deployment=deployment("churn-recreated", OnlyIfBetter=False))
    )
    execution = harness.finish(second)

    assert_not_taken_over(harness, execution, second, "churn-recreated", config)
    assert (harness.endpoint_record("churn-recreated") or {})["liveJob"] == first


def test_an_endpoint_swapped_after_the_plan_is_refused_by_the_role(
    harness: FinalizeHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan found this stack's endpoint; before UpdateEndpoint, someone replaced it with
    their own under the same name. The role's tag condition (modelled offline by
    EndpointLifecycle.owner_tag) refuses the update: their endpoint is untouched, and the
    failure is a code, not IAM's raw answer."""
    first = harness.submit(churn("churn-swap-live", "churn-swapped"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    harness.drain("stack")
    planner = harness.lambdas.handler("PlanFinalizeFunction").module.planner  # type: ignore[attr-defined]
    plan = planner.plan
    swapped: list[str] = []

    def plan_then_swap(event: dict[str, Any]) -> dict[str, Any]:
        decided: dict[str, Any] = plan(event)
        if decided["jobName"] == "churn-swap-new" and not swapped:
            harness.client("sagemaker").delete_endpoint(EndpointName="churn-swapped")
            swapped.append(foreign_endpoint(harness, "churn-swapped"))
        return decided

    monkeypatch.setattr(planner, "plan", plan_then_swap)
    name = harness.submit(
        churn("churn-swap-new", Deployment=deployment("churn-swapped", OnlyIfBetter=False))
    )
    execution = harness.finish(name)

    assert execution.status == "FAILED"
    assert "UpdateEndpoint" in execution.entered()
    after = harness.client("sagemaker").describe_endpoint(EndpointName="churn-swapped")
    assert after["EndpointConfigName"] == swapped[0]
    (event,) = harness.events()
    detail = event["detail"]
    assert (detail["stage"], detail["code"]) == ("deploy", "sagemaker.not_authorized")
    assert_no_leak(json.dumps(event))
    assert "AccessDenied" not in json.dumps(event)
    live = harness.endpoint_record("churn-swapped") or {}
    assert live["liveJob"] == first and "pendingJob" not in live


def test_only_if_better_false_replaces_this_stacks_own_endpoint(harness: FinalizeHarness) -> None:
    first = harness.submit(churn("churn-a", "churn-replace"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    set_live_value(harness, "churn-replace", 0.999)  # B would not beat it: replaced anyway
    before = harness.client("sagemaker").describe_endpoint(EndpointName="churn-replace")

    second = harness.submit(
        churn("churn-b", Deployment=deployment("churn-replace", OnlyIfBetter=False))
    )
    execution = harness.finish(second)

    assert execution.status == "SUCCEEDED", execution.description
    assert "UpdateEndpoint" in execution.entered()
    after = harness.client("sagemaker").describe_endpoint(EndpointName="churn-replace")
    assert after["EndpointConfigName"] != before["EndpointConfigName"]
    (event,) = harness.events()
    assert event["detail-type"] == ev.MODEL_DEPLOYED
    assert event["detail"]["operation"] == "update"
    assert event["detail"]["replaced"]["jobName"] == first
    live = harness.endpoint_record("churn-replace") or {}
    assert live["liveJob"] == second
    assert "pendingJob" not in live


# --- nothing internal leaks (item 2) --------------------------------------------------------


def get_job(harness: FinalizeHarness, name: str) -> dict[str, Any]:
    """GET /jobs/{name} through the real JobsApi handler."""
    event = json.loads((ROOT / "events" / "jobs_api" / "get-job.json").read_text())
    event["path"] = f"/jobs/{name}"
    event["pathParameters"] = {"name": name}
    spec = harness.stack.functions["JobsApiFunction"]
    response = harness.lambdas.handler("JobsApiFunction")(event, context_for(spec))
    assert response["statusCode"] == 200, response
    body: dict[str, Any] = json.loads(response["body"])
    return body


def assert_no_leak(*texts: str) -> None:
    for text in texts:
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} leaked into {text[:400]}"


def test_a_failure_in_a_step_function_leaks_no_stack_trace(harness: FinalizeHarness) -> None:
    """PlanFinalize raises (the endpoint is being updated): Step Functions' cause is the
    Lambda's error with its stackTrace and file paths; the event, the registry, the API
    answer and the SNS message get a code and a plain message."""
    first = harness.submit(churn("churn-busy-live", "churn-busy"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    harness.drain("stack")
    sagemaker = harness.client("sagemaker")
    config = sagemaker.describe_endpoint(EndpointName="churn-busy")["EndpointConfigName"]
    harness.endpoints.describes_until_ready = 1000  # stays Updating
    sagemaker.update_endpoint(EndpointName="churn-busy", EndpointConfigName=config)
    harness.endpoints.describes_until_ready = 0

    name = harness.submit(churn("churn-busy-new", "churn-busy"))
    execution = harness.finish(name)

    assert execution.status == "FAILED"
    # The raw cause (the Lambda's error, with its stack trace) stays in the execution.
    assert execution.description["error"] == "DeploymentBlocked"
    assert "stackTrace" in execution.description["cause"]
    (event,) = harness.events()
    assert event["detail-type"] == ev.DEPLOYMENT_FAILED
    detail = event["detail"]
    assert (detail["stage"], detail["code"]) == ("plan", "endpoint.blocked")
    assert detail["message"].startswith("endpoint churn-busy is Updating")
    (message,) = harness.notifications("stack")
    answer = get_job(harness, name)
    assert answer["deployment"]["state"] == "FAILED"
    assert answer["deployment"]["code"] == "endpoint.blocked"
    assert answer["deployment"]["message"] == detail["message"]
    assert_no_leak(json.dumps(event), message["Message"], json.dumps(answer))


def test_a_lost_endpoint_claim_is_a_code_not_an_exception_name(harness: FinalizeHarness) -> None:
    first = harness.submit(churn("churn-claimed-live", "churn-claimed"))
    assert harness.finish(first).status == "SUCCEEDED"
    harness.events()
    harness.drain("stack")
    # Another deployment holds the endpoint's claim.
    harness.client("dynamodb").update_item(
        TableName=harness.stack.physical("JobsTable"),
        Key={"jobKey": {"S": endpoint_key("churn-claimed")}},
        UpdateExpression="SET pendingJob = :job",
        ExpressionAttributeValues={":job": {"S": "someone-else"}},
    )

    name = harness.submit(
        churn("churn-claim-lost", Deployment=deployment("churn-claimed", OnlyIfBetter=False))
    )
    execution = harness.finish(name)

    assert execution.status == "FAILED"
    assert execution.description["error"] == "DynamoDB.ConditionalCheckFailedException"
    (event,) = harness.events()
    detail = event["detail"]
    assert (detail["stage"], detail["code"]) == ("deploy", "endpoint.claimed")
    assert "another deployment to endpoint churn-claimed" in detail["message"]
    (message,) = harness.notifications("stack")
    answer = get_job(harness, name)
    assert answer["deployment"]["code"] == "endpoint.claimed"
    assert_no_leak(json.dumps(event), message["Message"], json.dumps(answer))
    # The other deployment's claim is left alone.
    assert (harness.endpoint_record("churn-claimed") or {})["pendingJob"] == "someone-else"


# --- throttling never decides an outcome (item 4) -------------------------------------------


def test_a_throttled_endpoint_poll_never_fails_a_good_deployment(harness: FinalizeHarness) -> None:
    """More throttled DescribeEndpoint calls in a row than one state's retries: the poll
    loop waits and asks again within the deployment's budget; the endpoint is recorded."""
    harness.endpoints.after_change.append(
        lambda operation, endpoint: harness.sim.throttle_next(7, operation="DescribeEndpoint")
    )
    throttled = harness.sim.throttled["DescribeEndpoint"]
    name = harness.submit(churn("churn-poll-throttled", "churn-poll-throttled"))
    execution = harness.finish(name, timeout=90)

    assert execution.status == "SUCCEEDED", execution.description
    assert harness.sim.throttled["DescribeEndpoint"] == throttled + 7
    states = execution.entered()
    assert "CountThrottledCall" in states and "WaitAfterThrottling" in states
    assert not [s for s in states if s.startswith("Failed")]
    live = harness.endpoint_record("churn-poll-throttled") or {}
    assert live["liveJob"] == name
    (event,) = harness.events()
    assert event["detail-type"] == ev.MODEL_DEPLOYED


def test_throttling_past_the_budget_still_records_what_is_live(harness: FinalizeHarness) -> None:
    """DescribeEndpoint throttled for the deployment's whole budget (EndpointMaxPolls rounds)
    while the endpoint went InService with the new model: the last look at the endpoint finds
    it live, and the registry records it (not a failure, and no endpoint without liveJob)."""
    rounds = int(PARAMETERS["EndpointMaxPolls"])
    calls_per_round = 4  # DescribeEndpoint's own Retry: the call and 3 retries
    harness.endpoints.after_change.append(
        lambda operation, endpoint: harness.sim.throttle_next(
            rounds * calls_per_round, operation="DescribeEndpoint"
        )
    )
    name = harness.submit(churn("churn-budget-spent", "churn-budget-spent"))
    execution = harness.finish(name, timeout=150)

    assert execution.status == "SUCCEEDED", execution.description
    states = execution.entered()
    assert states.count("CountThrottledCall") == rounds
    assert "FailedAtDeploy" in states and "CheckWhatIsLive" in states
    assert "DescribeFailure" not in states
    live = harness.endpoint_record("churn-budget-spent") or {}
    assert live["liveJob"] == name
    assert "pendingJob" not in live
    assert (harness.registry.get(name) or {})["deployment"]["state"] == "DEPLOYED"
    (event,) = harness.events()
    assert event["detail-type"] == ev.MODEL_DEPLOYED


# --- notifications never decide an outcome (item 6) -----------------------------------------


def test_a_missing_topic_never_decides_the_outcome(harness: FinalizeHarness) -> None:
    """A topic the policy allows (team-*) but that does not exist: reported on its own; the
    job, which asked for no deployment, still ends well and the other topics hear of it."""
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:team-does-not-exist"
    team = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TEAM_TOPIC}"
    name = harness.submit(
        manifest(
            "house-prices-regression.json",
            "houses-missing-topic",
            Deployment=None,
            Notifications={"TopicArns": [missing, team]},
        )
    )
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "none"
    (event,) = harness.events()
    assert event["detail-type"] == ev.NOTIFICATION_FAILED
    detail = event["detail"]
    assert (detail["channel"], detail["target"]) == ("sns", missing)
    assert detail["code"] == "notification.topic_not_found"
    assert detail["outcome"] == "none"
    assert_no_leak(json.dumps(event))
    assert len(harness.notifications("stack")) == 1
    assert len(harness.notifications("team")) == 1
    assert "deployment" not in (harness.registry.get(name) or {})


def notifications_failed(harness: FinalizeHarness) -> float:
    """The NotificationsFailed metric in moto's CloudWatch (service = the stack name)."""
    now = datetime.now(UTC)
    points = harness.client("cloudwatch").get_metric_statistics(
        Namespace="AutopilotFlow",
        MetricName="NotificationsFailed",
        Dimensions=[{"Name": "service", "Value": harness.stack.name}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
        Unit="Count",
    )["Datapoints"]
    return float(sum(point["Sum"] for point in points))


def test_a_missing_topic_leaves_a_deployment_deployed(harness: FinalizeHarness) -> None:
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:team-gone"
    before = notifications_failed(harness)
    name = harness.submit(
        churn(
            "churn-topic-gone",
            "churn-topic-gone",
            Notifications={"TopicArns": [missing]},
        )
    )
    execution = harness.finish(name)

    assert execution.status == "SUCCEEDED", execution.description
    assert execution.output["action"] == "deploy"
    events = {e["detail-type"]: e["detail"] for e in harness.events()}
    assert set(events) == {ev.MODEL_DEPLOYED, ev.NOTIFICATION_FAILED}
    failed = events[ev.NOTIFICATION_FAILED]
    assert (failed["outcome"], failed["target"]) == ("deploy", missing)
    assert (harness.registry.get(name) or {})["deployment"]["state"] == "DEPLOYED"
    assert (harness.endpoint_record("churn-topic-gone") or {})["liveJob"] == name
    assert notifications_failed(harness) == before + 1


# --- the decision, against moto (no state machine) ------------------------------------------


def test_decisions_against_the_live_endpoint(harness: FinalizeHarness) -> None:
    name = harness.submit(churn("churn-decide", "churn-decide"))
    assert harness.finish(name).status == "SUCCEEDED"
    planner = FinalizePlanner(
        harness.client("sagemaker"), harness.client("dynamodb"), harness.stack.physical("JobsTable")
    )
    live = (harness.endpoint_record("churn-decide") or {})["live"]
    new = {"candidateName": "c", "metricName": "F1", "objectiveType": "Maximize"}
    target = deployment("churn-decide")
    stack = harness.stack.name

    better = planner.decide(target, "churn-decide", {**new, "value": 0.999}, stack)
    assert (better.action, better.endpoint_exists, better.recorded_job) == ("deploy", True, name)
    tie = planner.decide(target, "churn-decide", {**new, "value": live["value"]}, stack)
    assert (tie.action, tie.skip_code) == ("skip", "not-better")
    forced = planner.decide(
        {**target, "OnlyIfBetter": False}, "churn-decide", {**new, "value": 0.1}, stack
    )
    # The claim is conditional on the recorded live job, on this path too.
    assert (forced.action, forced.recorded_job) == ("deploy", name)
    other_metric = planner.decide(
        target, "churn-decide", {**new, "metricName": "AUC", "value": 0.99}, stack
    )
    assert other_metric.skip_code == "not-comparable"
    fresh = planner.decide(target, "churn-nowhere", {**new, "value": 0.1}, stack)
    assert (fresh.action, fresh.endpoint_exists, fresh.recorded_job) == ("deploy", False, "")
    # The same endpoint seen from another stack (its tag names this one): not owned.
    other_stack = planner.decide(target, "churn-decide", {**new, "value": 0.999}, "other-stack")
    assert (other_stack.action, other_stack.skip_code) == ("skip", "endpoint.not_owned")

    # An endpoint in the middle of an update cannot take another one.
    sagemaker = harness.client("sagemaker")
    config = sagemaker.describe_endpoint(EndpointName="churn-decide")["EndpointConfigName"]
    harness.endpoints.describes_until_ready = 2
    sagemaker.update_endpoint(EndpointName="churn-decide", EndpointConfigName=config)
    with pytest.raises(DeploymentBlocked, match="Updating"):
        planner.decide(target, "churn-decide", {**new, "value": 0.999}, stack)


def test_a_plan_throttled_past_its_backoff_is_retried_by_the_machine(
    harness: FinalizeHarness,
) -> None:
    """PlanFinalize's reads back off on their own; past that, it raises SageMakerThrottled
    (not a ClientError) and the machine retries the whole step instead of failing."""
    planner = FinalizePlanner(
        sagemaker_client(harness.session),
        harness.client("dynamodb"),
        harness.stack.physical("JobsTable"),
        backoff=Backoff(sleep=lambda seconds: None),
    )
    harness.sim.throttle_next(planner.backoff.attempts, operation="DescribeEndpoint")
    with pytest.raises(SageMakerThrottled):
        planner.describe_endpoint("churn-anything")
    plan = load_template()["Resources"]["FinalizeJobStateMachine"]["Properties"]
    definition = json.loads((ROOT / plan["DefinitionUri"]).read_text())
    retried = {e for r in definition["States"]["PlanFinalize"]["Retry"] for e in r["ErrorEquals"]}
    assert SageMakerThrottled.__name__ in retried
    # Fewer throttles than its backoff's attempts: answered as usual.
    harness.sim.throttle_next(planner.backoff.attempts - 1, operation="DescribeEndpoint")
    assert planner.describe_endpoint("churn-anything") is None


def test_a_leaderboard_throttled_past_its_backoff_is_retried_by_the_machine(
    harness: FinalizeHarness,
) -> None:
    """BuildLeaderboard lists candidates with its own backoff; past that it raises
    SageMakerThrottled and the machine retries the step, as for PlanFinalize."""
    name = harness.submit(churn("churn-board"))
    harness.sim.run_until_idle()
    writer = LeaderboardWriter(
        sagemaker_client(harness.session),
        harness.client("s3"),
        backoff=Backoff(sleep=lambda seconds: None),
    )
    harness.sim.throttle_next(writer.backoff.attempts, operation="ListCandidatesForAutoMLJob")
    with pytest.raises(SageMakerThrottled):
        writer.candidates(name)
    plan = load_template()["Resources"]["FinalizeJobStateMachine"]["Properties"]
    definition = json.loads((ROOT / plan["DefinitionUri"]).read_text())
    board = definition["States"]["BuildLeaderboard"]["Retry"]
    assert SageMakerThrottled.__name__ in {e for r in board for e in r["ErrorEquals"]}
    # Fewer throttles than its backoff's attempts: answered as usual.
    harness.sim.throttle_next(writer.backoff.attempts - 1, operation="ListCandidatesForAutoMLJob")
    assert writer.candidates(name)


# --- the trigger's rule pattern ------------------------------------------------------------

SAMPLE = json.loads((ROOT / "events" / "start_finalize" / "job-completed.json").read_text())
RULE = load_template()["Resources"]["StartFinalizeFunction"]["Properties"]


def _variant(**detail: Any) -> dict[str, Any]:
    return {**SAMPLE, "detail": {**SAMPLE["detail"], **detail}}


@pytest.mark.parametrize(
    ("event", "matches"),
    [
        (SAMPLE, True),
        (_variant(current={"status": "Failed", "secondaryStatus": "Failed"}), True),
        (_variant(current={"status": "Stopped", "secondaryStatus": "Stopped"}), True),
        (_variant(managed=False), False),
        (_variant(current={"status": "InProgress", "secondaryStatus": "TrainingModels"}), False),
        (_variant(current={"status": "Stopping", "secondaryStatus": "Stopping"}), False),
        ({**SAMPLE, "source": "someone-else"}, False),
    ],
    ids=["completed", "failed", "stopped", "unmanaged", "in-progress", "stopping", "other-source"],
)
def test_the_rule_starts_finalize_for_managed_final_states_only(
    event: dict[str, Any], matches: bool
) -> None:
    jsonschema.validate(SAMPLE, SCHEMAS["automl-job-state-change.json"])
    pattern = RULE["Events"]["JobEnded"]["Properties"]["Pattern"]
    # moto lacks TestEventPattern; its rules match with EventPattern, used here directly.
    assert EventPattern.load(json.dumps(pattern)).matches_event(event) is matches
