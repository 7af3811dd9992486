"""Subscribing to the service's events: rules on its bus, and replays from its archive.

``autopilot-flow subscribe|unsubscribe|replay`` (client.py wires them; docs/subscribing.md).
``subscribe`` puts a rule on the stack's bus for one target (an SQS queue, a Lambda function,
an SNS topic or another event bus) and, when the target is in the caller's account, the
target's resource policy that lets this rule (and only it) deliver. ``replay`` starts an
EventBridge replay from the bus's archive, to subscriber rules only, and follows it to its end.

The stack's own rules (named ``<stack>-...``, as SAM and the offline stack name them) and
rules AWS manages (an archive's) are never touched and never receive replays: replaying a job's
end into FinalizeJob's rule would finalize it again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from autopilot_flow import events as ev

DETAIL_TYPES = tuple(
    value for name, value in vars(ev).items() if name.isupper() and str(value).startswith("AutoML ")
)
TARGET_SERVICES = ("sqs", "lambda", "sns", "events")
REPLAY_DONE = ("COMPLETED", "FAILED", "CANCELLED")
# Error codes meaning "no such rule, function, topic or queue": a usage error, exit 2.
MISSING = (
    "ResourceNotFoundException",
    "NotFound",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
)
_RULE_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")


class SubscriptionError(Exception):
    """A problem with what was asked (``usage``) or with what AWS answered."""

    def __init__(self, message: str, usage: bool = True) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Bus:
    """The stack's bus and archive (CloudFormation outputs, or the offline stack.json)."""

    name: str
    arn: str
    archive_arn: str | None
    stack_name: str

    def owns(self, rule_name: str) -> bool:
        return rule_name.startswith(f"{self.stack_name}-")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str
    text: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
            raise SubscriptionError(f"{text!r} is not an ARN")
        return cls(parts[1], parts[2], parts[3], parts[4], parts[5], text)

    @property
    def name(self) -> str:
        """The resource's name: a queue, topic, ``function:<name>`` or ``event-bus/<name>``."""
        if self.service == "lambda":  # function:<name>[:<alias or version>]
            return self.resource.split(":")[1] if ":" in self.resource else self.resource
        return self.resource.rsplit("/", 1)[-1]


# --- patterns -----------------------------------------------------------------------------------


def check_detail_types(detail_types: Iterable[str]) -> list[str]:
    chosen: list[str] = []
    for detail_type in detail_types:
        if detail_type not in DETAIL_TYPES:
            known = ", ".join(DETAIL_TYPES)
            raise SubscriptionError(f"no event {detail_type!r}: the events are {known}")
        if detail_type not in chosen:
            chosen.append(detail_type)
    return chosen


def event_pattern(detail_types: Iterable[str] = (), job: str | None = None) -> dict[str, Any]:
    """The rule's pattern: the service's events, of these detail-types, of this job."""
    pattern: dict[str, Any] = {"source": [ev.SOURCE]}
    chosen = check_detail_types(detail_types)
    if chosen:
        pattern["detail-type"] = chosen
    if job:
        pattern["detail"] = {"jobName": [job]}
    return pattern


def default_rule_name(target_arn: str, pattern: dict[str, Any]) -> str:
    """``subscriber-<target name>-<hash of target and pattern>``: one rule per pair."""
    digest = hashlib.sha256(
        (target_arn + json.dumps(pattern, sort_keys=True)).encode()
    ).hexdigest()[:8]
    stem = re.sub(r"[^\.\-_A-Za-z0-9]", "-", Arn.parse(target_arn).name)[:44]
    return f"subscriber-{stem}-{digest}"


# --- subscribe / unsubscribe --------------------------------------------------------------------


@dataclass
class Subscription:
    rule_name: str
    rule_arn: str
    target_arn: str
    pattern: dict[str, Any]
    permission: str  # what was granted on the target, or what its owner must grant

    def to_dict(self) -> dict[str, Any]:
        return {
            "ruleName": self.rule_name,
            "ruleArn": self.rule_arn,
            "targetArn": self.target_arn,
            "pattern": self.pattern,
            "permission": self.permission,
        }


def _statement_id(rule_name: str) -> str:
    return f"autopilot-flow-{rule_name}"[:100]


