"""The event schemas of ``schemas/`` in the EventBridge Schema Registry, and their contract.

    .venv/bin/python scripts/event_schemas.py --write     # make event-schemas
    .venv/bin/python scripts/event_schemas.py --check     # exit 1: template stale, or a break
    .venv/bin/python scripts/event_schemas.py --release   # copy schemas/ to schemas/released/

``--write`` rewrites the block of ``AWS::EventSchemas::Schema`` resources in template.yaml
(between the two marker comments) from every ``schemas/*.json``, as ``make openapi`` writes
openapi.json: one resource per file, its content the JSON Schema draft-4 form of the file
(EventBridge accepts ``JSONSchemaDraft4`` or ``OpenApi3`` only; our files are draft
2020-12). tests/unit/test_event_contracts.py fails when the two disagree.

``breaking_changes(released, current)`` is the compatibility rule of docs/events.md: a field
removed, retyped or newly required, or an enum value dropped, breaks subscribers, and is
allowed only with a new major ``schemaVersion``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
RELEASED = SCHEMAS / "released"
TEMPLATE = ROOT / "template.yaml"
BEGIN = "  # BEGIN generated event schemas (make event-schemas; from schemas/*.json)\n"
END = "  # END generated event schemas\n"
SCHEMA_NAME_PREFIX = "autopilot-flow@"
DRAFT4 = "http://json-schema.org/draft-04/schema#"

# Keywords whose value is one subschema / a list of subschemas / a map of subschemas.
_ONE = ("not", "additionalProperties", "items", "if", "then", "else")
_MANY = ("anyOf", "allOf", "oneOf")
_MAP = ("properties", "patternProperties", "$defs", "definitions")
# 2020-12 keywords without a draft-4 equivalent: refused, never dropped silently.
_UNSUPPORTED = (
    "prefixItems",
    "contains",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$anchor",
    "$dynamicRef",
)

# The EventBridge envelope around ``detail`` (every event has it): declared in the registry's
# copy so that code bindings get these fields too. ``replay-name`` is set on replayed events.
ENVELOPE = {
    "version": {"type": "string"},
    "id": {"type": "string"},
    "account": {"type": "string"},
    "time": {"type": "string", "format": "date-time"},
    "region": {"type": "string"},
    "resources": {"type": "array", "items": {"type": "string"}},
    "replay-name": {"type": "string"},
}


class SchemaError(ValueError):
    """A schema uses a keyword that draft 4 cannot express."""


def load_schemas(directory: Path = SCHEMAS) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` of the directory (not its subdirectories), by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }


def to_draft4(schema: dict[str, Any], *, top: bool = True) -> dict[str, Any]:
    """The same constraints in JSON Schema draft 4 (``const`` -> one-value ``enum``,
    ``if``/``then``/``else`` -> ``anyOf``, ``$defs`` -> ``definitions``, ...)."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _UNSUPPORTED:
            raise SchemaError(f"{key} has no JSON Schema draft-4 form")
        if key in ("if", "then", "else"):
            continue  # folded below
        if key == "$schema":
            out[key] = DRAFT4
        elif key == "$id":
            out["id"] = value
        elif key == "const":
            out["enum"] = [value]
        elif key == "$ref":
            out[key] = value.replace("#/$defs/", "#/definitions/")
        elif key in _MAP:
            out["definitions" if key == "$defs" else key] = {
                name: to_draft4(sub, top=False) for name, sub in value.items()
            }
        elif key in _MANY:
            out[key] = [to_draft4(sub, top=False) for sub in value]
        elif key in _ONE and isinstance(value, dict):
            out[key] = to_draft4(value, top=False)
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "examples":
            continue  # an annotation draft 4 does not have
        else:
            out[key] = value
    if "if" in schema:
        condition = to_draft4(schema["if"], top=False)
        then = to_draft4(schema.get("then", {}), top=False)
        if "else" in schema:
            otherwise = to_draft4(schema["else"], top=False)
            folded = {
                "anyOf": [{"allOf": [condition, then]}, {"allOf": [{"not": condition}, otherwise]}]
            }
        else:
            folded = {"anyOf": [{"not": condition}, then]}  # if A then B == not A or B
        out["allOf"] = [*out.get("allOf", []), folded]
    if top:
        out["$schema"] = DRAFT4
        out["properties"] = {**ENVELOPE, **out.get("properties", {})}
    return out


def logical_id(schema: dict[str, Any]) -> str:
    """``AutoML Job Submitted`` -> ``EventSchemaAutoMLJobSubmitted``."""
    return "EventSchema" + re.sub(r"[^A-Za-z0-9]", "", schema["title"])


def schema_name(schema: dict[str, Any]) -> str:
    """The registry's name, ``<source>@<detail-type without spaces>`` as EventBridge names
    the schemas it discovers."""
    return SCHEMA_NAME_PREFIX + re.sub(r"[^A-Za-z0-9]", "", schema["title"])


def _description(schema: dict[str, Any]) -> str:
    text = str(schema.get("description") or schema["title"])
    return text if len(text) <= 256 else text[:253] + "..."


