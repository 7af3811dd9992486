"""Hypothesis strategies for the gauntlet: manifests that are invalid by construction.

Every case starts from a real example manifest (``examples/manifests/``; each passes the
gauntlet stack's validation, policy and data preflight, which ``test_ingest_gauntlet.py``
checks) and damages it in a way that the API model, a documented rule or the policy forbids,
so every case is invalid and must be rejected. Each case carries what its answer must show:

- field-level damage (``expected_path``): a rejection whose errors name that path, e.g.
  ``AutoMLProblemTypeConfig.TabularJobConfig.CompletionCriteria.MaxCandidates``;
- byte-level damage (``expected_code``): the document cannot be read at all, so the answer is
  exactly one ``parse.*`` error, at the document's own path (``""`` by contract: the API's
  ``IssueModel`` documents the empty path as "the document").

Where the damage lands is chosen by walking the document together with the API model
(``api_model.request_model``) and our sections' model (``sections.SECTION_NODES``), so every
field of every example can be hit, and an invalid value is checked against the model's own
lengths, patterns and enums before it is used.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from autopilot_flow import problem_types as pt
from autopilot_flow.api_model import request_model
from autopilot_flow.issues import Loc, format_path
from autopilot_flow.manifest import (
    MAX_DEPTH,
    MAX_MANIFEST_BYTES,
    parse_document,
    plain_scalar_tag,
    yaml_1_1_problem,
)
from autopilot_flow.rules import STRUCTURAL_CHECKS as RULE_CHECKS
from autopilot_flow.sections import SECTION_NODES
from autopilot_flow.sections import STRUCTURAL_CHECKS as SECTION_CHECKS
from autopilot_flow.structure import compiled
from offline.demo_data import DATA_BUCKET, OUTPUT_BUCKET
from tests.gauntlet.floods import FLOODS

Node = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
SEED_BYTES = {path.name: path.read_bytes() for path in sorted(EXAMPLES.iterdir())}
SEEDS = {name: parse_document(data, name) for name, data in SEED_BYTES.items()}

# The gauntlet stack's policy (tests/integration/ingest_harness.PARAMETERS and the template's
# defaults); test_ingest_gauntlet.py checks the handler's policy against it. The policy fills
# these when omitted, so deleting them is not damage.
ALLOWED_ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"
MAX_CANDIDATES_CAP = 250
POLICY_FILLED: frozenset[Loc] = frozenset(
    {("AutoMLJobName",), ("RoleArn",), ("OutputDataConfig",), ("OutputDataConfig", "S3OutputPath")}
)

# If a YAML loader ever ran a python tag, this file would appear (the door tests look).
CANARY = Path(tempfile.gettempdir()) / "autopilot-flow-gauntlet-canary"

MANIFEST_NODE: Node = {
    "type": "structure",
    "shape": "Manifest",
    "members": {**request_model()["members"], **SECTION_NODES},
    "required": list(request_model()["required"]),
}
TAG_KEY_NODE: Node = request_model()["members"]["Tags"]["member"]["members"]["Key"]
JOB_NAME_NODE: Node = request_model()["members"]["AutoMLJobName"]
S3_URI_NODE: Node = request_model()["members"]["OutputDataConfig"]["members"]["S3OutputPath"]
METRICS: tuple[str, ...] = tuple(
    request_model()["members"]["AutoMLJobObjective"]["members"]["MetricName"]["enum"]
)


@dataclass(frozen=True)
class Case:
    """One manifest for a door, and what its answer must show."""

    kind: str  # the damage done, e.g. "wrong_type" or "truncated_json"
    seed: str  # the example it started from
    media: str  # "json" or "yaml": the key's suffix / the request's Content-Type
    body: bytes
    expect_valid: bool = False  # every generated case is invalid; True for control cases
    expected_path: str | None = None  # field-level damage: a path the answer must name
    expected_code: str | None = None  # byte-level damage: the one error's code

    @property
    def document_level(self) -> bool:
        return self.expected_code is not None

    def __repr__(self) -> str:  # hypothesis prints failing cases: keep megabytes out of it
        head = self.body[:160]
        more = f"... ({len(self.body):,} bytes)" if len(self.body) > 160 else ""
        return (
            f"Case(kind={self.kind!r}, seed={self.seed!r}, media={self.media!r}, "
            f"expected_path={self.expected_path!r}, expected_code={self.expected_code!r}, "
            f"body={head!r}{more})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis pretty-prints dataclasses field by field


# --- documents and the model -------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A place in a document that the model describes: a member (present or not), a list item
    or a map value, with the node that says what may stand there."""

    loc: Loc
    node: Node
    present: bool
    required: bool = False
    union_member: bool = False


def slots(document: dict[str, Any]) -> list[Slot]:
    """Every slot of ``document`` whose ancestors all have the type the model expects."""
    found = [Slot((), MANIFEST_NODE, True)]

    def walk(value: Any, node: Node, loc: Loc) -> None:
        kind = node["type"]
        if kind == "structure" and isinstance(value, dict):
            required = set(node.get("required", ()))
            for name, child in node["members"].items():
                present = name in value
                found.append(
                    Slot(loc + (name,), child, present, name in required, bool(node.get("union")))
                )
                if present:
                    walk(value[name], child, loc + (name,))
        elif kind == "list" and isinstance(value, list):
            for index, item in enumerate(value):
                found.append(Slot(loc + (index,), node["member"], True))
                walk(item, node["member"], loc + (index,))
        elif kind == "map" and isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str):
                    found.append(Slot(loc + (key,), node["value"], True))
                    walk(item, node["value"], loc + (key,))

    walk(document, MANIFEST_NODE, ())
    return found


def get(document: Any, loc: Loc) -> Any:
    for segment in loc:
        document = document[segment]
    return document