def _check_rule_name(bus: Bus, rule_name: str) -> None:
    if not _RULE_NAME.match(rule_name):
        raise SubscriptionError(
            f"rule name {rule_name!r}: 1 to 64 letters, digits, '.', '-' or '_'"
        )
    if bus.owns(rule_name):
        raise SubscriptionError(
            f"rule name {rule_name!r}: names starting {bus.stack_name}- belong to the stack"
        )


@dataclass
class Subscriber:
    """Creates and removes subscriber rules; ``client(service)`` gives boto3 clients."""

    client: Callable[[str], Any]
    bus: Bus
    caller_account: str

    def subscribe(
        self,
        target_arn: str,
        detail_types: Iterable[str] = (),
        job: str | None = None,
        rule_name: str | None = None,
        role_arn: str | None = None,
    ) -> Subscription:
        target = Arn.parse(target_arn)
        if target.service not in TARGET_SERVICES or (
            target.service == "events" and not target.resource.startswith("event-bus/")
        ):
            raise SubscriptionError(
                f"{target_arn}: a target is an SQS queue, a Lambda function, an SNS topic "
                "or an event bus"
            )
        same_account_bus = target.service == "events" and target.account == self.caller_account
        if same_account_bus and not role_arn:
            raise SubscriptionError(
                "a bus in this account as target needs --role-arn: a role EventBridge assumes, "
                "allowed events:PutEvents on that bus"
            )
        pattern = event_pattern(detail_types, job)
        name = rule_name or default_rule_name(target_arn, pattern)
        _check_rule_name(self.bus, name)
        events = self.client("events")
        existed = self._rule_exists(name)
        rule_arn = _aws(
            lambda: events.put_rule(
                Name=name,
                EventBusName=self.bus.name,
                EventPattern=json.dumps(pattern),
                State="ENABLED",
                Description=f"autopilot-flow subscribe: events to {target_arn}"[:512],
            )["RuleArn"],
            f"cannot create the rule {name}",
        )
        try:
            permission = self._connect(target, rule_arn, name, role_arn)
        except SubscriptionError:
            if not existed:  # no rule left behind without its target
                _ignore_missing(lambda: events.delete_rule(Name=name, EventBusName=self.bus.name))
            raise
        return Subscription(name, rule_arn, target_arn, pattern, permission)

    def _rule_exists(self, name: str) -> bool:
        try:
            _aws(
                lambda: self.client("events").describe_rule(Name=name, EventBusName=self.bus.name),
                f"cannot read the rule {name}",
            )
        except SubscriptionError as exc:
            if exc.usage:
                return False
            raise
        return True

    def _connect(self, target: Arn, rule_arn: str, name: str, role_arn: str | None) -> str:
        """The target's permission (when in this account), then the target itself."""
        if target.account == self.caller_account:
            permission = self._grant(target, rule_arn, name)
        else:
            permission = (
                f"{target.text} is in account {target.account}: its owner must let "
                f"events.amazonaws.com deliver from {rule_arn}"
            )
        entry: dict[str, Any] = {"Id": "subscriber", "Arn": target.text}
        if role_arn:
            entry["RoleArn"] = role_arn
        events = self.client("events")
        answer = _aws(
            lambda: events.put_targets(Rule=name, EventBusName=self.bus.name, Targets=[entry]),
            f"cannot add the target to the rule {name}",
        )
        if answer.get("FailedEntryCount"):
            failed = answer["FailedEntries"][0]
            raise SubscriptionError(
                f"the rule {name} refused the target: {failed.get('ErrorMessage')}", usage=False
            )
        return permission

    def _grant(self, target: Arn, rule_arn: str, rule_name: str) -> str:
        sid = _statement_id(rule_name)
        arn = target.text
        if target.service == "lambda":
            lam = self.client("lambda")
            # Subscribing again replaces the statement (AWS refuses a second one of this Sid).
            self._revoke_invoke(arn, sid)
            _aws(
                lambda: lam.add_permission(
                    FunctionName=arn,
                    StatementId=sid,
                    Action="lambda:InvokeFunction",
                    Principal="events.amazonaws.com",
                    SourceArn=rule_arn,
                ),
                f"cannot let the rule invoke {arn}",
            )
            return f"lambda permission {sid} on {arn}"
        if target.service == "events":
            return "the target bus is reached with the given role"
        statement = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage" if target.service == "sqs" else "sns:Publish",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }
        self._edit_policy(target, lambda statements: [*_without(statements, sid), statement])
        kind = "queue" if target.service == "sqs" else "topic"
        return f"{kind} policy statement {sid} on {arn}"

    def _revoke_invoke(self, function_arn: str, sid: str) -> None:
        lam = self.client("lambda")
        _ignore_missing(lambda: lam.remove_permission(FunctionName=function_arn, StatementId=sid))

    def _edit_policy(
        self, target: Arn, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    ) -> None:
        """Read, change and write the queue's or topic's resource policy."""
        if target.service == "sqs":
            sqs = self.client("sqs")
            url = _aws(
                lambda: sqs.get_queue_url(
                    QueueName=target.resource, QueueOwnerAWSAccountId=target.account
                )["QueueUrl"],
                f"no queue {target.resource}",
            )
            attributes = _aws(
                lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]),
                f"cannot read the policy of {target.resource}",
            ).get("Attributes", {})
            policy = json.loads(attributes.get("Policy") or '{"Version": "2012-10-17"}')
            policy["Statement"] = change(_statements(policy))
            # A policy without statements is refused: an empty string removes the policy.
            text = json.dumps(policy) if policy["Statement"] else ""
            _aws(
                lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": text}),
                f"cannot write the policy of {target.resource}",
            )
            return
        sns = self.client("sns")
        arn = target.text
        attributes = _aws(
            lambda: sns.get_topic_attributes(TopicArn=arn)["Attributes"], f"no topic {arn}"
        )
        policy = json.loads(attributes.get("Policy") or '{"Version": "2012-10-17"}')
        policy["Statement"] = change(_statements(policy))
        _aws(
            lambda: sns.set_topic_attributes(
                TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy)
            ),
            f"cannot write the policy of {arn}",
        )

    def unsubscribe(self, rule_name: str) -> list[str]:
        """Remove the rule, its targets and the permissions ``subscribe`` granted; returns the
        targets it had."""
        _check_rule_name(self.bus, rule_name)
        events = self.client("events")
        rule = _aws(
            lambda: events.describe_rule(Name=rule_name, EventBusName=self.bus.name),
            f"no rule {rule_name} on the bus {self.bus.name}",
        )
        if rule.get("ManagedBy"):
            raise SubscriptionError(f"the rule {rule_name} is managed by {rule['ManagedBy']}")
        targets = _aws(
            lambda: events.list_targets_by_rule(Rule=rule_name, EventBusName=self.bus.name),
            f"cannot list the targets of {rule_name}",
        ).get("Targets", [])
        if targets:
            _aws(
                lambda: events.remove_targets(
                    Rule=rule_name, EventBusName=self.bus.name, Ids=[t["Id"] for t in targets]
                ),
                f"cannot remove the targets of {rule_name}",
            )
        _aws(
            lambda: events.delete_rule(Name=rule_name, EventBusName=self.bus.name),
            f"cannot delete the rule {rule_name}",
        )
        sid = _statement_id(rule_name)
        for target in targets:
            arn = Arn.parse(target["Arn"])
            if arn.account != self.caller_account:
                continue
            if arn.service == "lambda":
                self._revoke_invoke(arn.text, sid)
            elif arn.service in ("sqs", "sns"):
                self._edit_policy(arn, lambda statements: _without(statements, sid))
        return [str(t["Arn"]) for t in targets]


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return list(statements) if isinstance(statements, list) else [statements]


