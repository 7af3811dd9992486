"""The governed release end to end on the offline stack (issue 13), driven as people drive it:
the CLI against the running stack, plain boto3 for what a person does in AWS itself (set an
alarm, make an endpoint by hand), and the events read from a queue subscribed with
``autopilot-flow subscribe``.

approval required -> registered, the endpoint unchanged -> ``approve`` -> rolled out by canary;
a canary whose rollback alarm goes into ALARM while it bakes -> rolled back, the old model
still live, ``AutoML Deployment Rolled Back``; ``rollback`` puts the previous job back;
``undeploy`` deletes this stack's endpoint and refuses a foreign one. Every wait is on a state
(polling), none on a fixed length of time.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from autopilot_flow.cli import main
from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"
WAIT = 120.0  # an upper bound for a state to be reached; never a pause


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineStack]:
    options = OfflineOptions(
        state_dir=tmp_path_factory.mktemp("offline"),
        speed=600.0,
    )
    with OfflineStack(options) as running:
        upload_example_data(running.client("s3"))
        yield running


class Events:
    """Every event of the stack's bus, through a queue subscribed as a team subscribes one."""

    def __init__(self, stack: OfflineStack, url: str) -> None:
        self.stack, self.url = stack, url
        self.seen: list[dict[str, Any]] = []

    def of(self, job: str) -> list[dict[str, Any]]:
        sqs = self.stack.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return [e for e in self.seen if e["detail"].get("jobName") == job]

    def kinds(self, job: str) -> list[str]:
        return [e["detail-type"] for e in self.of(job)]

    def one(self, job: str, kind: str) -> dict[str, Any]:
        (found,) = [e["detail"] for e in self.of(job) if e["detail-type"] == kind]
        return dict(found)


@pytest.fixture(scope="module")
def events(stack: OfflineStack) -> Events:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName="e2e-governed-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    state = str(stack.options.state_dir)
    code = main(
        ["subscribe", "--target-arn", arn, "--rule-name", "e2e-governed"]
        + ["--offline", "--state-dir", state]
    )
    assert code == 0
    return Events(stack, url)


@pytest.fixture
def cli(stack: OfflineStack, capsys: pytest.CaptureFixture[str]) -> Callable[..., Any]:
    state = str(stack.options.state_dir)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*args, "--offline", "--state-dir", state])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def until(stack: OfflineStack, predicate: Callable[[], Any], what: str) -> None:
    assert stack.wait_for(predicate, timeout=WAIT), f"never: {what}"


def alarm(stack: OfflineStack, name: str) -> str:
    """A rollback alarm of the team's own (the preflight checks that it exists), in OK."""
    cloudwatch = stack.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quiet")
    return name


def manifest(tmp_path: Path, name: str, endpoint: str, **sections: Any) -> Path:
    """The governed example, renamed onto ``endpoint``; ``sections`` replace whole sections
    (``Registry=None`` drops it); ``strategy`` fields go into ``Deployment.Strategy``."""
    document = yaml.safe_load((EXAMPLES / "churn-governed.yaml").read_text())
    document["AutoMLJobName"] = name
    document["Deployment"]["EndpointName"] = endpoint
    strategy = sections.pop("strategy", None)
    if strategy is not None:
        document["Deployment"]["Strategy"] = strategy
    for key, value in sections.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def canary(alarm_name: str, wait: int = 60) -> dict[str, Any]:
    return {
        "Type": "Canary",
        "StepPercent": 10,
        "WaitIntervalInSeconds": wait,
        "TerminationWaitInSeconds": 0,
        # Above both counts of the waits: ours (one bake and the termination wait) and the
        # offline model's (the canary's bake and the full fleet's).
        "MaximumExecutionTimeoutInSeconds": max(600, 3 * wait),
        "AutoRollbackAlarmNames": [alarm_name],
    }


def endpoint_row(cli: Any, endpoint: str) -> dict[str, Any]:
    code, out, err = cli("endpoints", "--json")
    assert code == 0, err
    rows = [r for r in json.loads(out)["endpoints"] if r["endpointName"] == endpoint]
    return dict(rows[0]) if rows else {}


def live_job(cli: Any, endpoint: str) -> Any:
    return endpoint_row(cli, endpoint).get("liveJob")


# The first model of each test's endpoint (a new instance endpoint, deployed at once), by
# endpoint: the four jobs run side by side, in one job's time rather than four.
BASES = {
    "e2e-governed-approve": "e2e-gov-approve-base",
    "e2e-governed-canary": "e2e-gov-canary-base",
    "e2e-governed-rollback": "e2e-gov-rollback-base",
    "e2e-governed-undeploy": "e2e-gov-undeploy-base",
}


