"""The gauntlet's cases are what they claim, checked without a stack (so, quickly)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autopilot_flow.manifest import ManifestError, parse_document
from tests.gauntlet.strategies import (
    MAX_KEY_BYTES,
    SEED_BYTES,
    Case,
    hostile_keys,
    malformed_manifests,
)

QUICK = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)


@QUICK
@given(case=malformed_manifests())
def test_a_case_is_unreadable_exactly_when_it_says_so(case: Case) -> None:
    name = f"manifest.{case.media}"
    assert (case.expected_path is None) != (case.expected_code is None)
    if case.document_level:
        with pytest.raises(ManifestError) as caught:
            parse_document(case.body, name)
        assert caught.value.issue.code == case.expected_code
    else:
        # Field-level damage must reach the validator: the document itself reads fine.
        assert isinstance(parse_document(case.body, name), dict)


@QUICK
@given(suffix=st.sampled_from([".json", ".yaml", ".yml"]), data=st.data())
def test_hostile_keys_are_keys_s3_takes(suffix: str, data: st.DataObject) -> None:
    key = data.draw(hostile_keys(suffix, "-0001"))
    assert key.startswith("manifests/")
    assert key.endswith(f"-0001{suffix}")
    assert len(key.encode("utf-8")) <= MAX_KEY_BYTES
    assert "\x00" not in key


def test_the_seeds_are_ascii() -> None:
    # invalid_utf8() relies on it: any byte it inserts then breaks the encoding.
    assert all(data.isascii() for data in SEED_BYTES.values())
