"""PlanFinalize (a FinalizeJob step): decide what happens to a finished job's best model.

Thin by design: settings are validated at start; the core library reads the registry and
the live endpoint, decides (deploy, skip, already deployed by SageMaker, nothing) and shapes
every request, record, event and message the state machine then sends as they are.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.finalize import PlanSettings, build_planner
from autopilot_flow.observability import Handler, Telemetry, described_job

logger = Logger()
telemetry = Telemetry(Handler.PLAN_FINALIZE, logger, correlation_id=described_job)
settings = PlanSettings.from_env(os.environ)
planner = build_planner(settings)


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = planner.plan(event)
    logger.info(
        "plan",
        extra={
            "job": plan["jobName"],
            "action": plan["action"],
            "reason": plan["reason"],
            "endpoint": plan["endpointName"],
        },
    )
    return plan
