"""End to end on the offline stack: moto server + the simulator, provisioned from
template.yaml, every handler and the state machine as they deploy.

upload -> job -> state changes -> FinalizeJob -> endpoint + SNS + events, for each problem
type; a rejected manifest; a quota-limited burst; and `autopilot-flow offline up` driven from
outside with plain boto3, as a user would.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from offline.demo import run_demo
from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[OfflineStack]:
    options = OfflineOptions(state_dir=tmp_path / "state", speed=1200)
    with OfflineStack(options) as running:
        yield running


def _subscribe_queue_to_topic(stack: OfflineStack, topic_arn: str) -> str:
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url: str = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def _drain(stack: OfflineStack, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_every_example_flows_to_the_end(stack: OfflineStack) -> None:
    resources = stack.describe()["resources"]
    notifications = _subscribe_queue_to_topic(stack, resources["NotificationsTopic"])
    out = io.StringIO()
    assert run_demo(stack, out, timeout=90) == 0, out.getvalue()
    assert "autopilot-flow subscribe --offline --target-arn" in out.getvalue()  # how to join

    sagemaker = stack.client("sagemaker")
    s3 = stack.client("s3")
    jobs = {j["AutoMLJobName"]: j for j in sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"]}
    examples = len(list(EXAMPLES.iterdir()))
    assert len(jobs) == examples
    assert {j["AutoMLJobStatus"] for j in jobs.values()} == {"Completed"}
    for path in sorted(EXAMPLES.iterdir()):
        document = yaml.safe_load(path.read_text())
        deployment = document.get("Deployment")
        if deployment:
            endpoint = sagemaker.describe_endpoint(EndpointName=deployment["EndpointName"])
            assert endpoint["EndpointStatus"] == "InService"
    # Receipts for the examples, a report for the broken one; manifests untouched.
    bucket = resources["ManifestsBucket"]
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"]
    keys = {item["Key"] for item in listing}
    assert sum(k.startswith("receipts/") for k in keys) == examples
    assert "rejections/examples/broken-forecast.yaml.json" in keys
    assert sum(k.startswith("manifests/") for k in keys) == examples + 1
    # People were told: one SNS summary per finished job (the churn example asks only for
    # Completed and Failed, and completed).
    messages = _drain(stack, notifications)
    subjects = [m.get("Subject", "") for m in messages]
    assert len(messages) >= examples, subjects
    assert any(
        "churn-binary-2026-11" in (m.get("Message", "") + s)
        for m, s in zip(messages, subjects, strict=True)
    )


def test_a_quota_limited_burst_becomes_exactly_one_job_per_manifest(tmp_path: Path) -> None:
    options = OfflineOptions(state_dir=tmp_path, speed=3000, quota=5)
    with OfflineStack(options) as stack:
        s3 = stack.client("s3")
        upload_example_data(s3)
        bucket = stack.describe()["resources"]["ManifestsBucket"]
        document = yaml.safe_load((EXAMPLES / "support-tickets-text.json").read_text())
        del document["AutoMLJobName"], document["Deployment"]
        body = json.dumps(document).encode()
        sagemaker = stack.client("sagemaker")
        # The quota is full before the burst starts (someone else's jobs), so it bites
        # however fast or slow this machine runs the burst.
        for index in range(5):
            sagemaker.create_auto_ml_job_v2(**{**document, "AutoMLJobName": f"occupant-{index}"})
        for index in range(50):
            s3.put_object(Bucket=bucket, Key=f"manifests/burst/ticket-{index:02}.json", Body=body)

        def burst_jobs() -> list[dict[str, Any]]:
            jobs = sagemaker.list_auto_ml_jobs(MaxResults=100)["AutoMLJobSummaries"]
            return [j for j in jobs if j["AutoMLJobName"].startswith("ticket-")]

        def all_done() -> bool:
            jobs = burst_jobs()
            return len(jobs) == 50 and all(j["AutoMLJobStatus"] == "Completed" for j in jobs)

        assert stack.wait_for(all_done, timeout=240, interval=1.0)
        assert stack.simulator is not None
        # The quota really bit, and every manifest still became exactly one job.
        assert stack.simulator.calls["CreateAutoMLJobV2"] > 5 + 50
        assert len({j["AutoMLJobName"] for j in burst_jobs()}) == 50
        sqs = stack.client("sqs")
        dlq = stack.describe()["resources"]["IngestDeadLetterQueue"]
        depth = sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        assert depth == "0"


def test_offline_up_serves_plain_boto3_clients(tmp_path: Path) -> None:
    state = tmp_path / "state"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "autopilot-flow"),
            "offline",
            "up",
            "--state-dir",
            str(state),
            "--speed",
            "1200",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 180
        while not (state / "stack.json").exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)
        description = json.loads((state / "stack.json").read_text())
        session = boto3.session.Session(
            aws_access_key_id="offline", aws_secret_access_key="offline", region_name="us-east-1"
        )
        endpoint = description["endpoint_url"]
        s3 = session.client("s3", endpoint_url=endpoint)
        sagemaker = session.client("sagemaker", endpoint_url=endpoint)
        upload_example_data(s3)
        s3.put_object(
            Bucket=description["resources"]["ManifestsBucket"],
            Key="manifests/churn.yaml",
            Body=(EXAMPLES / "churn-tabular.yaml").read_bytes(),
        )
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline and status != "Completed":
            jobs = sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"]
            status = jobs[0]["AutoMLJobStatus"] if jobs else None
            time.sleep(0.5)
        assert status == "Completed"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            # A stop takes about 5 s at most; the margin is for a loaded machine. Past it,
            # `offline up` has printed its threads' stacks to stderr: show them.
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"offline up did not stop within 120 s after SIGTERM:\n{err}")
    assert process.returncode == 0, err
    assert "AWS_ENDPOINT_URL" in out
    assert os.environ.get("AWS_ENDPOINT_URL") is None