def _without(statements: list[dict[str, Any]], sid: str) -> list[dict[str, Any]]:
    return [s for s in statements if s.get("Sid") != sid]


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str((response or {}).get("Error", {}).get("Code", "")) if response else ""


def _aws(call: Callable[[], Any], what: str) -> Any:
    """Run one AWS call; its failure becomes a plain message (the AWS message, no trace)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        return call()
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message") or "refused"
        missing = _error_code(exc) in MISSING
        raise SubscriptionError(f"{what}: {message}", usage=missing) from None
    except BotoCoreError as exc:
        raise SubscriptionError(f"{what}: {exc}", usage=False) from None


def _ignore_missing(call: Callable[[], Any]) -> None:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    try:
        call()
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException":
            raise SubscriptionError(
                exc.response.get("Error", {}).get("Message") or "refused", usage=False
            ) from None


# --- replay ---------------------------------------------------------------------------------------


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (``2026-12-01``, ``2026-12-01T08:00:00Z``; UTC when no zone is given) or a
    duration back from now (``90m``, ``36h``, ``7d``)."""
    now = now or datetime.now(UTC)
    relative = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SubscriptionError(
            f"{text!r} is not a time: use ISO 8601 (2026-12-01T08:00:00Z) or 90m, 36h, 7d"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _pattern_detail_types(pattern: dict[str, Any]) -> set[str] | None:
    """The detail-types a rule's pattern can match (None: any of them)."""
    branches = pattern.get("$or")
    if isinstance(branches, list):
        found: set[str] = set()
        for branch in branches:
            inner = _pattern_detail_types(
                {**{k: v for k, v in pattern.items() if k != "$or"}, **branch}
            )
            if inner is None:
                return None
            found |= inner
        return found
    values = pattern.get("detail-type")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    return set(values)


@dataclass
class ReplayPlan:
    name: str
    start: datetime
    end: datetime
    rules: dict[str, str] = field(default_factory=dict)  # name -> ARN

    def to_dict(self) -> dict[str, Any]:
        return {
            "replayName": self.name,
            "since": self.start.isoformat(),
            "until": self.end.isoformat(),
            "rules": sorted(self.rules),
        }


@dataclass
class Replayer:
    client: Callable[[str], Any]
    bus: Bus
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def subscriber_rules(self) -> dict[str, dict[str, Any]]:
        """Every rule on the bus that is neither the stack's nor managed by AWS."""
        events = self.client("events")
        rules: dict[str, dict[str, Any]] = {}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"EventBusName": self.bus.name}
            if token:
                kwargs["NextToken"] = token
            page = _aws(functools.partial(events.list_rules, **kwargs), "cannot list the rules")
            for rule in page.get("Rules", []):
                if not self.bus.owns(rule["Name"]) and not rule.get("ManagedBy"):
                    rules[rule["Name"]] = rule
            token = page.get("NextToken")
            if not token:
                return rules

    def plan(
        self,
        start: datetime,
        end: datetime,
        detail_types: Iterable[str] = (),
        rule_names: Iterable[str] = (),
        name: str | None = None,
    ) -> ReplayPlan:
        if not self.bus.archive_arn:
            raise SubscriptionError("the stack has no event archive (EventArchiveArn)")
        if start >= end:
            raise SubscriptionError("--since must be before --until")
        chosen_types = set(check_detail_types(detail_types))
        rules = self.subscriber_rules()
        wanted = list(rule_names)
        for rule_name in wanted:
            if rule_name not in rules:
                raise SubscriptionError(
                    f"no subscriber rule {rule_name} on the bus {self.bus.name}"
                )
        selected: dict[str, str] = {}
        for rule_name, rule in rules.items():
            if wanted and rule_name not in wanted:
                continue
            if chosen_types:
                matched = _pattern_detail_types(json.loads(rule.get("EventPattern") or "{}"))
                if matched is not None and not matched & chosen_types:
                    continue
            selected[rule_name] = rule["Arn"]
        if not selected:
            raise SubscriptionError("no subscriber rule on the bus would receive the replay")
        replay_name = name or "replay-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        return ReplayPlan(replay_name, start, end, selected)

    def start(self, plan: ReplayPlan) -> dict[str, Any]:
        events = self.client("events")
        answer: dict[str, Any] = _aws(
            lambda: events.start_replay(
                ReplayName=plan.name,
                Description="autopilot-flow replay"[:512],
                EventSourceArn=self.bus.archive_arn,
                EventStartTime=plan.start,
                EventEndTime=plan.end,
                Destination={"Arn": self.bus.arn, "FilterArns": sorted(plan.rules.values())},
            ),
            "cannot start the replay",
        )
        return answer

    def follow(
        self,
        plan: ReplayPlan,
        interval: float,
        timeout: float,
        progress: Callable[[dict[str, Any]], None],
    ) -> dict[str, Any]:
        """Poll DescribeReplay until the replay ends (or ``timeout`` seconds pass)."""
        events = self.client("events")
        deadline = self.clock() + timeout
        last_state = None
        while True:
            state: dict[str, Any] = _aws(
                lambda: events.describe_replay(ReplayName=plan.name),
                f"cannot read the replay {plan.name}",
            )
            if state.get("State") != last_state:
                progress(state)
                last_state = state.get("State")
            if state.get("State") in REPLAY_DONE or self.clock() >= deadline:
                return state
            self.sleep(interval)
