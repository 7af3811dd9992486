"""An ingest stack in moto, provisioned from template.yaml, with data for every example.

The handler is the real ``functions/ingest_manifest/app.py`` with the environment the
template gives it; deliveries go through ``SqsEventSource``, as an event source mapping.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from offline.demo_data import DATA_BUCKET, OUTPUT_BUCKET, upload_example_data
from offline.lambda_runtime import (
    Handler,
    SqsEventSource,
    context_for,
    load_handler,
)
from offline.provision import Provisioner, Stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"

PARAMETERS = {
    "AllowedRoleArns": ROLE,
    "DefaultRoleArn": ROLE,
    "AllowedS3Prefixes": f"s3://{DATA_BUCKET}/,s3://{OUTPUT_BUCKET}/",
    "DataBucketNames": f"{DATA_BUCKET},{OUTPUT_BUCKET}",
    "OutputS3Path": f"s3://{OUTPUT_BUCKET}/autopilot/",
    "CapacityRetrySeconds": "1",
    "IngestMaxReceiveCount": "4",
}


@dataclass
class IngestHarness:
    session: Any
    stack: Stack
    handler: Handler
    source: SqsEventSource
    create_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bucket(self) -> str:
        return str(self.stack.physical("ManifestsBucket"))

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name="us-east-1")

    def upload(self, key: str, body: bytes) -> dict[str, Any]:
        response: dict[str, Any] = self.client("s3").put_object(
            Bucket=self.bucket, Key=key, Body=body
        )
        return response

    def upload_example(self, name: str, key: str | None = None) -> str:
        key = key or f"manifests/{name}"
        self.upload(key, (EXAMPLES / name).read_bytes())
        return key

    def read_json(self, key: str) -> dict[str, Any]:
        body = self.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        document: dict[str, Any] = json.loads(body)
        return document

    def keys(self, prefix: str) -> list[str]:
        pages = self.client("s3").get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def new_instance(self) -> SqsEventSource:
        """A fresh execution environment of the ingest function (its own cold start), fed
        from the ingest queue as an event source mapping would."""
        spec = self.stack.functions["IngestManifestFunction"]
        handler = load_handler(spec)
        service = handler.module.service  # type: ignore[attr-defined]
        # Count CreateAutoMLJobV2 calls with a botocore event hook: moto does not count them.
        service.ingestor.jobs.client.meta.events.register(
            "before-parameter-build.sagemaker.CreateAutoMLJobV2",
            lambda params, **_: self.create_calls.append(copy.deepcopy(params)),
        )
        # Tests must not sleep through real backoff delays.
        service.ingestor.jobs.backoff.sleep = lambda seconds: None
        return SqsEventSource(
            sqs=self.client("sqs"),
            queue_url=self.stack.physical("IngestQueue"),
            queue_arn=self.stack.attribute("IngestQueue", "Arn"),
            handler=handler,
            context=context_for(spec),
        )

    def record(self, job_name: str) -> dict[str, Any] | None:
        return self.service.ingestor.registry.get(job_name)

    @property
    def service(self) -> Any:
        return self.handler.module.service  # type: ignore[attr-defined]

    def queue_depth(self, logical_id: str) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.stack.physical(logical_id),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def build_harness(extra_parameters: dict[str, str] | None = None) -> IngestHarness:
    """Provision the stack in the active moto mock and load the ingest handler."""
    session = boto3.session.Session(region_name="us-east-1")
    stack = Provisioner(session, parameters={**PARAMETERS, **(extra_parameters or {})}).provision()
    upload_example_data(session.client("s3", region_name="us-east-1"))
    harness = IngestHarness(session, stack, None, None)  # type: ignore[arg-type]
    harness.source = harness.new_instance()
    harness.handler = harness.source.handler
    return harness


def subscribe_to_bus(harness: IngestHarness, name: str = "subscriber") -> str:
    """An SQS queue subscribed to every event on the bus, as an outside team would do (on a
    shared stack, each test names its own queue and rule)."""
    sqs = harness.client("sqs")
    events = harness.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = harness.stack.physical("EventBus")
    rule = "all" if name == "subscriber" else name
    events.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["autopilot-flow"]})
    )
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def unsubscribe_from_bus(harness: IngestHarness, name: str, url: str) -> None:
    """Undo ``subscribe_to_bus(harness, name)``: later events no longer reach the queue."""
    events = harness.client("events")
    bus = harness.stack.physical("EventBus")
    events.remove_targets(Rule=name, EventBusName=bus, Ids=["q"])
    events.delete_rule(Name=name, EventBusName=bus)
    harness.client("sqs").delete_queue(QueueUrl=url)


def received_events(harness: IngestHarness, url: str) -> Iterator[dict[str, Any]]:
    sqs = harness.client("sqs")
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        for message in messages:
            yield json.loads(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
