"""Publishing the service's events on its EventBridge bus (docs/events.md).

Every event has source ``autopilot-flow`` and a JSON Schema in ``schemas/`` named after its
detail-type (``AutoML Job Submitted`` -> ``schemas/automl-job-submitted.json``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SOURCE = "autopilot-flow"

JOB_SUBMITTED = "AutoML Job Submitted"
JOB_REJECTED = "AutoML Job Rejected"
JOB_WAITING_FOR_CAPACITY = "AutoML Job Waiting For Capacity"
JOB_SUBMISSION_FAILED = "AutoML Job Submission Failed"
JOB_STATE_CHANGE = "AutoML Job State Change"
MODEL_DEPLOYED = "AutoML Model Deployed"
DEPLOYMENT_SKIPPED = "AutoML Deployment Skipped"
DEPLOYMENT_FAILED = "AutoML Deployment Failed"
NOTIFICATION_FAILED = "AutoML Notification Failed"
MODEL_REGISTERED = "AutoML Model Registered"
MODEL_REJECTED = "AutoML Model Rejected"
DEPLOYMENT_ROLLED_BACK = "AutoML Deployment Rolled Back"

# Every event's detail carries ``schemaVersion``: its schema's version, major.minor (the
# ``const`` of ``detail.schemaVersion`` in schemas/; a test keeps the two equal). Additions
# bump the minor; removing, retyping or newly requiring a field bumps the major (a test
# compares schemas/ with schemas/released/). FinalizeJob's own putEvents states write the
# same values (statemachines/finalize_job.asl.json).
_schema_versions = {  # lower case: the module's upper-case names are the detail-types
    JOB_SUBMITTED: "1.0",
    JOB_REJECTED: "1.0",
    JOB_WAITING_FOR_CAPACITY: "1.0",
    JOB_SUBMISSION_FAILED: "1.0",
    JOB_STATE_CHANGE: "1.0",
    MODEL_DEPLOYED: "1.1",
    DEPLOYMENT_SKIPPED: "1.0",
    DEPLOYMENT_FAILED: "1.1",
    NOTIFICATION_FAILED: "1.1",
    MODEL_REGISTERED: "1.0",
    MODEL_REJECTED: "1.0",
    DEPLOYMENT_ROLLED_BACK: "1.0",
}


class PublishError(Exception):
    """Some events could not be put on the bus after every retry."""


def schema_file_name(detail_type: str) -> str:
    return detail_type.lower().replace(" ", "-") + ".json"


def schema_version(detail_type: str) -> str:
    return _schema_versions[detail_type]


def versioned(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` with its schema's version first (the one place events get it)."""
    return {"schemaVersion": schema_version(detail_type), **detail}


@dataclass
class EventPublisher:
    """Puts events on the bus; entries that fail (PutEvents partial failure) are retried."""

    client: Any
    bus_name: str
    attempts: int = 4
    sleep: Callable[[float], None] = time.sleep

    def publish(
        self, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None
    ) -> None:
        self.publish_many([(detail_type, detail, resources or [])])

    def publish_many(self, events: list[tuple[str, dict[str, Any], list[str]]]) -> None:
        pending = [
            {
                "Source": SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(versioned(detail_type, detail), default=str),
                "Resources": resources,
                "EventBusName": self.bus_name,
            }
            for detail_type, detail, resources in events
        ]
        for attempt in range(self.attempts):
            failed: list[dict[str, Any]] = []
            # PutEvents takes at most 10 entries per call.
            for start in range(0, len(pending), 10):
                batch = pending[start : start + 10]
                response = self.client.put_events(Entries=batch)
                failed.extend(
                    entry
                    for entry, result in zip(batch, response.get("Entries", []), strict=False)
                    if result.get("ErrorCode")
                )
            if not failed:
                return
            pending = failed
            if attempt + 1 < self.attempts:
                self.sleep(random.uniform(0, 0.1 * 2**attempt))  # noqa: S311 - jitter
        raise PublishError(f"{len(pending)} event(s) could not be published to {self.bus_name}")
