"""Ingest against moto, on the package's stack (provisioned once from template.yaml, see
conftest.py) and the real handler.

S3 notifications really travel bucket -> queue (moto delivers them); the handler is
``functions/ingest_manifest/app.py``; CreateAutoMLJobV2 calls are counted with a botocore
event hook on the handler's own client, from the test's start. Each test's manifest keys
and job names carry its token (``named``, ``own_example``); "nothing answered" is checked
over every key written since the test started (``new_keys``). The sample events in
events/ingest_manifest/ name fixed keys: those tests keep a stack each, in
tests/integration/test_ingest.py.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

from autopilot_flow.manifest import JOB_NAME_MAX, OUR_SECTIONS
from offline.autopilot_simulator import AutopilotSimulator
from tests.integration.ingest_harness import (
    DATA_BUCKET,
    EXAMPLES,
    OUTPUT_BUCKET,
    ROLE,
    IngestHarness,
    received_events,
    subscribe_to_bus,
    unsubscribe_from_bus,
)
from tests.integration.shared_stack.conftest import StackForTest

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = {
    json.loads(path.read_text())["title"]: json.loads(path.read_text())
    for path in (ROOT / "schemas").glob("*.json")
}
EXAMPLE_NAMES = sorted(path.name for path in EXAMPLES.iterdir())


@pytest.fixture
def aws_env(stack: StackForTest) -> AutopilotSimulator:
    return stack.simulator


@pytest.fixture
def subscriber(stack: StackForTest) -> Iterator[str]:
    """A queue of this test's own on the bus: it sees the events sent while the test runs."""
    url = subscribe_to_bus(stack.ingest, stack.name("subscriber"))
    yield url
    unsubscribe_from_bus(stack.ingest, stack.name("subscriber"), url)


ANSWERED_BEFORE: set[str] = set()
# A derived job name: the stem's first characters, "-" and 8 of a hash, 32 in all.
DERIVED_STEM_MAX = JOB_NAME_MAX - 9


@pytest.fixture(autouse=True)
def answered_before(stack: StackForTest) -> None:
    """The receipts and reports in the bucket before the test (the bucket is shared)."""
    ANSWERED_BEFORE.clear()
    ANSWERED_BEFORE.update(stack.ingest.keys("receipts/"), stack.ingest.keys("rejections/"))


def new_keys(harness: IngestHarness, prefix: str) -> list[str]:
    """The keys under ``prefix`` written since the test started."""
    return sorted(key for key in harness.keys(prefix) if key not in ANSWERED_BEFORE)


def named(stack: StackForTest, file_name: str) -> str:
    """``file_name`` with the test's token in its stem: a key, and a derived job name, of the
    test's own (``catalog.yaml`` -> ``catalog-s0007.yaml``). A derived name keeps only the
    stem's first characters: a longer stem takes the token in front, where it is kept."""
    path = PurePosixPath(file_name)
    stem = f"{path.stem}-{stack.token}"
    if len(stem) > DERIVED_STEM_MAX:
        stem = f"{stack.token}-{path.stem}"
    return str(path.with_name(f"{stem}{path.suffix}"))


def own_example(stack: StackForTest, name: str) -> bytes:
    """An example manifest's bytes, its job name (if it names one) made the test's own."""
    body = (EXAMPLES / name).read_bytes()
    document = yaml.safe_load(body)
    job = document.get("AutoMLJobName")
    return body.replace(job.encode(), stack.name(job).encode()) if job else body


def upload_example(stack: StackForTest, name: str, key: str | None = None) -> str:
    key = key or f"manifests/{named(stack, name)}"
    stack.ingest.upload(key, own_example(stack, name))
    return key


def events_of(harness: IngestHarness, url: str) -> list[dict[str, Any]]:
    """Every event the subscriber received, each validated against its JSON Schema."""
    received = list(received_events(harness, url))
    for event in received:
        jsonschema.validate(event, SCHEMAS[event["detail-type"]])
    return received


def example_request(stack: StackForTest, name: str) -> dict[str, Any]:
    document = yaml.safe_load(own_example(stack, name))
    return {k: v for k, v in document.items() if k not in OUR_SECTIONS}


# --- the happy path, for every problem type ------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_example_becomes_exactly_one_job(
    name: str, stack: StackForTest, harness: IngestHarness, subscriber: str
) -> None:
    key = upload_example(stack, name)
    harness.source.drain()

    assert len(harness.create_calls) == 1
    sent = harness.create_calls[0]
    expected = example_request(stack, name)
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
    assert new_keys(harness, "rejections/") == []

    events = events_of(harness, subscriber)
    assert [e["detail-type"] for e in events] == ["AutoML Job Submitted"]
    assert events[0]["detail"]["jobName"] == job_name


