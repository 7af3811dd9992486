"""Reading a manifest: bytes -> a plain mapping, safely, with every problem reported.

A manifest is a ``CreateAutoMLJobV2`` request (the AWS CLI's ``--cli-input-json`` /
``--cli-input-yaml`` format) plus our optional ``Deployment``, ``Notifications`` and
``Registry`` sections (docs/architecture.md). JSON or YAML, at most 1 MiB.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from autopilot_flow.issues import Issue, Loc, format_path, type_name

MAX_MANIFEST_BYTES = 1024 * 1024
MAX_DEPTH = 32
_TOO_MANY_DIGITS = f"a number has more than {sys.get_int_max_str_digits()} digits."
_UNREADABLE_VALUE = (
    "a value looks like a date, a number or a tagged value but is not a valid one (e.g. "
    f"2026-02-30, or a number of more than {sys.get_int_max_str_digits()} digits); "
    "quote it if it is text."
)
OUR_SECTIONS = ("Deployment", "Notifications", "Registry")
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
    registry: dict[str, Any] | None = None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Manifest:
        request = {k: v for k, v in document.items() if k not in OUR_SECTIONS}
        return cls(
            request=request,
            deployment=document.get("Deployment"),
            notifications=document.get("Notifications"),
            document=document,
            registry=document.get("Registry"),
        )


# The largest valid manifest has about 1,500 keys and values (50 filling attributes of 6
# methods, 50 tags...): a few times more is refused before it costs anything (issue 11: a
# 524k-item YAML list took 15 CPU-seconds to build; unknown fields cost a suggestion each).
MAX_VALUES = 5_000
_TOO_MANY_VALUES = (
    f"the document has more than {MAX_VALUES:,} keys, values, lists and mappings; "
    "a manifest needs far fewer (the largest valid one has about 1,500)."
)
_TOO_DEEP = f"the document nests deeper than {MAX_DEPTH} levels."
YAML_1_1_SHOWN = 5  # how many YAML 1.1 scalars one error spells out

# Plain (unquoted) scalars are read with the YAML 1.2 core schema, as JSON reads them, except
# that YAML 1.1 forms, which other readers (and PyYAML) turn into other values, are refused.
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# YAML 1.1 also has y/n, which PyYAML leaves as text: "y" is a common target column name.
_YAML_1_1_BOOLS = frozenset(
    ("yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF")
)
_CORE_INT = re.compile(r"[-+]?[0-9]+")
_CORE_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_PREFIXED = re.compile(r"[-+]?0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)")
# PyYAML's YAML 1.1 numbers (its resolver's patterns, less .inf and .nan, read alike in 1.2).
_YAML_1_1_INT = re.compile(
    r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
)
_YAML_1_1_FLOAT = re.compile(
    r"[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
)
# Dates stay dates (as in YAML 1.1): no field takes one, so they are reported, never lost.
_TIMESTAMP = next(
    pattern
    for tag, pattern in yaml.resolver.Resolver.yaml_implicit_resolvers["2"]
    if tag == "tag:yaml.org,2002:timestamp"
)
_TAG = "tag:yaml.org,2002:"


def yaml_1_1_problem(value: str) -> str | None:
    """What is wrong with a plain scalar that YAML 1.1 reads differently, or None."""
    if value in _YAML_1_1_BOOLS:
        return (
            f"{value} is a boolean in YAML 1.1 but text in YAML 1.2: write true or false, "
            f"or '{value}' in quotes if it is text"
        )
    if value == "<<":
        return "<< is a YAML 1.1 merge key: write the fields out"
    if _PREFIXED.fullmatch(value):
        return (
            f"{value} is a hexadecimal, octal or binary number, which JSON and the YAML "
            f"versions do not all read alike: write it in decimal, or '{value}' in quotes if "
            "it is text"
        )
    if _LEADING_ZERO.fullmatch(value):
        sign = "-" if value.startswith("-") else ""
        decimal = sign + (value.replace("_", "").lstrip("+-").lstrip("0") or "0")
        return (
            f"{value} has a leading zero, which YAML 1.1 reads as an octal number: write "
            f"{decimal}, or '{value}' in quotes if it is text"
        )
    yaml_1_1_number = _YAML_1_1_INT.fullmatch(value) or _YAML_1_1_FLOAT.fullmatch(value)
    if ":" in value and yaml_1_1_number:
        return (
            f"{value} is a base-60 number in YAML 1.1 (4:00:00 is 14400) but text in YAML 1.2: "
            f"write the number itself (e.g. seconds), or '{value}' in quotes if it is text"
        )
    if "_" in value and yaml_1_1_number:
        return (
            f"{value} is a number in YAML 1.1 but text in YAML 1.2: write it without _ "
            f"({value.replace('_', '')}), or '{value}' in quotes if it is text"
        )
    return None


def plain_scalar_tag(value: str) -> str:
    """The YAML 1.2 core schema's tag for a plain scalar (dates kept from YAML 1.1)."""
    if value in _NULLS:
        return _TAG + "null"
    if value in _BOOLS:
        return _TAG + "bool"
    if _CORE_INT.fullmatch(value):
        return _TAG + "int"
    if _CORE_FLOAT.fullmatch(value):
        return _TAG + "float"
    if _TIMESTAMP.match(value):
        return _TAG + "timestamp"
    return _TAG + "str"