def run_cli(stack: OfflineStack, *args: str) -> tuple[int, str, str]:
    """The CLI against the stack, outside a test (capsys is a test's own)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*args, "--offline", "--state-dir", str(stack.options.state_dir)])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bases(stack: OfflineStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every endpoint of BASES with its first model live: all submitted, then each watched
    until it ends, as ``submit --wait`` watches one."""
    directory = tmp_path_factory.mktemp("bases")
    for endpoint, name in BASES.items():
        path = manifest(directory, name, endpoint, Registry=None)
        document = yaml.safe_load(path.read_text())
        del document["Deployment"]["Strategy"]
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        code, out, err = run_cli(stack, "submit", str(path), "--via", "api")
        assert code == 0, out + err
    for endpoint, name in BASES.items():
        code, out, err = run_cli(stack, "watch", name, "--interval", "0.2")
        assert code == 0, out + err
        assert f"endpoint   {endpoint}  DEPLOYED" in out, out
        code, out, err = run_cli(stack, "endpoints", "--json")
        assert code == 0, err
        (row,) = [r for r in json.loads(out)["endpoints"] if r["endpointName"] == endpoint]
        assert row["liveJob"] == name
    return BASES


def config_of(stack: OfflineStack, endpoint: str) -> str:
    return str(
        stack.client("sagemaker").describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    )


def test_approval_required_waits_then_the_cli_approval_rolls_out_by_canary(
    stack: OfflineStack, cli: Any, events: Events, bases: dict[str, str], tmp_path: Path
) -> None:
    endpoint = "e2e-governed-approve"
    base = bases[endpoint]
    base_config = config_of(stack, endpoint)
    name = "e2e-gov-approve"
    path = manifest(tmp_path, name, endpoint, strategy=canary(alarm(stack, "e2e-approve-5xx")))
    code, out, err = cli("submit", str(path), "--via", "api")
    assert code == 0, out + err

    until(stack, lambda: "AutoML Model Registered" in events.kinds(name), "registered")
    registered = events.one(name, "AutoML Model Registered")
    assert registered["approvalStatus"] == "PendingManualApproval"
    assert registered["modelPackageGroupName"] == "churn-models"
    code, out, err = cli("status", name, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["deployment"]["state"] == "AWAITING_APPROVAL", shown["deployment"]
    # Nothing deployed while it waits: the endpoint still serves the first model.
    assert "AutoML Model Deployed" not in events.kinds(name)
    assert live_job(cli, endpoint) == base
    assert config_of(stack, endpoint) == base_config
    package = stack.client("sagemaker").describe_model_package(
        ModelPackageName=registered["modelPackageArn"]
    )
    assert package["ModelApprovalStatus"] == "PendingManualApproval"

    code, out, err = cli("approve", name, "--note", "reviewed the leaderboard")
    assert code == 0, out + err
    assert out.startswith(f"approved  {name}"), out
    until(stack, lambda: "AutoML Model Deployed" in events.kinds(name), "deployed")

    kinds = events.kinds(name)
    assert kinds.index("AutoML Model Registered") < kinds.index("AutoML Model Deployed")
    deployed = events.one(name, "AutoML Model Deployed")
    assert deployed["endpointName"] == endpoint
    assert deployed["change"] == "approved"
    assert deployed["modelPackageArn"] == registered["modelPackageArn"]
    assert "Canary" in json.dumps(deployed["strategy"])
    row = endpoint_row(cli, endpoint)
    assert row["liveJob"] == name and row["previousLiveJob"] == base
    assert row["modelPackageArn"] == registered["modelPackageArn"]
    described = stack.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] != base_config
    assert described["EndpointConfigName"] == deployed["endpointConfigName"]
    package = stack.client("sagemaker").describe_model_package(
        ModelPackageName=registered["modelPackageArn"]
    )
    assert package["ModelApprovalStatus"] == "Approved"
    assert "reviewed the leaderboard" in package["ApprovalDescription"]

    # A package is approved once: a second approval is refused and changes nothing.
    code, out, err = cli("approve", name)
    assert code == 1, out + err
    assert "is Approved, not PendingManualApproval" in err and "(HTTP 409)" in err
    assert live_job(cli, endpoint) == name


