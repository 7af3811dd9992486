"""Contract of every state machine definition (statemachines/*.asl.json).

cfn-lint does not read DefinitionUri files (measured with cfn-lint 1.x), so the structure is checked
here: valid JSON, every ``${...}`` placeholder substituted by template.yaml, every state
reachable, no dangling transition, every SageMaker task retried on throttling with backoff
and full jitter, every failure caught and ending in a failure notification, no way to
end (successfully or not) without telling anyone, and the ``Deployments`` metric (Done,
Skipped, Failed) counted by the machine itself where each outcome happens, never changing it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from autopilot_flow import events as ev
from autopilot_flow import observability as obs
from autopilot_flow.finalize import STACK_TAG_KEY
from offline.template import ROOT, load_template
from tests.unit.test_template import RESOURCE_STAR_REQUIRED

DEFINITIONS = sorted((ROOT / "statemachines").glob("*.asl.json"))
TEMPLATE = load_template()
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

# How AWS names a throttled SageMaker call in an aws-sdk task: the declared exception, or
# (ThrottlingException is not in SageMaker's model) the service's base exception.
THROTTLING = {"SageMaker.ThrottlingException", "SageMaker.SageMakerException"}
CATCH_ALL = {"States.ALL", "States.TaskFailed"}
STATE_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"}
SNS_PUBLISH = "arn:aws:states:::sns:publish"
PUT_EVENTS = "arn:aws:states:::events:putEvents"
PUT_METRIC_DATA = "arn:aws:states:::aws-sdk:cloudwatch:putMetricData"
FINALIZE = ROOT / "statemachines" / "finalize_job.asl.json"


def load(path: Path) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return definition


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def machines(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The definition and every nested machine (Map iterators, Parallel branches)."""
    yield definition
    for state in definition["States"].values():
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from machines(processor)
        for branch in state.get("Branches", []):
            yield from machines(branch)


def choice_targets(state: dict[str, Any]) -> list[str]:
    targets = [rule["Next"] for rule in state.get("Choices", [])]
    if "Default" in state:
        targets.append(state["Default"])
    return targets


def successors(state: dict[str, Any], *, with_catch: bool = True) -> list[str]:
    found = []
    if "Next" in state:
        found.append(state["Next"])
    found += choice_targets(state)
    if with_catch:
        found += [c["Next"] for c in state.get("Catch", [])]
    return found


def reachable(
    machine: dict[str, Any], start: str, removed: frozenset[str] = frozenset()
) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in seen or name in removed:
            continue
        seen.add(name)
        pending += successors(machine["States"][name])
    return seen


def ends(state: dict[str, Any]) -> bool:
    return state["Type"] in ("Succeed", "Fail") or state.get("End") is True


def is_sagemaker_task(state: dict[str, Any]) -> bool:
    return state["Type"] == "Task" and "sagemaker" in str(state.get("Resource", "")).lower()


def state_machine_resource(path: Path) -> dict[str, Any]:
    relative = path.relative_to(ROOT).as_posix()
    for resource in TEMPLATE["Resources"].values():
        if (
            resource["Type"] == "AWS::Serverless::StateMachine"
            and resource["Properties"].get("DefinitionUri") == relative
        ):
            return resource
    raise AssertionError(f"{relative} is deployed by no AWS::Serverless::StateMachine")


