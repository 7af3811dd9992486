"""The structural model of the ``CreateAutoMLJobV2`` request, taken from botocore.

The request's fields, nesting, required members, enums, lengths, ranges and patterns come
from botocore's SageMaker service model, so they cannot drift from the API. Loading that
model costs hundreds of milliseconds (it describes all of SageMaker), so the part we need is
extracted once into ``data/create_auto_ml_job_v2.json`` and shipped with the library;
``tests/unit/test_api_model.py`` fails when the shipped copy and botocore disagree.

Regenerate after a botocore upgrade with ``python -m autopilot_flow.api_model --write``.

A node is a plain dict: ``{"type": "structure", "shape": ..., "members": {...},
"required": [...], "union": bool}``, ``{"type": "list", "member": node, "min", "max"}``,
``{"type": "map", "key": node, "value": node, "min", "max"}``, or a scalar
(``string`` with ``min``/``max``/``pattern``/``enum``; ``integer``/``float`` with
``min``/``max``; ``boolean``).
"""

from __future__ import annotations

import html
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

Node = dict[str, Any]

OPERATION = "CreateAutoMLJobV2"
DATA_FILE = Path(__file__).parent / "data" / "create_auto_ml_job_v2.json"

_SCALAR_KEYS = ("min", "max", "pattern", "enum")
_TAG_RE = re.compile(r"<[^>]+>")


def _first_sentence(documentation: str) -> str:
    text = html.unescape(_TAG_RE.sub("", documentation or "")).strip()
    text = " ".join(text.split())
    cut = text.find(". ")
    if cut != -1:
        text = text[: cut + 1]
    return text if len(text) <= 300 else text[:297] + "..."


def _node_from_shape(shape: Any) -> Node:
    node: Node = {"type": shape.type_name, "shape": shape.name}
    doc = _first_sentence(getattr(shape, "documentation", "") or "")
    if doc:
        node["doc"] = doc
    for key in _SCALAR_KEYS:
        if key in shape.metadata:
            node[key] = shape.metadata[key]
    if shape.type_name == "structure":
        members: dict[str, Node] = {}
        for name, member in shape.members.items():
            child = _node_from_shape(member)
            member_doc = _first_sentence(getattr(member, "documentation", "") or "")
            if member_doc:
                child["doc"] = member_doc
            members[name] = child
        node["members"] = members
        node["required"] = list(shape.required_members)
        if shape.metadata.get("union"):
            node["union"] = True
    elif shape.type_name == "list":
        node["member"] = _node_from_shape(shape.member)
    elif shape.type_name == "map":
        node["key"] = _node_from_shape(shape.key)
        node["value"] = _node_from_shape(shape.value)
    return node


def build_from_botocore() -> Node:
    """Extract the request model from the installed botocore (slow; for tooling and tests)."""
    import botocore.session  # noqa: PLC0415 - slow import, needed only by tooling

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model(OPERATION).input_shape
    node = _node_from_shape(shape)
    node["botocore_version"] = botocore.__version__
    return node


@cache
def request_model() -> Node:
    """The shipped request model (cached; loading takes about a millisecond)."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        node: Node = json.load(handle)
    return node


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    node = build_from_botocore()
    text = json.dumps(node, indent=1) + "\n"
    if args == ["--write"]:
        DATA_FILE.write_text(text, encoding="utf-8")
        print(f"wrote {DATA_FILE} (botocore {node['botocore_version']})")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