def test_policy_defaults_fill_what_the_manifest_omits(
    stack: StackForTest, harness: IngestHarness, subscriber: str
) -> None:
    request = example_request(stack, "churn-tabular.yaml")
    del request["RoleArn"], request["OutputDataConfig"]
    config = request["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    del config["CompletionCriteria"]["MaxCandidates"]
    key = f"manifests/{named(stack, 'team-a/churn.yaml')}"
    harness.upload(key, yaml.safe_dump(request).encode())
    harness.source.drain()

    (sent,) = harness.create_calls
    assert sent["RoleArn"] == ROLE
    assert sent["OutputDataConfig"] == {"S3OutputPath": f"s3://{OUTPUT_BUCKET}/autopilot/"}
    # The stack's MaxCandidates cap (250 by default) is written in, not left to SageMaker.
    cfg = sent["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert cfg["CompletionCriteria"]["MaxCandidates"] == 250
    receipt = harness.read_json(key.replace("manifests/", "receipts/", 1) + ".json")
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
    stack: StackForTest, harness: IngestHarness, subscriber: str
) -> None:
    upload_example(stack, "churn-tabular.yaml")
    original = _take_notification(harness)
    _resend(harness, original["Body"], copies=2)  # three SQS messages, one object version
    harness.source.deliver([original])
    harness.source.drain()
    assert len(harness.create_calls) == 1
    kinds = [e["detail-type"] for e in events_of(harness, subscriber)]
    assert kinds == ["AutoML Job Submitted"]
    assert harness.queue_depth("IngestQueue") == 0


def test_redelivery_after_the_idempotency_record_expired_creates_nothing(
    stack: StackForTest,
    harness: IngestHarness,
) -> None:
    upload_example(stack, "churn-tabular.yaml")
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
    assert harness.record(stack.name("churn-binary-2026-11"))["status"] == "CREATED"  # type: ignore[index]


def test_two_concurrent_deliveries_create_one_job(
    stack: StackForTest, harness: IngestHarness
) -> None:
    upload_example(stack, "churn-tabular.yaml")
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


def test_batch_with_a_broken_manifest_answers_each(
    stack: StackForTest, harness: IngestHarness, subscriber: str
) -> None:
    upload_example(stack, "churn-tabular.yaml")
    upload_example(stack, "defect-images.yaml")
    broken = f"manifests/{named(stack, 'broken.json')}"
    harness.upload(broken, b'{"AutoMLJobName": "broken", ')
    messages = [m for m in harness.source.receive() if "s3:TestEvent" not in m["Body"]]
    assert len(messages) == 3
    response = harness.source.deliver(messages)
    # A rejection is an answer (a report and an event), not a failure to retry.
    assert response == {"batchItemFailures": []}
    assert len(harness.create_calls) == 2
    report = harness.read_json(broken.replace("manifests/", "rejections/", 1) + ".json")
    assert report["errors"][0]["code"] == "parse.invalid_json"
    kinds = sorted(e["detail-type"] for e in events_of(harness, subscriber))
    assert kinds == ["AutoML Job Rejected", "AutoML Job Submitted", "AutoML Job Submitted"]


def test_only_the_unprocessable_message_of_a_batch_is_reported_failed(
    stack: StackForTest,
    harness: IngestHarness,
) -> None:
    upload_example(stack, "churn-tabular.yaml")
    upload_example(stack, "defect-images.yaml")
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


def test_preflight_missing_target_column(stack: StackForTest, harness: IngestHarness) -> None:
    request = example_request(stack, "churn-tabular.yaml")
    request["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] = "Churned"
    key = f"manifests/{named(stack, 'churn.json')}"
    _upload_request(harness, key, request)
    errors = _only_rejection(harness, key)
    paths = [e["path"] for e in errors]
    assert "AutoMLProblemTypeConfig.TabularJobConfig.TargetAttributeName" in paths
    message = next(e["message"] for e in errors if e["path"].endswith("TargetAttributeName"))
    assert "Churned" in message and "churned" in message


def test_preflight_mismatched_validation_header(
    stack: StackForTest, harness: IngestHarness
) -> None:
    # The validation channel reads a prefix of the test's own: the example data is shared.
    harness.client("s3").put_object(
        Bucket=DATA_BUCKET,
        Key=f"churn/{stack.token}/validation/part-0.csv",
        Body=b"customer_id,tenure,plan,monthly_charge,account_weight,churned\n",
    )
    request = example_request(stack, "churn-tabular.yaml")
    validation = request["AutoMLJobInputDataConfig"][1]["DataSource"]["S3DataSource"]
    assert validation["S3Uri"] == f"s3://{DATA_BUCKET}/churn/validation/"
    validation["S3Uri"] = f"s3://{DATA_BUCKET}/churn/{stack.token}/validation/"
    key = f"manifests/{named(stack, 'churn-tabular.json')}"
    _upload_request(harness, key, request)
    errors = _only_rejection(harness, key)
    assert [e["path"] for e in errors] == [
        "AutoMLJobInputDataConfig[1].DataSource.S3DataSource.S3Uri"
    ]
    assert "monthly_charge" in errors[0]["message"]


def test_preflight_empty_prefix(stack: StackForTest, harness: IngestHarness) -> None:
    request = example_request(stack, "churn-tabular.yaml")
    request["AutoMLJobInputDataConfig"] = request["AutoMLJobInputDataConfig"][:1]
    request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = (
        f"s3://{DATA_BUCKET}/churn/nothing-here/"
    )
    key = f"manifests/{named(stack, 'churn.json')}"
    _upload_request(harness, key, request)
    errors = _only_rejection(harness, key)
    assert errors[0]["path"] == "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri"
    assert errors[0]["code"].startswith("preflight.")
    assert "churn/nothing-here/" in errors[0]["message"]


def test_prefix_outside_the_allowed_buckets(stack: StackForTest, harness: IngestHarness) -> None:
    request = example_request(stack, "churn-tabular.yaml")
    request["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = (
        "s3://someone-elses-bucket/data/"
    )
    key = f"manifests/{named(stack, 'churn.json')}"
    _upload_request(harness, key, request)
    errors = _only_rejection(harness, key)
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
def test_bad_files_get_a_rejection_report(
    name: str, stack: StackForTest, harness: IngestHarness
) -> None:
    body, code = BAD_FILES[name]
    key = f"manifests/{named(stack, name)}"
    harness.upload(key, body)
    errors = _only_rejection(harness, key)
    assert [e["code"] for e in errors] == [code]
    # The uploaded manifest is still there, unchanged.
    stored = harness.client("s3").get_object(Bucket=harness.bucket, Key=key)
    assert stored["Body"].read() == body


class _ReadsOf:
    """What the ingest handler asks S3 about one key, and how many bytes of it it reads."""

    def __init__(self, client: Any, key: str) -> None:
        self.key, self.calls, self.bytes_read = key, [], 0
        self.client = client
        client.meta.events.register("before-parameter-build.s3", self._call)
        client.meta.events.register("after-call.s3.GetObject", self._answered)

    def _call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == self.key:
            self.calls.append((model.name, params.get("Range")))

    def _answered(self, parsed: dict[str, Any], **_: Any) -> None:
        body = parsed.get("Body")
        if body is None or not self.calls or self.calls[-1][0] != "GetObject":
            return
        read = body.read

        def counting(amount: int | None = None) -> bytes:
            data: bytes = read(amount)
            self.bytes_read += len(data)
            return data

        body.read = counting

    def close(self) -> None:
        self.client.meta.events.unregister("before-parameter-build.s3", self._call)
        self.client.meta.events.unregister("after-call.s3.GetObject", self._answered)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("small.yaml", b"AutoMLJobName: x\n"),
        ("empty.yaml", b""),
        ("huge.yaml", BAD_FILES["huge.yaml"][0]),
    ],
)
def test_a_manifest_is_read_with_one_ranged_get_and_a_huge_one_is_never_read(
    name: str, body: bytes, stack: StackForTest, harness: IngestHarness, request: Any
) -> None:
    key = f"manifests/{named(stack, name)}"
    reads = _ReadsOf(harness.service.ingestor.s3, key)
    request.addfinalizer(reads.close)
    harness.upload(key, body)
    harness.source.drain()
    # read with one request, no HEAD first (S3's Content-Range tells the whole size); the two
    # HEADs after it are the answer's filing, asking which version is the key's newest
    filing = [("HeadObject", None)] * 2
    assert reads.calls == [("GetObject", "bytes=0-1048576"), *filing]
    assert reads.bytes_read == (len(body) if len(body) <= 1024 * 1024 else 0)
    report = harness.read_json(key.replace("manifests/", "rejections/", 1) + ".json")
    if name == "huge.yaml":
        (error,) = report["errors"]
        assert error["code"] == "parse.too_large"
        assert f"the manifest is {len(body):,} bytes" in error["message"]


