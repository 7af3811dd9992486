"""The HTTP door: 2,100 generated malformed manifests POSTed to /jobs.

Each is an API Gateway proxy event for the real JobsApi handler (JSON or YAML, as text or
base64 as API Gateway passes binary bodies). Every answer must be a 422 problem
(``application/problem+json``; ``ApiHarness.call`` checks it against openapi.json and for
leaked internals) naming what is wrong, with the same errors filed as the rejection report
(its only S3 write); no SageMaker call; and after the run, no job recorded as CREATED.
"""

from __future__ import annotations

from tests.gauntlet.doors import (
    Gauntlet,
    check_posted,
    run_every_case,
)
from tests.gauntlet.strategies import Case, valid_manifest


def test_every_malformed_manifest_posted_to_the_api_is_a_422(gauntlet: Gauntlet) -> None:
    def post(case: Case, calls_before: tuple[int, int]) -> None:
        event, answer = gauntlet.post(case)
        check_posted(gauntlet, case, event, answer, calls_before)

    run_every_case(gauntlet, post)


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