def put(document: Any, loc: Loc, value: Any) -> None:
    get(document, loc[:-1])[loc[-1]] = value


STRING_CHECKS = {**RULE_CHECKS, **SECTION_CHECKS}  # as validate.py builds its walk


def string_ok(node: Node, value: str) -> bool:
    """Would the model accept ``value`` (enum, or length and pattern)?"""
    if "enum" in node:
        return value in node["enum"]
    low, high = node.get("min"), node.get("max")
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        return False
    # Shapes the walk checks in code instead of by their pattern (e.g. EntityDescription,
    # whose \\p{...} classes Python's re cannot compile): the same check decides here.
    custom = STRING_CHECKS.get(node.get("shape", ""))
    if custom is not None:
        issues: list[Any] = []
        custom(value, (), issues)
        return not issues
    pattern = node.get("pattern")
    return pattern is None or compiled(pattern).fullmatch(value) is not None


def problem_of(document: dict[str, Any]) -> str | None:
    config = document.get("AutoMLProblemTypeConfig")
    if isinstance(config, dict) and len(config) == 1:
        return str(next(iter(config)))
    return None


def has_yaml_only_values(value: Any) -> bool:
    """Values JSON cannot carry: dates, bytes, sets, non-string keys, NaN and infinities."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, bytes | set | datetime.date):
        return True
    if isinstance(value, dict):
        return any(not isinstance(k, str) or has_yaml_only_values(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_yaml_only_values(v) for v in value)
    return False


class _Dumper(yaml.SafeDumper):
    """Writes shared objects out in full: an anchor in a case must be one we put there."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # PyYAML leaves text such as 09, 0o17 or 1e3 unquoted (text in YAML 1.1, which it
    # speaks); manifests are read as YAML 1.2 and refuse YAML 1.1 forms: quote those, so a
    # case's text stays text and its damage is only the damage it was made with.
    node = dumper.represent_str(text)
    if yaml_1_1_problem(text) is not None or plain_scalar_tag(text) != "tag:yaml.org,2002:str":
        node.style = "'"
    return node


_Dumper.add_representer(str, _represent_text)


def to_yaml(document: Any, **options: Any) -> str:
    text: str = yaml.dump(document, Dumper=_Dumper, sort_keys=False, **options)
    return text


def render(draw: Draw, document: Any, media: str) -> bytes:
    if media == "json":
        indent = draw(st.sampled_from([None, 2]))
        return json.dumps(document, ensure_ascii=draw(st.booleans()), indent=indent).encode()
    flow = draw(st.sampled_from([False, None]))
    return to_yaml(document, allow_unicode=draw(st.booleans()), default_flow_style=flow).encode()


def seed_media(name: str) -> str:
    return "json" if name.endswith(".json") else "yaml"


# --- values ---------------------------------------------------------------------------------------

small_text = st.text(max_size=12)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), finite_floats, small_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(small_text, inner, max_size=3),
    max_leaves=5,
)
some_lists = st.lists(json_scalars, max_size=3)
some_dicts = st.dictionaries(small_text, json_scalars, max_size=3)
# What only YAML can say (SafeLoader builds them): none is any type the model has.
yaml_only_scalars = st.one_of(
    st.dates(),
    st.datetimes(),
    st.binary(max_size=8),
    st.sets(st.integers(0, 9), max_size=3),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)

WRONG_TYPES: dict[str, st.SearchStrategy[Any]] = {
    "string": st.one_of(
        st.integers(), finite_floats, st.booleans(), st.none(), some_lists, some_dicts
    ),
    # "10" and 10.0 are not integers (the API is strict, and so are we).
    "integer": st.one_of(
        st.integers(-(10**6), 10**6).map(str),
        finite_floats,
        st.booleans(),
        st.none(),
        some_lists,
        some_dicts,
    ),
    "float": st.one_of(finite_floats.map(str), st.booleans(), st.none(), some_lists, some_dicts),
    "boolean": st.one_of(
        st.sampled_from(["true", "false", "yes", "True", "1", ""]),
        st.integers(0, 1),
        st.none(),
        some_lists,
        some_dicts,
    ),
    "structure": st.one_of(some_lists, small_text, st.integers(), st.booleans(), st.none()),
    "map": st.one_of(some_lists, small_text, st.integers(), st.booleans(), st.none()),
    "list": st.one_of(some_dicts, small_text, st.integers(), st.booleans(), st.none()),
}
WRONG_TYPES["long"] = WRONG_TYPES["integer"]
WRONG_TYPES["double"] = WRONG_TYPES["float"]

# Characters that break most AWS patterns: spaces, punctuation, RTL override, a combining
# mark, an emoji, controls, a NUL.
BREAKERS = (" ", "!", "#", "%", "?", "*", "\u202e", "\u0301", "\U0001f642", "\t", "\n", "\x00", "é")


def invalid_strings(draw: Draw, node: Node, current: Any) -> list[str]:
    """Strings the model refuses for ``node``: too short, too long, or off the pattern."""
    base = current if isinstance(current, str) and current else "a"
    candidates: list[str] = [""]
    high = node.get("max")
    if high is not None:
        candidates.append(base[:1] * (high + draw(st.integers(1, 40))))
    at = draw(st.integers(0, len(base)))
    candidates.append(base[:at] + draw(st.sampled_from(BREAKERS)) + base[at:])
    candidates.append(draw(st.text(max_size=30)))
    return [c for c in candidates if not string_ok(node, c)]


