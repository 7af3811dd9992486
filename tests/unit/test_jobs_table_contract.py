"""The jobs table has one owner (``autopilot_flow.registry``); the state machine's DynamoDB
tasks are the only other writers, and this contract keeps them to the owner's schema.

For every DynamoDB task in ``statemachines/*.asl.json``: the table is the jobs table, the key
has the table's key shape and names an item kind the registry declares, and every attribute
in ``UpdateExpression``, ``ConditionExpression``, ``ProjectionExpression``,
``ExpressionAttributeNames``, a put item or a map value written whole belongs to that kind's
declared attributes (``registry.ITEMS``, ``registry.NESTED``). Renaming an attribute on one
side only fails here; the negative cases show that each check can fail.

The Python side is held to the same schema against moto: every item the registry writes
carries only declared attributes, and template.yaml declares the keys the registry uses.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from autopilot_flow import registry
from autopilot_flow.finalize import FinalizePlanner
from autopilot_flow.registry import ITEMS, KEY, NESTED, ItemKind, Registry
from offline.template import ROOT, load_template

DEFINITIONS = sorted((ROOT / "statemachines").glob("*.asl.json"))
TABLE_PLACEHOLDER = "${JobsTableName}"
DYNAMODB = "arn:aws:states:::dynamodb:"
CHECKED_ACTIONS = ("updateItem", "putItem", "getItem", "deleteItem")

# Where the machine's keys come from, and which item each names. Each is built by the
# registry's key functions: ``$.jobKey`` by StartFinalize (``job_key``), ``$.plan.jobKey`` and
# ``$.plan.claim.key`` by PlanFinalize (``job_key``, ``endpoint_key``); see
# ``test_the_planner_builds_the_keys_the_machine_reads`` below.
KEY_PATHS: Mapping[str, ItemKind] = {
    "$.jobKey": ItemKind.JOB,
    "$.plan.jobKey": ItemKind.JOB,
    "$.plan.claim.key": ItemKind.ENDPOINT,
}
# Map values the machine copies whole from the plan: which attribute each must be written to.
MAP_PATHS: Mapping[str, tuple[ItemKind, str]] = {
    "$.plan.records.deployment": (ItemKind.JOB, "deployment"),
    "$.plan.records.live": (ItemKind.ENDPOINT, "live"),
    "$.plan.records.registration": (ItemKind.JOB, "registration"),
}

KEYWORDS = {"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "IN", "BETWEEN"}
PLACEHOLDER = re.compile(r":[A-Za-z0-9_]+")
PATH = re.compile(
    r"(?<![\w#])[#A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*(?:\.[#A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])*)*"
)
ASSIGNMENT = re.compile(r"([#A-Za-z_][\w.#]*)\s*=\s*(:[A-Za-z0-9_]+)")


def _tasks(states: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _tasks(state[key]["States"])


def dynamodb_tasks(definition: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, state in _tasks(definition["States"]):
        resource = str(state.get("Resource", ""))
        if state.get("Type") == "Task" and (
            resource.startswith(DYNAMODB) or ":aws-sdk:dynamodb:" in resource
        ):
            action = (
                resource.rsplit(":", 1)[-1].removesuffix(".sync").removesuffix(".waitForTaskToken")
            )
            found.append((name, action, state.get("Parameters") or state.get("Arguments") or {}))
    return found


def _paths(expression: str) -> list[str]:
    """Attribute paths in a DynamoDB expression (placeholders, keywords and functions out)."""
    text = PLACEHOLDER.sub(" ", expression)
    paths = []
    for match in PATH.finditer(text):
        token = match.group(0)
        if token.upper() in KEYWORDS or text[match.end() :].lstrip().startswith("("):
            continue
        paths.append(token)
    return paths


def _segments(path: str, names: Mapping[str, str], where: str, problems: list[str]) -> list[str]:
    resolved = []
    for raw in path.split("."):
        segment = re.sub(r"\[\d+\]", "", raw)
        if segment.startswith("#"):
            if segment not in names:
                problems.append(f"{where}: {segment} is not in ExpressionAttributeNames")
                return []
            segment = names[segment]
        resolved.append(segment)
    return resolved


@dataclass(frozen=True)
class Schema:
    items: Mapping[ItemKind, frozenset[str]]
    nested: Mapping[tuple[ItemKind, str], frozenset[str]]


def _check_path(
    segments: list[str], kind: ItemKind, schema: Schema, where: str, problems: list[str]
) -> None:
    items, nested = schema.items, schema.nested
    if not segments:
        return
    top = segments[0]
    if top not in items[kind]:
        problems.append(f"{where}: {top!r} is not an attribute of a {kind} item")
        return
    fields = nested.get((kind, top))
    if len(segments) > 1 and fields is not None and segments[1] not in fields:
        problems.append(f"{where}: {top}.{segments[1]} is not a field of a {kind} item's {top}")


def _check_map(
    value: Mapping[str, Any],
    target: tuple[ItemKind, str],
    schema: Schema,
    where: str,
    problems: list[str],
) -> None:
    """A map written whole: a literal's fields, or the plan's map it copies."""
    kind, attribute = target
    nested = schema.nested
    if "M.$" in value:
        expected = MAP_PATHS.get(str(value["M.$"]))
        if expected is None:
            problems.append(f"{where}: {value['M.$']} is not a map the planner builds")
        elif expected != (kind, attribute):
            problems.append(f"{where}: {value['M.$']} is the {expected[1]} of a {expected[0]} item")
    elif "M" in value:
        fields = nested.get((kind, attribute))
        for field_name in value["M"]:
            if fields is not None and field_name not in fields:
                problems.append(
                    f"{where}: {field_name!r} is not a field of a {kind} item's {attribute}"
                )


def contract_problems(
    definition: Mapping[str, Any],
    items: Mapping[ItemKind, frozenset[str]] = ITEMS,
    nested: Mapping[tuple[ItemKind, str], frozenset[str]] = NESTED,
) -> list[str]:
    problems: list[str] = []
    schema = Schema(items, nested)
    for name, action, parameters in dynamodb_tasks(definition):
        if action not in CHECKED_ACTIONS:
            problems.append(f"{name}: dynamodb:{action} is not checked by this contract")
            continue
        if parameters.get("TableName") != TABLE_PLACEHOLDER:
            problems.append(f"{name}: writes {parameters.get('TableName')!r}, not the jobs table")
        key = parameters.get("Key") or (parameters.get("Item") if action == "putItem" else None)
        kind = _check_key(name, action, parameters, key, problems)
        if kind is None:
            continue
        names = dict(parameters.get("ExpressionAttributeNames") or {})
        values = dict(parameters.get("ExpressionAttributeValues") or {})
        used_values: set[str] = set()
        for field_name in (
            "UpdateExpression",
            "ConditionExpression",
            "ProjectionExpression",
        ):
            expression = str(parameters.get(field_name) or "")
            used_values |= set(PLACEHOLDER.findall(expression))
            for path in _paths(expression):
                segments = _segments(path, names, f"{name}.{field_name}", problems)
                _check_path(segments, kind, schema, f"{name}.{field_name}", problems)
        for placeholder in sorted(used_values - set(values)):
            problems.append(f"{name}: {placeholder} has no ExpressionAttributeValues entry")
        for placeholder in sorted(set(values) - used_values):
            problems.append(f"{name}: {placeholder} is never used")
        for alias, attribute in names.items():
            _check_path([attribute], kind, schema, f"{name}.{alias}", problems)
        update = str(parameters.get("UpdateExpression") or "")
        for target, placeholder in ASSIGNMENT.findall(update):
            segments = _segments(target, names, f"{name}.UpdateExpression", problems)
            value = values.get(placeholder)
            if len(segments) == 1 and isinstance(value, Mapping):
                _check_map(value, (kind, segments[0]), schema, name, problems)
        if action == "putItem":
            for attribute, value in (parameters.get("Item") or {}).items():
                _check_path([attribute], kind, schema, f"{name}.Item", problems)
                if isinstance(value, Mapping):
                    _check_map(value, (kind, attribute), schema, name, problems)
    return problems


def _check_key(
    name: str, action: str, parameters: Mapping[str, Any], key: Any, problems: list[str]
) -> ItemKind | None:
    if not isinstance(key, Mapping) or KEY not in key:
        problems.append(f"{name}: the key is not {{{KEY!r}: ...}}")
        return None
    if action != "putItem" and set(key) != {KEY}:
        problems.append(f"{name}: the key has attributes besides {KEY!r}: {sorted(key)}")
        return None
    value = key[KEY]
    if not isinstance(value, Mapping) or set(value) != {"S.$"}:
        problems.append(f"{name}: {KEY} is not a string taken from the input ({value!r})")
        return None
    kind = KEY_PATHS.get(str(value["S.$"]))
    if kind is None:
        problems.append(f"{name}: the key {value['S.$']} is not one the registry's builders make")
    return kind


def _definition(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


# --- the contract ---------------------------------------------------------------------------


def test_there_are_dynamodb_tasks_to_check() -> None:
    assert DEFINITIONS
    tasks = [task for path in DEFINITIONS for task in dynamodb_tasks(_definition(path))]
    assert {action for _, action, _ in tasks} >= {"updateItem"}
    assert (
        len(tasks) >= 5
    )  # ClaimEndpoint, RecordLiveEndpoint, RecordOutcome, Release..., RecordFailure


@pytest.mark.parametrize("path", DEFINITIONS, ids=lambda p: p.name)
def test_every_dynamodb_task_keeps_to_the_registry_schema(path: Path) -> None:
    assert contract_problems(_definition(path)) == []


def test_the_machine_is_given_the_jobs_table() -> None:
    machine = load_template()["Resources"]["FinalizeJobStateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"]["JobsTableName"] == {"Ref": "JobsTable"}


def test_the_template_declares_the_keys_the_registry_uses() -> None:
    table = load_template()["Resources"]["JobsTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": KEY, "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == registry.STATUS_INDEX
    assert [k["AttributeName"] for k in index["KeySchema"]] == list(registry.STATUS_INDEX_KEYS)
    assert set(registry.STATUS_INDEX_KEYS) <= ITEMS[ItemKind.JOB]


def test_the_planner_builds_the_keys_the_machine_reads() -> None:
    """The key paths above hold what the registry's builders make (and kind_of agrees)."""
    assert registry.kind_of(registry.job_key("Churn-1")) is ItemKind.JOB
    assert registry.kind_of(registry.endpoint_key("Churn-EP")) is ItemKind.ENDPOINT
    assert registry.kind_of(registry.WATERMARK_KEY) is ItemKind.WATERMARK
    assert registry.endpoint_key("Churn-EP") == "#endpoint#churn-ep"


