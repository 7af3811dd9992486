"""The event contract: schemas/ in the Schema Registry (template.yaml), schemaVersion on every
event, and no silent breaking change against the last released copy (schemas/released/)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import jsonschema
import pytest
from moto import mock_aws

from autopilot_flow import events as ev
from offline.template import ROOT, load_template


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "event_schemas", ROOT / "scripts" / "event_schemas.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["event_schemas"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
SCHEMAS: dict[str, dict[str, Any]] = gen.load_schemas()
RELEASED: dict[str, dict[str, Any]] = gen.load_schemas(gen.RELEASED)
RESOURCES: dict[str, dict[str, Any]] = load_template()["Resources"]
DOC = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
EXAMPLES = [
    block
    for block in (json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", DOC, flags=re.DOTALL))
    if "version" in block and "detail-type" in block
]
DETAIL_TYPES = [
    value for name, value in vars(ev).items() if name.isupper() and str(value).startswith("AutoML ")
]


def schema_of(detail_type: str) -> dict[str, Any]:
    return SCHEMAS[ev.schema_file_name(detail_type)]


# --- the Schema Registry: generated from schemas/, never drifting --------------------------------


def test_one_registry_schema_per_schema_file() -> None:
    registry_schemas = {
        logical_id: resource["Properties"]
        for logical_id, resource in RESOURCES.items()
        if resource["Type"] == "AWS::EventSchemas::Schema"
    }
    assert len(registry_schemas) == len(SCHEMAS) == len(DETAIL_TYPES)
    for file_name, schema in SCHEMAS.items():
        props = registry_schemas[gen.logical_id(schema)]
        assert props["Type"] == "JSONSchemaDraft4"
        assert props["SchemaName"] == "autopilot-flow@" + schema["title"].replace(" ", "")
        assert props["RegistryName"] == {"Fn::GetAtt": ["EventSchemaRegistry", "RegistryName"]}
        assert json.loads(props["Content"]) == gen.to_draft4(schema), file_name
    assert RESOURCES["EventSchemaRegistry"]["Type"] == "AWS::EventSchemas::Registry"


def test_the_template_block_is_what_make_event_schemas_writes() -> None:
    assert gen.current_block() == gen.template_block(SCHEMAS), "run make event-schemas"


def test_the_drift_check_notices_a_changed_schema(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    for name, schema in SCHEMAS.items():
        (schemas / name).write_text(json.dumps(schema))
    template = tmp_path / "template.yaml"
    template.write_text((ROOT / "template.yaml").read_text(encoding="utf-8"))
    assert gen.write(template, schemas) is False  # the repository's template is current
    changed = copy.deepcopy(SCHEMAS["automl-job-submitted.json"])
    changed["properties"]["detail"]["properties"]["team"] = {"type": "string"}
    (schemas / "automl-job-submitted.json").write_text(json.dumps(changed))
    (schemas / "automl-job-extra.json").write_text(json.dumps({**changed, "title": "AutoML Extra"}))
    assert gen.write(template, schemas) is True
    block = gen.current_block(template)
    assert "EventSchemaAutoMLExtra:" in block and '\\"team\\"' in block


def test_registry_schemas_are_valid_draft4() -> None:
    for schema in SCHEMAS.values():
        draft4 = gen.to_draft4(schema)
        jsonschema.Draft4Validator.check_schema(draft4)
        assert draft4["$schema"] == "http://json-schema.org/draft-04/schema#"
        text = json.dumps(draft4)
        for keyword in ('"const"', '"if"', '"then"', '"$defs"', '"$id"'):
            assert keyword not in text, keyword


def test_the_draft4_form_refuses_what_it_cannot_express() -> None:
    with pytest.raises(gen.SchemaError, match="prefixItems"):
        gen.to_draft4({"type": "array", "prefixItems": [{"type": "string"}]})


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["detail-type"] for e in EXAMPLES])
def test_every_example_event_validates_against_both_forms(example: dict[str, Any]) -> None:
    schema = schema_of(example["detail-type"])
    jsonschema.Draft202012Validator(schema).validate(example)
    jsonschema.Draft4Validator(gen.to_draft4(schema)).validate(example)
    # ... and both forms refuse the same broken copies of it.
    unversioned = copy.deepcopy(example)
    del unversioned["detail"]["schemaVersion"]
    retyped = copy.deepcopy(example)
    retyped["detail"]["jobName"] = 42
    for broken in (unversioned, retyped, {**example, "source": "someone-else"}):
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken)
        assert not jsonschema.Draft4Validator(gen.to_draft4(schema)).is_valid(broken)


def test_if_then_else_keep_their_meaning_in_draft4() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"kind": {"enum": ["a", "b"]}, "size": {"type": "integer"}},
        "if": {"properties": {"kind": {"const": "a"}}},
        "then": {"required": ["size"]},
        "else": {"properties": {"size": {"maximum": 0}}},
    }
    draft4 = jsonschema.Draft4Validator(gen.to_draft4(schema))
    original = jsonschema.Draft202012Validator(schema)
    for instance in (
        {"kind": "a"},
        {"kind": "a", "size": 3},
        {"kind": "b", "size": 3},
        {"kind": "b"},
    ):
        assert draft4.is_valid(instance) == original.is_valid(instance), instance


# --- schemaVersion on every event ---------------------------------------------------------------


@pytest.mark.parametrize("detail_type", DETAIL_TYPES)
def test_every_schema_requires_the_version_events_carry(detail_type: str) -> None:
    detail = schema_of(detail_type)["properties"]["detail"]
    assert "schemaVersion" in detail["required"]
    assert detail["properties"]["schemaVersion"]["const"] == ev.schema_version(detail_type)
    assert ev.versioned(detail_type, {"jobName": "x"}) == {
        "schemaVersion": ev.schema_version(detail_type),
        "jobName": "x",
    }


def test_finalize_job_puts_the_schema_version_on_its_own_events() -> None:
    """putEvents states with a literal Detail write the version themselves; PublishOutcome puts
    the plan's detail, which finalize.py versions (tests/integration/test_finalize.py checks
    the events it publishes against the schemas)."""
    asl = json.loads((ROOT / "statemachines" / "finalize_job.asl.json").read_text())
    entries = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("Resource") == "arn:aws:states:::events:putEvents":
                entries.extend(node["Parameters"]["Entries"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(asl)
    literal = [e for e in entries if "Detail" in e]
    assert literal, "FinalizeJob publishes events with a literal Detail"
    for entry in literal:
        assert entry["Detail"]["schemaVersion"] == ev.schema_version(entry["DetailType"])
    # The rest put a detail the core library versioned (the plan's, or RegisterCandidate's).
    assert all(
        "Detail" in e or e["Detail.$"] in ("$.plan.event.detail", "$.registration.event.detail")
        for e in entries
    )


def test_the_publisher_versions_every_event() -> None:
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        events, sqs = session.client("events"), session.client("sqs")
        events.create_event_bus(Name="bus")
        url = sqs.create_queue(QueueName="all")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        events.put_rule(
            Name="all", EventBusName="bus", EventPattern='{"source": ["autopilot-flow"]}'
        )
        events.put_targets(
            Rule="all",
            EventBusName="bus",
            Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}],
        )
        ev.EventPublisher(events, "bus").publish_many(
            [(ev.JOB_SUBMITTED, {"jobName": "j"}, []), (ev.JOB_REJECTED, {"jobName": "k"}, [])]
        )
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    received = {
        json.loads(m["Body"])["detail-type"]: json.loads(m["Body"])["detail"] for m in messages
    }
    assert received == {
        ev.JOB_SUBMITTED: {"schemaVersion": ev.schema_version(ev.JOB_SUBMITTED), "jobName": "j"},
        ev.JOB_REJECTED: {"schemaVersion": ev.schema_version(ev.JOB_REJECTED), "jobName": "k"},
    }


# --- compatibility with the last released contract ----------------------------------------------


def test_no_breaking_change_without_a_new_major_version() -> None:
    assert RELEASED, "schemas/released/ holds the last released contract"
    assert gen.compatibility_problems(RELEASED, SCHEMAS) == []


def test_every_event_has_a_released_contract() -> None:
    assert set(RELEASED) == set(SCHEMAS), "python scripts/event_schemas.py --release"


def _submitted() -> dict[str, Any]:
    return copy.deepcopy(SCHEMAS["automl-job-submitted.json"])


def _detail(schema: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = schema["properties"]["detail"]
    return detail


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["properties"].pop("receipt"), "event.detail.receipt: was removed"),
        (
            lambda d: d["properties"]["receipt"].update(type="object"),
            "event.detail.receipt: type ['string'] became ['object']",
        ),
        (lambda d: d["required"].append("extra"), "event.detail.extra: became required"),
        (
            lambda d: d["properties"]["problemType"]["enum"].remove("TextGenerationJobConfig"),
            "event.detail.problemType: values ['TextGenerationJobConfig'] were removed",
        ),
        (
            lambda d: d["properties"]["source"]["required"].append("bucket"),
            "event.detail.source.bucket: became required",
        ),
        (
            lambda d: d["properties"]["warnings"]["items"]["properties"].pop("code"),
            "event.detail.warnings[].code: was removed",
        ),
    ],
    ids=["removed", "retyped", "newly-required", "enum-narrowed", "nested-required", "in-items"],
)
def test_breaking_changes_are_found(change: Any, expected: str) -> None:
    current = _submitted()
    change(_detail(current))
    assert expected in gen.breaking_changes(_submitted(), current)


def test_additions_are_not_breaking() -> None:
    current = _submitted()
    detail = _detail(current)
    detail["properties"]["team"] = {"type": "string"}
    detail["properties"]["problemType"]["enum"].append("SomethingNew")
    detail["properties"]["schemaVersion"]["const"] = "1.1"
    detail["properties"]["source"]["properties"]["versionId"]["type"] = [
        "string",
        "null",
        "integer",
    ]
    assert gen.breaking_changes(_submitted(), current) == []


def test_a_breaking_change_passes_only_with_a_new_major() -> None:
    released = {"automl-job-submitted.json": _submitted()}
    current = _submitted()
    _detail(current)["properties"].pop("receipt")
    assert gen.compatibility_problems(released, {"automl-job-submitted.json": current}) == [
        "automl-job-submitted.json: event.detail.receipt: was removed"
    ]
    _detail(current)["properties"]["schemaVersion"]["const"] = "2.0"
    assert gen.compatibility_problems(released, {"automl-job-submitted.json": current}) == []
    back = {"automl-job-submitted.json": _submitted()}
    _detail(back["automl-job-submitted.json"])["properties"]["schemaVersion"]["const"] = "0.9"
    assert gen.compatibility_problems(released, back) == [
        "automl-job-submitted.json: the major version went back"
    ]
    assert gen.compatibility_problems(released, {}) == [
        "automl-job-submitted.json: a released event was removed"
    ]


def test_docs_have_a_changelog_entry_per_current_version() -> None:
    changelog = DOC.split("\n## Changelog\n", 1)[1]
    listed: dict[str, set[str]] = {}
    for version, detail_types in re.findall(r"^\| ([0-9]+\.[0-9]+) \| ([^|]+) \|", changelog, re.M):
        for detail_type in detail_types.split(","):
            listed.setdefault(detail_type.strip(), set()).add(version)
    for detail_type in DETAIL_TYPES:
        assert ev.schema_version(detail_type) in listed.get(detail_type, set()), detail_type
