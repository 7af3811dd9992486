"""call_with_room: the call is made as it is, and its frames stay in one frame-stack chunk."""

from __future__ import annotations

import resource
import sys
import threading
from typing import Any

import pytest

from offline.roomy_stack import call_with_room

DEPTH = 300  # frames of about 100 bytes: past the 16 KiB chunk a thread starts with
ROUNDS = 2_000


def test_the_call_gets_its_arguments_and_gives_its_answer_or_its_exception() -> None:
    assert call_with_room(lambda a, *rest, b=0: (a, rest, b), 1, 2, 3, b=4) == (1, (2, 3), 4)
    with pytest.raises(KeyError, match="missing"):
        call_with_room({}.__getitem__, "missing")


def _recurse(depth: int) -> int:
    return 0 if depth == 0 else 1 + _recurse(depth - 1)


def _page_faults_of(deep_calls: Any) -> int:
    """Minor page faults while a fresh thread goes DEPTH frames deep and back, ROUNDS times."""
    faults: list[int] = []

    def rounds() -> None:
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        for _ in range(ROUNDS):
            assert _recurse(DEPTH) == DEPTH
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)

    thread = threading.Thread(target=deep_calls, args=(rounds,))
    thread.start()
    thread.join()
    return faults[0]


@pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11),
    reason="CPython 3.11's frame chunks",
)
def test_deep_calls_in_room_map_no_chunk_per_call() -> None:
    # Without room each round maps a chunk for the frames past the first and unmaps it on
    # the way back: fresh pages, so at least a fault per round.
    assert _page_faults_of(lambda work: work()) >= ROUNDS
    # In room the chunk stays mapped for the whole call: its pages fault once.
    assert _page_faults_of(call_with_room) < ROUNDS // 10
