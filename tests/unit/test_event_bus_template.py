"""The bus's door for other teams in template.yaml: the subscriber bus policies (rule management
of their own rules only, never PutEvents), their conditions, and the archive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from offline.lambda_runtime import lambda_environment
from offline.provision import ACCOUNT, Provisioner
from offline.template import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]
BUS_POLICIES = {
    logical_id: resource
    for logical_id, resource in RESOURCES.items()
    if resource["Type"] == "AWS::Events::EventBusPolicy"
}
# What a subscriber needs to keep its own rules on our bus, as AWS documents for shared buses.
RULE_MANAGEMENT = {
    "events:PutRule",
    "events:DeleteRule",
    "events:DescribeRule",
    "events:EnableRule",
    "events:DisableRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
}


def test_subscribers_get_one_policy_per_kind_of_principal() -> None:
    assert set(BUS_POLICIES) == {"SubscriberOrganizationPolicy", "SubscriberAccountsPolicy"}
    assert BUS_POLICIES["SubscriberOrganizationPolicy"]["Condition"] == "HasSubscriberOrganization"
    assert BUS_POLICIES["SubscriberAccountsPolicy"]["Condition"] == "HasSubscriberAccounts"
    for parameter in ("SubscriberOrganizationId", "SubscriberAccountIds"):
        assert TEMPLATE["Parameters"][parameter]["Default"] == ""


@pytest.mark.parametrize("logical_id", sorted(BUS_POLICIES))
def test_subscribers_manage_only_the_rules_they_created(logical_id: str) -> None:
    props = BUS_POLICIES[logical_id]["Properties"]
    assert props["EventBusName"] == {"Ref": "EventBus"}
    statement = props["Statement"]
    assert statement["Effect"] == "Allow"
    actions = (
        statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    )
    assert set(actions) == RULE_MANAGEMENT
    assert not any("PutEvents" in a or a.endswith("*") for a in actions)
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}"
        ":rule/${EventBus}/*"
    }
    assert statement["Condition"]["StringEqualsIfExists"] == {
        "events:creatorAccount": "${aws:PrincipalAccount}"
    }


def test_the_organisation_statement_is_limited_to_the_organisation() -> None:
    statement = BUS_POLICIES["SubscriberOrganizationPolicy"]["Properties"]["Statement"]
    assert statement["Principal"] == "*"
    assert statement["Condition"]["StringEquals"] == {
        "aws:PrincipalOrgID": {"Ref": "SubscriberOrganizationId"}
    }
    accounts = BUS_POLICIES["SubscriberAccountsPolicy"]["Properties"]["Statement"]
    assert accounts["Principal"] == {"AWS": {"Ref": "SubscriberAccountIds"}}


def test_nothing_else_may_put_events_on_the_bus() -> None:
    text = json.dumps({k: v for k, v in RESOURCES.items() if k in BUS_POLICIES})
    assert "PutEvents" not in text and '"events:*"' not in text


def test_the_archive_keeps_every_event_of_the_bus() -> None:
    archives = [r for r in RESOURCES.values() if r["Type"] == "AWS::Events::Archive"]
    assert len(archives) == 1
    props = archives[0]["Properties"]
    assert props["SourceArn"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert props["EventPattern"] == {"source": ["autopilot-flow"]}
    assert props["RetentionDays"] == {"Ref": "EventArchiveRetentionDays"}
    assert TEMPLATE["Parameters"]["EventArchiveRetentionDays"]["Default"] == 30
    outputs = TEMPLATE["Outputs"]
    assert outputs["EventArchiveArn"]["Value"] == {"Fn::GetAtt": ["EventArchive", "Arn"]}
    assert outputs["EventBusArn"]["Value"] == {"Fn::GetAtt": ["EventBus", "Arn"]}


# --- the conditions, evaluated: provisioned into moto as the offline stack does ---------------


@pytest.fixture
def session() -> Iterator[boto3.session.Session]:
    with lambda_environment(), mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def bus_policy(session: boto3.session.Session, parameters: dict[str, str]) -> dict[str, Any]:
    stack = Provisioner(session, parameters=parameters).provision()
    bus = session.client("events").describe_event_bus(Name=stack.physical("EventBus"))
    return json.loads(bus["Policy"]) if "Policy" in bus else {}


def test_no_policy_without_subscribers(session: boto3.session.Session) -> None:
    assert bus_policy(session, {}) == {}


def test_subscriber_accounts_get_their_statement(session: boto3.session.Session) -> None:
    policy = bus_policy(session, {"SubscriberAccountIds": "111122223333,444455556666"})
    [statement] = policy["Statement"]
    assert statement["Sid"] == "SubscriberAccountsManageOwnRules"
    assert statement["Principal"] == {"AWS": ["111122223333", "444455556666"]}
    assert statement["Resource"] == (
        f"arn:aws:events:us-east-1:{ACCOUNT}:rule/autopilot-flow-events/*"
    )


def test_an_organisation_gets_its_statement(session: boto3.session.Session) -> None:
    policy = bus_policy(session, {"SubscriberOrganizationId": "o-a1b2c3d4e5"})
    [statement] = policy["Statement"]
    assert statement["Sid"] == "SubscriberOrganizationManagesOwnRules"
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}


def test_the_archive_is_created_with_its_retention(session: boto3.session.Session) -> None:
    stack = Provisioner(session, parameters={"EventArchiveRetentionDays": "7"}).provision()
    archive = session.client("events").describe_archive(ArchiveName=stack.physical("EventArchive"))
    assert archive["EventSourceArn"] == stack.attribute("EventBus", "Arn")
    assert archive["RetentionDays"] == 7