def failure_notifications(machine: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(states that publish "AutoML Deployment Failed", states that publish to SNS)."""
    events, sns = set(), set()
    for name, state in machine["States"].items():
        if state.get("Resource") == SNS_PUBLISH:
            sns.add(name)
        if state.get("Resource") == PUT_EVENTS:
            entries = state.get("Parameters", {}).get("Entries", [])
            if any(entry.get("DetailType") == ev.DEPLOYMENT_FAILED for entry in entries):
                events.add(name)
    return events, sns


def test_there_are_definitions() -> None:
    assert DEFINITIONS, "no statemachines/*.asl.json"


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_valid_json_with_every_placeholder_substituted_by_the_template(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    definition = json.loads(text)
    assert definition["StartAt"] in definition["States"]
    substitutions = state_machine_resource(path)["Properties"].get("DefinitionSubstitutions", {})
    placeholders = set(PLACEHOLDER.findall(text))
    assert placeholders <= set(substitutions), placeholders - set(substitutions)
    unused = set(substitutions) - placeholders
    assert not unused, f"DefinitionSubstitutions never used: {unused}"


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_every_state_is_reachable_and_every_transition_lands(path: Path) -> None:
    for machine in machines(load(path)):
        states = machine["States"]
        assert machine["StartAt"] in states
        for name, state in states.items():
            assert state["Type"] in STATE_TYPES, f"{name}: {state['Type']}"
            for target in successors(state):
                assert target in states, f"{name} -> {target}: no such state"
            if state["Type"] == "Choice":
                assert state["Choices"], name
                assert "Next" not in state and "End" not in state, name
            elif state["Type"] not in ("Succeed", "Fail"):
                assert ("Next" in state) != bool(state.get("End")), f"{name}: Next xor End"
        unreachable = set(states) - reachable(machine, machine["StartAt"])
        assert not unreachable, f"unreachable: {sorted(unreachable)}"


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_every_retry_backs_off_with_full_jitter(path: Path) -> None:
    for machine in machines(load(path)):
        for name, state in machine["States"].items():
            for retrier in state.get("Retry", []):
                assert retrier.get("BackoffRate", 2.0) > 1, f"{name}: exponential backoff"
                assert retrier.get("JitterStrategy") == "FULL", f"{name}: full jitter"
                assert retrier.get("MaxAttempts", 3) >= 2, name


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_sagemaker_tasks_retry_throttling_and_catch_into_the_failure_notification(
    path: Path,
) -> None:
    definition = load(path)
    failed_events, sns = failure_notifications(definition)
    assert failed_events, f"no state publishes {ev.DEPLOYMENT_FAILED}"
    tasks = {n: s for n, s in definition["States"].items() if is_sagemaker_task(s)}
    for machine in machines(definition):
        nested = {n for n, s in machine["States"].items() if is_sagemaker_task(s)}
        assert machine is definition or not nested, "SageMaker tasks inside a Map or Parallel"
    assert tasks, "no SageMaker task"
    for name, state in tasks.items():
        covered = [
            r
            for r in state.get("Retry", [])
            if set(r["ErrorEquals"]) >= THROTTLING or CATCH_ALL & set(r["ErrorEquals"])
        ]
        assert covered, f"{name}: no Retry for throttling"
        catches = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
        assert catches, f"{name}: no Catch of States.ALL"
        for catch in catches:
            after = reachable(definition, catch["Next"])
            assert after & failed_events, f"{name}: its Catch publishes no failure event"
            assert after & sns, f"{name}: its Catch sends no SNS message"


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_every_task_and_map_catches_everything(path: Path) -> None:
    """A failure anywhere is handled (tasks inside a Map are covered by the Map's Catch)."""
    for name, state in load(path)["States"].items():
        if state["Type"] in ("Task", "Map", "Parallel"):
            errors = {e for c in state.get("Catch", []) for e in c["ErrorEquals"]}
            assert "States.ALL" in errors, f"{name}: not every error is caught"


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_no_way_to_end_without_a_notification(path: Path) -> None:
    """Take every SNS publication out of the graph: no end may be reachable any more, so
    every run, however it ends, has told someone."""
    definition = load(path)
    _, sns = failure_notifications(definition)
    # A Map that publishes to SNS counts as a publication too.
    for name, state in definition["States"].items():
        processor = state.get("ItemProcessor") or {}
        if any(s.get("Resource") == SNS_PUBLISH for s in processor.get("States", {}).values()):
            sns.add(name)
    left = reachable(definition, definition["StartAt"], removed=frozenset(sns))
    silent = [name for name in left if ends(definition["States"][name])]
    assert not silent, f"ends reachable without a notification: {silent}"


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_waits_are_bounded(path: Path) -> None:
    """Every Wait sits in a loop with a counter that leaves it (no endless polling)."""
    definition = load(path)
    states = definition["States"]
    for name, state in states.items():
        if state["Type"] != "Wait":
            continue
        assert state.get("Seconds", 1) > 0 or "SecondsPath" in state, name
        loop = {n for n in reachable(definition, state["Next"]) if name in reachable(definition, n)}
        counters = [
            n for n in loop if "States.MathAdd" in json.dumps(states[n].get("Parameters", {}))
        ]
        assert counters, f"{name}: a polling loop without a counter"


@pytest.mark.parametrize("path", DEFINITIONS, ids=ids(DEFINITIONS))
def test_the_state_machine_role_is_least_privilege(path: Path) -> None:
    """No wildcard action, and ``Resource: "*"`` only for actions without resource-level
    permissions: Step Functions' log delivery, and PutMetricData held to the service's
    namespace. The only role it may pass is an allowed execution role, only to SageMaker."""
    properties = state_machine_resource(path)["Properties"]
    statements = [s for p in properties["Policies"] for s in p["Statement"]]
    assert statements
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions), statement["Sid"]
        if statement["Resource"] == "*":
            assert set(actions) <= RESOURCE_STAR_REQUIRED, statement["Sid"]
        if "cloudwatch:PutMetricData" in actions:
            assert actions == ["cloudwatch:PutMetricData"], statement["Sid"]
            assert statement["Condition"] == {
                "StringEquals": {"cloudwatch:namespace": obs.NAMESPACE}
            }, statement["Sid"]
        if "iam:PassRole" in actions:
            assert actions == ["iam:PassRole"]
            assert statement["Resource"] == {"Ref": "AllowedRoleArns"}
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
            }