def test_role_not_allowed(stack: StackForTest, harness: IngestHarness, subscriber: str) -> None:
    request = example_request(stack, "churn-tabular.yaml")
    request["RoleArn"] = "arn:aws:iam::111122223333:role/Administrator"
    key = f"manifests/{named(stack, 'churn.json')}"
    _upload_request(harness, key, request)
    errors = _only_rejection(harness, key)
    assert [(e["path"], e["code"]) for e in errors] == [("RoleArn", "policy.role_not_allowed")]
    (event,) = events_of(harness, subscriber)
    assert event["detail-type"] == "AutoML Job Rejected"
    assert event["detail"]["errors"] == errors


def test_a_name_taken_by_another_manifest_is_rejected(
    stack: StackForTest, harness: IngestHarness
) -> None:
    original = upload_example(stack, "churn-tabular.yaml")
    harness.source.drain()
    request = copy.deepcopy(example_request(stack, "churn-tabular.yaml"))
    request["AutoMLJobName"] = stack.name("Churn-Binary-2026-11").upper()  # names ignore case
    key = f"manifests/{named(stack, 'copy.json')}"
    _upload_request(harness, key, request)
    harness.source.drain()
    assert len(harness.create_calls) == 1
    report = harness.read_json(key.replace("manifests/", "rejections/", 1) + ".json")
    assert [e["code"] for e in report["errors"]] == ["job_name.taken"]
    assert original in report["errors"][0]["message"]


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
def test_hostile_keys(key: str, stack: StackForTest, harness: IngestHarness) -> None:
    harness.upload(key, (EXAMPLES / "product-categories-multiclass.yaml").read_bytes())
    harness.source.drain()
    assert len(harness.create_calls) == 1
    name = harness.create_calls[0]["AutoMLJobName"]
    assert harness.record(name)["status"] == "CREATED"  # type: ignore[index]
    (receipt_key,) = new_keys(harness, "receipts/")
    assert harness.read_json(receipt_key)["manifest"]["key"] == key
    assert len(receipt_key.encode()) <= 1024