def test_a_canary_whose_alarm_fires_while_it_bakes_is_rolled_back(
    stack: OfflineStack, cli: Any, events: Events, bases: dict[str, str], tmp_path: Path
) -> None:
    endpoint = "e2e-governed-canary"
    base = bases[endpoint]
    base_config = config_of(stack, endpoint)
    alarm_name = alarm(stack, "e2e-canary-5xx")
    name = "e2e-gov-canary"
    # Registered Approved (no approval required) and rolled out at once; the canary bakes an
    # hour of the stack's clock (6 s at speed 600), so the alarm lands inside the bake.
    path = manifest(
        tmp_path,
        name,
        endpoint,
        Registry={"ModelPackageGroupName": "churn-canaries", "ApprovalRequired": False},
        strategy=canary(alarm_name, wait=3600),
    )
    code, out, err = cli("submit", str(path), "--via", "api")
    assert code == 0, out + err
    sagemaker, cloudwatch = stack.client("sagemaker"), stack.client("cloudwatch")

    def canary_baking() -> bool:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
        pending = described.get("PendingDeploymentSummary") or {}
        for variant in pending.get("ProductionVariants") or []:
            for status in variant.get("VariantStatus") or []:
                if status["Status"] == "Baking" and "canary capacity" in status["StatusMessage"]:
                    return True
        return False

    until(stack, canary_baking, "the canary bakes")
    try:
        cloudwatch.set_alarm_state(
            AlarmName=alarm_name, StateValue="ALARM", StateReason="5xx on the canary"
        )
        until(
            stack,
            lambda: "AutoML Deployment Rolled Back" in events.kinds(name),
            "rolled back",
        )
    finally:
        cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue="OK", StateReason="quiet")

    rolled = events.one(name, "AutoML Deployment Rolled Back")
    assert rolled["endpointName"] == endpoint
    assert rolled["alarm"] == alarm_name
    assert rolled["liveEndpointConfigName"] == base_config
    assert rolled["attemptedEndpointConfigName"] != base_config
    assert "AutoML Model Deployed" not in events.kinds(name)
    described = sagemaker.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == base_config
    # The old model is still live, for the inventory as for SageMaker.
    assert live_job(cli, endpoint) == base
    code, out, err = cli("endpoints")
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith(endpoint)]
    assert line.split()[1:3] == ["Live", base], line
    assert endpoint_row(cli, endpoint)["modelPackageArn"] != rolled["modelPackageArn"]
    code, out, err = cli("status", name, "--json")
    assert json.loads(out)["deployment"]["state"] == "ROLLED_BACK"


def test_rollback_puts_the_previous_job_back(
    stack: OfflineStack, cli: Any, events: Events, bases: dict[str, str], tmp_path: Path
) -> None:
    endpoint = "e2e-governed-rollback"
    base = bases[endpoint]
    base_config = config_of(stack, endpoint)
    name = "e2e-gov-rollback-next"
    path = manifest(
        tmp_path, name, endpoint, Registry=None, strategy=canary(alarm(stack, "e2e-rb-5xx"))
    )
    code, out, err = cli("submit", str(path), "--via", "api", "--wait", "--interval", "0.2")
    assert code == 0, out + err
    until(stack, lambda: live_job(cli, endpoint) == name, "the second job live")
    assert config_of(stack, endpoint) != base_config

    code, out, err = cli("rollback", endpoint)
    assert code == 0, out + err
    assert f"rolling back  {endpoint}  to {base}" in out, out
    until(
        stack,
        lambda: endpoint_row(cli, endpoint).get("lastChange") == "rollback",
        "rolled back on purpose",
    )
    row = endpoint_row(cli, endpoint)
    assert row["liveJob"] == base and row["previousLiveJob"] == name
    until(
        stack,
        lambda: sagemaker_status(stack, endpoint) == "InService",
        "the endpoint in service",
    )
    rollbacks = [
        e["detail"]
        for e in events.of(base)
        if e["detail-type"] == "AutoML Model Deployed" and e["detail"].get("change") == "rollback"
    ]
    assert len(rollbacks) == 1 and rollbacks[0]["endpointName"] == endpoint

    # Nothing to roll back to on an endpoint nobody has: refused, nothing started.
    code, out, err = cli("rollback", "e2e-no-such-endpoint")
    assert code != 0
    assert "e2e-no-such-endpoint" in out + err


def sagemaker_status(stack: OfflineStack, endpoint: str) -> str | None:
    """The endpoint's status, ``None`` once SageMaker cannot find it."""
    try:
        described = stack.client("sagemaker").describe_endpoint(EndpointName=endpoint)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ValidationException":
            raise
        return None
    return str(described["EndpointStatus"])


def foreign_endpoint(stack: OfflineStack, name: str) -> None:
    """An endpoint someone made by hand in the same account: never this stack's."""
    sagemaker = stack.client("sagemaker")
    sagemaker.create_model(
        ModelName=f"{name}-model", PrimaryContainer={"Image": IMAGE}, ExecutionRoleArn=ROLE
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
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    until(stack, lambda: sagemaker_status(stack, name) == "InService", "the foreign endpoint")


def test_undeploy_deletes_this_stacks_endpoint_and_refuses_a_foreign_one(
    stack: OfflineStack, cli: Any, bases: dict[str, str]
) -> None:
    foreign = "e2e-hand-made"
    foreign_endpoint(stack, foreign)
    code, out, err = cli("undeploy", foreign, "--yes")
    assert code == 1, out + err
    assert "was not created by this stack" in err and "(HTTP 403)" in err
    assert sagemaker_status(stack, foreign) == "InService"
    code, out, err = cli("rollback", foreign)
    assert code == 1 and "was not created by this stack" in err and "(HTTP 403)" in err

    endpoint = "e2e-governed-undeploy"
    base = bases[endpoint]
    code, out, err = cli("undeploy", endpoint, "--yes")
    assert code == 0, out + err
    assert endpoint in out and base in out
    until(stack, lambda: sagemaker_status(stack, endpoint) is None, "the endpoint deleted")
    row = endpoint_row(cli, endpoint)
    assert row["undeployedAt"] and row["undeployedBy"]
    assert sagemaker_status(stack, foreign) == "InService"  # only its own
