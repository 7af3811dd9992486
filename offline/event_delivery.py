"""EventBridge delivery to Lambda targets, which moto lacks, and replays as AWS does them.

moto's rules deliver to SQS, log groups, archives, buses and API destinations; a Lambda or
Step Functions target raises ``NotImplementedError`` (moto 5.2.5). On AWS a rule invokes
a Lambda target asynchronously with the matched event; ``LambdaTargets`` does the same
in-process: a matched event for a registered function ARN is handed to that function's handler
on a worker thread. Other targets keep moto's own delivery. ``install()`` also makes
StartReplay honour its time window and ``FilterArns`` (``install_replay_window``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from typing import Any

from moto.core.utils import unix_time
from moto.events.models import Archive, Replay, ReplayState, Rule, events_backends
from moto.moto_api._internal import mock_random
from moto.utilities.arns import parse_arn

from offline.roomy_stack import call_with_room

LOGGER = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], Any]


class DaemonPool:
    """A few worker threads that never hold the process up.

    ``ThreadPoolExecutor`` joins its workers when the interpreter exits, so one delivery busy
    in a handler kept a stopped ``offline up`` alive for as long as the handler ran. These
    workers are daemons: ``shutdown`` drops what has not started and waits for what runs only
    until its deadline; then the process may end (a daemon still busy ends with it).
    """

    def __init__(self, workers: int, name: str) -> None:
        self._workers = workers
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, work: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                future.cancel()
                return future
            if len(self._threads) < self._workers:  # started on demand: idle pools cost nothing
                thread = threading.Thread(  # its frames in a chunk of their own
                    target=call_with_room,
                    args=(self._work,),
                    name=f"{self._name}_{len(self._threads)}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
        self._queue.put((future, work))
        return future

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            future, work = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = work()
            except BaseException as exc:  # the future carries it
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self, timeout: float) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        while True:  # what has not started is dropped
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


class LambdaTargets:
    """Install with ``install()``; register functions with ``register(arn, invoke)``."""

    def __init__(self, workers: int = 4, stop_timeout: float = 5.0) -> None:
        self.functions: dict[str, Invoke] = {}
        self.pool = DaemonPool(workers, "eventbridge")
        self.stop_timeout = stop_timeout
        self.futures: list[Future[Any]] = []
        self.failures: list[tuple[str, BaseException]] = []
        self._original: Callable[..., Any] | None = None
        self._lock = threading.Lock()
        self._undo_replays: Callable[[], None] = lambda: None

    def register(self, arn: str, invoke: Invoke) -> None:
        self.functions[arn] = invoke

    def install(self) -> LambdaTargets:
        original = Rule.send_to_targets
        self._original = original
        targets = self

        def send_to_targets(
            rule: Rule, original_event: dict[str, Any], transform_input: bool = True
        ) -> None:
            if not rule.event_pattern.matches_event(original_event):
                return
            others = []
            for target in rule.targets:
                arn = target["Arn"]
                if parse_arn(arn).service == "lambda":
                    targets.deliver(arn, dict(original_event))
                else:
                    others.append(target)
            if others:
                saved = rule.targets
                with targets._lock:
                    rule.targets = others
                    try:
                        original(rule, original_event, transform_input)
                    finally:
                        rule.targets = saved

        Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
        self._undo_replays = install_replay_window()
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            Rule.send_to_targets = self._original  # type: ignore[method-assign]
            self._original = None
            self._undo_replays()
        # Deliveries not started yet are dropped (the stack is stopping); the few running
        # get until the deadline to finish, so a handler is cut off only if it hangs.
        self.pool.shutdown(timeout=self.stop_timeout)

    def deliver(self, arn: str, event: dict[str, Any]) -> None:
        invoke = self.functions.get(arn)
        if invoke is None:
            LOGGER.warning("no offline function for EventBridge target %s", arn)
            return

        def run() -> Any:
            try:
                return invoke(event)
            except BaseException as exc:  # the Lambda service records failures, too
                self.failures.append((arn, exc))
                LOGGER.exception("EventBridge target %s failed", arn)
                raise

        future = self.pool.submit(run)
        with self._lock:
            # Settled deliveries need no waiting (failures are kept apart): a long burst
            # must not keep every future it ever made.
            if len(self.futures) >= 256:
                self.futures = [f for f in self.futures if not f.done()]
            self.futures.append(future)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every delivery made so far (tests use it to settle the flow)."""
        for future in list(self.futures):
            future.exception(timeout=timeout)

    def __enter__(self) -> LambdaTargets:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


def _epoch(value: Any) -> float:
    """An archived event's ``time`` or a replay's window bound, as moto stores them (epoch
    seconds, or an ISO 8601 string), in epoch seconds."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def install_replay_window() -> Callable[[], None]:
    """StartReplay as AWS does it. moto 5.2.5 re-delivers every archived event to every rule
    of the bus; AWS replays only the events of [EventStartTime, EventEndTime], and with
    ``Destination.FilterArns`` only to those rules (``autopilot-flow replay`` relies on it so
    that FinalizeJob's own rule never sees a replay). Each replayed event gets a new id and
    ``replay-name``, as in moto and on AWS. Returns the undo."""
    original = Replay.replay_events

    def replay_events(replay: Replay, archive: Archive) -> None:
        start, end = _epoch(replay.event_start_time), _epoch(replay.event_end_time)
        only = set(replay.destination.get("FilterArns") or [])
        backend = events_backends[replay.account_id][replay.region]
        bus = backend.describe_event_bus(replay.destination["Arn"].split("/")[-1])
        for event in list(archive.events):
            if not start <= _epoch(event.get("time", 0)) <= end:
                continue
            for rule in list(bus.rules.values()):
                if only and rule.arn not in only:
                    continue
                replayed = {**event, "id": str(mock_random.uuid4()), "replay-name": replay.name}
                rule.send_to_targets(replayed, transform_input=False)  # type: ignore[arg-type]
        replay.state = ReplayState.COMPLETED
        replay.end_time = unix_time()

    Replay.replay_events = replay_events  # type: ignore[method-assign]

    def undo() -> None:
        Replay.replay_events = original  # type: ignore[method-assign]

    return undo
