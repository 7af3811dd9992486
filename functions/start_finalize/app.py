"""StartFinalizeJob: a managed job reached Completed, Failed or Stopped; start FinalizeJob.

EventBridge's Step Functions target cannot name executions, so this small function sits
between the rule and the machine and names the execution after the job and its status:
a repeated event starts nothing new (ExecutionAlreadyExists counts as success).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.finalize import StartSettings, build_starter
from autopilot_flow.observability import Handler, Telemetry, state_change_job

logger = Logger()
telemetry = Telemetry(Handler.START_FINALIZE_JOB, logger, correlation_id=state_change_job)
settings = StartSettings.from_env(os.environ)
starter = build_starter(settings)


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = starter.start(event)
    # Nested: the result's "name" would clash with LogRecord.name (a KeyError at INFO).
    logger.info("finalize", extra={"execution": result})
    return result