def out_of_range(draw: Draw, node: Node) -> Any:
    low, high = node.get("min"), node.get("max")
    options: list[st.SearchStrategy[Any]] = []
    if low is not None:
        options.append(st.integers(max_value=math.ceil(low) - 1))
    if high is not None:
        options.append(st.integers(min_value=math.floor(high) + 1))
    if node["type"] in ("float", "double"):
        if low is not None:
            options.append(st.floats(max_value=low, allow_nan=False, allow_infinity=False))
        if high is not None:
            options.append(st.floats(min_value=high, allow_nan=False, allow_infinity=False))
    # -0.0 and the bounds themselves are in range: keep only what is really outside.
    return draw(
        st.one_of(options).filter(
            lambda v: (low is not None and v < low) or (high is not None and v > high)
        )
    )


def typos(name: str) -> list[str]:
    swapped = name[1] + name[0] + name[2:] if len(name) > 1 else name + name
    homoglyph = name.replace("a", "\u0430").replace("e", "\u0435").replace("o", "\u043e")
    return [
        name.lower(),
        name.upper(),
        name[:-1],
        name + "s",
        swapped,
        name + " ",
        "\u200b" + name,  # zero-width space
        homoglyph,  # Cyrillic look-alikes
        name.replace("Config", "Configuration"),
    ]


# --- field-level damage ---------------------------------------------------------------------------

FIELD_KINDS = (
    "wrong_type",
    "yaml_only_value",
    "out_of_range",
    "bad_enum",
    "bad_string",
    "missing_required",
    "unknown_field",
    "bad_map_key",
    "item_count",
    "non_string_key",
)


def damage_places(document: dict[str, Any]) -> dict[str, list[Slot]]:
    """Where each kind of structural damage can land in ``document``."""
    places = slots(document)

    def holds(slot: Slot, kind: type) -> bool:
        return slot.present and isinstance(get(document, slot.loc), kind)

    def only_member(slot: Slot) -> bool:
        # Removing the one member a union has leaves none set; removing one of two leaves
        # exactly one, which the union allows.
        return len(get(document, slot.loc[:-1])) == 1

    choices: dict[str, list[Slot]] = {
        "wrong_type": [s for s in places if s.loc],
        "yaml_only_value": [s for s in places if s.loc],
        "out_of_range": [
            s
            for s in places
            if s.node["type"] in ("integer", "long", "float", "double")
            and (s.node.get("min") is not None or s.node.get("max") is not None)
        ],
        "bad_enum": [s for s in places if s.node["type"] == "string" and "enum" in s.node],
        "bad_string": [
            s
            for s in places
            if s.node["type"] == "string"
            and "enum" not in s.node
            and (s.node.get("min") or s.node.get("max") is not None or "pattern" in s.node)
        ],
        "missing_required": [
            s
            for s in places
            if s.present
            and s.loc not in POLICY_FILLED
            and (s.required or (s.union_member and only_member(s)))
        ],
        "unknown_field": [s for s in places if holds(s, dict) and s.node["type"] == "structure"],
        "bad_map_key": [s for s in places if holds(s, dict) and s.node["type"] == "map"],
        "item_count": [
            s
            for s in places
            if holds(s, list if s.node["type"] == "list" else dict)
            and s.node["type"] in ("list", "map")
            and (s.node.get("min") or s.node.get("max") is not None)
        ],
        "non_string_key": [
            s for s in places if holds(s, dict) and s.node["type"] in ("structure", "map")
        ],
    }
    assert set(choices) == set(FIELD_KINDS)
    return choices


def damage_structure(
    draw: Draw, document: dict[str, Any], kind: str | None = None
) -> tuple[str, Loc]:
    """One damage (of ``kind``, or any) that the structural walk must report at the returned
    location; ``document`` is changed in place."""
    choices = damage_places(document)
    if kind is None:
        kind = draw(st.sampled_from([k for k in FIELD_KINDS if choices[k]]))
    slot = draw(st.sampled_from(choices[kind]))
    loc, node = slot.loc, slot.node
    current: Any = get(document, loc) if slot.present else None
    if kind == "wrong_type":
        put(document, loc, draw(WRONG_TYPES[node["type"]]))
    elif kind == "yaml_only_value":
        put(document, loc, draw(yaml_only_scalars))
    elif kind == "out_of_range":
        put(document, loc, out_of_range(draw, node))
    elif kind == "bad_enum":
        enum = node["enum"]
        wrong = [v.lower() for v in enum] + [v.upper() for v in enum] + [v[:-1] for v in enum]
        wrong += [draw(small_text), enum[0] + " "]
        put(document, loc, draw(st.sampled_from([v for v in wrong if v not in enum])))
    elif kind == "bad_string":
        bad = invalid_strings(draw, node, current)
        # Every string node here has a minimum, a maximum or a pattern, so one candidate
        # breaks it; the fallback keeps the damage certain should the model change.
        put(document, loc, draw(st.sampled_from(bad)) if bad else 12345)
    elif kind == "missing_required":
        del get(document, loc[:-1])[loc[-1]]
        if slot.union_member:
            return kind, loc[:-1]  # "set exactly one of ...", said of the union itself
    elif kind == "unknown_field":
        members = list(node["members"])
        keys = [*typos(draw(st.sampled_from(members))), draw(st.text(max_size=40))]
        keys.append(draw(st.text(min_size=100, max_size=400)))
        # An unknown "" at the top level is reported at the path "", the document's own path
        # (ambiguous, but by the path format): not a field-level case, so left out.
        unknown = [
            k for k in keys if k not in members and k not in current and (loc or k != "")
        ] or ["GauntletUnknownField"]
        key = draw(st.sampled_from(unknown))
        current[key] = draw(json_values)
        return kind, loc + (key,)
    elif kind == "bad_map_key":
        key_node = node["key"]
        names = sorted(k for k in current if isinstance(k, str)) or ["a"]
        bad = invalid_strings(draw, key_node, draw(st.sampled_from(names)))
        bad += [k for k in ("", "x" * 300, "bad key!") if not string_ok(key_node, k)]
        key = draw(st.sampled_from([k for k in bad if k not in current]))
        current[key] = copy.deepcopy(next(iter(current.values()))) if current else "x"
        return kind, loc + (key,)
    elif kind == "item_count":
        low, high = node.get("min"), node.get("max")
        ways = (["empty"] if low else []) + (["too_many"] if high is not None and current else [])
        way = draw(st.sampled_from(ways or ["empty"]))
        if way == "empty":
            put(document, loc, type(current)())
        elif isinstance(current, list):
            extra = high + draw(st.integers(1, 3)) - len(current)
            current.extend(copy.deepcopy(current[i % len(current)]) for i in range(extra))
        else:
            model = next(iter(current.values()))
            for index in range(high + draw(st.integers(1, 3)) - len(current)):
                current[f"gauntlet{index}"] = copy.deepcopy(model)
    elif kind == "non_string_key":
        keys = [1, -3, 2.5, True, None, datetime.date(2026, 11, 28)]
        key = draw(st.sampled_from([k for k in keys if k not in current]))
        current[key] = draw(json_scalars)
        return kind, loc + (str(key),)
    return kind, loc


