"""Shared test fixtures: the example manifests, the botocore request shape; and what keeps
the moto-backed tests fast: the offline stack's moto speed-ups in every module, the handler
modules each test loaded forgotten when it ends, garbage collection tuned for moto."""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest import fixtures as _pytest_fixtures
from _pytest import python as _pytest_python

from autopilot_flow.manifest import parse_document
from offline.lambda_runtime import HANDLER_MODULE_PREFIX
from offline.roomy_stack import call_with_room

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "manifests").iterdir())


def load_example(name: str) -> dict[str, Any]:
    path = ROOT / "examples" / "manifests" / name
    return parse_document(path.read_bytes(), path.name)


# moto answers every call with many short-lived objects: with the default threshold (700)
# the collector ran ~5,000 times in test_jobs_api alone, about 40% of its time.
GC_THRESHOLDS = (20_000, 10, 10)

# Longest first: `make test` hands whole files to the xdist workers in collection order
# (--dist loadfile --no-loadscope-reorder), so the gauntlet's long files start at once and
# the many short unit files fill the end. xdist's own order (most tests first) left the
# gauntlet's four-test files to the end of the run, one worker busy for minutes alone.
RUN_ORDER = ("gauntlet", "e2e", "integration", "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Directories in ``RUN_ORDER``; within one, files and tests as collected (a stable
    sort, the same in every worker, as xdist requires)."""

    def rank(item: pytest.Item) -> int:
        parts = item.path.relative_to(ROOT / "tests").parts
        return RUN_ORDER.index(parts[0]) if parts[0] in RUN_ORDER else len(RUN_ORDER)

    items.sort(key=rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once every test module is imported (in each xdist worker), what exists now lives as
    long as the process: freeze it, so that collections no longer walk it, and collect
    less often. Only the collector's pace changes, never what a test can observe."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@pytest.fixture(scope="session")
def botocore_input_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateAutoMLJobV2").input_shape


# Step Functions' Wait and Retry intervals in moto's interpreter, this many times faster than
# real seconds (as the offline stack runs them at its --speed): a FinalizeJob test spent most
# of its time asleep between endpoint polls and throttling retries. What an execution does
# (its states, their order, each Retry's attempts) is unchanged; endpoints come up after a
# count of polls (EndpointLifecycle), and baking periods run on the tests' own ManualClock.
STEP_FUNCTIONS_SPEED = 20.0

# The modules that test the speed-ups themselves (installed, undone, compared with moto's
# own answers): they need moto as it comes.
TESTS_OF_THE_SPEEDUPS = frozenset(
    {"tests.integration.test_offline_runtime", "tests.integration.test_in_process_http"}
)


# Every test and fixture runs in a frame-stack chunk of its own (offline/roomy_stack.py):
# at pytest's depth the gauntlet's hot path straddled a chunk boundary, and CPython 3.11 maps
# and unmaps a chunk for nearly every call there (the gauntlet ran a third slower).
@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> object:
    return call_with_room(_pytest_python.pytest_pyfunc_call, pyfuncitem)


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> object:
    return call_with_room(_pytest_fixtures.pytest_fixture_setup, fixturedef, request)


@pytest.fixture(autouse=True, scope="module")
def _moto_speedups(request: pytest.FixtureRequest) -> Iterator[None]:
    """The offline stack's caches for moto's own repeated work, in every test module as in
    ``OfflineStack``: Step Functions parses a definition once, compiles each JSONPath once
    and waits on a faster clock, EventBridge compiles its input paths once, S3 lists a
    prefix's versions without copying the whole bucket, SQS checks retention and sends
    without counting the queue, each request finds its service's URL table and action
    method without rebuilding them (``install_moto_speedups``). Each answers as moto does
    (``test_offline_runtime`` and ``test_in_process_http`` check that); without them the
    gauntlet's bucket listing was quadratic and FinalizeJob's executions reparsed their
    definition."""
    if request.module.__name__ in TESTS_OF_THE_SPEEDUPS:
        yield
        return
    from offline.moto_speedups import install_moto_speedups

    undo = install_moto_speedups(STEP_FUNCTIONS_SPEED)
    yield
    undo()


def _handler_modules() -> set[str]:
    return {name for name in sys.modules if name.startswith(HANDLER_MODULE_PREFIX)}


def _forget_handler_modules_since(before: set[str]) -> None:
    """``load_handler`` registers every cold start in ``sys.modules``; a module kept there
    keeps its handler's clients and service (and through them the moto state they saw)
    alive for the rest of the worker's life: about 20 MB per stack, and ever slower garbage
    collections. A handler still in use keeps working: only the registration goes."""
    for name in _handler_modules() - before:
        del sys.modules[name]


@pytest.fixture(autouse=True)
def _unload_test_handlers() -> Iterator[None]:
    """The handlers a test (or its function-scoped fixtures) loaded."""
    before = _handler_modules()
    yield
    _forget_handler_modules_since(before)


def _libc() -> Any:
    """glibc, whose ``malloc_trim`` returns freed heap to the system (elsewhere: nothing)."""
    try:
        return ctypes.CDLL("libc.so.6") if sys.platform == "linux" else None
    except OSError:
        return None


LIBC = _libc()


def give_memory_back(thaw: bool = False) -> None:
    """What a module's stacks held goes back to the system before the next module starts,
    so that a worker's peak is its largest module, not the sum of what glibc kept.

    What survives that collection lives on (imports, caches, the botocore models, session
    and package fixtures): it is frozen, so that later collections, this one after each
    module and the collector's own during tests, no longer walk it (walking it cost about
    0.15 s per module). A package's fixture frozen with the modules that used it is thawed
    when it ends (``thaw``), so that what it held can be collected."""
    if thaw:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    if LIBC is not None and hasattr(LIBC, "malloc_trim"):
        LIBC.malloc_trim(0)


@pytest.fixture(autouse=True, scope="module")
def _unload_module_handlers() -> Iterator[None]:
    """The handlers a test module's module-scoped fixtures loaded."""
    before = _handler_modules()
    yield
    _forget_handler_modules_since(before)
    give_memory_back()
