"""Ingest against moto, with the stack provisioned from template.yaml and the real handler.

S3 notifications really travel bucket -> queue (moto delivers them); the handler is
``functions/ingest_manifest/app.py``; CreateAutoMLJobV2 calls are counted with a botocore
event hook on the handler's own client.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from moto import mock_aws

from autopilot_flow.manifest import OUR_SECTIONS
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import lambda_environment
from offline.moto_fixes import moto_as_aws
from tests.integration.ingest_harness import (
    DATA_BUCKET,
    EXAMPLES,
    OUTPUT_BUCKET,
    ROLE,
    IngestHarness,
    build_harness,
    received_events,
    subscribe_to_bus,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {
    json.loads(path.read_text())["title"]: json.loads(path.read_text())
    for path in (ROOT / "schemas").glob("*.json")
}
EXAMPLE_NAMES = sorted(path.name for path in EXAMPLES.iterdir())


@pytest.fixture
def aws_env() -> Iterator[AutopilotSimulator]:
    # The simulator fixes moto's crashes on valid requests and injects quota and throttling.
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=3) as simulator,
    ):
        yield simulator


@pytest.fixture
def harness(aws_env: AutopilotSimulator) -> IngestHarness:
    return build_harness()


@pytest.fixture
def subscriber(harness: IngestHarness) -> str:
    return subscribe_to_bus(harness)


def events_of(harness: IngestHarness, url: str) -> list[dict[str, Any]]:
    """Every event the subscriber received, each validated against its JSON Schema."""
    received = list(received_events(harness, url))
    for event in received:
        jsonschema.validate(event, SCHEMAS[event["detail-type"]])
    return received


def example_request(name: str) -> dict[str, Any]:
    document = yaml.safe_load((EXAMPLES / name).read_text())
    return {k: v for k, v in document.items() if k not in OUR_SECTIONS}


# --- the happy path, for every problem type ------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_example_becomes_exactly_one_job(
    name: str, harness: IngestHarness, subscriber: str
) -> None:
    key = harness.upload_example(name)
    harness.source.drain()

    assert len(harness.create_calls) == 1
    sent = harness.create_calls[0]
    expected = example_request(name)
    assert sent["AutoMLJobName"] == expected.get("AutoMLJobName", sent["AutoMLJobName"])
    # The request as sent is the manifest's, with nothing of ours in it.
    for field, value in expected.items():
        if field != "AutoMLProblemTypeConfig":
            assert sent[field] == value, field
    assert not set(sent) & set(OUR_SECTIONS)

    job_name = sent["AutoMLJobName"]
    record = harness.record(job_name)
    assert record is not None
    assert record["status"] == "CREATED"
    assert record["jobArn"].endswith(f"automl-job/{job_name}")

    receipt = harness.read_json(key.replace("manifests/", "receipts/", 1) + ".json")
    assert receipt["jobName"] == job_name
    assert receipt["jobArn"] == record["jobArn"]
    assert receipt["request"] == sent
    assert harness.keys("rejections/") == []

    events = events_of(harness, subscriber)
    assert [e["detail-type"] for e in events] == ["AutoML Job Submitted"]
    assert events[0]["detail"]["jobName"] == job_name


def test_policy_defaults_fill_what_the_manifest_omits(
    harness: IngestHarness, subscriber: str
) -> None:
    request = example_request("churn-tabular.yaml")
    del request["RoleArn"], request["OutputDataConfig"]
    config = request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    del config["CompletionCriteria"]["MaxCandidates"]
    harness.upload("manifests/team-a/churn.yaml", yaml.safe_dump(request).encode())
    harness.source.drain()

    (sent,) = harness.create_calls
    assert sent["RoleArn"] == ROLE
    assert sent["OutputDataConfig"] == {"S3OutputPath": f"s3://{OUTPUT_BUCKET}/autopilot/"}
    # The stack's MaxCandidates cap (250 by default) is written in, not left to SageMaker.
    cfg = sent["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert cfg["CompletionCriteria"]["MaxCandidates"] == 250
    receipt = harness.read_json("receipts/team-a/churn.yaml.json")
    assert set(receipt["defaultsApplied"]) >= {"RoleArn", "OutputDataConfig"}


# --- exactly once ------------------------------------------------------------------------------


def _resend(harness: IngestHarness, body: str, copies: int) -> None:
    sqs = harness.client("sqs")
    for _ in range(copies):
        sqs.send_message(QueueUrl=harness.stack.physical("IngestQueue"), MessageBody=body)


def _take_notification(harness: IngestHarness) -> dict[str, Any]:
    """Receive the one real S3 notification (handling S3's test event on the way)."""
    for message in harness.source.receive():
        if "s3:TestEvent" in message["Body"]:
            harness.source.deliver([message])
            continue
        return message
    raise AssertionError("no notification")


def test_same_notification_three_times_creates_one_job(
    harness: IngestHarness, subscriber: str
) -> None:
    harness.upload_example("churn-tabular.yaml")
    original = _take_notification(harness)
    _resend(harness, original["Body"], copies=2)  # three SQS messages, one object version
    harness.source.deliver([original])
    harness.source.drain()
    assert len(harness.create_calls) == 1
    kinds = [e["detail-type"] for e in events_of(harness, subscriber)]
    assert kinds == ["AutoML Job Submitted"]
    assert harness.queue_depth("IngestQueue") == 0


def test_redelivery_after_the_idempotency_record_expired_creates_nothing(
    harness: IngestHarness,
) -> None:
    harness.upload_example("churn-tabular.yaml")
    original = _take_notification(harness)
    body = original["Body"]
    harness.source.deliver([original])
    # Forget every idempotency record: only the registry now remembers the job.
    dynamodb = harness.client("dynamodb")
    table = harness.stack.physical("IdempotencyTable")
    for item in dynamodb.scan(TableName=table)["Items"]:
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})
    _resend(harness, body, copies=1)
    harness.source.drain()
    assert len(harness.create_calls) == 1
    assert harness.record("churn-binary-2026-11")["status"] == "CREATED"  # type: ignore[index]