def test_the_planner_records_only_declared_fields() -> None:
    """``plan.records.deployment``, ``.live`` and ``.registration`` (written whole by the
    machine)."""
    planner = FinalizePlanner(sagemaker=None, dynamodb=None, table="unused")
    candidate = {
        "candidateName": "c1",
        "metricName": "F1",
        "value": 0.9,
        "objectiveType": "Maximize",
    }
    plan = {
        "action": "deploy",
        "reason": "r",
        "endpointName": "ep",
        "endpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
        "modelName": "m",
        "endpointConfigName": "m",
        "live": None,
        "jobName": "churn",
        "modelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1",
        "strategy": "Canary",
        "change": "approved",
    }
    registration = {
        "modelPackageArn": plan["modelPackageArn"],
        "modelPackageGroupName": "g",
        "modelPackageVersion": 1,
        "approvalStatus": "PendingManualApproval",
        "candidateName": "c1",
    }
    records = planner._records(plan, candidate, {"type": "serverless"}, registration)
    for name, (kind, attribute) in MAP_PATHS.items():
        written = records[name.rsplit(".", 1)[-1]]
        assert set(written) <= NESTED[(kind, attribute)], name


# --- the contract can fail ------------------------------------------------------------------


def _task(definition: dict[str, Any], wanted: str) -> dict[str, Any]:
    for name, state in _tasks(definition["States"]):
        if name == wanted:
            parameters: dict[str, Any] = state["Parameters"]
            return parameters
    raise AssertionError(wanted)


