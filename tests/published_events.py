"""What a handler put on the bus, seen from outside it: botocore's event hooks on the
EventBridge client its ``EventPublisher`` holds (production objects keep no record of it).

``before-parameter-build`` sees each PutEvents call's entries as the code built them;
``after-call`` sees EventBridge's answer, entry by entry, so that only accepted entries are
recorded (a partial failure's rejected entries are retried by the publisher and recorded
when they are accepted).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PublishedEvents:
    """The accepted PutEvents entries of every client watched, per client, in order."""

    entries: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _sending: threading.local = field(default_factory=threading.local)

    def watch(self, client: Any) -> Any:
        """Record ``client``'s accepted entries from now on; returns the client."""
        self.entries[id(client)] = []
        client.meta.events.register(
            "before-parameter-build.events.PutEvents",
            lambda params, **_: self._build(client, params),
        )
        client.meta.events.register(
            "after-call.events.PutEvents", lambda parsed, **_: self._answer(client, parsed)
        )
        return client

    def of(self, client: Any) -> list[dict[str, Any]]:
        return self.entries[id(client)]

    def _build(self, client: Any, params: dict[str, Any]) -> None:
        self._sending.batch = (id(client), list(params.get("Entries") or []))

    def _answer(self, client: Any, parsed: dict[str, Any]) -> None:
        sent_by, batch = getattr(self._sending, "batch", (None, []))
        if sent_by != id(client):
            return
        for entry, result in zip(batch, parsed.get("Entries") or [], strict=False):
            if not result.get("ErrorCode"):
                self.entries[id(client)].append(entry)
        self._sending.batch = (None, [])