class _StrictComposer:
    """Builds the node tree from parser events, for either parser (PyYAML's pure-Python one or
    libyaml's), the same way: no aliases, at most MAX_DEPTH levels and MAX_VALUES nodes
    (checked as events arrive, so a flood stops early), YAML 1.2 core plain scalars."""

    # Provided by yaml.SafeLoader / yaml.CSafeLoader.
    get_event: Any
    check_event: Any
    resolve: Any

    def get_single_node(self) -> Any:
        self.get_event()  # stream start
        document = None
        if not self.check_event(yaml.StreamEndEvent):
            self.get_event()  # document start
            document = self._compose_tree()
            self.get_event()  # document end
        if not self.check_event(yaml.StreamEndEvent):
            event = self.get_event()
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                document.start_mark if document is not None else None,
                "but found another document",
                event.start_mark,
            )
        self.get_event()  # stream end
        return document

    def _compose_tree(self) -> Any:
        # A frame: [node, location, pending key (a mapping's key awaiting its value)].
        stack: list[list[Any]] = []
        count = 0
        ambiguous: list[str] = []
        while True:
            event: Any = self.get_event()
            if isinstance(event, yaml.AliasEvent):
                mark: Any = event.start_mark
                raise ManifestError(
                    "parse.yaml_alias",
                    f"line {mark.line + 1}: YAML aliases (*{event.anchor}) are not supported in "
                    "manifests; write the value out.",
                )
            if isinstance(event, yaml.CollectionEndEvent):
                finished = stack.pop()[0]
                finished.end_mark = event.end_mark
                if stack:
                    continue
                _raise_ambiguous(ambiguous)
                return finished
            count += 1
            if count > MAX_VALUES:
                raise ManifestError("parse.too_many_values", _TOO_MANY_VALUES)
            if len(stack) >= MAX_DEPTH:
                raise ManifestError("parse.too_deep", _TOO_DEEP)
            loc = _location(stack)
            node = _node_for(event, loc, ambiguous)
            if stack:
                _attach(stack[-1], node)
            if isinstance(node, yaml.ScalarNode):
                if not stack:
                    _raise_ambiguous(ambiguous)
                    return node
            else:
                stack.append([node, loc, None])


def _location(stack: list[list[Any]]) -> Loc:
    """Where the next node goes (a key is placed at its mapping)."""
    if not stack:
        return ()
    parent, parent_loc, pending_key = stack[-1]
    if isinstance(parent, yaml.SequenceNode):
        return (*parent_loc, len(parent.value))
    if pending_key is None:
        return tuple(parent_loc)
    return (*parent_loc, str(pending_key.value))


def _attach(frame: list[Any], node: Any) -> None:
    parent = frame[0]
    if isinstance(parent, yaml.SequenceNode):
        parent.value.append(node)
    elif frame[2] is None:
        frame[2] = node  # a key; its value comes next
    else:
        parent.value.append((frame[2], node))
        frame[2] = None