# --- the Deployments metric (FinalizeJob counts its own outcomes) -------------------------------


def metric_tasks(
    definition: dict[str, Any], metric: str = obs.MetricName.DEPLOYMENTS.value
) -> dict[str, dict[str, Any]]:
    return {
        name: state
        for machine in machines(definition)
        for name, state in machine["States"].items()
        if state.get("Resource") == PUT_METRIC_DATA
        and state["Parameters"]["MetricData"][0]["MetricName"] == metric
    }


def all_metric_tasks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: state
        for machine in machines(definition)
        for name, state in machine["States"].items()
        if state.get("Resource") == PUT_METRIC_DATA
    }


def predecessors(definition: dict[str, Any], target: str) -> set[str]:
    return {
        name
        for name, state in definition["States"].items()
        if target in successors(state, with_catch=False)
    }


def test_deployments_are_counted_with_the_metric_contract() -> None:
    """A state machine cannot write EMF, so FinalizeJob calls PutMetricData: one task per
    Outcome, each the contract's name, unit and dimensions, in the template's namespace."""
    definition = load(FINALIZE)
    tasks = metric_tasks(definition)
    spec = obs.METRICS[obs.MetricName.DEPLOYMENTS]
    substitutions = state_machine_resource(FINALIZE)["Properties"]["DefinitionSubstitutions"]
    assert substitutions["MetricsNamespace"] == obs.NAMESPACE
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    service_name = variables["POWERTOOLS_SERVICE_NAME"]
    assert substitutions["ServiceName"] == service_name == {"Ref": "AWS::StackName"}
    outcomes = {}
    for name, state in tasks.items():
        parameters = state["Parameters"]
        assert parameters["Namespace"] == "${MetricsNamespace}", name
        (datum,) = parameters["MetricData"]
        assert datum["MetricName"] == spec.name.value, name
        assert datum["Unit"] == spec.unit, name
        assert datum["Value"] == 1, name
        dimensions = {d["Name"]: d["Value"] for d in datum["Dimensions"]}
        assert list(dimensions) == list(spec.dimensions), name
        # The functions' service dimension is POWERTOOLS_SERVICE_NAME, the stack name.
        assert dimensions["service"] == "${ServiceName}", name
        outcomes[dimensions["Outcome"]] = name
    assert sorted(outcomes) == sorted(obs.DeploymentOutcome)
    assert len(tasks) == len(outcomes), "each Outcome is counted in one place"
    # Every other PutMetricData of the machine is NotificationsFailed (no stray metric).
    others = set(all_metric_tasks(definition)) - set(tasks)
    assert others == set(metric_tasks(definition, obs.MetricName.NOTIFICATIONS_FAILED.value))


