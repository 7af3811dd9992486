"""WatchJobs: one tick of the AutoML job watcher (EventBridge Scheduler, every minute).

Thin by design: settings are validated at start; the tick itself lives in the core library.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.settings import WatchSettings
from autopilot_flow.watcher import build_watcher

logger = Logger()
metrics = Metrics()
settings = WatchSettings.from_env(os.environ)
watcher = build_watcher(settings)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = watcher.tick()
    metrics.add_metric(name="StateChanges", unit=MetricUnit.Count, value=report.published)
    # A heartbeat, so that an alarm can tell when the watcher stops running.
    metrics.add_metric(name="WatcherTicks", unit=MetricUnit.Count, value=1)
    summary = asdict(report)
    logger.info("tick", extra={k: v for k, v in summary.items() if k != "transitions"})
    return summary