def template_block(schemas: dict[str, dict[str, Any]]) -> str:
    """The YAML of one ``AWS::EventSchemas::Schema`` per schema file, between the markers.
    Strings are written as JSON strings, which YAML reads as double-quoted scalars."""
    lines = [BEGIN]
    for file_name, schema in schemas.items():
        content = json.dumps(to_draft4(schema), separators=(",", ":"), ensure_ascii=False)
        lines += [
            f"  {logical_id(schema)}:  # schemas/{file_name}\n",
            "    Type: AWS::EventSchemas::Schema\n",
            "    Properties:\n",
            "      RegistryName: !GetAtt EventSchemaRegistry.RegistryName\n",
            f"      SchemaName: {schema_name(schema)}\n",
            "      Type: JSONSchemaDraft4\n",
            f"      Description: {json.dumps(_description(schema), ensure_ascii=False)}\n",
            f"      Content: {json.dumps(content, ensure_ascii=False)}\n",
        ]
    lines.append(END)
    return "".join(lines)


def _split(text: str) -> tuple[str, str, str]:
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise SystemExit("template.yaml: the generated event schema markers are missing")
    head, rest = text.split(BEGIN)
    block, tail = rest.split(END)
    return head, BEGIN + block + END, tail


def current_block(template: Path = TEMPLATE) -> str:
    return _split(template.read_text(encoding="utf-8"))[1]


def write(template: Path = TEMPLATE, schemas: Path = SCHEMAS) -> bool:
    """Rewrite the block; True when it changed."""
    text = template.read_text(encoding="utf-8")
    head, block, tail = _split(text)
    new = template_block(load_schemas(schemas))
    if new == block:
        return False
    template.write_text(head + new + tail, encoding="utf-8")
    return True


# --- compatibility --------------------------------------------------------------------------


def major(schema: dict[str, Any]) -> int:
    version = schema["properties"]["detail"]["properties"]["schemaVersion"]["const"]
    return int(str(version).split(".", 1)[0])


def _types(node: dict[str, Any]) -> set[str]:
    if "const" in node:
        return {_json_type(node["const"])}
    if "enum" in node:
        return {_json_type(value) for value in node["enum"]}
    kind = node.get("type")
    if kind is None:
        return set()
    return {kind} if isinstance(kind, str) else set(kind)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _walk(old: dict[str, Any], new: dict[str, Any], path: str) -> Iterator[str]:
    versioned = path.endswith(".schemaVersion")  # its value changes with every release
    old_types, new_types = _types(old), _types(new)
    # An integer is a number: integer -> number widens, number -> integer narrows.
    accepted = new_types | ({"integer"} if "number" in new_types else set())
    if old_types and new_types and not old_types <= accepted:
        yield f"{path}: type {sorted(old_types)} became {sorted(new_types)}"
    old_values = old.get("enum", [old["const"]] if "const" in old else None)
    new_values = new.get("enum", [new["const"]] if "const" in new else None)
    if old_values is not None and new_values is not None and not versioned:
        dropped = [value for value in old_values if value not in new_values]
        if dropped:
            yield f"{path}: values {dropped} were removed"
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        yield f"{path}.{name}: became required"
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, sub in old_props.items():
        if name not in new_props:
            yield f"{path}.{name}: was removed"
        else:
            yield from _walk(sub, new_props[name], f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            yield from _walk(old[key], new[key], f"{path}[]" if key == "items" else path)
    for key in _MANY:  # alternatives that line up by position (nullable objects, ...)
        for index, (a, b) in enumerate(zip(old.get(key, []), new.get(key, []), strict=False)):
            yield from _walk(a, b, f"{path}.{key}[{index}]")


def breaking_changes(released: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What in ``current`` breaks a subscriber written against ``released`` (empty: none)."""
    return list(_walk(released, current, "event"))


def compatibility_problems(
    released: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]]
) -> list[str]:
    """Every way ``current`` (schemas by file name) breaks the ``released`` contract without
    saying so: an event removed, a major version gone back, or a breaking change under the
    same major version."""
    problems: list[str] = []
    for file_name, old in sorted(released.items()):
        new = current.get(file_name)
        if new is None:
            problems.append(f"{file_name}: a released event was removed")
        elif major(new) < major(old):
            problems.append(f"{file_name}: the major version went back")
        elif major(new) == major(old):
            problems += [f"{file_name}: {change}" for change in breaking_changes(old, new)]
    return problems


def release(schemas: Path = SCHEMAS, released: Path = RELEASED) -> None:
    """Snapshot schemas/*.json as the last released contract."""
    released.mkdir(exist_ok=True)
    for old in released.glob("*.json"):
        old.unlink()
    for path in sorted(schemas.glob("*.json")):
        shutil.copyfile(path, released / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite template.yaml's block")
    action.add_argument(
        "--check", action="store_true", help="exit 1 when it is stale or a change breaks"
    )
    action.add_argument("--release", action="store_true", help="snapshot schemas/ as released")
    args = parser.parse_args(argv)
    if args.release:
        release()
        print(f"copied {len(load_schemas())} schemas to {RELEASED.relative_to(ROOT)}/")
        return 0
    if args.write:
        changed = write()
        print("template.yaml " + ("updated" if changed else "already up to date"))
        return 0
    status = 0
    if current_block() != template_block(load_schemas()):
        print("template.yaml's event schemas differ from schemas/: run make event-schemas")
        status = 1
    for problem in compatibility_problems(load_schemas(RELEASED), load_schemas()):
        print(f"breaking change without a new major version: {problem}")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