def test_a_failing_metric_call_never_changes_the_outcome() -> None:
    """Every metric task catches everything into the state it would have gone to anyway,
    retries briefly, and writes only its own marker path."""
    definition = load(FINALIZE)
    markers = {"Deployments": "$.deploymentMetric", "NotificationsFailed": "$.notificationMetric"}
    for name, state in all_metric_tasks(definition).items():
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"], name
        assert catch["Next"] == state["Next"], name
        marker = markers[state["Parameters"]["MetricData"][0]["MetricName"]]
        assert catch["ResultPath"] == state["ResultPath"] == marker, name
        for retrier in state.get("Retry", []):
            assert retrier["MaxAttempts"] <= 2, name
            assert retrier.get("MaxDelaySeconds", 60) <= 5, name


def test_deployment_outcomes_are_counted_where_they_happen() -> None:
    definition = load(FINALIZE)
    states = definition["States"]
    by_outcome = {
        {d["Name"]: d["Value"] for d in s["Parameters"]["MetricData"][0]["Dimensions"]}[
            "Outcome"
        ]: name
        for name, s in metric_tasks(definition).items()
    }
    done, skipped, failed = (by_outcome[o] for o in ("Done", "Skipped", "Failed"))
    # Done: once the new model serves and is recorded, before the outcome is published.
    assert predecessors(definition, done) == {"RecordLiveEndpoint"}
    assert states[done]["Next"] == "RecordOutcome"
    # Skipped: only the plan's "skip" (a deployment asked for and decided against).
    assert predecessors(definition, skipped) == {"Route"}
    rules = [r for r in states["Route"]["Choices"] if r["Next"] == skipped]
    assert rules == [{"Variable": "$.plan.action", "StringEquals": "skip", "Next": skipped}]
    assert states[skipped]["Next"] == "RecordOutcome"
    # Failed: after the failure was told (event, record, SNS), then the execution fails as
    # it always did.
    (decide,) = predecessors(definition, failed)
    assert states[decide]["Type"] == "Choice"
    assert states[decide]["Default"] == states[failed]["Next"] == "FinalizeFailed"
    notify = states["NotifyFailure"]
    assert notify["Next"] == decide and {c["Next"] for c in notify["Catch"]} == {decide}
    assert predecessors(definition, decide) == {"NotifyFailure"}
    assert states["FinalizeFailed"]["Type"] == "Fail"


# A Choice evaluator for the operators the definition uses (enough to test its rules).
def _path(data: Any, path: str) -> tuple[bool, Any]:
    for part in path.removeprefix("$.").split("."):
        if not isinstance(data, dict) or part not in data:
            return False, None
        data = data[part]
    return True, data


