"""A JSON Schema (draft 2020-12) of the manifest, for editors that check as people type.

Generated from the same model the validator walks (the API model plus our sections), so it
cannot drift. It is a helper for editors: the cross-field rules (``autopilot-flow rules``)
only the validator checks.
"""

from __future__ import annotations

from typing import Any

from autopilot_flow.api_model import request_model
from autopilot_flow.sections import SECTION_NODES

Node = dict[str, Any]
SCHEMA_ID = "https://autopilot-flow.dev/schemas/manifest.schema.json"

# Fields a policy or the file name can supply (docs/architecture.md, Contracts): optional
# in a manifest.
OPTIONAL_IN_MANIFEST = ("AutoMLJobName", "RoleArn", "OutputDataConfig")


def _pattern(pattern: str) -> str | None:
    # \p{...} classes need ECMA-262's u flag, which not every editor applies: leave them out.
    return None if "\\p{" in pattern else f"^(?:{pattern})$"


def _schema(node: Node) -> dict[str, Any]:
    kind = node["type"]
    out: dict[str, Any] = {}
    if node.get("doc"):
        out["description"] = node["doc"]
    if kind == "structure":
        out["type"] = "object"
        out["properties"] = {name: _schema(child) for name, child in node["members"].items()}
        if node.get("required"):
            out["required"] = list(node["required"])
        out["additionalProperties"] = False
        if node.get("union"):
            out["minProperties"] = 1
            out["maxProperties"] = 1
    elif kind == "list":
        out["type"] = "array"
        out["items"] = _schema(node["member"])
        if "min" in node:
            out["minItems"] = node["min"]
        if "max" in node:
            out["maxItems"] = node["max"]
    elif kind == "map":
        out["type"] = "object"
        out["additionalProperties"] = _schema(node["value"])
        key = {k: v for k, v in _schema(node["key"]).items() if k != "description"}
        if key.keys() - {"type"}:
            out["propertyNames"] = key
        if "min" in node:
            out["minProperties"] = node["min"]
        if "max" in node:
            out["maxProperties"] = node["max"]
    elif kind == "string":
        out["type"] = "string"
        if "enum" in node:
            out["enum"] = list(node["enum"])
        else:
            if node.get("min"):
                out["minLength"] = node["min"]
            if "max" in node:
                out["maxLength"] = node["max"]
            pattern = _pattern(node["pattern"]) if "pattern" in node else None
            if pattern:
                out["pattern"] = pattern
    elif kind in ("integer", "long", "float", "double"):
        out["type"] = "integer" if kind in ("integer", "long") else "number"
        if "min" in node:
            out["minimum"] = node["min"]
        if "max" in node:
            out["maximum"] = node["max"]
    elif kind == "boolean":
        out["type"] = "boolean"
    return out


def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema: the request plus Deployment, Notifications and Registry."""
    body = _schema(request_model())
    body["required"] = [r for r in body["required"] if r not in OPTIONAL_IN_MANIFEST]
    for name, node in SECTION_NODES.items():
        body["properties"][name] = _schema(node)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": (
            "Autopilot Flow manifest "
            "(CreateAutoMLJobV2 request + Deployment, Notifications, Registry)"
        ),
        **body,
    }