SEEDS_FOR = {
    kind: [name for name in sorted(SEEDS) if damage_places(SEEDS[name])[kind]]
    for kind in FIELD_KINDS
}


def enrich(document: dict[str, Any]) -> None:
    """Add valid optional sections, so that damage can reach inside them too."""
    document.setdefault("Tags", [{"Key": "team", "Value": "gauntlet"}])
    document.setdefault("Notifications", {"OnStatus": ["Completed", "Failed"]})


@st.composite
def field_damage(draw: Draw, kind: str) -> Case:
    """1-3 structural damages, the last of ``kind``; the last one's location must be named."""
    # A seed where this kind can land (only two examples have maps, for instance).
    seed = draw(st.sampled_from(SEEDS_FOR[kind]))
    enriched = draw(st.booleans())

    def fresh() -> dict[str, Any]:
        document = copy.deepcopy(SEEDS[seed])
        if enriched:
            enrich(document)
        return document

    document = fresh()
    for _ in range(draw(st.integers(0, 2))):
        damage_structure(draw, document)
    if not damage_places(document)[kind]:
        document = fresh()  # the earlier damage removed every place this kind lands
    # The last damage cannot be hidden: it lands where the walk still reaches (ancestors of
    # the right type), and structural errors are never dropped.
    _, loc = damage_structure(draw, document, kind)
    media = "yaml" if has_yaml_only_values(document) else draw(st.sampled_from(["json", "yaml"]))
    body = render(draw, document, media)
    return Case(kind, seed, media, body, expected_path=format_path(loc))


# --- rules and policy ---------------------------------------------------------------------------

RULE_KINDS = (
    "role_not_allowed",
    "emr_role_not_allowed",
    "s3_not_allowed",
    "topic_not_allowed",
    "max_candidates",
    "conflicting_problem_types",
    "objective_for_problem",
    "tag_rules",
    "too_many_tags",
    "bad_job_name",
    "bad_s3_uri",
    "deployment_rules",
    "broken_notifications",
)

OTHER_ROLES = (
    "arn:aws:iam::111122223333:role/Administrator",
    "arn:aws:iam::999999999999:role/AutopilotExecution",  # the same name in another account
    "arn:aws:iam::111122223333:role/AutopilotExecution2",
    "arn:aws:iam::111122223333:role/autopilotexecution",
    "arn:aws:iam::111122223333:role/service-role/AutopilotExecution",
    "arn:aws-cn:iam::111122223333:role/AutopilotExecution",
)
OUTSIDE_S3 = (
    "s3://someone-elses-bucket/data/",
    f"s3://{DATA_BUCKET}-copy/churn/train/",  # a longer bucket name is another bucket
    f"s3://{OUTPUT_BUCKET}x/autopilot/",
    f"https://{DATA_BUCKET}.s3.amazonaws.com/churn/train/",  # https:// once prefixes are set
)
TOPICS = (
    "arn:aws:sns:us-east-1:111122223333:ml-alerts",
    "arn:aws:sns:eu-west-1:999999999999:exfiltrate",
)
BAD_JOB_NAMES = (
    "",
    "-leading",
    "trailing-",
    "two words",
    "under_score",
    "a" * 33,
    "ünïcödé",
    "name.with.dots",
    "\u202eemanlive",
    "job\n",
    "\U0001f642",
)
BAD_S3_URIS = (
    "",
    "s3:/bucket/key",
    "s3//bucket/key",
    "bucket/key",
    "gs://bucket/key",
    "S3://bucket/key",
    "s3://",
    "s3:///key",
    "file:///etc/passwd",
    "s3://" + "b" * 1020,
)


def _deployment(document: dict[str, Any]) -> dict[str, Any]:
    deployment = document.get("Deployment")
    if not isinstance(deployment, dict):
        deployment = document["Deployment"] = {"EndpointName": "gauntlet-endpoint"}
    return deployment


def _channel_uris(document: dict[str, Any]) -> list[Loc]:
    channels = document["AutoMLJobInputDataConfig"]
    return [
        ("AutoMLJobInputDataConfig", i, "DataSource", "S3DataSource", "S3Uri")
        for i in range(len(channels))
    ]