# The sample events in events/ingest_manifest/ name fixed keys: tests/integration/test_ingest.py.


# --- throttling and quota ---------------------------------------------------------------------


def test_throttled_creates_are_retried_with_backoff(
    stack: StackForTest, harness: IngestHarness, aws_env: AutopilotSimulator
) -> None:
    slept: list[float] = []  # a recording sleep, injected (the backoff keeps no record)
    harness.service.ingestor.jobs.backoff.sleep = slept.append  # undone by ``stack``
    throttled_before = aws_env.throttled["CreateAutoMLJobV2"]
    aws_env.throttle_next(2, operation="CreateAutoMLJobV2")
    upload_example(stack, "churn-tabular.yaml")
    harness.source.drain()
    assert aws_env.throttled["CreateAutoMLJobV2"] - throttled_before == 2
    assert stack.creates() == 3
    assert len(slept) == 2
    assert harness.record(stack.name("churn-binary-2026-11"))["status"] == "CREATED"  # type: ignore[index]


def test_a_create_throttled_past_every_retry_comes_back_soon_not_after_the_timeout(
    stack: StackForTest,
    harness: IngestHarness,
    aws_env: AutopilotSimulator,
    request: pytest.FixtureRequest,
) -> None:
    backoff = harness.service.ingestor.jobs.backoff
    backoff.sleep = lambda seconds: None
    aws_env.throttle_next(backoff.attempts, operation="CreateAutoMLJobV2")
    delays: list[int] = []

    def record_delay(params: dict[str, Any], **_: Any) -> None:
        delays.append(params["VisibilityTimeout"])

    hook = "before-parameter-build.sqs.ChangeMessageVisibility"
    harness.service.sqs.meta.events.register(hook, record_delay)
    request.addfinalizer(lambda: harness.service.sqs.meta.events.unregister(hook, record_delay))
    upload_example(stack, "churn-tabular.yaml")
    messages, response = _deliver_visible(harness)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        messages[0]["MessageId"]
    ]
    # Hidden for the first retry delay, not for the queue's whole visibility timeout.
    assert len(delays) == 1
    assert 1 <= delays[0] <= harness.service.capacity_retry_seconds
    visibility_timeout_passes(harness, messages)
    harness.source.drain()
    assert harness.record(stack.name("churn-binary-2026-11"))["status"] == "CREATED"  # type: ignore[index]


def _deliver_visible(harness: IngestHarness) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    received = harness.source.receive()
    test_events = [m for m in received if "s3:TestEvent" in m["Body"]]
    if test_events:
        harness.source.deliver(test_events)
    messages = [m for m in received if m not in test_events]
    return messages, harness.source.deliver(messages) if messages else {}