def _rename_in(state: str, field: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(definition: dict[str, Any]) -> None:
        parameters = _task(definition, state)
        assert old in parameters[field], (state, field, old)
        parameters[field] = parameters[field].replace(old, new)

    return mutate


def _set_key(state: str, key: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(definition: dict[str, Any]) -> None:
        _task(definition, state)["Key"] = key

    return mutate


def _rename_map_field(state: str, old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def mutate(definition: dict[str, Any]) -> None:
        fields = _task(definition, state)["ExpressionAttributeValues"][":deployment"]["M"]
        fields[new] = fields.pop(old)

    return mutate


def _set(state: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(definition: dict[str, Any]) -> None:
        _task(definition, state)[field] = value

    return mutate


def _add_action(definition: dict[str, Any]) -> None:
    state = next(s for n, s in _tasks(definition["States"]) if n == "RecordOutcome")
    state["Resource"] = "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"


FINALIZE = ROOT / "statemachines" / "finalize_job.asl.json"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            _rename_in("ClaimEndpoint", "ConditionExpression", "liveJob", "liveJobName"),
            "'liveJobName' is not an attribute of a endpoint item",
            id="attribute-renamed-in-a-condition",
        ),
        pytest.param(
            _rename_in("RecordLiveEndpoint", "UpdateExpression", "deployedAt", "deployed_at"),
            "'deployed_at' is not an attribute of a endpoint item",
            id="attribute-renamed-in-an-update",
        ),
        pytest.param(
            _rename_in("RecordOutcome", "UpdateExpression", "SET deployment", "SET deployments"),
            "'deployments' is not an attribute of a job item",
            id="job-attribute-renamed",
        ),
        pytest.param(
            # A job's attribute written on an endpoint record: declared, but not there.
            _rename_in("ReleaseEndpointClaim", "UpdateExpression", "pendingSince", "jobStatus"),
            "'jobStatus' is not an attribute of a endpoint item",
            id="attribute-of-another-item-kind",
        ),
        pytest.param(
            _set_key("RecordOutcome", {"pk": {"S.$": "$.plan.jobKey"}}),
            "the key is not {'jobKey': ...}",
            id="key-attribute-renamed",
        ),
        pytest.param(
            _set_key("RecordOutcome", {"jobKey": {"S.$": "$.plan.jobName"}}),
            "is not one the registry's builders make",
            id="key-not-built-by-the-registry",
        ),
        pytest.param(
            _set_key("RecordOutcome", {"jobKey": {"S.$": "$.plan.jobKey"}, "sk": {"S": "x"}}),
            "the key has attributes besides 'jobKey'",
            id="key-with-a-sort-key",
        ),
        pytest.param(
            _rename_map_field("RecordFailure", "stage", "step"),
            "'step' is not a field of a job item's deployment",
            id="field-of-a-written-map-renamed",
        ),
        pytest.param(
            _set("RecordOutcome", "ExpressionAttributeNames", {"#d": "deploymentAtt"}),
            "'deploymentAtt' is not an attribute of a job item",
            id="attribute-name-alias",
        ),
        pytest.param(
            _set("RecordOutcome", "TableName", "${IdempotencyTableName}"),
            "not the jobs table",
            id="another-table",
        ),
        pytest.param(
            _rename_in("ClaimEndpoint", "ConditionExpression", ":expected", ":expectedJob"),
            ":expectedJob has no ExpressionAttributeValues entry",
            id="value-placeholder-renamed",
        ),
        pytest.param(
            _add_action,
            "dynamodb:transactWriteItems is not checked by this contract",
            id="unchecked-action",
        ),
    ],
)
def test_a_one_sided_change_to_the_machine_fails(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    definition = _definition(FINALIZE)
    assert contract_problems(definition) == []
    changed = copy.deepcopy(definition)
    mutate(changed)
    problems = contract_problems(changed)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("kind", "attribute", "expected"),
    [
        (ItemKind.ENDPOINT, "pendingJob", "'pendingJob' is not an attribute of a endpoint item"),
        (ItemKind.ENDPOINT, "live", "'live' is not an attribute of a endpoint item"),
        (ItemKind.JOB, "deploymentAt", "'deploymentAt' is not an attribute of a job item"),
        (ItemKind.JOB, "jobKey", "'jobKey' is not an attribute of a job item"),
    ],
)
def test_a_one_sided_change_to_the_registry_fails(
    kind: ItemKind, attribute: str, expected: str
) -> None:
    """An attribute renamed (here: dropped) in the registry's schema but not in the machine."""
    items = dict(ITEMS)
    items[kind] = items[kind] - {attribute}
    problems = contract_problems(_definition(FINALIZE), items=items)
    assert any(expected in problem for problem in problems), problems


def test_a_nested_field_dropped_from_the_registry_fails() -> None:
    nested = dict(NESTED)
    nested[(ItemKind.JOB, "deployment")] = nested[(ItemKind.JOB, "deployment")] - {"code"}
    problems = contract_problems(_definition(FINALIZE), nested=nested)
    assert any("'code' is not a field of a job item's deployment" in p for p in problems)


# --- the Python side, against moto ---------------------------------------------------------------


def _undeclared(item: Mapping[str, Any]) -> list[str]:
    kind = registry.kind_of(str(item[KEY]))
    wrong = [f"{kind}.{name}" for name in item if name not in ITEMS[kind]]
    for (owner, attribute), fields in NESTED.items():
        if owner is not kind or attribute not in item:
            continue
        values = item[attribute]
        for value in values if isinstance(values, list) else [values]:
            wrong.extend(f"{kind}.{attribute}.{f}" for f in value if f not in fields)
    return wrong


@pytest.fixture
def table() -> Iterator[Registry]:
    """The jobs table as template.yaml declares it, in moto."""
    properties = load_template()["Resources"]["JobsTable"]["Properties"]
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="jobs",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
            GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
        )
        yield Registry(client, "jobs")


