"""One gauntlet stack for the whole package: building one takes a couple of seconds, and
cases never share a key or a request id, so the modules need no stack of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import give_memory_back
from tests.gauntlet.doors import Gauntlet, gauntlet_stack


@pytest.fixture(scope="package")
def gauntlet() -> Iterator[Gauntlet]:
    with gauntlet_stack() as stack:
        yield stack
    del stack  # nothing of the stack may stay reachable from here
    give_memory_back(thaw=True)
