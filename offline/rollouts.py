"""Blue/green UpdateEndpoint with a ``DeploymentConfig``, as SageMaker runs it.

moto 5.2.5 has no UpdateEndpoint at all (``offline.moto_fixes.EndpointLifecycle`` adds one);
this module is what that UpdateEndpoint does when the request carries a ``DeploymentConfig``:
what AWS refuses, and the rollout it runs, step by step, on a clock the caller controls.

What AWS does, from its pages ("Blue/Green Deployments", "Use canary / linear / all at once
traffic shifting", "Auto-Rollback Configuration and Monitoring", "Exclusions", the API
reference of TrafficRoutingConfig, DescribeEndpoint and ProductionVariantStatus, and the
"SageMaker Endpoint Deployment State Change" example of "Events that SageMaker sends to
EventBridge"):

- SageMaker provisions the new (green) fleet, then shifts traffic to it: ALL_AT_ONCE in one
  step, CANARY in two (the canary, then the rest), LINEAR in n steps of ``LinearStepSize``.
  After each step it waits ``WaitIntervalInSeconds`` (a *baking period*), after the last one
  ``TerminationWaitInSeconds`` more, then terminates the old (blue) fleet.
- If any alarm of ``AutoRollbackConfiguration`` trips during a baking period, *all* traffic
  goes back to the blue fleet: the endpoint is ``InService`` again on its old
  ``EndpointConfigName``. Nothing else says so: a caller compares the config name with the
  one it sent (the "silent rollback"). ``FailureReason`` documents "the status is InService
  but update operation fails"; AWS does not document its wording, so nobody may parse it:
  here it names the alarm. ``LastDeploymentConfig`` keeps the DeploymentConfig sent.
- During the update ``EndpointStatus`` is ``Updating`` (``RollingBack`` is documented only for
  UpdateEndpointWeightsAndCapacities), ``EndpointConfigName`` is still the old config, and
  ``PendingDeploymentSummary`` names the new config, with each variant's ``VariantStatus``
  (``Creating`` "Launching X instance(s).", ``Baking`` "Baking for X seconds
  (WaitIntervalInSeconds) with traffic enabled on canary capacity of Y instance(s).").
- ``CanarySize`` is at most 50% of the variant's instance count, ``LinearStepSize`` 10-50%;
  ``MaximumExecutionTimeoutInSeconds`` must exceed the total waiting time; the new config
  keeps the old variant name; Marketplace containers and Inf1 instances fall back to all at
  once with no final baking period. Bounds botocore does not check client-side (maxima, enums,
  list lengths) come from botocore's own service model, with AWS's "1 validation error
  detected" wording.

Not documented by AWS, so chosen here and said where: a canary or linear step on a serverless
variant (its sizes are fractions of an instance count it does not have) is refused; an alarm
name that does not exist never trips (AWS documents no check at UpdateEndpoint: the service's
preflight checks the names); ``RollingUpdatePolicy`` is not modelled (refused, saying so).

Timing: provisioning the green fleet ends after a number of DescribeEndpoint calls (as
``EndpointLifecycle`` does for every operation); the baking periods run on ``clock`` (a
``ManualClock`` in tests, the simulator's scaled clock offline). An alarm counts when it is in
ALARM at a moment inside the monitored window: at UpdateEndpoint, when ``set_alarm_state``
moves it to ALARM (``alarm_changed``), or at a DescribeEndpoint; an alarm that fires after the
last baking period ended changes nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ALL_AT_ONCE, CANARY, LINEAR = "ALL_AT_ONCE", "CANARY", "LINEAR"
INSTANCE_COUNT, CAPACITY_PERCENT = "INSTANCE_COUNT", "CAPACITY_PERCENT"


class DeploymentConfigRefused(ValueError):
    """What SageMaker answers with a ValidationException; the message is AWS-style."""


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _shape_violations(shape: Any, value: Any, path: str) -> Iterable[str]:
    """The bounds of botocore's model that botocore does not check client-side.

    botocore validates types, required members and minima before sending; AWS checks the
    maxima, enums, patterns and list lengths and answers "1 validation error detected: Value
    'X' at 'a.b' failed to satisfy constraint: ...".
    """
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from _shape_violations(member, value[name], f"{path}.{_lower_first(name)}")
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            yield (
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
                f"length less than or equal to {meta['max']}"
            )
        for index, item in enumerate(value):
            yield from _shape_violations(shape.member, item, f"{path}.{index + 1}.member")
    elif kind == "integer" and isinstance(value, int):
        if "max" in meta and value > meta["max"]:
            yield (
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
                f"value less than or equal to {meta['max']}"
            )
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            yield (
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy "
                f"enum value set: [{', '.join(shape.enum)}]"
            )
        if "max" in meta and len(value) > meta["max"]:
            yield (
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have "
                f"length less than or equal to {meta['max']}"
            )
        elif "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            yield (
                f"Value '{value}' at '{path}' failed to satisfy constraint: Member must "
                f"satisfy regular expression pattern: {meta['pattern']}"
            )


_DEPLOYMENT_CONFIG_SHAPE: Any = None


def _deployment_config_shape() -> Any:
    global _DEPLOYMENT_CONFIG_SHAPE  # noqa: PLW0603 - botocore's model loads once
    if _DEPLOYMENT_CONFIG_SHAPE is None:
        import botocore.session  # noqa: PLC0415 - only the offline stack and tests need it

        model = botocore.session.get_session().get_service_model("sagemaker")
        _DEPLOYMENT_CONFIG_SHAPE = model.shape_for("DeploymentConfig")
    return _DEPLOYMENT_CONFIG_SHAPE


def _refuse(messages: list[str]) -> None:
    if not messages:
        return
    count = len(messages)
    noun = "error" if count == 1 else "errors"
    raise DeploymentConfigRefused(f"{count} validation {noun} detected: " + "; ".join(messages))


@dataclass(frozen=True)
class Variant:
    """What the rollout needs of the new config's production variant."""

    name: str
    instance_type: str | None
    instance_count: int | None  # None: serverless

    @property
    def serverless(self) -> bool:
        return self.instance_count is None


