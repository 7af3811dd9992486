"""A subscriber's kit on the whole offline stack: ``subscribe`` a queue, upload a manifest, get
exactly the asked-for event; ``replay`` it from the archive (marked as a replay); ``unsubscribe``
and get nothing more. The stack's own rule (FinalizeJob's trigger) never sees a replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from autopilot_flow import events as ev
from autopilot_flow.cli import main
from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineStack]:
    options = OfflineOptions(
        state_dir=tmp_path_factory.mktemp("offline"),
        speed=600.0,
    )
    with OfflineStack(options) as running:
        upload_example_data(running.client("s3"))
        yield running


@pytest.fixture
def cli(stack: OfflineStack, capsys: pytest.CaptureFixture[str]) -> Any:
    state = str(stack.options.state_dir)

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--offline", "--state-dir", state])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def queue(stack: OfflineStack, name: str) -> tuple[str, str]:
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def drain(stack: OfflineStack, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def collect(stack: OfflineStack, url: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """Messages of the queue until ``count`` arrived or ``timeout`` seconds passed."""
    got: list[dict[str, Any]] = []

    def enough() -> bool:
        got.extend(drain(stack, url))
        return len(got) >= count

    stack.wait_for(enough, timeout=timeout)
    return got


def upload(cli: Any, tmp_path: Path, name: str) -> None:
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document["AutoMLJobName"] = name
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    code, _, err = cli("submit", str(path), "--via", "s3")
    assert code == 0, err


def test_subscribe_replay_unsubscribe(stack: OfflineStack, cli: Any, tmp_path: Path) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    url, arn = queue(stack, "team-submitted")
    control_url, control_arn = queue(stack, "team-control")

    code, out, err = cli(
        "subscribe", "--target-arn", arn, "--detail-type", ev.JOB_SUBMITTED, "--json"
    )
    assert code == 0, err
    made = json.loads(out)
    assert made["pattern"] == {"source": ["autopilot-flow"], "detail-type": [ev.JOB_SUBMITTED]}
    rule = made["ruleName"]
    policy = json.loads(
        stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])[
            "Attributes"
        ]["Policy"]
    )
    [statement] = policy["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": made["ruleArn"]}}
    code, out, err = cli("subscribe", "--target-arn", control_arn, "--rule-name", "team-control")
    assert code == 0, err
    assert '"source": [' in out and "unsubscribe --rule-name team-control --offline" in out

    # The manifest -> exactly its Job Submitted event, nothing else (state changes follow).
    upload(cli, tmp_path, "sub-churn-1")
    [first] = collect(stack, url, 1)
    assert first["detail-type"] == ev.JOB_SUBMITTED
    assert first["detail"]["jobName"] == "sub-churn-1"
    assert first["detail"]["schemaVersion"] == ev.schema_version(ev.JOB_SUBMITTED)
    assert "replay-name" not in first
    assert stack.wait_for(
        lambda: any(
            e["detail-type"] == ev.JOB_STATE_CHANGE
            for e in collect(stack, control_url, 1, timeout=1)
        ),
        timeout=60,
    ), "the job's state changes were published"
    assert drain(stack, url) == []

    # A replay since the start, to every subscriber rule and to none of the stack's own (a
    # replayed job end must not finalize a job again): the same event, marked as a replay.
    drain(stack, control_url)
    code, out, err = cli("replay", "--since", started.isoformat(), "--interval", "0.1", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["state"] == "COMPLETED"
    assert sorted(report["rules"]) == sorted([rule, "team-control"])
    [replayed] = collect(stack, url, 1)
    assert replayed["detail"] == first["detail"]
    assert replayed["replay-name"] == report["replayName"]
    assert replayed["id"] != first["id"]
    # The control rule asked for every event: it gets the replayed ones (and live ones, as the
    # job goes on).
    replays = [e for e in collect(stack, control_url, 2, timeout=5) if "replay-name" in e]
    assert {e["replay-name"] for e in replays} == {report["replayName"]}
    assert ev.JOB_SUBMITTED in {e["detail-type"] for e in replays}

    # Unsubscribe: the rule and the queue's permission go; the next job reaches only the control.
    code, out, err = cli("unsubscribe", "--rule-name", rule, "--json")
    assert code == 0, err
    assert json.loads(out) == {"ruleName": rule, "removedTargets": [arn]}
    attributes = stack.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    assert "Policy" not in attributes.get("Attributes", {})
    drain(stack, control_url)
    upload(cli, tmp_path, "sub-churn-2")
    assert stack.wait_for(
        lambda: any(
            e["detail"].get("jobName") == "sub-churn-2" for e in collect(stack, control_url, 1, 1)
        ),
        timeout=60,
    )
    assert drain(stack, url) == []


def test_a_replay_delivers_only_its_window(stack: OfflineStack, cli: Any) -> None:
    url, arn = queue(stack, "team-late")
    code, _, err = cli(
        "subscribe", "--target-arn", arn, "--rule-name", "team-late", "--job", "late"
    )
    assert code == 0, err
    detail = ev.versioned(ev.JOB_SUBMITTED, {"jobName": "late"})
    stack.client("events").put_events(
        Entries=[
            {
                "Source": ev.SOURCE,
                "DetailType": ev.JOB_SUBMITTED,
                "Detail": json.dumps(detail),
                "EventBusName": "autopilot-flow-events",
            }
        ]
    )
    assert [e["detail"] for e in collect(stack, url, 1)] == [detail]
    # moto would replay the whole archive whatever the window: the offline stack does not.
    code, out, err = cli(
        "replay",
        "--since",
        "2020-01-01T00:00:00Z",
        "--until",
        "2020-01-02T00:00:00Z",
        "--rule-name",
        "team-late",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["state"] == "COMPLETED"
    assert collect(stack, url, 1, timeout=2) == []
    code, out, err = cli("replay", "--since", "10m", "--rule-name", "team-late", "--json")
    assert code == 0, err
    [replayed] = collect(stack, url, 1)
    assert replayed["detail"] == detail
    assert replayed["replay-name"] == json.loads(out)["replayName"]
    assert cli("unsubscribe", "--rule-name", "team-late")[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["subscribe", "--target-arn", "not-an-arn"], "is not an ARN"),
        (
            ["subscribe", "--target-arn", "arn:aws:s3:::bucket"],
            "a target is an SQS queue, a Lambda function, an SNS topic or an event bus",
        ),
        (
            [
                "subscribe",
                "--target-arn",
                "arn:aws:sqs:us-east-1:123456789012:q",
                "--rule-name",
                "autopilot-flow-mine",
            ],
            "belong to the stack",
        ),
        (["unsubscribe", "--rule-name", "no-such-rule"], "no rule no-such-rule"),
        (["replay", "--since", "yesterday"], "is not a time"),
        (["replay", "--since", "1d", "--rule-name", "nobody"], "no subscriber rule nobody"),
    ],
    ids=["not-an-arn", "unsupported", "stack-name", "no-rule", "bad-time", "unknown-rule"],
)
def test_usage_errors_exit_2_without_a_traceback(cli: Any, args: list[str], message: str) -> None:
    code, _, err = cli(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and "Exception" not in err


def test_the_stack_rules_are_not_a_subscriber_s(stack: OfflineStack, cli: Any) -> None:
    rules = stack.client("events").list_rules(EventBusName="autopilot-flow-events")["Rules"]
    own = [r["Name"] for r in rules if r["Name"].startswith("autopilot-flow-")]
    assert own, "FinalizeJob's trigger rule is on the bus"
    code, _, err = cli("unsubscribe", "--rule-name", own[0])
    assert code == 2 and "belong to the stack" in err
