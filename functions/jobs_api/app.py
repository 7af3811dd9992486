"""JobsApi: the HTTP API (API Gateway REST, IAM auth) over the jobs service.

Thin by design: the settings are validated at start, the routes live in
``autopilot_flow.http_api`` and every operation in ``autopilot_flow.jobs``.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.http_api import build_resolver
from autopilot_flow.jobs import build_jobs_service
from autopilot_flow.settings import ApiSettings

logger = Logger()
settings = ApiSettings.from_env(os.environ)
service = build_jobs_service(settings)
app = build_resolver(service)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if service.idempotency is not None:
        service.idempotency.register_lambda_context(context)
    return app.resolve(event, context)
