"""docs/events.md cannot drift: every event is documented with an example that its schema
accepts, and every subscription pattern there is valid and matches a documented example."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from moto.events.models import EventPattern

from autopilot_flow import events as ev
from offline.template import ROOT

DOC = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
BLOCKS = [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", DOC, flags=re.DOTALL)]
EXAMPLES = [b for b in BLOCKS if "version" in b and "detail-type" in b]
PATTERNS = [b for b in BLOCKS if b not in EXAMPLES]
DETAIL_TYPES = [
    value for name, value in vars(ev).items() if name.isupper() and value.startswith("AutoML ")
]


def test_every_event_is_documented_with_a_schema() -> None:
    assert len(DETAIL_TYPES) == 12
    for detail_type in DETAIL_TYPES:
        assert f"### {detail_type}" in DOC, detail_type
        assert (ROOT / "schemas" / ev.schema_file_name(detail_type)).exists(), detail_type
    assert sorted(e["detail-type"] for e in EXAMPLES) == sorted(DETAIL_TYPES)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e["detail-type"] for e in EXAMPLES])
def test_examples_are_valid_events(example: dict[str, Any]) -> None:
    schema = json.loads(
        (ROOT / "schemas" / ev.schema_file_name(example["detail-type"])).read_text()
    )
    jsonschema.validate(example, schema)


@pytest.mark.parametrize("pattern", PATTERNS, ids=[str(i) for i in range(len(PATTERNS))])
def test_patterns_are_valid_and_match_a_documented_event(pattern: dict[str, Any]) -> None:
    assert pattern["source"] == [ev.SOURCE]
    # moto's parser and matcher, the ones its rules use.
    compiled = EventPattern.load(json.dumps(pattern))
    assert any(compiled.matches_event(example) for example in EXAMPLES)