def damage_rule(draw: Draw, document: dict[str, Any], kind: str) -> Loc:
    """Damage of ``kind`` that a rule or the policy must report at the returned location
    (``document`` is changed in place)."""
    problem = problem_of(document)
    assert problem is not None  # every seed has one problem type
    config = document["AutoMLProblemTypeConfig"][problem]
    if kind == "role_not_allowed":
        document["RoleArn"] = draw(st.sampled_from(OTHER_ROLES))
        return ("RoleArn",)
    if kind == "emr_role_not_allowed":
        role = draw(st.sampled_from(OTHER_ROLES))
        document["AutoMLComputeConfig"] = {"EmrServerlessComputeConfig": {"ExecutionRoleARN": role}}
        return ("AutoMLComputeConfig", "EmrServerlessComputeConfig", "ExecutionRoleARN")
    if kind == "s3_not_allowed":
        places = [*_channel_uris(document), ("OutputDataConfig", "S3OutputPath")]
        if problem in (pt.TABULAR, pt.TIME_SERIES):
            places.append(("AutoMLProblemTypeConfig", problem, "FeatureSpecificationS3Uri"))
        loc: Loc = draw(st.sampled_from(places))
        put(document, loc, draw(st.sampled_from(OUTSIDE_S3)))
        return loc
    if kind == "topic_not_allowed":
        # The stack allows no topic at all: any topic a manifest names is refused.
        notifications = document.setdefault("Notifications", {})
        topics = draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3))
        notifications["TopicArns"] = topics
        return ("Notifications", "TopicArns", 0)
    if kind == "max_candidates":
        # Tabular: above the stack's cap (the model allows 750); others: only 1 is supported.
        low = MAX_CANDIDATES_CAP + 1 if problem == pt.TABULAR else 2
        criteria = config.setdefault("CompletionCriteria", {})
        criteria["MaxCandidates"] = draw(st.integers(low, 750))
        return ("AutoMLProblemTypeConfig", problem, "CompletionCriteria", "MaxCandidates")
    if kind == "conflicting_problem_types":
        others = {problem_of(d): d for d in SEEDS.values()}
        other = draw(st.sampled_from(sorted(k for k in others if k and k != problem)))
        document["AutoMLProblemTypeConfig"][other] = copy.deepcopy(
            others[other]["AutoMLProblemTypeConfig"][other]
        )
        return ("AutoMLProblemTypeConfig",)
    if kind == "objective_for_problem":
        if problem == pt.TEXT_GENERATION:
            document["AutoMLJobObjective"] = {"MetricName": draw(st.sampled_from(METRICS))}
            return ("AutoMLJobObjective",)  # text generation takes no objective
        if problem == pt.TABULAR:
            allowed = pt.TABULAR_METRICS[config["ProblemType"]]
        elif problem == pt.TIME_SERIES:
            allowed = pt.TIME_SERIES_METRICS
        else:
            allowed = pt.CLASSIFICATION_METRICS
        wrong = draw(st.sampled_from([m for m in METRICS if m not in allowed]))
        document["AutoMLJobObjective"] = {"MetricName": wrong}
        return ("AutoMLJobObjective", "MetricName")
    if kind == "tag_rules":
        tags = document.setdefault("Tags", [])
        way = draw(st.sampled_from(["duplicate", "reserved", "bad_key"]))
        if way == "duplicate":
            key = draw(st.sampled_from(["team", "cost-center", "Owner"]))
            tags += [{"Key": key, "Value": "a"}, {"Key": key, "Value": "b"}]
        elif way == "reserved":
            key = draw(st.sampled_from(["aws:cloudformation:stack-name", "AWS:owner", "aws:"]))
            tags.append({"Key": key, "Value": "x"})
        else:
            bad = invalid_strings(draw, TAG_KEY_NODE, draw(st.sampled_from(["team", "k"])))
            tags.append({"Key": draw(st.sampled_from(bad)), "Value": "x"})
        return ("Tags", len(tags) - 1, "Key")
    if kind == "too_many_tags":
        count = draw(st.integers(51, 60))
        document["Tags"] = [{"Key": f"key-{i}", "Value": f"value {i}"} for i in range(count)]
        return ("Tags",)
    if kind == "bad_job_name":
        names = [n for n in BAD_JOB_NAMES if not string_ok(JOB_NAME_NODE, n)]
        document["AutoMLJobName"] = draw(st.sampled_from(names))
        return ("AutoMLJobName",)
    if kind == "bad_s3_uri":
        where: Loc = draw(
            st.sampled_from([*_channel_uris(document), ("OutputDataConfig", "S3OutputPath")])
        )
        bad_uris = [uri for uri in BAD_S3_URIS if not string_ok(S3_URI_NODE, uri)]
        put(document, where, draw(st.sampled_from(bad_uris)))
        return where
    if kind == "deployment_rules":
        return damage_deployment(draw, document, problem)
    # broken_notifications
    way = draw(st.sampled_from(["status", "no_topics", "bad_topic"]))
    if way == "status":
        status = draw(st.sampled_from(["Done", "completed", "InProgress", "", "*"]))
        document["Notifications"] = {"OnStatus": ["Completed", status]}
        return ("Notifications", "OnStatus", 1)
    if way == "no_topics":
        document["Notifications"] = {"TopicArns": []}
        return ("Notifications", "TopicArns")
    arn = draw(st.sampled_from(["ml-alerts", "arn:aws:sns:us-east-1:1111:ml", "arn:aws:sqs:x"]))
    document["Notifications"] = {"TopicArns": [arn]}
    return ("Notifications", "TopicArns", 0)


