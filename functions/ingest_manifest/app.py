"""IngestManifest: S3 notifications (via SQS) in; one job or one rejection per manifest.

Thin by design: the settings are validated at start, each record goes to the core library,
and Powertools batch processing reports only the records that must be retried. Metrics and
the per-manifest log line (job name as correlation id) come from autopilot_flow.observability.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot_flow.ingest_queue import build_queue_ingest
from autopilot_flow.observability import Handler, Telemetry
from autopilot_flow.settings import IngestSettings

logger = Logger()
telemetry = Telemetry(Handler.INGEST_MANIFEST, logger)
settings = IngestSettings.from_env(os.environ)
service = build_queue_ingest(settings)
processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    service.handle_record(record.raw_event)


@logger.inject_lambda_context
@telemetry.handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if service.idempotency is not None:
        service.idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
