"""Where moto differs from AWS in ways the service relies on, and the fix for each.

- DynamoDB: a conditional write is atomic on AWS. moto checks the condition and then writes
  without a lock, so two threads (concurrent Lambda invocations in a test, or the threaded
  moto server offline) can both pass ``attribute_not_exists(...)``. ``atomic_dynamodb_writes``
  serialises moto's write operations, as DynamoDB does per item.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_LOCK = threading.RLock()


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    wrapper.__wrapped_by_autopilot_flow__ = True  # type: ignore[attr-defined]
    return wrapper


def install_atomic_dynamodb_writes() -> Callable[[], None]:
    """Patch moto's DynamoDB backend; returns the function that removes the patch."""
    originals = {name: getattr(DynamoDBBackend, name) for name in _WRITES}
    for name, method in originals.items():
        if not getattr(method, "__wrapped_by_autopilot_flow__", False):
            setattr(DynamoDBBackend, name, _locked(method))

    def uninstall() -> None:
        for name, method in originals.items():
            setattr(DynamoDBBackend, name, method)

    return uninstall


@contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    uninstall = install_atomic_dynamodb_writes()
    try:
        yield
    finally:
        uninstall()
