"""WatchJobs: one tick of the AutoML job watcher (EventBridge Scheduler, every minute).

Thin by design: settings are validated at start; the tick itself lives in the core library;
its metrics (StateChanges, the WatcherTicks heartbeat) and log lines (one per transition,
with the job name as correlation id) come from autopilot_flow.observability.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.observability import Handler, Telemetry
from autopilot_flow.settings import WatchSettings
from autopilot_flow.watcher import build_watcher

logger = Logger()
telemetry = Telemetry(Handler.WATCH_JOBS, logger)
settings = WatchSettings.from_env(os.environ)
watcher = build_watcher(settings)


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = watcher.tick()
    telemetry.record_tick(report)
    return asdict(report)