def damage_deployment(draw: Draw, document: dict[str, Any], problem: str) -> Loc:
    deployment = _deployment(document)
    ways = ["both_targets", "count_without_type", "memory_step"]
    tabular_type = document["AutoMLProblemTypeConfig"][problem].get("ProblemType")
    if problem in (pt.TIME_SERIES, pt.TEXT_GENERATION) or tabular_type == "Regression":
        ways.append("response_keys")
    if problem == pt.TEXT_GENERATION:
        ways.append("serverless_llm")
    if problem == pt.TABULAR:
        ways.append("definitions_only")
    way = draw(st.sampled_from(ways))
    if way == "both_targets":
        deployment["Serverless"] = {"MemorySizeInMB": 2048}
        deployment["InstanceType"] = "ml.m5.large"
        return ("Deployment", "Serverless")
    if way == "count_without_type":
        deployment.pop("InstanceType", None)
        deployment["InitialInstanceCount"] = draw(st.integers(1, 100))
        return ("Deployment", "InitialInstanceCount")
    if way == "memory_step":
        deployment.pop("InstanceType", None)
        deployment.pop("InitialInstanceCount", None)
        memory = draw(st.integers(1025, 6143).filter(lambda m: m % 1024))
        deployment["Serverless"] = {"MemorySizeInMB": memory}
        return ("Deployment", "Serverless", "MemorySizeInMB")
    if way == "response_keys":
        deployment["InferenceResponseKeys"] = ["predicted_label"]
        return ("Deployment", "InferenceResponseKeys")
    if way == "serverless_llm":
        deployment.pop("InstanceType", None)
        deployment["Serverless"] = {"MemorySizeInMB": 6144}
        return ("Deployment", "InstanceType")
    document["AutoMLProblemTypeConfig"][problem]["GenerateCandidateDefinitionsOnly"] = True
    return ("Deployment",)


@st.composite
def rule_damage(draw: Draw, kind: str) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    document = copy.deepcopy(SEEDS[seed])
    loc = damage_rule(draw, document, kind)
    media = draw(st.sampled_from(["json", "yaml"]))
    return Case(kind, seed, media, render(draw, document, media), expected_path=format_path(loc))


# --- byte-level damage ----------------------------------------------------------------------------

SENTINEL = "gauntlet-sentinel-value"


def seed_yaml(draw: Draw) -> tuple[str, str]:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    return seed, to_yaml(SEEDS[seed])


def with_sentinel(draw: Draw, document: dict[str, Any], media: str) -> str:
    """The document written with SENTINEL at a random value slot (to be replaced by raw text)."""
    places = [s.loc for s in slots(document) if s.loc and s.present]
    put(document, draw(st.sampled_from(places)), SENTINEL)
    return json.dumps(document) if media == "json" else to_yaml(document, default_flow_style=False)


def raw(kind: str, seed: str, media: str, body: bytes, code: str) -> Case:
    return Case(kind, seed, media, body, expected_code=code)


@st.composite
def truncated(draw: Draw, media: str) -> Case:
    # A prefix of a JSON object, or of a YAML flow mapping, never closes it.
    seed = draw(st.sampled_from(sorted(SEEDS)))
    if media == "json":
        text = json.dumps(SEEDS[seed], ensure_ascii=draw(st.booleans()))
    else:
        text = to_yaml(SEEDS[seed], default_flow_style=True).rstrip()
    cut = draw(st.integers(1, len(text) - 1))
    code = "parse.invalid_json" if media == "json" else "parse.invalid_yaml"
    return raw(f"truncated_{media}", seed, media, text[:cut].encode(), code)


INVALID_UTF8 = (
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc3",
    b"\xe9",
)


@st.composite
def invalid_utf8(draw: Draw) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    data = SEED_BYTES[seed]  # the examples are ASCII, so any of these bytes is an error
    at = draw(st.integers(0, len(data)))
    body = data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]
    return raw("invalid_utf8", seed, seed_media(seed), body, "parse.encoding")


@st.composite
def binary(draw: Draw, way: str) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    if way == "junk":
        junk = draw(st.binary(max_size=2048))
        at = draw(st.integers(0, len(junk)))
        body = junk[:at] + b"\x00" + junk[at:]
    else:
        body = SEED_BYTES[seed].decode().encode(way)  # ASCII in UTF-16/32 is full of NULs
    return raw(f"binary_{way}", seed, draw(st.sampled_from(["json", "yaml"])), body, "parse.binary")


@st.composite
def empty(draw: Draw) -> Case:
    blank = draw(st.text(alphabet=" \t\r\n\x0b\x0c", max_size=20)).encode()
    body = draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + blank
    return raw("empty", "-", draw(st.sampled_from(["json", "yaml"])), body, "parse.empty")


@st.composite
def not_a_mapping(draw: Draw) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    value = draw(
        st.one_of(
            st.just([SEEDS[seed]]),
            st.lists(json_values, max_size=3),
            st.integers(),
            finite_floats,
            st.text(max_size=20),
            st.booleans(),
            st.none(),
        )
    )
    media = draw(st.sampled_from(["json", "yaml"]))
    text = json.dumps(value) if media == "json" else to_yaml(value)
    if media == "yaml" and draw(st.booleans()):
        text = "# only a comment\n"
    return raw("not_a_mapping", seed, media, text.encode(), "parse.not_a_mapping")


@st.composite
def duplicate_key(draw: Draw) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    document = SEEDS[seed]
    mappings = [
        s.loc for s in slots(document) if s.present and isinstance(get(document, s.loc), dict)
    ]
    target = draw(st.sampled_from([loc for loc in mappings if get(document, loc)]))
    key = draw(st.sampled_from(sorted(get(document, target))))
    again = draw(st.one_of(st.just(get(document, target)[key]), json_scalars))
    position = draw(st.integers(0, len(get(document, target))))

    def emit(value: Any, loc: Loc) -> str:
        if isinstance(value, dict):
            items = [f"{json.dumps(k)}: {emit(v, loc + (k,))}" for k, v in value.items()]
            if loc == target:
                items.insert(position, f"{json.dumps(key)}: {json.dumps(again)}")
            return "{" + ", ".join(items) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(emit(v, loc + (i,)) for i, v in enumerate(value)) + "]"
        return json.dumps(value)

    # JSON is also YAML (flow style): the same text is sent as either.
    media = draw(st.sampled_from(["json", "yaml"]))
    body = emit(document, ()).encode()
    if media == "yaml" and not target and draw(st.booleans()):
        body = (to_yaml(document) + to_yaml({key: again})).encode()  # a block mapping
    return raw("duplicate_key", seed, media, body, "parse.duplicate_key")