def test_two_concurrent_deliveries_create_one_job(harness: IngestHarness) -> None:
    harness.upload_example("churn-tabular.yaml")
    original = _take_notification(harness)
    _resend(harness, original["Body"], copies=1)
    first, second = [original], harness.source.receive()
    assert len(second) == 1
    # Two execution environments (two cold starts), as Lambda runs concurrent batches.
    instances = [harness.source, harness.new_instance()]
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda s=s, m=m: results.append(s.deliver(m)))
        for s, m in zip(instances, (first, second), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(harness.create_calls) == 1
    # The loser (if the two really overlapped) was reported failed and is redelivered later:
    # that redelivery must find the job, not create another.
    failed_ids = {f["itemIdentifier"] for r in results for f in r["batchItemFailures"]}
    visibility_timeout_passes(harness, [m for m in first + second if m["MessageId"] in failed_ids])
    harness.source.drain()
    assert len(harness.create_calls) == 1
    assert harness.queue_depth("IngestQueue") == 0


def visibility_timeout_passes(harness: IngestHarness, messages: list[dict[str, Any]]) -> None:
    """Make failed in-flight messages visible again (what the visibility timeout does)."""
    sqs = harness.client("sqs")
    url = harness.stack.physical("IngestQueue")
    for message in messages:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


# --- partial batches -----------------------------------------------------------------------------


def test_batch_with_a_broken_manifest_answers_each(harness: IngestHarness, subscriber: str) -> None:
    harness.upload_example("churn-tabular.yaml")
    harness.upload_example("defect-images.yaml")
    harness.upload("manifests/broken.json", b'{"AutoMLJobName": "broken", ')
    messages = [m for m in harness.source.receive() if "s3:TestEvent" not in m["Body"]]
    assert len(messages) == 3
    response = harness.source.deliver(messages)
    # A rejection is an answer (a report and an event), not a failure to retry.
    assert response == {"batchItemFailures": []}
    assert len(harness.create_calls) == 2
    report = harness.read_json("rejections/broken.json.json")
    assert report["errors"][0]["code"] == "parse.invalid_json"
    kinds = sorted(e["detail-type"] for e in events_of(harness, subscriber))
    assert kinds == ["AutoML Job Rejected", "AutoML Job Submitted", "AutoML Job Submitted"]


def test_only_the_unprocessable_message_of_a_batch_is_reported_failed(
    harness: IngestHarness,
) -> None:
    harness.upload_example("churn-tabular.yaml")
    harness.upload_example("defect-images.yaml")
    sqs = harness.client("sqs")
    sqs.send_message(QueueUrl=harness.stack.physical("IngestQueue"), MessageBody="not json {")
    messages = [m for m in harness.source.receive() if "s3:TestEvent" not in m["Body"]]
    assert len(messages) == 3
    garbage = next(m for m in messages if m["Body"] == "not json {")
    response = harness.source.deliver(messages)
    assert response == {"batchItemFailures": [{"itemIdentifier": garbage["MessageId"]}]}
    assert len(harness.create_calls) == 2


# --- rejections: preflight, bad files, policy, names -------------------------------------------


def _upload_request(harness: IngestHarness, key: str, request: dict[str, Any]) -> None:
    harness.upload(key, json.dumps(request).encode())


def _only_rejection(harness: IngestHarness, key: str) -> list[dict[str, str]]:
    harness.source.drain()
    assert harness.create_calls == []
    report = harness.read_json(key.replace("manifests/", "rejections/", 1) + ".json")
    assert report["valid"] is False
    errors: list[dict[str, str]] = report["errors"]
    assert errors
    return errors


def test_preflight_missing_target_column(harness: IngestHarness) -> None:
    request = example_request("churn-tabular.yaml")
    request["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] = "Churned"
    _upload_request(harness, "manifests/churn.json", request)
    errors = _only_rejection(harness, "manifests/churn.json")
    paths = [e["path"] for e in errors]
    assert "AutoMLProblemTypeConfig.TabularJobConfig.TargetAttributeName" in paths
    message = next(e["message"] for e in errors if e["path"].endswith("TargetAttributeName"))
    assert "Churned" in message and "churned" in message


def test_preflight_mismatched_validation_header(harness: IngestHarness) -> None:
    harness.client("s3").put_object(
        Bucket=DATA_BUCKET,
        Key="churn/validation/part-0.csv",
        Body=b"customer_id,tenure,plan,monthly_charge,account_weight,churned\n",
    )
    harness.upload_example("churn-tabular.yaml")
    errors = _only_rejection(harness, "manifests/churn-tabular.yaml")
    assert [e["path"] for e in errors] == [
        "AutoMLJobInputDataConfig[1].DataSource.S3DataSource.S3Uri"
    ]
    assert "monthly_charge" in errors[0]["message"]


def test_preflight_empty_prefix(harness: IngestHarness) -> None:
    request = example_request("churn-tabular.yaml")
    request["AutoMLJobInputDataConfig"] = request["AutoMLJobInputDataConfig"][:1]
    request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = (
        f"s3://{DATA_BUCKET}/churn/nothing-here/"
    )
    _upload_request(harness, "manifests/churn.json", request)
    errors = _only_rejection(harness, "manifests/churn.json")
    assert errors[0]["path"] == "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri"
    assert errors[0]["code"].startswith("preflight.")
    assert "churn/nothing-here/" in errors[0]["message"]


def test_prefix_outside_the_allowed_buckets(harness: IngestHarness) -> None:
    request = example_request("churn-tabular.yaml")
    request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = (
        "s3://someone-elses-bucket/data/"
    )
    _upload_request(harness, "manifests/churn.json", request)
    errors = _only_rejection(harness, "manifests/churn.json")
    assert [(e["path"], e["code"]) for e in errors] == [
        ("AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri", "policy.s3_not_allowed")
    ]


def _alias_bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 9):
        prev = chr(ord("a") + index - 1)
        name = chr(ord("a") + index)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(lines).encode()


BAD_FILES = {
    "empty.yaml": (b"", "parse.empty"),
    "binary.json": (bytes(range(256)) * 4, "parse.binary"),
    "latin1.yaml": ("AutoMLJobName: caf\u00e9\n".encode("latin-1"), "parse.encoding"),
    "huge.yaml": (b"# " + b"x" * (5 * 1024 * 1024) + b"\n", "parse.too_large"),
    "bomb.yaml": (_alias_bomb(), "parse.yaml_alias"),
    "deep.json": (b"[" * 5000 + b"]" * 5000, "parse.too_deep"),
    "array.json": (b'[{"AutoMLJobName": "x"}]', "parse.not_a_mapping"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_get_a_rejection_report(name: str, harness: IngestHarness) -> None:
    body, code = BAD_FILES[name]
    harness.upload(f"manifests/{name}", body)
    errors = _only_rejection(harness, f"manifests/{name}")
    assert [e["code"] for e in errors] == [code]
    # The uploaded manifest is still there, unchanged.
    stored = harness.client("s3").get_object(Bucket=harness.bucket, Key=f"manifests/{name}")
    assert stored["Body"].read() == body


def test_role_not_allowed(harness: IngestHarness, subscriber: str) -> None:
    request = example_request("churn-tabular.yaml")
    request["RoleArn"] = "arn:aws:iam::111122223333:role/Administrator"
    _upload_request(harness, "manifests/churn.json", request)
    errors = _only_rejection(harness, "manifests/churn.json")
    assert [(e["path"], e["code"]) for e in errors] == [("RoleArn", "policy.role_not_allowed")]
    (event,) = events_of(harness, subscriber)
    assert event["detail-type"] == "AutoML Job Rejected"
    assert event["detail"]["errors"] == errors


def test_a_name_taken_by_another_manifest_is_rejected(harness: IngestHarness) -> None:
    harness.upload_example("churn-tabular.yaml")
    harness.source.drain()
    request = copy.deepcopy(example_request("churn-tabular.yaml"))
    request["AutoMLJobName"] = "Churn-Binary-2026-11"  # job names ignore case
    _upload_request(harness, "manifests/copy.json", request)
    harness.source.drain()
    assert len(harness.create_calls) == 1
    report = harness.read_json("rejections/copy.json.json")
    assert [e["code"] for e in report["errors"]] == ["job_name.taken"]
    assert "manifests/churn-tabular.yaml" in report["errors"][0]["message"]


@pytest.mark.parametrize(
    "key",
    [
        "manifests/équipe données/churn modèle.yaml",
        "manifests/a b+c%20d.yaml",
        "manifests/../escape.yaml",
        "manifests/" + "x" * 1000 + ".yaml",
    ],
    ids=["unicode", "spaces-plus-percent", "dot-dot", "very-long"],
)
def test_hostile_keys(key: str, harness: IngestHarness) -> None:
    harness.upload(key, (EXAMPLES / "product-categories-multiclass.yaml").read_bytes())
    harness.source.drain()
    assert len(harness.create_calls) == 1
    name = harness.create_calls[0]["AutoMLJobName"]
    assert harness.record(name)["status"] == "CREATED"  # type: ignore[index]
    (receipt_key,) = harness.keys("receipts/")
    assert harness.read_json(receipt_key)["manifest"]["key"] == key
    assert len(receipt_key.encode()) <= 1024


# --- the sample events in events/ ---------------------------------------------------------------

SAMPLES = ROOT / "events" / "ingest_manifest"


def test_sample_event_with_one_record(harness: IngestHarness) -> None:
    harness.upload_example("churn-tabular.yaml")
    harness.source.drain()  # the real notification, then the sample is a redelivery
    event = json.loads((SAMPLES / "sqs-s3-one-record.json").read_text())
    assert harness.handler(event, harness.source.context) == {"batchItemFailures": []}
    assert len(harness.create_calls) == 1


def test_sample_event_with_several_records(harness: IngestHarness, subscriber: str) -> None:
    sqs = harness.client("sqs")
    # The sample's objects, uploaded without the notification reaching the handler first.
    sqs.purge_queue(QueueUrl=harness.stack.physical("IngestQueue"))
    harness.upload_example("churn-tabular.yaml")
    harness.upload_example(
        "demand-forecast-timeseries.yaml",
        "manifests/team forecasting/demand-forecast-timeseries.yaml",
    )
    harness.upload("manifests/broken.yaml", b"AutoMLJobName: [\n")
    event = json.loads((SAMPLES / "sqs-s3-several-records.json").read_text())
    assert harness.handler(event, harness.source.context) == {"batchItemFailures": []}
    assert sorted(c["AutoMLJobName"] for c in harness.create_calls) == [
        "churn-binary-2026-11",
        "demand-forecast-daily",
    ]
    assert harness.keys("rejections/") == ["rejections/broken.yaml.json"]
    kinds = sorted(e["detail-type"] for e in events_of(harness, subscriber))
    assert kinds == ["AutoML Job Rejected", "AutoML Job Submitted", "AutoML Job Submitted"]


# --- throttling and quota ---------------------------------------------------------------------


def test_throttled_creates_are_retried_with_backoff(
    harness: IngestHarness, aws_env: AutopilotSimulator
) -> None:
    aws_env.throttle_next(2, operation="CreateAutoMLJobV2")
    harness.upload_example("churn-tabular.yaml")
    harness.source.drain()
    assert aws_env.throttled["CreateAutoMLJobV2"] == 2
    assert aws_env.calls["CreateAutoMLJobV2"] == 3
    assert len(harness.service.ingestor.jobs.backoff.slept) == 2
    assert harness.record("churn-binary-2026-11")["status"] == "CREATED"  # type: ignore[index]


def _deliver_visible(harness: IngestHarness) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    received = harness.source.receive()
    test_events = [m for m in received if "s3:TestEvent" in m["Body"]]
    if test_events:
        harness.source.deliver(test_events)
    messages = [m for m in received if m not in test_events]
    return messages, harness.source.deliver(messages) if messages else {}


def test_quota_keeps_the_manifest_queued_until_capacity_frees(
    harness: IngestHarness, aws_env: AutopilotSimulator, subscriber: str
) -> None:
    aws_env.quota = 1
    sagemaker = harness.client("sagemaker")
    occupying = example_request("product-categories-multiclass.yaml")
    sagemaker.create_auto_ml_job_v2(**{**occupying, "AutoMLJobName": "someone-elses-job"})
    harness.upload_example("churn-tabular.yaml")
    messages, response = _deliver_visible(harness)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        messages[0]["MessageId"]
    ]
    record = harness.record("churn-binary-2026-11")
    assert record is not None
    assert record["status"] == "WAITING_FOR_CAPACITY"
    assert record["attempts"] == 1
    # The message is hidden for a while (growing delays), not lost.
    assert harness.queue_depth("IngestQueue") == 1
    assert harness.source.receive() == []

    aws_env.run_until_idle()  # the other job finishes: capacity frees
    visibility_timeout_passes(harness, messages)
    harness.source.drain()
    assert harness.record("churn-binary-2026-11")["status"] == "CREATED"  # type: ignore[index]
    assert harness.queue_depth("IngestQueue") == 0
    kinds = [e["detail-type"] for e in events_of(harness, subscriber)]
    assert kinds == ["AutoML Job Waiting For Capacity", "AutoML Job Submitted"]


def test_quota_that_never_frees_ends_in_the_dead_letter_queue_with_an_event(
    harness: IngestHarness, aws_env: AutopilotSimulator, subscriber: str
) -> None:
    aws_env.quota = 0
    harness.upload_example("churn-tabular.yaml")
    attempts = 0
    for _ in range(10):
        messages, _ = _deliver_visible(harness)
        if not messages:
            break
        attempts += 1
        visibility_timeout_passes(harness, messages)
    max_receives = int(harness.stack.parameters["IngestMaxReceiveCount"])
    assert attempts == max_receives
    assert harness.queue_depth("IngestQueue") == 0
    assert harness.queue_depth("IngestDeadLetterQueue") == 1
    record = harness.record("churn-binary-2026-11")
    assert record is not None
    assert record["status"] == "SUBMISSION_FAILED"
    kinds = [e["detail-type"] for e in events_of(harness, subscriber)]
    assert kinds == ["AutoML Job Waiting For Capacity"] * (max_receives - 1) + [
        "AutoML Job Submission Failed"
    ]
    assert harness.create_calls and all(
        c["AutoMLJobName"] == "churn-binary-2026-11" for c in harness.create_calls
    )


def test_a_new_version_of_a_manifest_is_a_new_submission(harness: IngestHarness) -> None:
    body = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    harness.upload("manifests/catalog.yaml", body)
    harness.source.drain()
    # The same key again, changed: a new object version, a new derived job name.
    harness.upload(
        "manifests/catalog.yaml", body.replace(b"MaxCandidates: 20", b"MaxCandidates: 30")
    )
    harness.source.drain()
    names = [c["AutoMLJobName"] for c in harness.create_calls]
    assert len(names) == 2
    assert names[0] != names[1]
    assert all(n.startswith("catalog-") for n in names)


def test_a_new_version_that_keeps_an_explicit_name_is_rejected(harness: IngestHarness) -> None:
    harness.upload_example("churn-tabular.yaml", "manifests/churn.yaml")
    harness.source.drain()
    changed = (EXAMPLES / "churn-tabular.yaml").read_bytes().replace(b"50", b"60")
    harness.upload("manifests/churn.yaml", changed)
    harness.source.drain()
    assert len(harness.create_calls) == 1
    report = harness.read_json("rejections/churn.yaml.json")
    assert [e["code"] for e in report["errors"]] == ["job_name.taken"]
