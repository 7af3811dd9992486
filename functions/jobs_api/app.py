"""JobsApi: the HTTP API (API Gateway REST, IAM auth) over the jobs service.

Thin by design: the settings are validated at start, the routes live in
``autopilot_flow.http_api`` and every operation in ``autopilot_flow.jobs``. Log lines carry
the job name as correlation id where one is known (the path's, or the submitted job's) and
the API Gateway request id as ``api_request_id``.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.http_api import build_resolver
from autopilot_flow.jobs import build_jobs_service
from autopilot_flow.observability import Handler, Telemetry, api_path_job, api_request_keys
from autopilot_flow.settings import ApiSettings

logger = Logger()
telemetry = Telemetry(
    Handler.JOBS_API, logger, correlation_id=api_path_job, log_keys=api_request_keys
)
settings = ApiSettings.from_env(os.environ)
service = build_jobs_service(settings)
app = build_resolver(service)


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if service.idempotency is not None:
        service.idempotency.register_lambda_context(context)
    return app.resolve(event, context)
