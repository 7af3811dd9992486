"""Hostile S3 keys: the S3 door with keys that are hard to carry from S3 to an answer.

Unicode (RTL, combining marks, emoji), spaces, ``+`` and ``%`` (S3 notifications URL-encode
keys, a space as ``+``), ``..`` and ``.`` segments, empty segments, controls, and keys up to
S3's 1,024-byte limit; under each, a valid manifest (a job and a receipt) or a malformed
one (a rejection). The answer must land under ``receipts/`` or ``rejections/`` as the
README says, as a new object (never replacing another manifest's answer), name the
manifest's key exactly, and leave the manifest as it was uploaded.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.gauntlet.doors import Gauntlet, check_errors
from tests.gauntlet.strategies import (
    MAX_KEY_BYTES,
    SEEDS,
    hostile_keys,
    malformed_manifests,
    valid_manifest,
)

KEY_SETTINGS = settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)


def test_every_manifest_under_a_hostile_key_is_answered_next_to_it(gauntlet: Gauntlet) -> None:
    numbers = itertools.count()
    outcomes = {"receipts/": 0, "rejections/": 0}
    answered: set[str] = set()

    @KEY_SETTINGS
    @given(data=st.data())
    def drop(data: st.DataObject) -> None:
        unique = f"-{next(numbers):04d}"
        valid = data.draw(st.booleans(), label="valid")
        if valid:
            case = None
            media, body = valid_manifest(data.draw(st.sampled_from(sorted(SEEDS))), unique)
        else:
            case = data.draw(malformed_manifests())
            media, body = case.media, case.body
        suffix = ".json" if media == "json" else data.draw(st.sampled_from([".yaml", ".yml"]))
        key = data.draw(hostile_keys(suffix, unique), label="key")
        note(f"key={key!r} ({len(key.encode())} bytes), case={case!r}")
        assert len(key.encode()) <= MAX_KEY_BYTES

        calls_before = gauntlet.calls.now()
        assert gauntlet.drop(key, body) == {"batchItemFailures": []}

        # One write: the answer, where the README says, to a key no answer had before.
        writes = gauntlet.writes.take()
        assert [operation for operation, _ in writes] == ["PutObject"], writes
        answer_key = writes[0][1]
        prefix = "receipts/" if valid else "rejections/"
        beside = f"{prefix}{key.removeprefix('manifests/')}.json"
        if len(beside.encode()) <= MAX_KEY_BYTES:
            assert answer_key == beside
        else:
            assert answer_key.startswith(f"{prefix}_long-keys/")
        assert len(answer_key.encode()) <= MAX_KEY_BYTES
        assert answer_key not in answered, "another manifest's answer was replaced"
        answered.add(answer_key)
        outcomes[prefix] += 1
        answer = gauntlet.read_json(answer_key)
        assert answer["manifest"]["key"] == key
        stored = gauntlet.s3.get_object(Bucket=gauntlet.bucket, Key=key)["Body"].read()
        assert stored == body, "the manifest was changed"

        calls = gauntlet.calls.now()
        if case is None:
            assert all(a > b for a, b in zip(calls, calls_before, strict=True))
            record = gauntlet.api.ingest.record(answer["jobName"])
            assert record is not None and record["status"] == "CREATED"
            assert record["jobArn"] == answer["jobArn"]
        else:
            assert answer["valid"] is False
            check_errors(case, answer["errors"])
            assert calls == calls_before, "SageMaker was called"

    drop()
    assert all(outcomes.values()), outcomes
