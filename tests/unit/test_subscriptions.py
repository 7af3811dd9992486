"""subscriptions.py against moto: every kind of target, the permissions granted and taken back,
what is refused, and which rules a replay goes to."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from autopilot_flow import events as ev
from autopilot_flow.subscriptions import (
    Bus,
    Replayer,
    Subscriber,
    SubscriptionError,
    default_rule_name,
    event_pattern,
    parse_time,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"


@pytest.fixture
def session() -> Iterator[boto3.session.Session]:
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def bus(session: boto3.session.Session) -> Bus:
    events = session.client("events")
    arn = events.create_event_bus(Name="autopilot-flow-events")["EventBusArn"]
    archive = events.create_archive(ArchiveName="archive", EventSourceArn=arn)["ArchiveArn"]
    # The stack's own rule (FinalizeJob's trigger), as SAM names it.
    events.put_rule(
        Name="autopilot-flow-StartFinalizeFunctionJobEnded-1A2B",
        EventBusName="autopilot-flow-events",
        EventPattern=json.dumps({"source": ["autopilot-flow"]}),
    )
    return Bus("autopilot-flow-events", arn, archive, "autopilot-flow")


def subscriber(session: boto3.session.Session, bus: Bus) -> Subscriber:
    return Subscriber(session.client, bus, ACCOUNT)


def test_the_pattern_asks_for_the_service_events_of_these_types_and_job() -> None:
    assert event_pattern() == {"source": ["autopilot-flow"]}
    assert event_pattern([ev.JOB_SUBMITTED, ev.JOB_REJECTED, ev.JOB_SUBMITTED], "churn") == {
        "source": ["autopilot-flow"],
        "detail-type": [ev.JOB_SUBMITTED, ev.JOB_REJECTED],
        "detail": {"jobName": ["churn"]},
    }
    with pytest.raises(SubscriptionError, match="no event 'AutoML Job Done'"):
        event_pattern(["AutoML Job Done"])
    name = default_rule_name("arn:aws:lambda:us-east-1:1:function:team-fn:live", event_pattern())
    assert name.startswith("subscriber-team-fn-") and len(name) <= 64


def test_a_topic_gets_a_statement_for_the_rule_only(
    session: boto3.session.Session, bus: Bus
) -> None:
    sns = session.client("sns")
    topic = sns.create_topic(Name="team-topic")["TopicArn"]
    made = subscriber(session, bus).subscribe(topic, [ev.DEPLOYMENT_FAILED])
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    mine = [s for s in policy["Statement"] if s.get("Sid") == f"autopilot-flow-{made.rule_name}"]
    assert mine == [
        {
            "Sid": f"autopilot-flow-{made.rule_name}",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"ArnEquals": {"aws:SourceArn": made.rule_arn}},
        }
    ]
    events = session.client("events")
    [target] = events.list_targets_by_rule(Rule=made.rule_name, EventBusName=bus.name)["Targets"]
    assert target["Arn"] == topic
    assert subscriber(session, bus).unsubscribe(made.rule_name) == [topic]
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert all(s.get("Sid") != f"autopilot-flow-{made.rule_name}" for s in policy["Statement"])
    with pytest.raises(SubscriptionError, match="no rule"):
        subscriber(session, bus).unsubscribe(made.rule_name)


def _function(session: boto3.session.Session) -> str:
    iam = session.client("iam")
    role = iam.create_role(
        RoleName="fn",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return str(
        session.client("lambda").create_function(
            FunctionName="team-fn",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
    )


def test_a_function_gets_an_invoke_permission_for_the_rule(
    session: boto3.session.Session, bus: Bus
) -> None:
    function = _function(session)
    made = subscriber(session, bus).subscribe(function, job="churn", rule_name="team-fn")
    lam = session.client("lambda")
    [statement] = json.loads(lam.get_policy(FunctionName=function)["Policy"])["Statement"]
    assert statement["Sid"] == "autopilot-flow-team-fn"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == made.rule_arn
    # Subscribing again (same rule) replaces the permission instead of failing on it.
    subscriber(session, bus).subscribe(function, job="churn", rule_name="team-fn")
    subscriber(session, bus).unsubscribe("team-fn")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):  # no statement left
        lam.get_policy(FunctionName=function)


def test_a_target_in_another_account_is_left_to_its_owner(
    session: boto3.session.Session, bus: Bus
) -> None:
    queue = "arn:aws:sqs:us-east-1:111122223333:their-queue"
    made = subscriber(session, bus).subscribe(queue, rule_name="their-queue")
    assert "account 111122223333: its owner must let events.amazonaws.com deliver" in (
        made.permission
    )
    assert subscriber(session, bus).unsubscribe("their-queue") == [queue]


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        (f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/team", {}, "needs --role-arn"),
        (f"arn:aws:events:us-east-1:{ACCOUNT}:rule/x", {}, "a target is an SQS queue"),
        ("arn:aws:states:us-east-1:1:stateMachine:x", {}, "a target is an SQS queue"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", {"rule_name": "bad name"}, "1 to 64 letters"),
        (f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing", {"rule_name": "r"}, "no queue missing"),
    ],
    ids=["bus-without-role", "not-a-bus", "step-functions", "rule-name", "missing-queue"],
)
def test_refusals(
    session: boto3.session.Session, bus: Bus, target: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(SubscriptionError, match=message) as caught:
        subscriber(session, bus).subscribe(target, **kwargs)
    assert caught.value.usage
    # Nothing is left behind: no rule without its target.
    rules = session.client("events").list_rules(EventBusName=bus.name)["Rules"]
    assert [r["Name"] for r in rules if "ManagedBy" not in r] == [
        "autopilot-flow-StartFinalizeFunctionJobEnded-1A2B"
    ]


def test_a_bus_in_this_account_is_reached_with_the_role(
    session: boto3.session.Session, bus: Bus
) -> None:
    team_bus = session.client("events").create_event_bus(Name="team")["EventBusArn"]
    role = f"arn:aws:iam::{ACCOUNT}:role/deliver-to-team"
    made = subscriber(session, bus).subscribe(team_bus, rule_name="to-team", role_arn=role)
    [target] = session.client("events").list_targets_by_rule(
        Rule=made.rule_name, EventBusName=bus.name
    )["Targets"]
    assert target["RoleArn"] == role


def test_a_replay_goes_to_subscriber_rules_that_ask_for_its_events(
    session: boto3.session.Session, bus: Bus
) -> None:
    events = session.client("events")
    for name, pattern in {
        "submitted": {"source": ["autopilot-flow"], "detail-type": [ev.JOB_SUBMITTED]},
        "either": {
            "source": ["autopilot-flow"],
            "$or": [{"detail-type": [ev.MODEL_DEPLOYED]}, {"detail-type": [ev.JOB_SUBMITTED]}],
        },
        "failures": {"source": ["autopilot-flow"], "detail-type": [ev.DEPLOYMENT_FAILED]},
        "everything": {"source": ["autopilot-flow"]},
    }.items():
        events.put_rule(Name=name, EventBusName=bus.name, EventPattern=json.dumps(pattern))
    replayer = Replayer(session.client, bus)
    now = datetime.now(UTC)
    plan = replayer.plan(now - timedelta(days=1), now, detail_types=[ev.JOB_SUBMITTED])
    assert sorted(plan.rules) == ["either", "everything", "submitted"]  # never the stack's
    plan = replayer.plan(now - timedelta(days=1), now)
    assert "autopilot-flow-StartFinalizeFunctionJobEnded-1A2B" not in plan.rules
    assert len(plan.rules) == 4
    plan = replayer.plan(now - timedelta(days=1), now, rule_names=["failures"])
    assert list(plan.rules) == ["failures"]
    with pytest.raises(SubscriptionError, match="no subscriber rule"):
        replayer.plan(
            now - timedelta(days=1),
            now,
            detail_types=[ev.NOTIFICATION_FAILED],
            rule_names=["failures"],
        )
    with pytest.raises(SubscriptionError, match="--since must be before --until"):
        replayer.plan(now, now - timedelta(days=1))


def test_times_are_iso_or_back_from_now() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    assert parse_time("36h", now) == now - timedelta(hours=36)
    assert parse_time("90m", now) == now - timedelta(minutes=90)
    assert parse_time("7d", now) == now - timedelta(days=7)
    assert parse_time("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_time("2026-12-01T08:00:00+01:00") == datetime(2026, 12, 1, 7, tzinfo=UTC)
    with pytest.raises(SubscriptionError, match="is not a time"):
        parse_time("last week")


def test_the_patterns_of_the_subscribing_guide_are_valid() -> None:
    from moto.events.models import EventPattern

    from offline.template import ROOT

    doc = (ROOT / "docs" / "subscribing.md").read_text(encoding="utf-8")
    patterns = [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", doc, flags=re.DOTALL)]
    assert len(patterns) == 4
    failure = {"source": "autopilot-flow", "detail-type": ev.JOB_REJECTED, "detail": {}}
    for pattern in patterns:
        assert pattern["source"] == [ev.SOURCE]
        EventPattern.load(json.dumps(pattern))  # moto's parser, the one its rules use
    assert EventPattern.load(json.dumps(patterns[1])).matches_event(failure)
