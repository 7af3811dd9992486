"""Structural validation: walk a document against a model node (see ``api_model``).

Checks required members, types (strict: ``"10"`` is not an integer, nor is ``1.0`` or
``true``), enums, lengths, item counts, ranges, patterns, tagged unions, and unknown fields
(with a "did you mean" suggestion). Every problem is collected; nothing stops at the first.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from autopilot_flow.issues import Issue, Loc, describe, type_name

Node = dict[str, Any]
# A checker that replaces the generic pattern check of one shape with a precise message.
ValueCheck = Callable[[str, Loc, list[Issue]], None]

# AWS patterns use \p{L} (letters), \p{Z} (separators) and \p{N} (numbers), which Python's
# re does not know. In Python, \w is letters + numbers + "_", and [^\S<control chars>] is
# exactly the Unicode separators (str.isspace minus the C0/C1 controls it also accepts).
_UNICODE_CLASSES = {
    r"\p{L}\p{Z}\p{N}": r"\w\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
}

# Plain-language descriptions of API patterns, for messages people can act on.
FORMAT_HINTS: dict[str, str] = {
    "AutoMLJobName": (
        "1-32 characters: letters, digits and hyphens, starting and ending with a letter or digit"
    ),
    "EndpointName": (
        "1-63 characters: letters, digits and hyphens, starting and ending with a letter or digit"
    ),
    "S3Uri": "an S3 URL such as s3://bucket/prefix/ (or an https:// URL)",
    "RoleArn": "an IAM role ARN such as arn:aws:iam::111122223333:role/name",
    "KmsKeyId": "a KMS key id, key ARN, alias name or alias ARN (letters, digits, : / _ -)",
    "CountryCode": "a two-letter upper-case country code such as US or DE",
    "SecurityGroupId": "a security group id such as sg-0123456789abcdef0",
    "SubnetId": "a subnet id such as subnet-0123456789abcdef0",
    "TagKey": "letters, digits, spaces and _ . : / = + - @",
    "TagValue": "letters, digits, spaces and _ . : / = + - @",
    "BaseModelName": "letters, digits and hyphens, e.g. Falcon7BInstruct or Llama2-7BChat",
    "FillingTransformationValue": "letters, digits, _ and -, e.g. zero, value, median or 2",
    "TextGenerationHyperParameterKey": "letters, digits, . _ -",
    "TextGenerationHyperParameterValue": "letters, digits, . _ - (a number written as text)",
    "SampleWeightAttributeName": "letters, digits, _ and -",
    "ForecastQuantile": "p1 to p99, e.g. p10, p50, p90",
    "EntityName": (
        "1-63 characters: letters, digits and hyphens, starting and ending with a letter or digit"
    ),
    "AlarmName": "an alarm name that is not blank",
}


@cache
def compiled(pattern: str) -> re.Pattern[str]:
    """Compile an AWS model pattern for full-string matching (AWS anchors its patterns)."""
    for aws, python in _UNICODE_CLASSES.items():
        pattern = pattern.replace(aws, python)
    return re.compile(pattern, re.DOTALL)


def suggest(word: str, choices: Any) -> str | None:
    """The closest known name to a misspelt one, if any is close."""
    options = [str(c) for c in choices]
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None


# A suggestion costs a fuzzy match against every allowed name: only the first problems of a
# document get one (past that, a document is not a typo but noise, and the work would grow
# with it). Every problem is still reported.
SUGGESTIONS_UP_TO = 100


def _did_you_mean(word: str, choices: Any, out: list[Issue]) -> str:
    if len(out) >= SUGGESTIONS_UP_TO:
        return ""
    hint = suggest(word, choices)
    return f" Did you mean {hint!r}?" if hint else ""


class StructureChecker:
    """Walks one document; ``checks`` maps shape names to precise value checkers."""

    def __init__(self, checks: Mapping[str, ValueCheck] | None = None) -> None:
        self.checks = dict(checks or {})

    def check(self, value: Any, node: Node, loc: Loc, out: list[Issue]) -> None:
        kind = node["type"]
        if kind == "structure":
            self._structure(value, node, loc, out)
        elif kind == "string":
            self._string(value, node, loc, out)
        elif kind == "list":
            self._list(value, node, loc, out)
        elif kind == "map":
            self._map(value, node, loc, out)
        elif kind in ("integer", "long"):
            self._integer(value, node, loc, out)
        elif kind in ("float", "double"):
            self._float(value, node, loc, out)
        elif kind == "boolean":
            if not isinstance(value, bool):
                out.append(_type_issue(loc, "a boolean (true or false)", value))
        else:  # pragma: no cover - the request model has no other types
            raise ValueError(f"unsupported node type {kind!r}")

    def _structure(self, value: Any, node: Node, loc: Loc, out: list[Issue]) -> None:
        if not isinstance(value, dict):
            out.append(_type_issue(loc, "an object", value))
            return
        members: dict[str, Node] = node["members"]
        present = 0
        for key, child in value.items():
            if not isinstance(key, str):
                out.append(
                    Issue(
                        loc + (str(key),),
                        "type",
                        f"field names must be strings, got {type_name(key)} ({describe(key)}).",
                    )
                )
                continue
            child_node = members.get(key)
            if child_node is None:
                allowed = ", ".join(members)
                out.append(
                    Issue(
                        loc + (key,),
                        "unknown_field",
                        f"unknown field {key!r}.{_did_you_mean(key, members, out)} "
                        f"Allowed here: {allowed}.",
                    )
                )
                continue
            present += 1
            self.check(child, child_node, loc + (key,), out)
        for name in node.get("required", ()):
            if name not in value:
                out.append(Issue(loc + (name,), "required", f"{name} is required here."))
        if node.get("union") and present != 1:
            options = ", ".join(members)
            if present == 0:
                message = f"set exactly one of: {options}; none is set."
            else:
                chosen = ", ".join(k for k in value if k in members)
                message = f"set exactly one of: {options}; {present} are set ({chosen})."
            out.append(Issue(loc, "union_exactly_one", message))

    def _string(self, value: Any, node: Node, loc: Loc, out: list[Issue]) -> None:
        if not isinstance(value, str):
            out.append(_type_issue(loc, "a string", value))
            return
        enum = node.get("enum")
        if enum is not None:
            if value not in enum:
                out.append(
                    Issue(
                        loc,
                        "enum",
                        f"{describe(value)} is not allowed.{_did_you_mean(value, enum, out)} "
                        f"Allowed: {', '.join(enum)}.",
                    )
                )
            return
        length = len(value)
        low, high = node.get("min"), node.get("max")
        if low is not None and length < low:
            what = "must not be empty" if low == 1 else f"must be at least {low} characters"
            out.append(Issue(loc, "min_length", f"{what} (got {length})."))
            return
        if high is not None and length > high:
            out.append(
                Issue(loc, "max_length", f"must be at most {high} characters (got {length}).")
            )
            return
        custom = self.checks.get(node.get("shape", ""))
        if custom is not None:
            custom(value, loc, out)
            return
        pattern = node.get("pattern")
        if pattern is not None and compiled(pattern).fullmatch(value) is None:
            hint = FORMAT_HINTS.get(node.get("shape", ""), f"the pattern {pattern}")
            out.append(Issue(loc, "pattern", f"{describe(value)} is not valid: expected {hint}."))

    def _list(self, value: Any, node: Node, loc: Loc, out: list[Issue]) -> None:
        if not isinstance(value, list):
            out.append(_type_issue(loc, "a list", value))
            return
        _count(len(value), node, loc, out, "item")
        member = node["member"]
        for index, item in enumerate(value):
            self.check(item, member, loc + (index,), out)

    def _map(self, value: Any, node: Node, loc: Loc, out: list[Issue]) -> None:
        if not isinstance(value, dict):
            out.append(_type_issue(loc, "an object (a map of names to values)", value))
            return
        _count(len(value), node, loc, out, "entry")
        key_node, value_node = node["key"], node["value"]
        for key, item in value.items():
            if not isinstance(key, str):
                out.append(
                    Issue(
                        loc + (str(key),),
                        "type",
                        f"keys must be strings, got {type_name(key)} ({describe(key)}).",
                    )
                )
                continue
            first = len(out)  # the key's problems go to ``out`` too: they count as problems
            self.check(key, key_node, loc + (key,), out)
            for index in range(first, len(out)):
                issue = out[index]
                out[index] = Issue(issue.loc, issue.code, "key " + issue.message)
            self.check(item, value_node, loc + (key,), out)

    def _integer(self, value: Any, node: Node, loc: Loc, out: list[Issue]) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            expected = "a whole number"
            if isinstance(value, float) and value.is_integer():
                expected = "a whole number written without a decimal point"
            out.append(_type_issue(loc, expected, value))
            return
        _range(value, node, loc, out)

    def _float(self, value: Any, node: Node, loc: Loc, out: list[Issue]) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            out.append(_type_issue(loc, "a number", value))
            return
        if isinstance(value, float) and not math.isfinite(value):
            out.append(Issue(loc, "type", f"must be a finite number (got {value})."))
            return
        _range(value, node, loc, out)


def _type_issue(loc: Loc, expected: str, value: Any) -> Issue:
    return Issue(loc, "type", f"must be {expected}, got {type_name(value)} ({describe(value)}).")


def _count(size: int, node: Node, loc: Loc, out: list[Issue], noun: str) -> None:
    low, high = node.get("min"), node.get("max")
    if low is not None and size < low:
        out.append(Issue(loc, "min_items", f"must have at least {low} {noun}(s) (got {size})."))
    elif high is not None and size > high:
        out.append(Issue(loc, "max_items", f"must have at most {high} {noun}(s) (got {size})."))


def _range(value: float, node: Node, loc: Loc, out: list[Issue]) -> None:
    low, high = node.get("min"), node.get("max")
    if low is not None and value < low:
        out.append(Issue(loc, "min_value", f"must be at least {low} (got {value})."))
    elif high is not None and value > high:
        out.append(Issue(loc, "max_value", f"must be at most {high} (got {value})."))
