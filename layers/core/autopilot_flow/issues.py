"""Validation findings: one ``Issue`` per problem, with a path, a plain message and a code.

Paths follow docs/architecture.md (Contracts): dotted names, ``[i]`` for list items, map
keys as plain segments, e.g. ``AutoMLJobInputDataConfig[1].ContentType``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Segment = str | int
Loc = tuple[Segment, ...]


def format_path(loc: Sequence[Segment]) -> str:
    """Render a location tuple as the dotted path of docs/architecture.md (Contracts)."""
    out: list[str] = []
    for segment in loc:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif out:
            out.append("." + segment)
        else:
            out.append(segment)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem (an error or a warning) found in a manifest or a policy."""

    loc: Loc
    code: str
    message: str

    @property
    def path(self) -> str:
        return format_path(self.loc)

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "code": self.code}


def fit_issues(
    issues: Sequence[Mapping[str, str]], budget: int, text_limit: int = 1024
) -> list[dict[str, str]]:
    """The first ``issues`` whose JSON fits in ``budget`` bytes, each text cut to
    ``text_limit`` characters (always at least one issue when there is any).

    For what must stay within an AWS limit: a DynamoDB item (400 KB), an EventBridge event
    (256 KB), a Lambda response (6 MB). A 1 MiB manifest can have tens of thousands of errors,
    or one with a 500,000-character field name; the report in S3 keeps every one in full.
    """
    fitted: list[dict[str, str]] = []
    used = 0
    for issue in issues:
        item = {
            name: text if len(text) <= text_limit else text[: text_limit - 3] + "..."
            for name, text in issue.items()
        }
        size = len(json.dumps(item)) + 2  # ASCII-escaped: the largest JSON of it
        if fitted and used + size > budget:
            break
        fitted.append(item)
        used += size
    return fitted


def describe(value: Any) -> str:
    """A short, safe rendering of a value for messages (long values are cut)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return repr(text)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def type_name(value: Any) -> str:
    """The JSON-ish name of a value's type, for 'expected X, got Y' messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def document_order(document: Any) -> dict[Loc, int]:
    """Index every location of a parsed document in reading (pre-order) order."""
    order: dict[Loc, int] = {}
    stack: list[tuple[Loc, Any]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        order[loc] = len(order)
        if isinstance(value, Mapping):
            stack.extend(reversed([(loc + (str(k),), v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(loc + (i,), v) for i, v in enumerate(value)]))
    return order


def sort_in_document_order(issues: Iterable[Issue], document: Any) -> list[Issue]:
    """Sort issues by where their path first appears in the document.

    A path the document does not contain (a missing field) sorts right after its nearest
    existing ancestor. The sort is stable: issues at the same place keep their order.
    """
    items = list(issues)
    if len(items) < 2:
        return items
    order = document_order(document)

    def key(issue: Issue) -> tuple[int, int]:
        loc = issue.loc
        for cut in range(len(loc), -1, -1):
            index = order.get(loc[:cut])
            if index is not None:
                return (index, 0 if cut == len(loc) else 1)
        return (0, 1)

    return sorted(items, key=key)
