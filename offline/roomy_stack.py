"""Run a call where deeper Python frames never cross a frame-stack boundary.

CPython 3.11 keeps a thread's Python frames in 16 KiB chunks: a call that does not fit in
the current chunk maps a new one, and the return that empties it unmaps it again. Work
that repeats at a depth where its calls straddle a boundary therefore pays an mmap and a
munmap (and their page faults) for almost every call. The test suite's gauntlet ran a third
slower under pytest than alone for that reason alone: pytest's frames put its hot path on a
boundary (measured: 400 cases 8.4 s alone, 11.1 s sixty frames deeper, with 3 s of system
time and four times the page faults; the same at any depth through ``call_with_room``).

``call_with_room`` calls through a frame too large for any chunk but a fresh 1 MiB one,
which it leaves half free: the frames of the call live in that one chunk, kept until it
returns. Nothing about the call changes but where its frames are stored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Local variables of the roomy frame: more than 65,536 of them (8 bytes each) make a frame of
# over 512 KiB, for which CPython maps a 1 MiB chunk (chunk sizes are powers of two).
ROOM_SLOTS = 65_600


@functools.cache  # built at the first call (compiling it takes about 0.15 s)
def _roomy_caller() -> Callable[..., Any]:
    # The names are declared, never assigned: the frame only reserves their slots.
    names = " = ".join(f"_{index}" for index in range(ROOM_SLOTS))
    source = (
        "def call_in_room(call, args, kwargs):\n"
        "    if False:\n"
        f"        {names} = None\n"
        "    return call(*args, **kwargs)\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "<roomy_stack>", "exec"), namespace)  # noqa: S102 - our own source
    caller: Callable[..., Any] = namespace["call_in_room"]
    return caller


def call_with_room(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)``, its frames in a chunk of their own (see the module)."""
    result: T = _roomy_caller()(call, args, kwargs)
    return result