@st.composite
def several_documents(draw: Draw) -> Case:
    seed, text = seed_yaml(draw)
    second = draw(st.sampled_from([text, "AutoMLJobName: second\n", "- a list\n"]))
    start = draw(st.sampled_from(["", "---\n"]))
    end = draw(st.sampled_from(["---\n", "...\n---\n"]))
    body = f"{start}{text}{end}{second}".encode()
    return raw("several_documents", seed, "yaml", body, "parse.invalid_yaml")


@st.composite
def yaml_alias(draw: Draw, way: str) -> Case:
    seed, text = seed_yaml(draw)
    if way == "bomb":
        depth, width = draw(st.integers(1, 9)), draw(st.integers(2, 9))
        lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
        for level in range(1, depth + 1):
            lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
        extra = "\n".join(lines) + "\n"
    elif way == "alias":
        extra = "GauntletAnchor: &anchor churn\nGauntletAlias: *anchor\n"
    else:
        extra = "GauntletBase: &base {x: 1}\nGauntletMerged:\n  <<: *base\n"
    body = (text + extra if draw(st.booleans()) else extra + text).encode()
    return raw(f"yaml_alias_{way}", seed, "yaml", body, "parse.yaml_alias")


PYTHON_TAGS = (
    f'!!python/object/apply:os.system ["touch {CANARY}"]',
    f'!!python/object/apply:subprocess.check_call [["touch", "{CANARY}"]]',
    f'!!python/object/new:os.system ["touch {CANARY}"]',
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple [1, 2]",
    "!!python/object:builtins.dict {}",
    "!Ref DefaultRoleArn",  # CloudFormation's short forms are local tags, unknown here
    "!Sub 'arn:aws:iam::${AWS::AccountId}:role/x'",
)


@st.composite
def python_tag(draw: Draw) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    text = with_sentinel(draw, copy.deepcopy(SEEDS[seed]), "yaml")
    body = text.replace(SENTINEL, draw(st.sampled_from(PYTHON_TAGS)), 1).encode()
    return raw("python_tag", seed, "yaml", body, "parse.invalid_yaml")


@st.composite
def too_deep(draw: Draw, media: str) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    opener = draw(st.sampled_from(["[", '{"a": ' if media == "json" else "{a: "]))
    # PyYAML scans nested flow sequences in quadratic time until its recursion gives up
    # (about 0.8 s at 1,000 levels): deep enough is enough there.
    deepest = 600 if (media, opener) == ("yaml", "[") else 20_000
    depth = draw(st.integers(MAX_DEPTH + 1, deepest))
    closer = "]" if opener == "[" else "}"
    nested = opener * depth + "1" + closer * depth
    text = with_sentinel(draw, copy.deepcopy(SEEDS[seed]), media)
    quoted = json.dumps(SENTINEL) if media == "json" else SENTINEL
    body = text.replace(quoted, nested, 1).encode()
    return raw(f"too_deep_{media}", seed, media, body, "parse.too_deep")


@st.composite
def too_large(draw: Draw) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    data = SEED_BYTES[seed]
    size = draw(st.integers(MAX_MANIFEST_BYTES + 1, MAX_MANIFEST_BYTES + 65_536))
    pad = size - len(data) - 2
    # A valid manifest, padded past the limit with whitespace (JSON) or a comment (YAML).
    tail = b" " * (pad + 2) if seed.endswith(".json") else b"\n#" + b"x" * pad
    return raw("too_large", seed, seed_media(seed), data + tail, "parse.too_large")


@st.composite
def json_non_finite(draw: Draw) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    text = with_sentinel(draw, copy.deepcopy(SEEDS[seed]), "json")
    literal = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
    body = text.replace(json.dumps(SENTINEL), literal, 1).encode()
    return raw("json_non_finite", seed, "json", body, "parse.invalid_json")


@st.composite
def huge_integer(draw: Draw) -> Case:
    # Longer than the 4300 digits Python converts by default (sys.get_int_max_str_digits).
    media = draw(st.sampled_from(["json", "yaml"]))
    seed = draw(st.sampled_from(sorted(SEEDS)))
    digits = "9" * draw(st.integers(4301, 20_000))
    text = with_sentinel(draw, copy.deepcopy(SEEDS[seed]), media)
    quoted = json.dumps(SENTINEL) if media == "json" else SENTINEL
    body = text.replace(quoted, digits, 1).encode()
    code = "parse.invalid_json" if media == "json" else "parse.invalid_yaml"
    return raw("huge_integer", seed, media, body, code)


@st.composite
def lone_surrogate(draw: Draw) -> Case:
    # Valid UTF-8 bytes, but an escape for half a UTF-16 pair: not a Unicode character.
    media = draw(st.sampled_from(["json", "yaml"]))
    seed = draw(st.sampled_from(sorted(SEEDS)))
    escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\udc00x", "a\\ud83d"]))
    document = copy.deepcopy(SEEDS[seed])
    where = draw(st.sampled_from(["key", "value"]))
    if where == "key":
        document[SENTINEL] = 1
    text = (
        with_sentinel(draw, document, media)
        if where == "value"
        else (json.dumps(document) if media == "json" else to_yaml(document))
    )
    quoted = json.dumps(SENTINEL) if media == "json" else SENTINEL
    body = text.replace(quoted, f'"{escape}"', 1).encode()
    return raw("lone_surrogate", seed, media, body, "parse.encoding")