def test_quota_keeps_the_manifest_queued_until_capacity_frees(
    stack: StackForTest, harness: IngestHarness, aws_env: AutopilotSimulator, subscriber: str
) -> None:
    aws_env.run_until_idle()  # the shared stack's earlier jobs end: they hold no capacity
    aws_env.quota = 1
    sagemaker = harness.client("sagemaker")
    occupying = example_request(stack, "product-categories-multiclass.yaml")
    other = stack.name("someone-elses-job")
    sagemaker.create_auto_ml_job_v2(**{**occupying, "AutoMLJobName": other})
    upload_example(stack, "churn-tabular.yaml")
    messages, response = _deliver_visible(harness)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        messages[0]["MessageId"]
    ]
    record = harness.record(stack.name("churn-binary-2026-11"))
    assert record is not None
    assert record["status"] == "WAITING_FOR_CAPACITY"
    assert record["attempts"] == 1
    # The message is hidden for a while (growing delays), not lost.
    assert harness.queue_depth("IngestQueue") == 1
    assert harness.source.receive() == []

    aws_env.run_until_idle()  # the other job finishes: capacity frees
    visibility_timeout_passes(harness, messages)
    harness.source.drain()
    assert harness.record(stack.name("churn-binary-2026-11"))["status"] == "CREATED"  # type: ignore[index]
    assert harness.queue_depth("IngestQueue") == 0
    kinds = [e["detail-type"] for e in events_of(harness, subscriber)]
    assert kinds == ["AutoML Job Waiting For Capacity", "AutoML Job Submitted"]


def _deliver_until_answered(harness: IngestHarness) -> int:
    """Deliver the visible messages, and again whenever a failed one would come back (the
    visibility timeout passing), until none is left; returns how many deliveries it took."""
    for deliveries in range(20):
        messages, response = _deliver_visible(harness)
        if not messages:
            return deliveries
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        visibility_timeout_passes(harness, [m for m in messages if m["MessageId"] in failed])
    raise AssertionError("still not answered after 20 deliveries")


def test_quota_that_never_frees_is_answered_capacity_exhausted_and_releases_the_name(
    stack: StackForTest, harness: IngestHarness, aws_env: AutopilotSimulator, subscriber: str
) -> None:
    # Changed behaviour: the last attempt used to leave the message to the dead-letter queue
    # with no answer and the name held for good (SUBMISSION_FAILED could never be claimed).
    aws_env.quota = 0
    key = upload_example(stack, "churn-tabular.yaml")
    relative = key.removeprefix("manifests/")
    attempts = _deliver_until_answered(harness)
    max_receives = int(harness.stack.parameters["IngestMaxReceiveCount"])
    assert attempts == max_receives
    assert harness.queue_depth("IngestQueue") == 0
    assert harness.queue_depth("IngestDeadLetterQueue") == 0
    # Exactly one answer: the rejection, with a stable code and what to do.
    assert new_keys(harness, "receipts/") == []
    assert new_keys(harness, "rejections/") == [f"rejections/{relative}.json"]
    report = harness.read_json(f"rejections/{relative}.json")
    (error,) = report["errors"]
    assert error["code"] == "capacity.exhausted"
    assert "quota" in error["message"] and "again" in error["message"]
    assert "ResourceLimitExceeded" not in error["message"]
    record = harness.record(stack.name("churn-binary-2026-11"))
    assert record is not None
    assert record["status"] == "SUBMISSION_FAILED"
    assert [e["code"] for e in record["errors"]] == ["capacity.exhausted"]
    events = events_of(harness, subscriber)
    kinds = [e["detail-type"] for e in events]
    assert kinds == ["AutoML Job Waiting For Capacity"] * (max_receives - 1) + [
        "AutoML Job Rejected",
        "AutoML Job Submission Failed",
    ]
    report_uri = f"s3://{harness.bucket}/rejections/{relative}.json"
    assert events[-2]["detail"]["report"] == report_uri
    assert events[-2]["detail"]["errors"] == report["errors"]
    assert events[-1]["detail"]["deadLetter"] is False
    assert events[-1]["detail"]["report"] == report_uri
    assert harness.create_calls and all(
        c["AutoMLJobName"] == stack.name("churn-binary-2026-11") for c in harness.create_calls
    )

    # The name never became a job: another manifest may take it once capacity frees.
    aws_env.quota = None
    team_b = f"manifests/{named(stack, 'team-b/churn.yaml')}"
    upload_example(stack, "churn-tabular.yaml", team_b)
    harness.source.drain()
    assert harness.record(stack.name("churn-binary-2026-11"))["status"] == "CREATED"  # type: ignore[index]
    receipt = harness.read_json(team_b.replace("manifests/", "receipts/", 1) + ".json")
    assert receipt["jobName"] == stack.name("churn-binary-2026-11")
    assert receipt["duplicateOf"] is None


