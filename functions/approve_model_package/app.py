"""ApproveModelPackage: a model package's approval changed (SageMaker's own event, on the
account's default bus). For a package FinalizeJob registered awaiting approval: Approved
starts a deploy-mode FinalizeJob execution, Rejected is recorded and announced (AutoML Model
Rejected). Every other package (another stack's, one registered Approved) is ignored.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.approval import ApprovalSettings, build_handler
from autopilot_flow.observability import Handler, Telemetry, package_state_change

logger = Logger()
telemetry = Telemetry(Handler.APPROVE_MODEL_PACKAGE, logger, correlation_id=package_state_change)
settings = ApprovalSettings.from_env(os.environ)
handler = build_handler(settings)


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = handler.handle(event)
    logger.info("approval", extra={"approval": result})
    return result
