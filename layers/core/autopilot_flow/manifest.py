"""Reading a manifest: bytes -> a plain mapping, safely, with every problem reported.

A manifest is a ``CreateAutoMLJobV2`` request (the AWS CLI's ``--cli-input-json`` /
``--cli-input-yaml`` format) plus our optional ``Deployment`` and ``Notifications``
sections (DESIGN.md section 3). JSON or YAML, at most 1 MiB.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from autopilot_flow.issues import Issue, type_name

MAX_MANIFEST_BYTES = 1024 * 1024
MAX_DEPTH = 32
_TOO_MANY_DIGITS = f"a number has more than {sys.get_int_max_str_digits()} digits."
_UNREADABLE_VALUE = (
    "a value looks like a date, a number or a tagged value but is not a valid one (e.g. "
    f"2026-02-30, or a number of more than {sys.get_int_max_str_digits()} digits); "
    "quote it if it is text."
)
OUR_SECTIONS = ("Deployment", "Notifications")
JOB_NAME_MAX = 32


class ManifestError(Exception):
    """The document cannot be read as a manifest; ``issue`` says why."""

    def __init__(self, code: str, message: str, syntax: bool = False) -> None:
        super().__init__(message)
        self.issue = Issue((), code, message)
        self.syntax = syntax  # a plain syntax error (not a duplicate key, NaN, depth...)


@dataclass
class Manifest:
    """A parsed manifest: the API request and our own sections, split apart."""

    request: dict[str, Any]
    deployment: dict[str, Any] | None = None
    notifications: dict[str, Any] | None = None
    document: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Manifest:
        request = {k: v for k, v in document.items() if k not in OUR_SECTIONS}
        return cls(
            request=request,
            deployment=document.get("Deployment"),
            notifications=document.get("Notifications"),
            document=document,
        )


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (no anchor bombs) and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            mark = event.start_mark
            raise ManifestError(
                "parse.yaml_alias",
                f"line {mark.line + 1}: YAML aliases (*{event.anchor}) are not supported in "
                "manifests; write the value out.",
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                duplicate = False  # an unhashable key; the constructor below reports it
            if duplicate:
                raise ManifestError(
                    "parse.duplicate_key",
                    f"line {key_node.start_mark.line + 1}: key {key!r} appears twice in the "
                    "same mapping; one of the values would be lost.",
                )
            with contextlib.suppress(TypeError):
                seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ManifestError(
                "parse.duplicate_key",
                f"key {key!r} appears twice in the same object; one of the values would be lost.",
            )
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ManifestError("parse.invalid_json", f"{name} is not valid JSON; use a number.")


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def looks_like_json(text: str, filename: str | None) -> bool:
    if filename is not None:
        suffix = PurePosixPath(filename).suffix.lower()
        if suffix == ".json":
            return True
        if suffix in (".yaml", ".yml"):
            return False
    return text.lstrip().startswith(("{", "["))


def parse_document(data: bytes, filename: str | None = None) -> dict[str, Any]:
    """Parse manifest bytes (JSON or YAML) into a mapping, or raise ManifestError."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            "parse.too_large",
            f"the manifest is {len(data):,} bytes; the limit is {MAX_MANIFEST_BYTES:,} (1 MiB).",
        )
    if b"\x00" in data:
        raise ManifestError("parse.binary", "the file is binary, not a JSON or YAML text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(
            "parse.encoding",
            f"the file is not UTF-8 text (invalid byte at offset {exc.start}).",
        ) from None
    if not text.strip():
        raise ManifestError("parse.empty", "the manifest is empty.")
    document: Any
    if looks_like_json(text, filename):
        try:
            document = _load_json(text)
        except ManifestError as exc:
            # Without a .json name, "{a: 1}" may be flow-style YAML: try that before failing.
            if _named_json(filename) or not exc.syntax:
                raise
            try:
                document = _load_yaml(text)
            except ManifestError:
                pass
            else:
                return _checked(document)
            raise
    else:
        document = _load_yaml(text)
    return _checked(document)


def _named_json(filename: str | None) -> bool:
    return filename is not None and PurePosixPath(filename).suffix.lower() == ".json"


def _load_json(text: str) -> Any:
    try:
        return json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise ManifestError(
            "parse.invalid_json",
            f"line {exc.lineno}, column {exc.colno}: {exc.msg}.",
            syntax=True,
        ) from None
    except RecursionError:
        raise ManifestError(
            "parse.too_deep", f"the document nests deeper than {MAX_DEPTH} levels."
        ) from None
    except ValueError:
        # Not a syntax error: an integer longer than Python converts (4300 digits by default).
        raise ManifestError("parse.invalid_json", _TOO_MANY_DIGITS) from None


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)  # noqa: S506 - strict safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ManifestError(
            "parse.invalid_yaml", f"{where}{exc.problem or exc.context or 'invalid YAML'}."
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError("parse.invalid_yaml", f"invalid YAML: {exc}.") from None
    except RecursionError:
        raise ManifestError(
            "parse.too_deep", f"the document nests deeper than {MAX_DEPTH} levels."
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        # PyYAML's constructors raise these, not a YAMLError, for a scalar they cannot build:
        # 2026-02-30, !!int abc, !!bool maybe, !!map [1], a 5000-digit integer.
        raise ManifestError("parse.invalid_yaml", _UNREADABLE_VALUE) from None


def _checked(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ManifestError(
            "parse.not_a_mapping",
            f"a manifest must be a mapping of field names to values, not {type_name(document)}.",
        )
    if _depth_exceeds(document, MAX_DEPTH):
        raise ManifestError("parse.too_deep", f"the document nests deeper than {MAX_DEPTH} levels.")
    surrogate = _lone_surrogate(document)
    if surrogate is not None:
        raise ManifestError(
            "parse.encoding",
            f"the document contains the escape \\u{ord(surrogate):04x}, half of a UTF-16 "
            "surrogate pair: it is not a character, and cannot be stored or sent.",
        )
    return document


def _lone_surrogate(value: Any) -> str | None:
    """The first unpaired surrogate (from a \\ud800-style escape) in any key or string."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    return item[exc.start]
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list | set):
            stack.extend(item)
    return None


_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9]+")


def derive_job_name(source_name: str | None, content: bytes) -> str:
    """A job name from the manifest's file name plus a short content hash (DESIGN.md s3).

    ``manifests/Churn model v2.yaml`` -> ``churn-model-v2-3f9a1c0d``: at most 32 characters
    of ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}``. The hash makes a changed manifest a new job.
    """
    digest = hashlib.sha256(content).hexdigest()[:8]
    stem = PurePosixPath(source_name or "job").name
    for suffix in (".json", ".yaml", ".yml"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    stem = _NAME_UNSAFE.sub("-", stem).strip("-").lower() or "job"
    stem = stem[: JOB_NAME_MAX - len(digest) - 1].rstrip("-") or "job"
    return f"{stem}-{digest}"


def iter_strings(value: Any) -> Iterator[str]:
    """Every string value in a document (used to scan for S3 URIs and ARNs)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