def test_capacity_exhausted_manifest_uploaded_again_becomes_the_job(
    stack: StackForTest, harness: IngestHarness, aws_env: AutopilotSimulator
) -> None:
    catalog = named(stack, "catalog.yaml")
    aws_env.quota = 0
    body = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    first = harness.upload(f"manifests/{catalog}", body)["VersionId"]
    _deliver_until_answered(harness)
    rejected = harness.read_json(f"rejections/{catalog}.json")
    assert [e["code"] for e in rejected["errors"]] == ["capacity.exhausted"]
    job_name = rejected["jobName"]

    aws_env.quota = None
    second = harness.upload(f"manifests/{catalog}", body)["VersionId"]
    harness.source.drain()
    record = harness.record(job_name)
    assert record is not None and record["status"] == "CREATED"
    assert record["source"]["versionId"] == second
    # The key's newest version is answered at the plain path; the first one's answer moved.
    receipt = harness.read_json(f"receipts/{catalog}.json")
    assert receipt["manifest"]["versionId"] == second
    assert receipt["duplicateOf"] is None
    assert new_keys(harness, "rejections/") == [f"rejections/{catalog}.versions/{first}.json"]
    kept = harness.read_json(f"rejections/{catalog}.versions/{first}.json")
    assert kept == rejected


def test_a_new_version_of_a_manifest_is_a_new_submission(
    stack: StackForTest, harness: IngestHarness
) -> None:
    catalog = named(stack, "catalog.yaml")
    body = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    harness.upload(f"manifests/{catalog}", body)
    harness.source.drain()
    # The same key again, changed: a new object version, a new derived job name.
    harness.upload(f"manifests/{catalog}", body.replace(b"MaxCandidates: 20", b"MaxCandidates: 30"))
    harness.source.drain()
    names = [c["AutoMLJobName"] for c in harness.create_calls]
    assert len(names) == 2
    assert names[0] != names[1]
    assert all(n.startswith("catalog-") for n in names)


def test_a_new_version_that_keeps_an_explicit_name_is_rejected(
    stack: StackForTest, harness: IngestHarness
) -> None:
    churn = named(stack, "churn.yaml")
    upload_example(stack, "churn-tabular.yaml", f"manifests/{churn}")
    harness.source.drain()
    changed = (EXAMPLES / "churn-tabular.yaml").read_bytes().replace(b"50", b"60")
    changed = changed.replace(b"churn-binary-2026-11", stack.name("churn-binary-2026-11").encode())
    harness.upload(f"manifests/{churn}", changed)
    harness.source.drain()
    assert len(harness.create_calls) == 1
    report = harness.read_json(f"rejections/{churn}.json")
    assert [e["code"] for e in report["errors"]] == ["job_name.taken"]


# --- one answer per manifest version -------------------------------------------------------------


def _notifications(harness: IngestHarness) -> dict[str, dict[str, Any]]:
    """The visible S3 notifications by the version they name (S3's test event answered)."""
    found: dict[str, dict[str, Any]] = {}
    for _ in range(5):
        for message in harness.source.receive():
            if "s3:TestEvent" in message["Body"]:
                harness.source.deliver([message])
                continue
            (record,) = json.loads(message["Body"])["Records"]
            found[record["s3"]["object"]["versionId"]] = message
    return found


def test_an_identical_re_upload_is_answered_with_the_existing_job(
    stack: StackForTest, harness: IngestHarness, subscriber: str
) -> None:
    churn = named(stack, "churn.yaml")
    body = own_example(stack, "churn-tabular.yaml")
    first = harness.upload(f"manifests/{churn}", body)["VersionId"]
    harness.source.drain()
    second = harness.upload(f"manifests/{churn}", body)["VersionId"]
    harness.source.drain()

    assert len(harness.create_calls) == 1
    # It used to be a job_name.taken rejection, as if another manifest held the name.
    assert new_keys(harness, "rejections/") == []
    receipt = harness.read_json(f"receipts/{churn}.json")
    assert receipt["manifest"]["versionId"] == second
    assert receipt["jobName"] == stack.name("churn-binary-2026-11")
    record = harness.record(stack.name("churn-binary-2026-11"))
    assert record is not None
    assert receipt["jobArn"] == record["jobArn"]
    assert receipt["duplicateOf"] == {
        "type": "s3",
        "bucket": harness.bucket,
        "key": f"manifests/{churn}",
        "versionId": first,
    }
    original = harness.read_json(f"receipts/{churn}.versions/{first}.json")
    assert original["manifest"]["versionId"] == first
    assert original["duplicateOf"] is None
    # The registry still names the version that created the job; no event for the duplicate.
    assert record["source"]["versionId"] == first
    kinds = [e["detail-type"] for e in events_of(harness, subscriber)]
    assert kinds == ["AutoML Job Submitted"]


