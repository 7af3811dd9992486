"""Running the real Lambda handlers in-process, as the Lambda service would.

``load_handler`` imports a function's handler from ``functions/`` with the environment the
template gives it; ``SqsEventSource`` does what an SQS event source mapping does: receive a
batch, invoke the handler with an SQS event, delete what succeeded, and leave the failures
(``batchItemFailures``) on the queue for redelivery.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from offline.provision import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]

# The names under which load_handler registers handler modules in sys.modules.
HANDLER_MODULE_PREFIX = "offline_fn_"

# An SQS event source mapping without ScalingConfig starts with five concurrent batches
# (each its own invocation, i.e. its own execution environment) and scales up from there.
SQS_INITIAL_CONCURRENCY = 5

# What every function sees on Lambda besides its own variables: credentials and a region.
# Offline and in tests they are dummies (moto accepts any); logs stay at warnings.
LAMBDA_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


@contextmanager
def lambda_environment(**extra: str) -> Iterator[None]:
    """Set the Lambda-like environment (plus ``extra``); restore ``os.environ`` afterwards,
    including what loaded handlers added to it."""
    saved = dict(os.environ)
    os.environ.update({**LAMBDA_ENVIRONMENT, **extra})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str = "offline-function"
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 60
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:offline-function"
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/offline-function"
    log_stream_name: str = "offline"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def context_for(spec: FunctionSpec) -> LambdaContext:
    return LambdaContext(
        function_name=spec.name,
        timeout_seconds=spec.timeout,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{spec.name}",
        log_group_name=f"/aws/lambda/{spec.name}",
    )


def load_handler(spec: FunctionSpec, environ: Mapping[str, str] | None = None) -> Handler:
    """Import ``spec``'s handler with its environment applied to ``os.environ`` first
    (settings are read at import, as on Lambda). Each call imports afresh (a cold start)."""
    os.environ.update(spec.environment)
    if environ:
        os.environ.update(environ)
    module_file, function_name = spec.handler.rsplit(".", 1)
    path = spec.code_dir / f"{module_file}.py"
    module_name = f"{HANDLER_MODULE_PREFIX}{spec.logical_id}_{uuid.uuid4().hex[:8]}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    handler: Handler = getattr(module, function_name)
    handler.module = module  # type: ignore[attr-defined]  # tests reach the wiring through it
    return handler


def unload_handler(handler: Handler) -> None:
    """Forget a handler's module (``load_handler`` registered it in ``sys.modules``): a
    stopped stack leaves nothing behind, however often stacks start."""
    module = getattr(handler, "module", None)
    if module is not None and sys.modules.get(module.__name__) is module:
        del sys.modules[module.__name__]


def sqs_concurrency(properties: Mapping[str, Any]) -> int:
    """How many batches an SQS event source runs at once: Lambda's initial five, or fewer
    when ``ScalingConfig.MaximumConcurrency`` caps it."""
    cap = (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
    return min(SQS_INITIAL_CONCURRENCY, int(cap)) if cap else SQS_INITIAL_CONCURRENCY


@dataclass
class SqsEventSource:
    """What an SQS event source mapping with ReportBatchItemFailures does."""

    sqs: Any
    queue_url: str
    queue_arn: str
    handler: Handler
    context: Any
    batch_size: int = 10

    def receive(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": message.get("MessageAttributes", {}),
                    "md5OfBody": message.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                }
                for message in messages
            ]
        }

    def deliver(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Invoke the handler with ``messages``; delete those it did not report failed.

        An invocation that raises fails the whole batch, as on Lambda: every message comes
        back after its visibility timeout."""
        try:
            response = self.handler(self.event(messages), self.context) or {}
        except Exception as exc:
            failures = [{"itemIdentifier": m["MessageId"]} for m in messages]
            return {"batchItemFailures": failures, "invocationError": repr(exc)}
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return dict(response)

    def poll_once(self) -> dict[str, Any] | None:
        messages = self.receive()
        return self.deliver(messages) if messages else None

    def drain(self, max_batches: int = 100) -> int:
        """Deliver batches until the queue shows nothing; returns how many were delivered."""
        delivered = 0
        for _ in range(max_batches):
            messages = self.receive()
            if not messages:
                break
            self.deliver(messages)
            delivered += len(messages)
        return delivered
