"""One stack for the whole package, provisioned once (per pytest worker): moto, the
Autopilot simulator and template.yaml's ingest and jobs API functions.

moto's state is process-global and ``mock_aws()`` resets every backend when the outermost
mock starts, so nothing in this package starts a mock of its own: the modules here share
the stack by never sharing a name. Each test gets its own token (``stack.token``) for its
S3 keys, job names, request ids, alarm and endpoint names; its assertions are made over
its own names, and what is counted (CreateAutoMLJobV2 calls, queue depths) is counted from
a clean start: ``stack`` settles what an earlier test may have left and resets the switches
a test may flip (the simulator's faults, the handlers' backoff sleep, the environment).
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import SqsEventSource, lambda_environment
from offline.model_registry import ModelRegistry
from offline.moto_fixes import moto_as_aws
from tests.conftest import give_memory_back
from tests.integration.ingest_harness import IngestHarness
from tests.integration.jobs_api_harness import ApiHarness, build_api_harness
from tests.published_events import PublishedEvents


@dataclass
class SharedStack:
    """What the package shares: built once, never torn down between tests."""

    api: ApiHarness
    simulator: AutopilotSimulator
    model_registry: ModelRegistry
    published: PublishedEvents
    tokens: Iterator[int] = field(default_factory=itertools.count)


@dataclass
class StackForTest:
    """The shared stack as one test sees it: its own token, and counters from zero."""

    shared: SharedStack
    token: str
    creates_before: int

    @property
    def api(self) -> ApiHarness:
        return self.shared.api

    @property
    def ingest(self) -> IngestHarness:
        return self.shared.api.ingest

    @property
    def simulator(self) -> AutopilotSimulator:
        return self.shared.simulator

    @property
    def published(self) -> PublishedEvents:
        return self.shared.published

    def name(self, base: str) -> str:
        """``base`` made this test's own (a job, alarm, endpoint or queue name)."""
        return f"{base}-{self.token}"

    def creates(self) -> int:
        """CreateAutoMLJobV2 requests moto received since this test started."""
        return int(self.simulator.calls["CreateAutoMLJobV2"]) - self.creates_before


@pytest.fixture(scope="package")
def shared_stack() -> Iterator[SharedStack]:
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        ModelRegistry() as model_registry,  # moto's Model Registry made to behave as AWS's
        AutopilotSimulator(clock=ManualClock(), seed=5) as simulator,
    ):
        api = build_api_harness()
        api.ingest.source.drain()  # S3's test event, sent when the notification was set up
        published = PublishedEvents()
        for service in (api.ingest.service, api.service):
            published.watch(service.ingestor.publisher.client)
        yield SharedStack(api, simulator, model_registry, published)
    del api, simulator, model_registry, published  # nothing may stay reachable from here
    give_memory_back(thaw=True)


def _empty(ingest: IngestHarness, logical_id: str) -> None:
    """Delete what the queue shows (PurgeQueue: once a minute, which moto enforces)."""
    sqs, url = ingest.client("sqs"), ingest.stack.physical(logical_id)
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def stack(shared_stack: SharedStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[StackForTest]:
    """The shared stack, settled for this test; what the test changes is undone after it."""
    api, simulator = shared_stack.api, shared_stack.simulator
    ingest = api.ingest
    # Whatever an earlier (perhaps failed) test left queued is not this test's.
    _empty(ingest, "IngestQueue")
    _empty(ingest, "IngestDeadLetterQueue")
    # Messages a test receives and leaves in flight (a retry waiting for its visibility
    # timeout) would come back during a later test: they are deleted when the test ends.
    received: list[tuple[Any, str, str]] = []
    receive = SqsEventSource.receive

    def recording_receive(source: SqsEventSource) -> list[dict[str, Any]]:
        messages = receive(source)
        received.extend((source.sqs, source.queue_url, m["ReceiptHandle"]) for m in messages)
        return messages

    monkeypatch.setattr(SqsEventSource, "receive", recording_receive)
    simulator.clear_faults()
    ingest.create_calls.clear()
    # Tests swap these; monkeypatch puts them back (the harness makes backoff never sleep).
    for backoff in (ingest.service.ingestor.jobs.backoff, api.service.backoff):
        monkeypatch.setattr(backoff, "sleep", backoff.sleep)
    saved_environment = dict(os.environ)
    token = f"s{next(shared_stack.tokens):04d}"
    yield StackForTest(shared_stack, token, int(simulator.calls["CreateAutoMLJobV2"]))
    for sqs, url, handle in received:
        # Deleted already (answered), or moved on to the dead-letter queue: nothing to do.
        with contextlib.suppress(ClientError):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    os.environ.clear()
    os.environ.update(saved_environment)
    simulator.clear_faults()


@pytest.fixture
def api(stack: StackForTest) -> ApiHarness:
    return stack.api


@pytest.fixture
def harness(stack: StackForTest) -> IngestHarness:
    return stack.ingest


@pytest.fixture
def simulator(stack: StackForTest) -> AutopilotSimulator:
    return stack.simulator
