"""EventBridge delivery to Lambda targets, which moto lacks.

moto's rules deliver to SQS, log groups, archives, buses and API destinations; a Lambda or
Step Functions target raises ``NotImplementedError`` (platform-facts.md). On AWS a rule invokes
a Lambda target asynchronously with the matched event; ``LambdaTargets`` does the same
in-process: a matched event for a registered function ARN is handed to that function's handler
on a worker thread. Other targets keep moto's own delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from moto.events.models import Rule
from moto.utilities.arns import parse_arn

LOGGER = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], Any]


class LambdaTargets:
    """Install with ``install()``; register functions with ``register(arn, invoke)``."""

    def __init__(self, workers: int = 4) -> None:
        self.functions: dict[str, Invoke] = {}
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eventbridge")
        self.futures: list[Future[Any]] = []
        self.failures: list[tuple[str, BaseException]] = []
        self._original: Callable[..., Any] | None = None
        self._lock = threading.Lock()

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
        return self

    def uninstall(self) -> None:
        if self._original is not None:
            Rule.send_to_targets = self._original  # type: ignore[method-assign]
            self._original = None
        self.pool.shutdown(wait=True)

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

        self.futures.append(self.pool.submit(run))

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every delivery made so far (tests use it to settle the flow)."""
        for future in list(self.futures):
            future.exception(timeout=timeout)

    def __enter__(self) -> LambdaTargets:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()