def _claim(table: Registry, name: str, source: str = "s3://b/k#1") -> None:
    table.claim(
        job_name=name,
        source_id=source,
        source={"type": "s3", "uri": "s3://b/k"},
        request={"AutoMLJobName": name},
        problem_type="TabularJobConfig",
        defaults_applied=["RoleArn"],
        warnings=[{"path": "x", "message": "m", "code": "c"}],
        deployment={"EndpointName": "ep"},
        notifications={"TopicArns": []},
        content_digest="d" * 64,
        model_registry={"ModelPackageGroupName": "g", "ApprovalRequired": True},
    )


def test_every_item_the_registry_writes_is_declared(table: Registry) -> None:
    _claim(table, "Churn-Created")
    table.mark_created("Churn-Created", "s3://b/k#1", "arn:aws:sagemaker:us-east-1:1:automl-job/x")
    _claim(table, "Churn-Waiting")
    table.mark_waiting("Churn-Waiting", "s3://b/k#1", "quota")
    assert table.request_cancel("Churn-Waiting")
    _claim(table, "Churn-Rejected")
    table.mark_rejected("Churn-Rejected", "s3://b/k#1", [{"code": "c"}], "s3://b/r")
    _claim(table, "Churn-Failed")
    table.mark_submission_failed("Churn-Failed", "s3://b/k#1", "quota", [{"code": "c"}], "r")
    assert table.record_rejection(
        job_name="Churn-Bad", source_id="s", source={}, errors=[{"code": "c"}], report="r"
    )
    stamp = "2026-01-01T00:00:00.000Z"
    arn = "arn:aws:sagemaker:us-east-1:1:automl-job/x"
    assert table.record_state(
        "Churn-Created",
        known=True,
        previous=None,
        current=("InProgress", "Starting"),
        seen_at=stamp,
        job_arn=arn,
    )
    assert table.record_state(
        "Churn-Created",
        known=True,
        previous=("InProgress", "Starting"),
        current=("Completed", "Completed"),
        seen_at=stamp,
        job_arn=arn,
        best={"candidateName": "c1", "metricName": "F1", "value": 0.9},
    )
    assert table.record_state(
        "Console-Job",
        known=False,
        previous=None,
        current=("InProgress", "Starting"),
        seen_at=stamp,
        job_arn=arn,
    )
    package = "arn:aws:sagemaker:us-east-1:1:model-package/g/1"
    table.record_approval("Churn-Created", package, "Approved", by="alice", note="ok")
    table.client.update_item(  # what FinalizeJob records before a rejection can come
        TableName="jobs",
        Key={"jobKey": {"S": "churn-rejected"}},
        UpdateExpression="SET deployment = :d",
        ExpressionAttributeValues={":d": {"M": {"state": {"S": "AWAITING_APPROVAL"}}}},
    )
    table.record_approval("Churn-Rejected", package, "Rejected", by=None, note=None)
    table.advance_watermark(datetime(2026, 1, 1, tzinfo=UTC))
    assert (table.get("Churn-Rejected") or {})["deployment"]["state"] == "REJECTED"
    assert (table.get("Churn-Created") or {})["approval"]["by"] == "alice"
    items = table.client.scan(TableName="jobs")["Items"]
    plain = [registry.plain(registry._from_item(item)) for item in items]
    assert len(plain) == 7
    assert [problem for item in plain for problem in _undeclared(item)] == []