# Plain scalars that YAML 1.1 (and PyYAML) read as other values than YAML 1.2 does:
# MaxCandidates: 010 was 8, 4:00:00 was 14400, and both passed validation.
YAML_1_1_SCALARS = (
    "010",
    "+0755",
    "09",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "1_000.5",
    "4:00:00",
    "1:30.5",
    "-1:30",
    "yes",
    "No",
    "ON",
    "off",
    "Off",
    "YES",
)


@st.composite
def yaml_1_1_value(draw: Draw) -> Case:
    seed = draw(st.sampled_from(sorted(SEEDS)))
    text = with_sentinel(draw, copy.deepcopy(SEEDS[seed]), "yaml")
    body = text.replace(SENTINEL, draw(st.sampled_from(YAML_1_1_SCALARS)), 1).encode()
    return raw("yaml_1_1_value", seed, "yaml", body, "parse.yaml_1_1_value")


@st.composite
def cost_flood(draw: Draw) -> Case:
    # 1 MiB built to make a parser or the validator work (floods.py); answered in bounded
    # CPU (test_parse_cost.py bounds it), by one parse error or a field's errors.
    flood = draw(st.sampled_from([f for f in FLOODS.values() if f.code or f.path]))
    return Case(
        "cost_flood",
        flood.name,
        flood.media,
        flood.body,
        expected_path=flood.path,
        expected_code=flood.code,
    )


BYTE_DAMAGE: dict[str, st.SearchStrategy[Case]] = {
    "truncated_json": truncated("json"),
    "truncated_yaml": truncated("yaml"),
    "invalid_utf8": invalid_utf8(),
    "binary_junk": binary("junk"),
    "binary_utf-16": binary("utf-16"),
    "binary_utf-32": binary("utf-32"),
    "empty": empty(),
    "not_a_mapping": not_a_mapping(),
    "duplicate_key": duplicate_key(),
    "several_documents": several_documents(),
    "yaml_alias_bomb": yaml_alias("bomb"),
    "yaml_alias_alias": yaml_alias("alias"),
    "yaml_alias_merge": yaml_alias("merge"),
    "python_tag": python_tag(),
    "too_deep_json": too_deep("json"),
    "too_deep_yaml": too_deep("yaml"),
    "too_large": too_large(),
    "json_non_finite": json_non_finite(),
    "huge_integer": huge_integer(),
    "lone_surrogate": lone_surrogate(),
    "yaml_1_1_value": yaml_1_1_value(),
    "cost_flood": cost_flood(),
}
DAMAGE: dict[str, st.SearchStrategy[Case]] = {
    **{kind: field_damage(kind) for kind in FIELD_KINDS},
    **{kind: rule_damage(kind) for kind in RULE_KINDS},
    **BYTE_DAMAGE,
}
ALL_KINDS = frozenset(DAMAGE)


def malformed_manifests() -> st.SearchStrategy[Case]:
    """Any malformed manifest, each kind of damage about as often as any other (one_of would
    weigh its branches unevenly)."""
    return st.sampled_from(sorted(DAMAGE)).flatmap(DAMAGE.__getitem__)


# --- hostile S3 keys ------------------------------------------------------------------------------

MAX_KEY_BYTES = 1024  # S3's limit for an object key (UTF-8)
HOSTILE_SEGMENTS = (
    "..",
    ".",
    "",  # "//"
    " ",
    " leading and trailing ",
    "a+b",
    "100%",
    "%20",
    "%2F..%2F",
    "a b+c%20d",
    "e\u0301",  # e and a combining acute accent
    "\u202eevil.json",  # right-to-left override
    "שלום עולם",
    "مرحبا",
    "équipe données",
    "\U0001f642\U0001f469\u200d\U0001f469\u200d\U0001f467",  # emoji, a ZWJ sequence
    "tab\there",
    "bell\x07\x1b[31m",  # controls S3 stores (XML listings need EncodingType=url)
    "\x7fdel",
    "?#&=;:*[]{}\\'\"<>|^`~",
)
# Every character S3 accepts in a key except NUL and "/" (segments are joined with it).
key_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00/"), max_size=12)


def _fit(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` UTF-8 bytes, on a character boundary."""
    return text.encode("utf-8")[: max(room, 0)].decode("utf-8", "ignore")


@st.composite
def hostile_keys(draw: Draw, suffix: str, unique: str) -> str:
    """A key under ``manifests/`` ending in ``unique`` + ``suffix``: odd segments (``..``,
    ``.``, empty, spaces, ``+``, ``%``, unicode, controls), sometimes as long as S3 allows."""
    segment = st.one_of(st.sampled_from(HOSTILE_SEGMENTS), key_text)
    parts = draw(st.lists(segment, max_size=4))
    name = draw(segment)
    fixed = f"manifests/{'/'.join([*parts, ''])}{name}{unique}{suffix}"
    if draw(st.booleans()):
        # Pad the name up to a length between the key's and S3's limit, 1024 bytes.
        target = draw(st.integers(len(fixed.encode()), MAX_KEY_BYTES))
        pad = draw(st.sampled_from(["x", "é", "\U0001f642", " ", "%", "+"]))
        filler = _fit(pad * target, target - len(fixed.encode()))
        fixed = f"manifests/{'/'.join([*parts, ''])}{name}{filler}{unique}{suffix}"
    prefix_room = MAX_KEY_BYTES - len(f"{unique}{suffix}".encode())
    head = fixed[: -len(f"{unique}{suffix}")]
    return _fit(head, prefix_room) + unique + suffix


def valid_manifest(seed: str, unique: str) -> tuple[str, bytes]:
    """A seed made unique (its job name is then derived from the key and the content)."""
    document = copy.deepcopy(SEEDS[seed])
    document.pop("AutoMLJobName", None)
    document.setdefault("Tags", []).append({"Key": "gauntlet", "Value": unique})
    media = seed_media(seed)
    text = json.dumps(document) if media == "json" else to_yaml(document)
    return media, text.encode()
