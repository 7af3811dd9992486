"""Flood inputs: documents of at most 1 MiB built to make a parser or a validator work hard.

Each is what issue 11 measured (a YAML flow list of 524k scalars, 60k unknown fields...) or a
close relative. ``bench/parse_cost.py`` prints what each costs; the gauntlet's cost family
(``test_parse_cost.py``) bounds it as a ratio to parsing a normal example manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autopilot_flow.manifest import MAX_VALUES

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
NORMAL_NAME = "churn-tabular.yaml"
NORMAL_BYTES = (ROOT / "examples" / "manifests" / NORMAL_NAME).read_bytes()
NORMAL_JSON_NAME = "house-prices-regression.json"
NORMAL_JSON = json.loads((ROOT / "examples" / "manifests" / NORMAL_JSON_NAME).read_bytes())


TOO_MANY = "parse.too_many_values"
ALGORITHMS = (
    "AutoMLProblemTypeConfig.TabularJobConfig.CandidateGenerationConfig.AlgorithmsConfig[0]"
    ".AutoMLAlgorithms"
)


@dataclass(frozen=True)
class Flood:
    """A flood and its answer: ``code`` (one parse error), or ``path`` (a field's error), or
    neither (a valid manifest, only costly to read)."""

    name: str
    filename: str
    build: Callable[[], bytes]
    code: str | None = None
    path: str | None = None

    @property
    def media(self) -> str:
        return self.filename.rsplit(".", 1)[1]

    @property
    def body(self) -> bytes:
        return _built(self.name)


def _fill(head: bytes, unit: bytes, tail: bytes, size: int = MIB) -> bytes:
    """``head`` + as many ``unit`` as fit + ``tail``, at most ``size`` bytes."""
    count = (size - len(head) - len(tail)) // len(unit)
    return head + unit * count + tail


def yaml_flow_list() -> bytes:
    # 524k one-digit scalars: issue 11's 15 CPU-seconds in PyYAML's pure-Python loader.
    return _fill(b"a: [", b"1,", b"1]\n")


def yaml_block_list() -> bytes:
    return _fill(b"a:\n", b"- 1\n", b"")


def yaml_nested() -> bytes:
    # Trees 28 levels deep side by side (with the root, the list and the scalar: 31 of the
    # 32 levels allowed), filling 1 MiB.
    tree = b"[" * 28 + b"1" + b"]" * 28
    return _fill(b"a: [", tree + b", ", tree + b"]\n")


def yaml_nested_block() -> bytes:
    # Block mappings 16 levels deep, side by side under numbered keys.
    lines = [b"  " * (level + 1) + b"k:" for level in range(16)]
    tree = b"\n".join(lines) + b" 1\n"
    count = MIB // (len(tree) + len(b"t000000:\n"))
    return b"".join(b"t%06d:\n" % i + tree for i in range(count))


def yaml_unknown_fields() -> bytes:
    # A normal manifest, then top-level fields the model does not know, up to 1 MiB.
    count = (MIB - len(NORMAL_BYTES)) // len(b"U000000: 1\n")
    return NORMAL_BYTES + b"".join(b"U%06d: 1\n" % i for i in range(count))


def yaml_long_scalar() -> bytes:
    return _fill(b"AutoMLJobName: ", b"x", b"\n")


def yaml_comments() -> bytes:
    return NORMAL_BYTES + _fill(
        b"", b"# a comment line that says nothing at all\n", b"", MIB - len(NORMAL_BYTES)
    )


def _json_unknown_fields(count: int) -> bytes:
    fields = {f"Unknown{i:05d}": 1 for i in range(count)}
    return json.dumps({**NORMAL_JSON, **fields}, separators=(",", ":")).encode()


def json_unknown_fields_55k() -> bytes:
    return _json_unknown_fields(55_000)


def json_unknown_fields_60k() -> bytes:
    return _json_unknown_fields(60_000)


def json_deep() -> bytes:
    half = MIB // 2
    return b"[" * half + b"]" * half


def json_nested() -> bytes:
    # Trees 28 levels deep (inside the 32-level limit) side by side, in a field the model knows.
    tree = b"[" * 28 + b"1" + b"]" * 28
    return _fill(b'{"Tags": [', tree + b",", tree + b"]}")


def json_flow_list() -> bytes:
    # 524k items in a list the model knows: one type error each, unless refused first.
    return _fill(b'{"Tags": [', b"1,", b"1]}")


def _near_misses(count: int) -> list[str]:
    # Names like the API's (same length, many shared letters): the costliest to suggest for.
    return [f"AutoMLJobObjectiv{i:05d}" for i in range(count)]


def yaml_unknown_fields_within_limit() -> bytes:
    # Just under the value limit: every field is read, checked and reported.
    count = (MAX_VALUES - 200) // 2
    return NORMAL_BYTES + "".join(f"{name}: 1\n" for name in _near_misses(count)).encode()


def json_unknown_fields_within_limit() -> bytes:
    count = (MAX_VALUES - 200) // 2
    fields = dict.fromkeys(_near_misses(count), 1)
    return json.dumps({**NORMAL_JSON, **fields}).encode()


def json_wrong_enums_within_limit() -> bytes:
    # A list of enum values, each wrong (a suggestion each), just under the value limit.
    document = json.loads(json.dumps(NORMAL_JSON))
    algorithms = [f"xgbost{i}" for i in range(MAX_VALUES - 200)]
    config = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    config["CandidateGenerationConfig"] = {"AlgorithmsConfig": [{"AutoMLAlgorithms": algorithms}]}
    return json.dumps(document).encode()


def yaml_escapes() -> bytes:
    # One double-quoted scalar of escapes: the pure-Python scanner's slowest characters.
    return _fill(b'AutoMLJobName: "', b"\\x41", b'"\n')


def yaml_literal_block() -> bytes:
    return _fill(b"AutoMLJobName: |\n", b"  a line of a literal block scalar\n", b"")


FLOODS: dict[str, Flood] = {
    flood.name: flood
    for flood in (
        Flood("yaml_flow_list", "m.yaml", yaml_flow_list, code=TOO_MANY),
        Flood("yaml_nested", "m.yaml", yaml_nested, code=TOO_MANY),
        Flood("yaml_nested_block", "m.yaml", yaml_nested_block, code=TOO_MANY),
        Flood("yaml_block_list", "m.yaml", yaml_block_list, code=TOO_MANY),
        Flood("yaml_unknown_fields", "m.yaml", yaml_unknown_fields, code=TOO_MANY),
        Flood("yaml_long_scalar", "m.yaml", yaml_long_scalar, path="AutoMLJobName"),
        Flood("yaml_comments", "m.yaml", yaml_comments),
        Flood("json_unknown_fields_55k", "m.json", json_unknown_fields_55k, code=TOO_MANY),
        Flood("json_unknown_fields_60k", "m.json", json_unknown_fields_60k, code=TOO_MANY),
        Flood("json_deep", "m.json", json_deep, code="parse.too_deep"),
        Flood("json_nested", "m.json", json_nested, code=TOO_MANY),
        Flood("json_flow_list", "m.json", json_flow_list, code=TOO_MANY),
        Flood(
            "yaml_unknown_fields_within_limit",
            "m.yaml",
            yaml_unknown_fields_within_limit,
            path="AutoMLJobObjectiv00000",
        ),
        Flood(
            "json_unknown_fields_within_limit",
            "m.json",
            json_unknown_fields_within_limit,
            path="AutoMLJobObjectiv00000",
        ),
        Flood(
            "json_wrong_enums_within_limit",
            "m.json",
            json_wrong_enums_within_limit,
            path=f"{ALGORITHMS}[0]",
        ),
        Flood("yaml_escapes", "m.yaml", yaml_escapes, path="AutoMLJobName"),
        Flood("yaml_literal_block", "m.yaml", yaml_literal_block, path="AutoMLJobName"),
    )
}


@cache
def _built(name: str) -> bytes:
    return FLOODS[name].build()