@dataclass(frozen=True)
class Plan:
    """A validated blue/green rollout: traffic steps (percent of traffic on the green fleet,
    and instances carrying it) and the waits that follow them."""

    routing: str
    steps: tuple[tuple[float, int], ...]
    wait_interval: int
    termination_wait: int
    alarms: tuple[str, ...]
    fallback: str | None = None  # why AWS falls back to all at once, when it does

    @property
    def total_wait(self) -> int:
        return self.wait_interval * len(self.steps) + self.termination_wait


def _capacity(size: dict[str, Any], instances: int) -> tuple[float, int]:
    """(percent of the fleet, instances) of a CapacitySize."""
    value = int(size["Value"])
    if size["Type"] == INSTANCE_COUNT:
        return 100.0 * value / instances, value
    return float(value), max(1, math.ceil(instances * value / 100.0))


def plan_rollout(
    deployment_config: dict[str, Any], old_variants: list[str], new_variants: list[Variant]
) -> Plan:
    """Validate ``deployment_config`` as UpdateEndpoint does, and plan its steps."""
    _refuse(
        list(_shape_violations(_deployment_config_shape(), deployment_config, "deploymentConfig"))
    )
    blue_green = deployment_config.get("BlueGreenUpdatePolicy")
    if blue_green is not None and "RollingUpdatePolicy" in deployment_config:
        # DeploymentConfig: "Only one update policy should be used in the deployment
        # configuration."
        _refuse(["Only one update policy can be used in the deployment configuration."])
    if "RollingUpdatePolicy" in deployment_config:
        _refuse(["RollingUpdatePolicy is not modelled by the offline stack (offline.rollouts)."])
    alarms = tuple(
        alarm["AlarmName"]
        for alarm in (deployment_config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])
    )
    # Exclusions: "your new endpoint configuration must have the same variant name as the old
    # endpoint configuration".
    new_names = sorted(v.name for v in new_variants)
    if sorted(old_variants) != new_names:
        _refuse(
            [
                "The new endpoint configuration must have the same variant names as the "
                f"current one for a blue/green deployment: {sorted(old_variants)} != {new_names}."
            ]
        )
    # If no update policy is specified, SageMaker uses blue/green with all at once traffic
    # shifting (DeploymentConfig.BlueGreenUpdatePolicy).
    policy = blue_green or {"TrafficRoutingConfiguration": {"Type": ALL_AT_ONCE}}
    routing = policy["TrafficRoutingConfiguration"]
    kind = routing["Type"]
    wait = int(routing.get("WaitIntervalInSeconds", 0))
    termination = int(policy.get("TerminationWaitInSeconds", 0))
    # One variant is what the flow deploys; several shift together here.
    variant = new_variants[0]
    problems: list[str] = []
    steps: list[tuple[float, int]]
    if kind != ALL_AT_ONCE and variant.serverless:
        # Not documented by AWS: the sizes are fractions of an instance count.
        _refuse(
            [
                f"{kind} traffic routing needs instances: variant {variant.name} is serverless "
                "(offline model: AWS does not document this case)."
            ]
        )
    instances = variant.instance_count or 1
    if kind == CANARY:
        size = routing.get("CanarySize")
        if size is None:
            problems.append("CanarySize is required when the traffic routing type is CANARY.")
        else:
            percent, count = _capacity(size, instances)
            if percent > 50.0:
                # TrafficRoutingConfig.CanarySize: "Value must be less than or equal to 50% of
                # the variant's total instance count."
                problems.append(
                    f"CanarySize {size['Value']} ({size['Type']}) is {percent:g}% of the "
                    f"{instances} instance(s) of variant {variant.name}; it must be at most 50%."
                )
            steps = [(percent, count), (100.0, instances)]
    elif kind == LINEAR:
        size = routing.get("LinearStepSize")
        if size is None:
            problems.append("LinearStepSize is required when the traffic routing type is LINEAR.")
        else:
            percent, count = _capacity(size, instances)
            if not 10.0 <= percent <= 50.0:
                # TrafficRoutingConfig.LinearStepSize: "Value must be 10-50% of the variant's
                # total instance count."
                problems.append(
                    f"LinearStepSize {size['Value']} ({size['Type']}) is {percent:g}% of the "
                    f"{instances} instance(s) of variant {variant.name}; it must be 10-50%."
                )
            else:
                steps = []
                carried = 0
                while carried < instances:
                    carried = min(instances, carried + count)
                    steps.append((100.0 * carried / instances, carried))
    else:
        steps = [(100.0, instances)]
    _refuse(problems)
    plan = Plan(kind, tuple(steps), wait, termination, alarms)
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    if timeout is not None and timeout <= plan.total_wait:
        # BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds: "the timeout value should be
        # larger than the total waiting time specified in TerminationWaitInSeconds and
        # WaitIntervalInSeconds."
        _refuse(
            [
                f"MaximumExecutionTimeoutInSeconds {timeout} must be larger than the total "
                f"waiting time of the deployment ({plan.total_wait} seconds)."
            ]
        )
    if variant.instance_type and variant.instance_type.startswith("ml.inf1."):
        # Exclusions: Inf1 endpoints fall back to all at once with no final baking period.
        return Plan(
            ALL_AT_ONCE,
            ((100.0, instances),),
            0,
            0,
            alarms,
            fallback="Inf1 instances do not support deployment guardrails",
        )
    return plan


