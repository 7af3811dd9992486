"""One poison manifest never delays or fails the rest of its SQS batch (issue 11, item 8).

Through the S3 door: manifests dropped in the bucket, their notifications delivered to the
real IngestManifest handler as one batch by the event source mapping. Before the value limit,
one 1 MiB YAML flow list cost 15 CPU-seconds to read, and a batch of them ran past the
function's 60 s timeout, taking the valid manifests of the batch down with it. Now each flood
gets its rejection report, each valid manifest its job, and the batch costs about what the
same batch costs with small broken manifests in place of the floods (a ratio of this thread's
CPU times, never a wall-clock limit; see tests/cpu.py): a flood is answered like any other
rejection.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.cpu import cpu_of
from tests.gauntlet.floods import FLOODS
from tests.integration.ingest_harness import EXAMPLES, IngestHarness
from tests.integration.shared_stack.conftest import StackForTest

VALID = ("churn-tabular.yaml", "defect-images.yaml")
# Eight floods, the costliest to read before the limit, and two valid manifests: a full batch.
POISON = (
    "yaml_flow_list",
    "yaml_nested",
    "yaml_block_list",
    "yaml_unknown_fields",
    "json_unknown_fields_60k",
    "json_flow_list",
    "json_nested",
    "yaml_nested_block",
)
# The poisoned batch costs at most this many times the CPU of the same batch with small
# broken manifests for floods. Measured here: about 2.8 (moto handling eight 1 MiB objects is
# most of the difference; reading the floods, about 0.3 s); before the value limit, over 100.
BATCH_RATIO = 5
SMALL_BROKEN = b'{"AutoMLJobName": "broken", '  # a truncated JSON document


def _valid(name: str, round_name: str) -> bytes:
    # Without its own job name, each round's copy gets a name of its own (key + content).
    document = yaml.safe_load((EXAMPLES / name).read_text())
    document.pop("AutoMLJobName", None)
    document.setdefault("Tags", []).append({"Key": "round", "Value": round_name})
    return yaml.safe_dump(document).encode()


def _deliver_one_batch(harness: IngestHarness, expected: int) -> tuple[dict[str, Any], float]:
    messages = harness.source.receive()
    assert len(messages) == expected
    return cpu_of(lambda: harness.source.deliver(messages))


def test_a_batch_with_poison_manifests_answers_every_record(stack: StackForTest) -> None:
    # The package's shared stack: this test's keys live under its own prefix.
    harness, at = stack.ingest, f"manifests/{stack.token}"
    # Warm up (imports, first clients) so neither measured batch pays for it.
    for name in VALID:
        harness.upload(f"{at}/warm/{name}", _valid(name, "warm"))
    harness.upload(f"{at}/warm/broken.json", SMALL_BROKEN)
    harness.source.drain()
    harness.create_calls.clear()

    # The reference: the same batch, with a small broken manifest for each flood.
    for name in VALID:
        harness.upload(f"{at}/small/{name}", _valid(name, "small"))
    for name in POISON:
        harness.upload(f"{at}/small/{name}.json", SMALL_BROKEN)
    small_response, small_cpu = _deliver_one_batch(harness, len(VALID) + len(POISON))
    assert small_response == {"batchItemFailures": []}
    assert len(harness.create_calls) == len(VALID)

    for name in VALID:
        harness.upload(f"{at}/mixed/{name}", _valid(name, "mixed"))
    for name in POISON:
        flood = FLOODS[name]
        harness.upload(f"{at}/mixed/{name}.{flood.media}", flood.body)
    response, batch_cpu = _deliver_one_batch(harness, len(VALID) + len(POISON))

    # Nothing to retry: every record has its answer.
    assert response == {"batchItemFailures": []}
    # The valid manifests got their jobs...
    assert len(harness.create_calls) == 2 * len(VALID)
    for name in VALID:
        receipt = harness.read_json(f"receipts/{stack.token}/mixed/{name}.json")
        assert harness.record(receipt["jobName"]) is not None
    # ... and each flood its rejection report, with the one error that says why.
    for name in POISON:
        flood = FLOODS[name]
        report = harness.read_json(f"rejections/{stack.token}/mixed/{name}.{flood.media}.json")
        assert report["valid"] is False
        assert [(e["path"], e["code"]) for e in report["errors"]] == [("", flood.code)]
    assert harness.queue_depth("IngestQueue") == 0
    # And a flood costs about what any rejection costs.
    assert batch_cpu <= BATCH_RATIO * small_cpu, (batch_cpu, small_cpu)