def test_the_watermark_only_moves_forward(table: Registry) -> None:
    assert table.watermark() is None
    later = datetime(2026, 1, 2, tzinfo=UTC)
    table.advance_watermark(later)
    table.advance_watermark(later - timedelta(hours=1))
    assert table.watermark() == later


def test_a_state_recorded_against_a_stale_read_loses(table: Registry) -> None:
    _claim(table, "Churn-Race")
    arn = "arn:aws:sagemaker:us-east-1:1:automl-job/x"
    first = {"seen_at": "t", "job_arn": arn, "known": True}
    assert table.record_state("Churn-Race", previous=None, current=("InProgress", "A"), **first)
    # A second writer that read no state: loses.
    assert not table.record_state("Churn-Race", previous=None, current=("InProgress", "B"), **first)
    # The undo of a state another writer replaced leaves that writer's state alone.
    assert table.record_state(
        "Churn-Race", previous=("InProgress", "A"), current=("InProgress", "C"), **first
    )
    table.undo_state("Churn-Race", ("InProgress", "A"), ("InProgress", "B"))
    item = table.get("Churn-Race") or {}
    assert (item.get("jobStatus"), item.get("secondaryStatus")) == ("InProgress", "C")
    assert [s["secondaryStatus"] for s in item.get("stateHistory", [])] == ["A", "C"]


