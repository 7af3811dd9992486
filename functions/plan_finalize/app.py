"""PlanFinalize (a FinalizeJob step): decide what happens to a finished job's best model.

Thin by design: settings are validated at start; the core library reads the registry and
the live endpoint, decides (deploy, skip, already deployed by SageMaker, nothing) and shapes
every request, record, event and message the state machine then sends as they are.

A deploy-mode execution (an approved package, a rollback) calls it first
(``{"prepare": "deploy", "request": ...}``) to read the job's record; a rollback SageMaker made
silently is described by it (``{"describe": "rollback", ...}``).

The machine's failure paths call it too (``{"describe": "failure" | "notification", ...}``):
the core maps Step Functions' raw error and cause to a stable code and a plain message for
the registry and the events; the raw ones are logged here, under the job's name.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.finalize import (
    PlanSettings,
    build_planner,
    describe_failure,
    describe_notification_failure,
    describe_rollback,
    prepare_deploy,
)
from autopilot_flow.observability import Handler, Telemetry, described_job

logger = Logger()
telemetry = Telemetry(Handler.PLAN_FINALIZE, logger, correlation_id=described_job)
settings = PlanSettings.from_env(os.environ)
planner = build_planner(settings)


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("describe") == "failure":
        logger.error("finalize failed", extra={"failure": event.get("failure")})
        return describe_failure(event.get("failure") or {})
    if event.get("describe") == "notification":
        logger.warning("notification failed", extra={"notification": event.get("notification")})
        return describe_notification_failure(event.get("notification") or {})
    if event.get("describe") == "rollback":
        rollback = describe_rollback(event["plan"], event.get("endpoint") or {})
        logger.warning("rolled back", extra={"rollback": rollback["event"]["detail"]})
        return rollback
    if event.get("prepare") == "deploy":
        prepared = prepare_deploy(event.get("request") or {}, planner.registry)
        logger.info("deploy request", extra={"request": prepared["deploy"]})
        return prepared
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