def _node_for(event: Any, loc: Loc, ambiguous: list[str]) -> Any:
    """The node of a scalar or collection-start event, its tag resolved as YAML 1.2 core."""
    tag = event.tag
    start: Any = event.start_mark  # a yaml.Mark, or the C parser's own Mark
    end: Any = event.end_mark
    if isinstance(event, yaml.ScalarEvent):
        # "!" (the non-specific tag) makes a scalar text; the parsers disagree on its
        # implicit flags, so decide by the tag alone.
        if tag == "!" or (tag is None and not event.implicit[0]):
            tag = _TAG + "str"
        elif tag is None:
            problem = yaml_1_1_problem(event.value)
            if problem is not None:
                where = f" ({format_path(loc)})" if loc else ""
                ambiguous.append(f"line {start.line + 1}{where}: {problem}")
            tag = plain_scalar_tag(event.value)
        return yaml.ScalarNode(tag, event.value, start, end, style=event.style)
    if isinstance(event, yaml.SequenceStartEvent):
        tag = _TAG + "seq" if tag in (None, "!") else tag
        return yaml.SequenceNode(tag, [], start, None, flow_style=event.flow_style)
    tag = _TAG + "map" if tag in (None, "!") else tag
    return yaml.MappingNode(tag, [], start, None, flow_style=event.flow_style)


def _raise_ambiguous(problems: list[str]) -> None:
    if not problems:
        return
    shown = "; ".join(problems[:YAML_1_1_SHOWN])
    more = len(problems) - YAML_1_1_SHOWN
    rest = f" (and {more} more like these)" if more > 0 else ""
    raise ManifestError(
        "parse.yaml_1_1_value",
        f"{shown}{rest}. Manifests are read as YAML 1.2, where these values would silently "
        "change meaning.",
    )


class _StrictConstruction:
    """SafeConstructor that refuses duplicate keys."""

    construct_object: Any

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
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)  # type: ignore[misc]
        return mapping


class _PythonStrictLoader(_StrictComposer, _StrictConstruction, yaml.SafeLoader):
    """PyYAML's pure-Python parser."""


_LOADERS: dict[str, type[Any]] = {"python": _PythonStrictLoader}
if yaml.__with_libyaml__:

    class _LibyamlStrictLoader(_StrictComposer, _StrictConstruction, yaml.CSafeLoader):
        """libyaml's C parser: the same events, tens of times faster."""

    _LOADERS["libyaml"] = _LibyamlStrictLoader

YAML_LOADERS = tuple(_LOADERS)  # "python", and "libyaml" when PyYAML was built with it
# libyaml where the wheel has it (the Lambda layer's manylinux wheels do): the pure-Python
# parser costs tens of times more CPU for the same document.
_chosen = {"yaml": "libyaml" if "libyaml" in _LOADERS else "python"}


def use_yaml_loader(name: str) -> None:
    """Choose the YAML parser (tests and benchmarks run both): "libyaml" or "python"."""
    if name not in _LOADERS:
        raise ValueError(f"unknown or unavailable YAML loader {name!r}; have {YAML_LOADERS}")
    _chosen["yaml"] = name


def yaml_loader() -> str:
    """The YAML parser in use: "libyaml" or "python"."""
    return _chosen["yaml"]


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
    with _collector_paused():
        return _parse_text(text, filename)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document is built. A 1 MiB document is up
    to half a million lists and mappings, and each batch of new containers makes the collector
    walk every object of the process (in a Lambda with boto3 loaded, a JSON flood took 1 s
    instead of 0.05 s). Parsing makes no reference cycles: reference counting frees it all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_text(text: str, filename: str | None) -> dict[str, Any]:
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
        raise ManifestError("parse.too_deep", _TOO_DEEP) from None
    except ValueError:
        # Not a syntax error: an integer longer than Python converts (4300 digits by default).
        raise ManifestError("parse.invalid_json", _TOO_MANY_DIGITS) from None


