"""SageMaker adapter: create AutoML jobs with throttling retries and typed outcomes.

The client it takes should have botocore's own retries off (``total_max_attempts=1``) so that the
retry policy here is the only one, explicit and testable: exponential backoff with full
jitter for throttling, and typed errors for what the caller must decide on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)


class JobNameInUse(Exception):
    """``ResourceInUse``: an AutoML job with this name (in any case) already exists."""


class CapacityExceeded(Exception):
    """``ResourceLimitExceeded``: an account quota (e.g. concurrent AutoML jobs) is full."""


class RequestRejected(Exception):
    """SageMaker refused the request (``ValidationException`` and the like)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SageMakerThrottled(Exception):
    """SageMaker kept throttling a FinalizeJob step's reads past its backoff: the state
    machine retries the whole step (throttling never decides an outcome)."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass
class Backoff:
    """Exponential backoff with full jitter: sleep uniform(0, min(cap, base * 2**attempt))."""

    attempts: int = 6
    base: float = 0.2
    cap: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        return float(self.rng() * min(self.cap, self.base * 2**attempt))

    def call(self, func: Callable[[], Any]) -> Any:
        for attempt in range(self.attempts):
            try:
                return func()
            except ClientError as exc:
                if error_code(exc) not in THROTTLING_CODES or attempt + 1 == self.attempts:
                    raise
                self.sleep(self.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def sagemaker_client(session: Any) -> Any:
    """A SageMaker client whose only retry policy is ours (``Backoff``): botocore's own is off,
    so a throttle is retried once, visibly, with full jitter."""
    from botocore.config import Config  # noqa: PLC0415 - keep the CLI's import light

    return session.client(
        "sagemaker", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )


class SageMakerJobs:
    def __init__(self, client: Any, backoff: Backoff | None = None) -> None:
        self.client = client
        self.backoff = backoff or Backoff()

    def create(self, request: dict[str, Any]) -> str:
        """Create the job; returns its ARN. Raises JobNameInUse, CapacityExceeded,
        RequestRejected, or the ClientError of a throttle that outlasted every retry."""
        try:
            response = self.backoff.call(lambda: self.client.create_auto_ml_job_v2(**request))
        except ClientError as exc:
            code = error_code(exc)
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if code == "ResourceInUse":
                raise JobNameInUse(message) from exc
            if code == "ResourceLimitExceeded":
                raise CapacityExceeded(message) from exc
            if code in THROTTLING_CODES or code.startswith("InternalFailure") or code == "":
                raise
            raise RequestRejected(code, message) from exc
        return str(response["AutoMLJobArn"])

    def describe(self, job_name: str) -> dict[str, Any]:
        response: dict[str, Any] = self.backoff.call(
            lambda: self.client.describe_auto_ml_job_v2(AutoMLJobName=job_name)
        )
        return response


def all_tags(arn: str, list_page: Callable[[dict[str, Any]], Any]) -> dict[str, str]:
    """A resource's tags, every page of ListTags. ``list_page`` makes one call with the
    request it is given (through the caller's own retries and error mapping)."""
    tags: dict[str, str] = {}
    token: str | None = None
    while True:
        request: dict[str, Any] = {"ResourceArn": arn, "MaxResults": 100}
        if token:
            request["NextToken"] = token
        response = list_page(request)
        tags.update({t["Key"]: t["Value"] for t in response.get("Tags") or []})
        token = response.get("NextToken")
        if not token:
            return tags
