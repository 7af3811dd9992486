"""The HTTP door: 2,000 generated malformed manifests POSTed to /jobs.

Each is an API Gateway proxy event for the real JobsApi handler (JSON or YAML, as text or
base64 as API Gateway passes binary bodies). Every answer must be a 422 problem
(``application/problem+json``; ``ApiHarness.call`` checks it against openapi.json and for
leaked internals) naming what is wrong, with the same errors filed as the rejection report
(its only S3 write); no SageMaker call; and after the run, no job recorded as CREATED.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given, note

from tests.gauntlet.doors import (
    EXAMPLES_PER_DOOR,
    GAUNTLET_SETTINGS,
    Gauntlet,
    check_posted,
)
from tests.gauntlet.strategies import ALL_KINDS, Case, malformed_manifests, valid_manifest


def test_every_malformed_manifest_posted_to_the_api_is_a_422(gauntlet: Gauntlet) -> None:
    tried: Counter[str] = Counter()
    calls_before = gauntlet.calls.now()
    created_before = gauntlet.created_records()

    @GAUNTLET_SETTINGS
    @given(case=malformed_manifests())
    def post(case: Case) -> None:
        note(repr(case))  # always shown for a failing case (hypothesis may leave it out)
        tried[case.kind] += 1
        event, answer = gauntlet.post(case)
        check_posted(gauntlet, case, event, answer, calls_before)

    post()
    assert sum(tried.values()) >= EXAMPLES_PER_DOOR
    assert set(tried) == ALL_KINDS, f"never tried: {sorted(ALL_KINDS - set(tried))}"
    # Once for all cases (the query costs more with every record): a CREATED record is
    # only ever written after a CreateAutoMLJobV2 call, and records are never deleted.
    assert gauntlet.created_records() == created_before


def test_a_valid_manifest_moves_the_same_counters(gauntlet: Gauntlet) -> None:
    """The checks above can fail: through the same door and the same checks, a valid
    manifest calls SageMaker (both counters move), writes a receipt, records a job."""
    created_before = gauntlet.created_records()
    media, body = valid_manifest("house-prices-regression.json", "-proof")
    case = Case("valid", "house-prices-regression.json", media, body, expect_valid=True)
    calls_before = gauntlet.calls.now()
    event, answer = gauntlet.post(case)
    check_posted(gauntlet, case, event, answer, calls_before)
    assert "CreateAutoMLJobV2" in gauntlet.calls.operations
    assert gauntlet.created_records() == created_before + 1