def _load_yaml(text: str) -> Any:
    try:
        return _read_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ManifestError(
            "parse.invalid_yaml", f"{where}{exc.problem or exc.context or 'invalid YAML'}."
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError("parse.invalid_yaml", f"invalid YAML: {exc}.") from None
    except RecursionError:
        raise ManifestError("parse.too_deep", _TOO_DEEP) from None
    except (ValueError, TypeError, LookupError, AttributeError, OverflowError):
        # PyYAML's constructors raise these, not a YAMLError, for a scalar they cannot build:
        # 2026-02-30, !!int abc, !!int with no value, !!bool maybe, !!map [1], 5000 digits.
        raise ManifestError("parse.invalid_yaml", _UNREADABLE_VALUE) from None


def _read_yaml(text: str) -> Any:
    if _chosen["yaml"] == "libyaml":
        try:
            return _run_loader(_LOADERS["libyaml"], text)
        except yaml.YAMLError:
            # libyaml words its syntax errors its own way (and refuses \ud800 escapes, which
            # get a clearer error later): let the pure-Python parser say what is wrong, so
            # both give the same answer. Both stop at the same limits, so this stays bounded.
            pass
    return _run_loader(_LOADERS["python"], text)


def _run_loader(loader_class: type[Any], text: str) -> Any:
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


Position = tuple[int, int]  # 1-based line and column, as editors and CI annotations count


def node_positions(data: bytes) -> dict[Loc, Position]:
    """Where each value of a manifest starts, by its path: a mapping entry at its key, a list
    item at the item, the document at its first node. For JSON too (JSON is a subset of the
    YAML flow style the composer reads). Composed by the same bounded, strict composer as
    ``parse_document`` (libyaml's when available, whose marks count the same way), so it
    stops at the same limits; a document it cannot compose has no positions (empty)."""
    if len(data) > MAX_MANIFEST_BYTES or b"\x00" in data:
        return {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}
    root: Any = None
    for name in dict.fromkeys((_chosen["yaml"], "python")):
        loader = _LOADERS[name](text)
        try:
            root = loader.get_single_node()
            break
        except (yaml.YAMLError, ManifestError, RecursionError, ValueError):
            continue
        finally:
            loader.dispose()
    if root is None:
        return {}
    positions: dict[Loc, Position] = {}
    pending: list[tuple[Any, Loc, Any]] = [(root, (), root.start_mark)]
    while pending:
        node, loc, mark = pending.pop()
        positions.setdefault(loc, (mark.line + 1, mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    pending.append((value, (*loc, str(key.value)), key.start_mark))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                pending.append((item, (*loc, index), item.start_mark))
    return positions


_LINE_COLUMN = re.compile(r"^line (\d+)(?:, column (\d+))?")


def issue_position(issue: Issue, positions: dict[Loc, Position]) -> Position | None:
    """An issue's position: its path's node, else the nearest enclosing node that exists (a
    missing field points at its mapping); a parse error at the line (and column) it names."""
    if not issue.loc:
        named = _LINE_COLUMN.match(issue.message)
        if named is not None:
            return int(named.group(1)), int(named.group(2) or 1)
    loc = issue.loc
    while True:
        if loc in positions:
            return positions[loc]
        if not loc:
            return None
        loc = loc[:-1]


def _checked(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ManifestError(
            "parse.not_a_mapping",
            f"a manifest must be a mapping of field names to values, not {type_name(document)}.",
        )
    surrogate = _check_shape(document)
    if surrogate is not None:
        raise ManifestError(
            "parse.encoding",
            f"the document contains the escape \\u{ord(surrogate):04x}, half of a UTF-16 "
            "surrogate pair: it is not a character, and cannot be stored or sent.",
        )
    return document


def _check_shape(document: dict[str, Any]) -> str | None:
    """Refuse a document too deep or with too many values (JSON is built before it can be
    counted: json.loads is C and fast; the YAML composer stops earlier); return the first
    unpaired surrogate (from a \\ud800-style escape) in any key or string, if any."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    count = 0
    surrogate: str | None = None
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ManifestError("parse.too_many_values", _TOO_MANY_VALUES)
        if depth > MAX_DEPTH:
            raise ManifestError("parse.too_deep", _TOO_DEEP)
        if isinstance(item, str):
            if surrogate is None and not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    surrogate = item[exc.start]
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list | set):
            stack.extend((value, depth + 1) for value in item)
    return surrogate


_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9]+")


def derive_job_name(source_name: str | None, content: bytes) -> str:
    """A job name from the manifest's file name plus a short content hash.

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
