"""RegisterCandidate (a FinalizeJob step): a completed job's best candidate into the SageMaker
Model Registry, as the manifest's ``Registry`` section asks.

Thin by design: the state machine passes the job's description, the manifest's ``Registry``
and ``Deployment`` sections, its source and the stack's tag; the core library ensures the
stack's model package group, registers the package (once, however often it is retried) and
shapes the ``AutoML Model Registered`` event's detail. A refusal raises an exception whose
name FinalizeJob maps to a stable code; throttling raises the retryable SageMakerThrottled.
The raw AWS error behind a refusal is logged here, never answered.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.finalize import stack_tag_of
from autopilot_flow.model_registration import (
    MODEL_REGISTERED,
    RegistrationFailed,
    build_registrar,
    model_registered_detail,
    register_best_candidate,
)
from autopilot_flow.observability import Handler, Telemetry, described_job

logger = Logger()
telemetry = Telemetry(Handler.REGISTER_CANDIDATE, logger, correlation_id=described_job)
registrar = build_registrar()


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    job = event["job"]
    logger.set_correlation_id(job.get("AutoMLJobName"))
    try:
        registration = register_best_candidate(
            registrar,
            job,
            event.get("registry") or {},
            source=event.get("source"),
            stack=stack_tag_of(event)["Value"],
            deployment=event.get("deployment"),
        )
    except RegistrationFailed as exc:
        logger.warning(
            "registration refused",
            extra={"code": exc.code, "reason": str(exc), "cause": repr(exc.__cause__)},
        )
        raise
    logger.info("registered", extra={"registration": registration.as_dict()})
    return {
        "registration": registration.as_dict(),
        "event": {
            "detailType": MODEL_REGISTERED,
            "detail": model_registered_detail(registration, job),
        },
    }