def test_identical_versions_processed_newest_first_create_one_job_from_the_first_to_claim(
    stack: StackForTest,
    harness: IngestHarness,
) -> None:
    catalog = named(stack, "catalog.yaml")
    body = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    first = harness.upload(f"manifests/{catalog}", body)["VersionId"]
    second = harness.upload(f"manifests/{catalog}", body)["VersionId"]
    notifications = _notifications(harness)
    assert set(notifications) == {first, second}
    harness.source.deliver([notifications[second]])  # S3 delivered them out of order
    harness.source.deliver([notifications[first]])

    assert len(harness.create_calls) == 1
    # The original version used to be rejected here (job_name.taken), at the shared path.
    assert new_keys(harness, "rejections/") == []
    newest = harness.read_json(f"receipts/{catalog}.json")
    assert newest["manifest"]["versionId"] == second
    assert newest["duplicateOf"] is None  # it claimed the name first: it made the job
    older = harness.read_json(f"receipts/{catalog}.versions/{first}.json")
    assert older["jobArn"] == newest["jobArn"]
    assert older["duplicateOf"]["versionId"] == second
    assert sorted(new_keys(harness, "receipts/")) == [
        f"receipts/{catalog}.json",
        f"receipts/{catalog}.versions/{first}.json",
    ]