# --------------------------------------------------------------------------------------------
# The rollout
# --------------------------------------------------------------------------------------------


def _aware(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


@dataclass
class Rollout:
    """One UpdateEndpoint with a DeploymentConfig, from acceptance to its end."""

    plan: Plan
    new_config: str
    old_config: str
    variant: Variant
    started: float
    describes_until_provisioned: int
    provisioned_at: float | None = None
    tripped: tuple[float, str] | None = None  # (simulated time, alarm) of the first trip
    outcome: str | None = None  # "InService" (new config live) or "RolledBack"
    stages: list[str] = field(default_factory=list)  # each stage the rollout was seen in

    @property
    def ends_at(self) -> float | None:
        if self.provisioned_at is None:
            return None
        return self.provisioned_at + self.plan.total_wait

    def note_alarm(self, alarm: str, at: float) -> None:
        """``alarm`` is in ALARM at simulated time ``at``."""
        if self.tripped is not None or alarm not in self.plan.alarms:
            return
        ends = self.ends_at
        if ends is not None and at >= ends:
            return  # after the last baking period: nothing is monitored any more
        if self.plan.fallback is not None:
            return  # no baking period, nothing monitored
        self.tripped = (at, alarm)

    def advance(self, now: float, alarms_in_alarm: Callable[[], Iterable[str]]) -> None:
        """One DescribeEndpoint at simulated time ``now``."""
        if self.outcome is not None:
            return
        if self.provisioned_at is None:
            if self.describes_until_provisioned > 0:
                self.describes_until_provisioned -= 1
                self._seen("Creating")
                return
            self.provisioned_at = now
        for alarm in alarms_in_alarm():
            self.note_alarm(alarm, now)
        ends = self.ends_at
        assert ends is not None
        if self.tripped is not None and self.tripped[0] < ends:
            self.outcome = "RolledBack"
        elif now >= ends:
            self.outcome = "InService"
        else:
            self._seen(self.stage(now)[0])

    def _seen(self, stage: str) -> None:
        if not self.stages or self.stages[-1] != stage:
            self.stages.append(stage)

    def stage(self, now: float) -> tuple[str, str, float, float, int]:
        """(VariantStatus, its StatusMessage, its start, traffic percent, green instances)."""
        instances = self.variant.instance_count or 1
        if self.provisioned_at is None:
            return (
                "Creating",
                f"Launching {instances} instance(s).",
                self.started,
                0.0,
                0,
            )
        elapsed = now - self.provisioned_at
        plan = self.plan
        for index, (percent, count) in enumerate(plan.steps):
            start = index * plan.wait_interval
            if elapsed < start + plan.wait_interval:
                capacity = "canary" if plan.routing == CANARY and index == 0 else "full"
                if plan.routing == LINEAR and count < instances:
                    capacity = "linear step"
                return (
                    "Baking",
                    f"Baking for {plan.wait_interval} seconds (WaitIntervalInSeconds) with "
                    f"traffic enabled on {capacity} capacity of {count} instance(s).",
                    self.provisioned_at + start,
                    percent,
                    count,
                )
        start = len(plan.steps) * plan.wait_interval
        return (
            "Baking",
            f"Baking for {plan.termination_wait} seconds (TerminationWaitInSeconds) with "
            f"traffic enabled on full capacity of {instances} instance(s).",
            self.provisioned_at + start,
            100.0,
            instances,
        )

    def pending_summary(self, now: float) -> dict[str, Any]:
        """DescribeEndpoint's ``PendingDeploymentSummary`` while the rollout runs."""
        status, message, since, percent, count = self.stage(now)
        variant: dict[str, Any] = {
            "VariantName": self.variant.name,
            "VariantStatus": [
                {"Status": status, "StatusMessage": message, "StartTime": _aware(since)}
            ],
        }
        if self.variant.instance_count is not None:
            variant.update(
                {
                    "CurrentInstanceCount": count,
                    "DesiredInstanceCount": self.variant.instance_count,
                    "CurrentWeight": round(percent / 100.0, 4),
                    "DesiredWeight": 1.0,
                }
            )
        if self.variant.instance_type:
            variant["InstanceType"] = self.variant.instance_type
        return {
            "EndpointConfigName": self.new_config,
            "StartTime": _aware(self.started),
            "ProductionVariants": [variant],
        }

    def failure_reason(self) -> str:
        assert self.tripped is not None
        # AWS does not document this text: callers compare EndpointConfigName instead.
        return (
            f"Deployment rolled back: CloudWatch alarm {self.tripped[1]} of the "
            "AutoRollbackConfiguration went into ALARM during a baking period; all traffic "
            f"was shifted back to endpoint configuration {self.old_config}."
        )
