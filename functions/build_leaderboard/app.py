"""BuildLeaderboard (a FinalizeJob step): every candidate of the job, ranked, to S3.

Thin by design: the state machine passes the job's description; the core library lists the
candidates (paginated), ranks them by the objective and writes leaderboard.json and .md next
to the job's output. Returns the summary the machine and the notification use.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.leaderboard import build_writer
from autopilot_flow.observability import Handler, Telemetry, described_job

logger = Logger()
telemetry = Telemetry(Handler.BUILD_LEADERBOARD, logger, correlation_id=described_job)
writer = build_writer()


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = writer.write(event["job"])
    logger.info(
        "leaderboard written",
        extra={"job": event["job"].get("AutoMLJobName"), "candidates": summary["count"]},
    )
    return summary