def test_jobs_by_status_page_newest_first(table: Registry) -> None:
    for index in range(5):
        _claim(table, f"Churn-{index}")
    items, done = table.page_by_status("SUBMITTED", [], {"problemType": "TabularJobConfig"}, 2)
    assert len(items) >= 2 and not done
    stamps = [str(i["updatedAt"]) for i in items]
    assert stamps == sorted(stamps, reverse=True)
    rest, done = table.page_by_status(
        "SUBMITTED", [str(items[-1]["updatedAt"]), str(items[-1]["jobKey"])], {}, 10
    )
    assert done and len(items) + len(rest) == 5
    with pytest.raises(ValueError, match="no attribute 'problemTypes'"):
        table.page_by_status("SUBMITTED", [], {"problemTypes": "x"}, 2)


def test_get_many_reads_more_than_one_batch(table: Registry) -> None:
    names = [f"churn-{i}" for i in range(registry.BATCH_GET_MAX + 5)]
    for name in names[::10]:
        _claim(table, name)
    found = table.get_many([*names, names[0].upper()])
    assert sorted(found) == sorted(names[::10])


def test_get_many_reads_only_the_fields_asked_for(table: Registry) -> None:
    _claim(table, "Churn-Fields")
    table.record_state(
        "Churn-Fields",
        known=True,
        previous=None,
        current=("InProgress", "Starting"),
        seen_at="2026-01-01T00:00:00.000Z",
        job_arn="arn:aws:sagemaker:us-east-1:1:automl-job/churn-fields",
        best=None,
    )
    whole = table.get_many(["churn-fields"])[registry.job_key("Churn-Fields")]
    found = table.get_many(["CHURN-fields", "absent"], fields=registry.WATCHER_FIELDS)
    assert list(found) == [registry.job_key("Churn-Fields")]
    item = found[registry.job_key("Churn-Fields")]
    # the key and the fields, as the whole item has them; nothing else (no request)
    assert set(item) == {KEY, *registry.WATCHER_FIELDS}
    assert all(item[name] == whole[name] for name in item)  # type: ignore[literal-required]
    assert "request" in whole and len(whole) > len(item)


def test_an_endpoint_record_reads_back_as_plain_numbers(table: Registry) -> None:
    table.client.put_item(
        TableName="jobs",
        Item={
            KEY: {"S": registry.endpoint_key("Churn-EP")},
            "liveJob": {"S": "churn"},
            "live": {"M": {"value": {"N": "0.5"}, "jobName": {"S": "churn"}}},
        },
    )
    record = table.endpoint_record("CHURN-ep") or {}
    assert record.get("liveJob") == "churn"
    assert record.get("live") == {"value": 0.5, "jobName": "churn"}
    assert table.endpoint_record("nowhere") is None
