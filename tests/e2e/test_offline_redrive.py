"""operations.md's redrive of the ingest dead-letter queue works offline: StartMessageMoveTask
(which moto does not implement) sends the DLQ's messages back to the ingest queue, and
ListMessageMoveTasks reports the task; a redriven notification of a manifest already answered
makes no second job."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "manifests" / "churn-tabular.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineStack]:
    options = OfflineOptions(state_dir=tmp_path_factory.mktemp("redrive"), speed=600.0)
    with OfflineStack(options) as running:
        upload_example_data(running.client("s3"))
        yield running


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_the_dead_letter_queue_redrives_back_to_ingest(stack: OfflineStack) -> None:
    resources = stack.describe()["resources"]
    s3, sqs = stack.client("s3"), stack.client("sqs")
    bucket, key = resources["ManifestsBucket"], "manifests/redriven.yaml"
    put = s3.put_object(Bucket=bucket, Key=key, Body=EXAMPLE.read_bytes())
    receipt = "receipts/redriven.yaml.json"
    assert stack.wait_for(
        lambda: s3.list_objects_v2(Bucket=bucket, Prefix=receipt).get("KeyCount", 0) == 1, 60
    )
    created = stack.simulator.calls["CreateAutoMLJobV2"]

    # The notification as S3 sent it, now dead-lettered (a handler that kept failing).
    dead_letters = resources["IngestDeadLetterQueue"]
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": stack.describe()["region"],
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": key,
                "size": EXAMPLE.stat().st_size,
                "eTag": put["ETag"].strip('"'),
                "versionId": put.get("VersionId"),
                "sequencer": "0A",
            },
        },
    }
    sqs.send_message(QueueUrl=dead_letters, MessageBody=json.dumps({"Records": [record]}))
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    # As operations.md prints it (the AWS CLI calls these two operations).
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert task["TaskHandle"] == handle and task["Status"] == "COMPLETED"
    assert task["ApproximateNumberOfMessagesMoved"] == 1
    ingest = resources["IngestQueue"]
    assert task["DestinationArn"].endswith(":" + ingest.rsplit("/", 1)[-1])
    assert _depth(sqs, dead_letters) == 0
    # The ingest function takes it again, and the same version makes no second job.
    assert stack.wait_for(lambda: _depth(sqs, ingest) == 0, 60)
    time.sleep(1)
    assert stack.simulator.calls["CreateAutoMLJobV2"] == created
