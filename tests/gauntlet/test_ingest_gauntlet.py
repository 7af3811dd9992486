"""The S3 door: 2,100 generated malformed manifests dropped into the bucket, one at a time.

Each travels bucket -> S3 notification -> ingest queue -> the real IngestManifest handler.
Every one must be answered, not retried: no failed batch item, a rejection report under
``rejections/`` naming what is wrong (and the Rejected event), no other S3 write (no
receipt, nothing deleted), no SageMaker call; and after the run, no job recorded as CREATED.
"""

from __future__ import annotations

from autopilot_flow.policy import role_allowed, s3_allowed
from tests.gauntlet.doors import (
    Gauntlet,
    check_dropped,
    run_every_case,
)
from tests.gauntlet.strategies import (
    ALLOWED_ROLE,
    MAX_CANDIDATES_CAP,
    OTHER_ROLES,
    OUTSIDE_S3,
    POLICY_FILLED,
    SEED_BYTES,
    Case,
    valid_manifest,
)


def test_every_malformed_manifest_dropped_in_the_bucket_is_rejected(gauntlet: Gauntlet) -> None:
    def drop(case: Case, calls_before: tuple[int, int]) -> None:
        key = gauntlet.ingest_key(case)
        check_dropped(gauntlet, case, key, gauntlet.drop(key, case.body), calls_before)

    run_every_case(gauntlet, drop)


def test_a_valid_manifest_moves_the_same_counters(gauntlet: Gauntlet) -> None:
    """The checks above can fail: through the same door and the same checks, a valid
    manifest calls SageMaker (both counters move), writes a receipt, records a job."""
    created_before = gauntlet.created_records()
    media, body = valid_manifest("churn-tabular.yaml", "-proof")
    case = Case("valid", "churn-tabular.yaml", media, body, expect_valid=True)
    calls_before = gauntlet.calls.now()
    key = gauntlet.ingest_key(case)
    check_dropped(gauntlet, case, key, gauntlet.drop(key, case.body), calls_before)
    assert "CreateAutoMLJobV2" in gauntlet.calls.operations
    assert gauntlet.created_records() == created_before + 1


def test_the_seeds_pass_the_stack_they_are_damaged_for(gauntlet: Gauntlet) -> None:
    """Every example manifest passes validation, the policy and the data preflight of the
    gauntlet's stack, so that what rejects a case is its damage, not its seed."""
    ingestor = gauntlet.api.ingest.service.ingestor
    for name, data in SEED_BYTES.items():
        result = ingestor.check(data, name)
        assert result.valid, (name, [e.to_dict() for e in result.errors])


def test_the_policy_is_the_one_the_strategies_assume(gauntlet: Gauntlet) -> None:
    """The policy damage is damage under this stack's policy (ingest_harness.PARAMETERS)."""
    policy = gauntlet.api.ingest.service.ingestor.policy
    roles = policy.allowed_roles()
    assert roles == [ALLOWED_ROLE, ALLOWED_ROLE]  # AllowedRoleArns and DefaultRoleArn
    assert not [role for role in OTHER_ROLES if role_allowed(role, roles)]
    prefixes = policy.allowed_s3_prefixes()
    assert prefixes is not None
    assert not [uri for uri in OUTSIDE_S3 if s3_allowed(uri, prefixes)]
    assert policy.allowed_topics() is None  # every topic a manifest names is refused
    assert policy.guardrails["MaxCandidates"] == MAX_CANDIDATES_CAP
    filled: set[tuple[str, ...]] = {(name,) for name in policy.defaults}
    filled |= {("OutputDataConfig", name) for name in policy.defaults["OutputDataConfig"]}
    assert filled | {("AutoMLJobName",)} == POLICY_FILLED