def _matches(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    if "And" in rule:
        return all(_matches(r, data) for r in rule["And"])
    if "Or" in rule:
        return any(_matches(r, data) for r in rule["Or"])
    if "Not" in rule:
        return not _matches(rule["Not"], data)
    present, value = _path(data, rule["Variable"])
    if "IsPresent" in rule:
        return present is rule["IsPresent"]
    assert present, f"{rule['Variable']} missing: a States.Runtime error on AWS"
    if "StringEquals" in rule:
        return bool(value == rule["StringEquals"])
    if "IsNull" in rule:
        return (value is None) is rule["IsNull"]
    raise AssertionError(f"operator not modelled: {rule}")


def _choose(state: dict[str, Any], data: dict[str, Any]) -> str:
    for rule in state["Choices"]:
        if _matches(rule, data):
            return str(rule["Next"])
    return str(state["Default"])


def _failure(stage: str, error: str = "Boom", **extra: Any) -> dict[str, Any]:
    return {"failure": {"stage": stage, "error": error, "cause": "..."}, **extra}


DEPLOY_PLAN = {"plan": {"action": "deploy"}}


@pytest.mark.parametrize(
    ("state", "counted"),
    [
        (_failure("leaderboard"), False),
        (_failure("plan", "Lambda.Unknown"), False),
        (_failure("plan", "DeploymentBlocked"), True),
        (_failure("plan", "UnsupportedResponseKeys"), True),
        (_failure("deploy", "EndpointFailed", **DEPLOY_PLAN), True),
        (_failure("deploy", "DynamoDB.ConditionalCheckFailedException", **DEPLOY_PLAN), True),
        # RecordLiveEndpoint failed: the deployment was never counted as done.
        (_failure("record", **DEPLOY_PLAN), True),
        # RecordOutcome failed after Done was counted, or after a skip: no failed deployment.
        (_failure("record", deploymentMetric={}, **DEPLOY_PLAN), False),
        (_failure("record", deploymentMetric={}, plan={"action": "skip"}), False),
        (_failure("record", plan={"action": "sagemaker"}), False),
        (_failure("notify", deploymentMetric={}, **DEPLOY_PLAN), False),
        (_failure("notify", plan={"action": "none"}), False),
    ],
)
def test_which_failures_count_as_failed_deployments(state: dict[str, Any], counted: bool) -> None:
    definition = load(FINALIZE)
    states = definition["States"]
    (failed,) = [
        n
        for n, s in metric_tasks(definition).items()
        if {"Name": "Outcome", "Value": "Failed"} in s["Parameters"]["MetricData"][0]["Dimensions"]
    ]
    (decide,) = predecessors(definition, failed)
    assert _choose(states[decide], state) == (failed if counted else "FinalizeFailed")


@pytest.mark.parametrize(
    ("plan", "next_state"),
    [
        # A deployment holds the endpoint's claim: a failed record must release it, or every
        # later deployment to that endpoint would fail at ClaimEndpoint.
        ({"action": "deploy", "claim": {"key": "#endpoint#churn"}}, "ReleaseEndpointClaim"),
        ({"action": "skip", "claim": None}, "DescribeFailure"),
        ({"action": "none"}, "DescribeFailure"),
    ],
)
def test_a_failed_record_releases_the_endpoint_claim_it_holds(
    plan: dict[str, Any], next_state: str
) -> None:
    states = load(FINALIZE)["States"]
    choice = states[states["FailedAtRecord"]["Next"]]
    assert _choose(choice, {"plan": plan}) == next_state
    release = states["ReleaseEndpointClaim"]
    assert release["Next"] == "DescribeFailure"
    assert [c["Next"] for c in release["Catch"]] == ["DescribeFailure"]


# --- nothing internal leaks; throttling and notifications decide nothing ----------------------


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [value] if isinstance(value, str) else []


def test_failures_are_described_before_anyone_is_told() -> None:
    """The event, the registry record (what GET /jobs/{name} shows) and the SNS message carry
    the described failure (stage, code, message), never Step Functions' raw error or cause;
    every way into the failure report goes through DescribeFailure."""
    definition = load(FINALIZE)
    states = definition["States"]
    assert predecessors(definition, "PublishDeploymentFailed") == {
        "DescribeFailure",
        "FailureUndescribed",
    }
    describe = states["DescribeFailure"]
    assert describe["Parameters"]["FunctionName"] == "${PlanFinalizeFunctionArn}"
    assert describe["Parameters"]["Payload"]["describe"] == "failure"
    assert describe["Catch"][0]["Next"] == "FailureUndescribed"
    detail = states["PublishDeploymentFailed"]["Parameters"]["Entries"][0]["Detail"]
    assert {"stage.$", "code.$", "message.$"} <= set(detail)
    assert not {"error.$", "cause.$"} & set(detail)
    for name in ("PublishDeploymentFailed", "RecordFailure", "NotifyFailure"):
        texts = _texts(states[name]["Parameters"])
        raw = ("$.failure.error", "$.failure.cause", "$.error")
        assert not [t for t in texts if any(r in t for r in raw)], name
    record = states["RecordFailure"]["Parameters"]["ExpressionAttributeValues"][":deployment"]
    assert set(record["M"]) == {"state", "stage", "code", "message", "executionArn"}


def test_throttled_deployment_calls_loop_within_the_deployment_budget() -> None:
    """Every SageMaker call of the deployment, once its own retries are spent, goes to the
    throttle check: a throttle waits and calls again (the loop counts against the polls
    budget), anything else fails the deployment."""
    definition = load(FINALIZE)
    states = definition["States"]
    # (The failure path's own look at the endpoint, CheckWhatIsLive, is not a step to resume.)
    deploy_tasks = [
        name
        for name in reachable(definition, "ClaimEndpoint", removed=frozenset({"FailedAtDeploy"}))
        if is_sagemaker_task(states[name])
    ]
    assert set(deploy_tasks) >= {
        "CreateModel",
        "CreateModelInVpc",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "UpdateEndpoint",
        "UpdateEndpointWithRollout",
        "DescribeEndpoint",
    }
    for name in deploy_tasks:
        assert [c["Next"] for c in states[name]["Catch"]] == ["DeployCallThrottled"], name
        # The loop resumes at the throttled step, so each one is reachable from the loop.
        assert name in reachable(definition, "ResumeAfterThrottling"), name
    check = states["DeployCallThrottled"]
    assert check["Default"] == "FailedAtDeploy"
    (throttled,) = check["Choices"]
    patterns = {rule["StringMatches"] for rule in throttled["Or"]}
    assert "*Throttl*" in patterns
    budget = states[throttled["Next"]]
    assert "States.MathAdd($.config.polls, 1)" in _texts(budget["Parameters"])
    assert states[budget["Next"]]["Choices"][0]["Next"] == "FailedAtDeploy"


def test_notifications_never_reach_the_failure_path() -> None:
    """The outcome event, the stack's topic and the manifests' topics: a failure of any is
    reported as AutoML Notification Failed and the run goes on to Done."""
    definition = load(FINALIZE)
    states = definition["States"]
    failure_path = {"DescribeFailure", "PublishDeploymentFailed", "FinalizeFailed"}
    for name in ("PublishOutcome", "NotifyStack", "NotifyTopics"):
        for catch in states[name]["Catch"]:
            after = reachable(definition, catch["Next"])
            assert not after & failure_path, name
            assert "Done" in after, name
    assert "FailedAtNotify" not in states
    inner = states["NotifyTopics"]["ItemProcessor"]
    topic = inner["States"]["NotifyTopic"]
    (catch,) = topic["Catch"]
    assert "PublishTopicFailure" in reachable(inner, catch["Next"])
    for machine in (definition, inner):
        publishers = [
            s
            for s in machine["States"].values()
            if s.get("Resource") == PUT_EVENTS
            and s["Parameters"]["Entries"][0].get("DetailType") == ev.NOTIFICATION_FAILED
        ]
        assert publishers
        for publisher in publishers:
            detail = publisher["Parameters"]["Entries"][0]["Detail"]
            assert {"code.$", "message.$", "channel.$", "target.$"} <= set(detail)
            assert not [t for t in _texts(detail) if "$.error" in t]


def test_everything_the_machine_creates_carries_the_stack_tag() -> None:
    """One tag key in the core and the template; the plan's Tags (which carry it, from Init)
    on every Create* call."""
    definition = load(FINALIZE)
    states = definition["States"]
    substitutions = state_machine_resource(FINALIZE)["Properties"]["DefinitionSubstitutions"]
    assert substitutions["StackTagKey"] == STACK_TAG_KEY
    assert substitutions["StackTagValue"] == {"Ref": "AWS::StackName"}
    assert states["Init"]["Parameters"]["stackTag"] == {
        "Key": "${StackTagKey}",
        "Value": "${StackTagValue}",
    }
    assert states["PlanFinalize"]["Parameters"]["Payload"]["stackTag.$"] == "$.config.stackTag"
    for name in ("CountPoll", "CountThrottledCall"):
        assert states[name]["Parameters"]["stackTag.$"] == "$.config.stackTag", name
    creates = {
        name: state
        for name, state in states.items()
        if is_sagemaker_task(state) and ":sagemaker:create" in state["Resource"]
    }
    assert set(creates) == {
        "CreateModel",
        "CreateModelInVpc",
        "CreatePipelineModel",
        "CreatePipelineModelInVpc",
        "CreateEndpointConfig",
        "CreateEndpoint",
    }
    for name, state in creates.items():
        assert state["Parameters"]["Tags.$"].startswith("$.plan."), name


def test_a_failed_deployment_looks_at_what_is_live_before_giving_up_the_claim() -> None:
    """After SageMaker accepted Create/UpdateEndpoint, a failure (a timeout, throttling past
    the budget) looks at the endpoint once more: InService on the new config is recorded as
    live (the registry stays true to what serves); anything else releases the claim."""
    states = load(FINALIZE)["States"]
    assert states["FailedAtDeploy"]["Next"] == "EndpointWasChanged"
    changed = states["EndpointWasChanged"]
    assert changed["Choices"] == [
        {"Variable": "$.progress.endpoint", "IsPresent": True, "Next": "CheckWhatIsLive"}
    ]
    assert changed["Default"] == "ReleaseEndpointClaim"
    check = states["CheckWhatIsLive"]
    assert check["Resource"].endswith(":sagemaker:describeEndpoint")
    assert [c["Next"] for c in check["Catch"]] == ["ReleaseEndpointClaim"]
    live = states[check["Next"]]
    (rule,) = live["Choices"]
    assert rule["Next"] == "RecordLiveEndpoint"
    assert {"Variable": "$.endpoint.EndpointStatus", "StringEquals": "InService"} in rule["And"]
    assert {
        "Variable": "$.endpoint.EndpointConfigName",
        "StringEqualsPath": "$.plan.endpointConfigName",
    } in rule["And"]
    assert live["Default"] == "ReleaseEndpointClaim"
    # Only Create/UpdateEndpoint write the marker the check looks for.
    writers = {n for n, s in states.items() if s.get("ResultPath") == "$.progress.endpoint"}
    assert writers == {"CreateEndpoint", "UpdateEndpoint", "UpdateEndpointWithRollout"}


# --- issue 13: registration, approval, deploy mode, rollouts -----------------------------------


def test_a_deploy_request_enters_through_prepare_deploy_and_a_job_event_does_not() -> None:
    definition = load(FINALIZE)
    states = definition["States"]
    mode = states[definition["StartAt"]]
    assert mode["Type"] == "Choice"
    (rule,) = mode["Choices"]
    assert rule["Next"] == "PrepareDeploy"
    assert {"Variable": "$.mode", "StringEquals": "deploy"} in rule["And"]
    assert states[mode["Default"]]["Result"] == {"mode": "finalize"}
    prepare = states["PrepareDeploy"]
    assert prepare["Parameters"]["Payload"] == {"prepare": "deploy", "request.$": "$"}
    # Both paths meet at Init and from there are the same states.
    assert prepare["Next"] == states[mode["Default"]]["Next"] == "Init"
    (catch,) = prepare["Catch"]
    refused = reachable(definition, catch["Next"])
    assert "DeployRequestRefused" in refused
    assert not refused & {"ClaimEndpoint", "CreateModel", "UpdateEndpoint", "RecordOutcome"}
    # Both plans hand the request to the planner.
    for name in ("PlanFinalize", "PlanRegistered"):
        assert states[name]["Parameters"]["Payload"]["deploy.$"] == "$.deploy", name


def test_registration_comes_before_any_deployment_and_fails_at_its_own_stage() -> None:
    definition = load(FINALIZE)
    states = definition["States"]
    register = states["RegisterCandidate"]
    errors = {e for r in register["Retry"] for e in r["ErrorEquals"]}
    assert "SageMakerThrottled" in errors and "Lambda.TooManyRequestsException" in errors
    assert all(r["JitterStrategy"] == "FULL" and r["BackoffRate"] > 1 for r in register["Retry"])
    (catch,) = register["Catch"]
    assert catch["Next"] == "FailedAtRegister"
    assert states["FailedAtRegister"]["Parameters"]["stage"] == "register"
    assert register["Next"] == "PlanRegistered"
    assert states["PlanRegistered"]["Parameters"]["Payload"]["registration.$"] == (
        "$.registration.registration"
    )
    # Nothing is claimed or created before the package exists.
    before = reachable(definition, "ShouldRegister", removed=frozenset({"Route"}))
    assert not before & {"ClaimEndpoint", "CreateModel", "CreateEndpoint", "UpdateEndpoint"}
    # Awaiting approval records and notifies, and deploys nothing.
    route = states["Route"]
    (waiting,) = [c for c in route["Choices"] if c.get("StringEquals") == "awaiting_approval"]
    after = reachable(definition, waiting["Next"])
    assert not after & {"ClaimEndpoint", "CreateModel", "UpdateEndpoint", "RecordLiveEndpoint"}
    assert {"RecordOutcome", "NotifyStack"} <= after


def test_an_instance_endpoint_is_updated_with_the_plans_deployment_config() -> None:
    states = load(FINALIZE)["States"]
    # The polling budget is the plan's: a rollout's baking adds to the stack's.
    for name in ("PollsLeft", "ThrottleBudgetLeft"):
        (rule,) = states[name]["Choices"]
        assert rule["Variable"] == "$.config.polls", name
        assert rule["NumericGreaterThanEqualsPath"] == "$.plan.maxPolls", name
    for name in ("PlanFinalize", "PlanRegistered"):
        assert states[name]["Parameters"]["Payload"]["config.$"] == "$.config", name
        assert states[name]["ResultSelector"]["maxPolls.$"] == "$.Payload.maxPolls", name
    rollout = states["UpdateEndpointWithRollout"]
    assert rollout["Parameters"]["DeploymentConfig.$"] == "$.plan.deploymentConfig"
    assert rollout["Resource"].endswith(":sagemaker:updateEndpoint")
    (first, *_) = states["CreateOrUpdate"]["Choices"]
    assert first["Next"] == "UpdateEndpointWithRollout"
    assert {"Variable": "$.plan.deploymentConfig", "IsNull": False} in first["And"]


def test_a_silent_rollback_keeps_the_old_model_live() -> None:
    definition = load(FINALIZE)
    states = definition["States"]
    after = reachable(definition, "EndpointRolledBack", removed=frozenset({"RollbackUndescribed"}))
    # The endpoint's record is never rewritten: only the claim is released.
    assert "RecordLiveEndpoint" not in after
    assert {"ReleaseRolledBackClaim", "CountDeploymentRolledBack", "RecordOutcome"} <= after
    assert {"PublishOutcome", "NotifyStack", "Done"} <= after
    release = states["ReleaseRolledBackClaim"]["Parameters"]
    assert release["UpdateExpression"] == "REMOVE pendingJob, pendingSince"
    passes = {
        states[n]["ResultPath"]: states[n]["InputPath"]
        for n in ("RolledBackRecords", "RolledBackEvent", "RolledBackSummary", "RolledBackAction")
    }
    assert passes == {
        "$.plan.records": "$.rollback.records",
        "$.plan.event": "$.rollback.event",
        "$.plan.summary": "$.rollback.summary",
        "$.plan.action": "$.rollback.action",
    }
    # A rollback that cannot be described still ends as the failure it used to be.
    assert states["RollbackUndescribed"]["Parameters"]["Error"] == "EndpointUpdateRolledBack"
    live = states["RecordLiveEndpoint"]["Parameters"]
    assert "previousLiveJob = :previous" in live["UpdateExpression"]
    assert live["ExpressionAttributeValues"][":previous"] == {"S.$": "$.plan.claim.expectedLiveJob"}
