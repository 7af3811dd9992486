"""CPU cost as the cost tests measure it: a ratio against a reference, never a threshold.

``time.thread_time``, not ``process_time``: the process time of a test worker also counts
whatever other threads happen to run (an offline stack's pollers still winding down, moto's
server threads), which made a ratio of two measurements swing 25-fold under load. The work
measured here runs in the calling thread. The cyclic garbage collector is paused while
measuring, after a collection: a full collection of a heap filled by earlier tests belongs to
those tests, not to the work at hand. The least of several rounds: noise only ever adds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def quiet_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def cpu_seconds(work: Callable[[], object], repeat: int = 1, rounds: int = 3) -> float:
    """The least CPU time of ``rounds`` rounds, per call of ``work``, in this thread."""
    best = float("inf")
    with quiet_collector():
        for _ in range(rounds):
            started = time.thread_time()
            for _ in range(repeat):
                work()
            best = min(best, (time.thread_time() - started) / repeat)
    return best


def cpu_of(work: Callable[[], T]) -> tuple[T, float]:
    """One call of ``work``: its result and the CPU time it took, in this thread."""
    with quiet_collector():
        started = time.thread_time()
        result = work()
        return result, time.thread_time() - started