def test_identical_versions_delivered_at_once_create_one_job_and_reject_neither(
    stack: StackForTest,
    harness: IngestHarness,
) -> None:
    body = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    for round_number in range(3):
        key = f"manifests/{named(stack, f'race-{round_number}.yaml')}"
        versions = [harness.upload(key, body)["VersionId"] for _ in range(2)]
        notifications = _notifications(harness)
        assert set(notifications) == set(versions)
        calls_before = len(harness.create_calls)
        # Two execution environments, one version each, at the same time.
        instances = [harness.source, harness.new_instance()]
        results: list[dict[str, Any]] = []
        threads = [
            threading.Thread(target=lambda s=s, m=m, r=results: r.append(s.deliver([m])))
            for s, m in zip(instances, notifications.values(), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # A version that found the other still on its way waits for it and comes back.
        failed = {f["itemIdentifier"] for r in results for f in r["batchItemFailures"]}
        visibility_timeout_passes(
            harness, [m for m in notifications.values() if m["MessageId"] in failed]
        )
        _deliver_until_answered(harness)

        relative = key.removeprefix("manifests/")
        assert len(harness.create_calls) == calls_before + 1
        assert harness.keys(f"rejections/{relative}") == []
        newest = harness.read_json(f"receipts/{relative}.json")
        assert newest["manifest"]["versionId"] == versions[1]
        older = harness.read_json(f"receipts/{relative}.versions/{versions[0]}.json")
        assert older["jobArn"] == newest["jobArn"]
        creators = [r for r in (newest, older) if r["duplicateOf"] is None]
        assert len(creators) == 1
        record = harness.record(newest["jobName"])
        assert record is not None
        assert record["source"]["versionId"] == creators[0]["manifest"]["versionId"]


def test_an_identical_version_waits_for_the_original_instead_of_rejecting_it(
    stack: StackForTest, harness: IngestHarness, aws_env: AutopilotSimulator
) -> None:
    churn = named(stack, "churn.yaml")
    aws_env.quota = 0
    body = own_example(stack, "churn-tabular.yaml")
    first = harness.upload(f"manifests/{churn}", body)["VersionId"]
    original, _ = _deliver_visible(harness)  # the original waits for capacity
    second = harness.upload(f"manifests/{churn}", body)["VersionId"]
    copy_messages, response = _deliver_visible(harness)
    # The copy neither creates nor rejects: it waits for the original, which holds the name.
    assert len(response["batchItemFailures"]) == 1
    assert new_keys(harness, "rejections/") == [] and new_keys(harness, "receipts/") == []
    assert harness.record(stack.name("churn-binary-2026-11"))["status"] == "WAITING_FOR_CAPACITY"  # type: ignore[index]

    aws_env.quota = None
    visibility_timeout_passes(harness, original + copy_messages)
    _deliver_until_answered(harness)
    record = harness.record(stack.name("churn-binary-2026-11"))
    assert record is not None and record["status"] == "CREATED"
    assert record["source"]["versionId"] == first
    assert new_keys(harness, "rejections/") == []
    newest = harness.read_json(f"receipts/{churn}.json")
    assert newest["manifest"]["versionId"] == second
    assert newest["duplicateOf"]["versionId"] == first


def test_the_plain_answer_path_answers_the_newest_version_and_the_other_is_removed(
    stack: StackForTest,
    harness: IngestHarness,
) -> None:
    catalog = named(stack, "catalog.yaml")
    valid = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    first = harness.upload(f"manifests/{catalog}", valid)["VersionId"]
    harness.source.drain()
    second = harness.upload(f"manifests/{catalog}", b"AutoMLJobName: [\n")["VersionId"]
    harness.source.drain()

    # Both used to exist side by side, and only the versionId inside told which was which.
    rejection = harness.read_json(f"rejections/{catalog}.json")
    assert rejection["manifest"]["versionId"] == second
    assert new_keys(harness, "receipts/") == [f"receipts/{catalog}.versions/{first}.json"]
    kept = harness.read_json(f"receipts/{catalog}.versions/{first}.json")
    assert kept["manifest"]["versionId"] == first
    assert kept["jobName"] == harness.create_calls[0]["AutoMLJobName"]

    third = harness.upload(f"manifests/{catalog}", valid.replace(b"20", b"25"))["VersionId"]
    harness.source.drain()
    assert harness.read_json(f"receipts/{catalog}.json")["manifest"]["versionId"] == third
    assert new_keys(harness, "rejections/") == [f"rejections/{catalog}.versions/{second}.json"]


def test_a_late_processed_older_version_does_not_overwrite_the_newest_answer(
    stack: StackForTest, harness: IngestHarness, subscriber: str
) -> None:
    catalog = named(stack, "catalog.yaml")
    first = harness.upload(f"manifests/{catalog}", b"AutoMLJobName: [\n")["VersionId"]
    valid = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    second = harness.upload(f"manifests/{catalog}", valid)["VersionId"]
    notifications = _notifications(harness)
    harness.source.deliver([notifications[second]])
    harness.source.deliver([notifications[first]])  # processed last, but older

    assert harness.read_json(f"receipts/{catalog}.json")["manifest"]["versionId"] == second
    assert new_keys(harness, "rejections/") == [f"rejections/{catalog}.versions/{first}.json"]
    report = harness.read_json(f"rejections/{catalog}.versions/{first}.json")
    assert report["manifest"]["versionId"] == first
    # The Rejected event points at where that version's answer is.
    rejected = [e for e in events_of(harness, subscriber) if e["detail-type"].endswith("Rejected")]
    assert [e["detail"]["report"] for e in rejected] == [
        f"s3://{harness.bucket}/rejections/{catalog}.versions/{first}.json"
    ]


def test_a_version_uploaded_while_an_older_one_is_being_answered_keeps_the_plain_path(
    stack: StackForTest,
    harness: IngestHarness,
    request: pytest.FixtureRequest,
) -> None:
    catalog = named(stack, "catalog.yaml")
    first = harness.upload(f"manifests/{catalog}", b"AutoMLJobName: [\n")["VersionId"]
    newer: list[str] = []
    valid = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()

    def upload_newer_first(params: dict[str, Any], **_: Any) -> None:
        # The newer version lands between the older one's look at the versions and its write.
        if params.get("Key") == f"rejections/{catalog}.json" and not newer:
            newer.append(harness.upload(f"manifests/{catalog}", valid)["VersionId"])

    hook, events = "before-parameter-build.s3.PutObject", harness.service.ingestor.s3.meta.events
    events.register(hook, upload_newer_first)
    request.addfinalizer(lambda: events.unregister(hook, upload_newer_first))
    notifications = _notifications(harness)
    harness.source.deliver([notifications[first]])
    assert newer, "the hook did not run"
    # The older answer moved to its own path; the plain paths wait for the newer version.
    assert new_keys(harness, "rejections/") == [f"rejections/{catalog}.versions/{first}.json"]
    assert new_keys(harness, "receipts/") == []
    harness.source.drain()
    assert harness.read_json(f"receipts/{catalog}.json")["manifest"]["versionId"] == newer[0]
    assert new_keys(harness, "rejections/") == [f"rejections/{catalog}.versions/{first}.json"]


def test_two_versions_answered_at_once_leave_the_newest_answer_at_the_plain_path(
    stack: StackForTest,
    harness: IngestHarness,
) -> None:
    valid = (EXAMPLES / "product-categories-multiclass.yaml").read_bytes()
    second_instance = harness.new_instance()
    for round_number in range(4):
        key = f"manifests/{named(stack, f'both-{round_number}.yaml')}"
        relative = key.removeprefix("manifests/")
        # An older rejected version and a newer valid one, or the other way round.
        bodies = [b"AutoMLJobName: [\n", valid]
        if round_number % 2:
            bodies.reverse()
        versions = [harness.upload(key, body)["VersionId"] for body in bodies]
        notifications = _notifications(harness)
        threads = [
            threading.Thread(target=lambda s=s, m=m: s.deliver([m]))
            for s, m in zip([harness.source, second_instance], notifications.values(), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        newest_kind, older_kind = (
            ("receipts/", "rejections/") if bodies[1] == valid else ("rejections/", "receipts/")
        )
        answer = harness.read_json(f"{newest_kind}{relative}.json")
        assert answer["manifest"]["versionId"] == versions[1]
        assert harness.keys(f"{older_kind}{relative}.json") == []
        older = harness.read_json(f"{older_kind}{relative}.versions/{versions[0]}.json")
        assert older["manifest"]["versionId"] == versions[0]
