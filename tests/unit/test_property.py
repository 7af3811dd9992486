"""Property-based: mutate valid manifests; the validator never raises, always answers with
structured errors, and never accepts a request that botocore's own ParamValidator rejects."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.validate import ParamValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autopilot_flow.issues import document_order
from autopilot_flow.manifest import OUR_SECTIONS
from autopilot_flow.validate import validate_document
from tests.conftest import EXAMPLES, load_example

BASES = [load_example(path.name) for path in EXAMPLES]
for base in BASES:
    base.setdefault("AutoMLJobName", "property-test-job")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        ["", "s3://bucket/key", "training", "Gzip", "p50", "60min", "1D", "AUTO", "Accuracy"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=6,
)


def _parent_and_key(document: Any, loc: tuple[Any, ...]) -> tuple[Any, Any]:
    parent = document
    for segment in loc[:-1]:
        parent = parent[segment]
    return parent, loc[-1]


@st.composite
def mutated_manifests(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        locations = [loc for loc in document_order(document) if loc]
        loc = draw(st.sampled_from(locations))
        parent, key = _parent_and_key(document, loc)
        action = draw(st.sampled_from(["replace", "delete", "add_key", "duplicate_item"]))
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif action == "add_key" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(values)
        elif action == "duplicate_item" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return document


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=mutated_manifests())
def test_mutations_never_crash_and_never_pass_what_botocore_rejects(
    document: dict[str, Any], botocore_input_shape: Any
) -> None:
    result = validate_document(document)
    for issue in [*result.errors, *result.warnings]:
        assert isinstance(issue.path, str)
        assert isinstance(issue.code, str) and issue.code
        assert isinstance(issue.message, str) and issue.message
    request = {k: v for k, v in document.items() if k not in OUR_SECTIONS}
    report = ParamValidator().validate(request, botocore_input_shape)
    if report.has_errors():
        assert not result.valid, f"botocore rejects, we accept:\n{report.generate_report()}"


@pytest.mark.parametrize("base", BASES, ids=[p.name for p in EXAMPLES])
def test_unmutated_bases_pass_both(base: dict[str, Any], botocore_input_shape: Any) -> None:
    request = {k: v for k, v in base.items() if k not in OUR_SECTIONS}
    assert not ParamValidator().validate(request, botocore_input_shape).has_errors()
    assert validate_document(base).valid
