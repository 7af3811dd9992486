"""The gauntlet's stack, its two doors driven as AWS drives them, and what an answer must show.

One stack for the gauntlet, provisioned in moto from template.yaml (``build_api_harness``):
the real ``functions/ingest_manifest/app.py`` fed S3 notifications through the ingest
queue, and the real ``functions/jobs_api/app.py`` fed API Gateway proxy events. Keys and
request ids are unique per case, so cases share the stack without cleaning up.

What the handlers do is watched on their own boto3 clients (botocore event hooks): every
SageMaker call (and, independently, every request moto's SageMaker receives) and every S3
write. That is how a case shows it cost nothing and wrote nothing but its answer.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT
from moto.s3.models import s3_backends

from autopilot_flow.registry import CREATED
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import lambda_environment
from offline.moto_fixes import moto_as_aws
from tests.gauntlet.strategies import ALL_KINDS, CANARY, Case, malformed_manifests
from tests.integration.jobs_api_harness import (
    Answer,
    ApiHarness,
    build_api_harness,
    new_request,
    sample,
    set_header,
    with_body,
)
from tests.published_events import PublishedEvents

# 2,000 for the first 43 kinds of damage; with the YAML 1.1 and cost families, as many per kind.
EXAMPLES_PER_DOOR = 2100
# Fixed and derandomized, so that every run (and CI) tries the same cases.
GAUNTLET_SETTINGS = settings(
    max_examples=EXAMPLES_PER_DOOR,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)

# AWS limits that moto does not enforce (it does enforce DynamoDB's 400 KB per item).
EVENT_ENTRY_LIMIT = 256 * 1024  # EventBridge PutEvents, per request
LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024  # a synchronous invocation's response payload
PROBLEM_JSON = "application/problem+json"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml; charset=utf-8", "text/x-yaml")
JSON_TYPES = ("application/json", "application/json; charset=utf-8", None)  # None: no header
S3_READS = ("Get", "Head", "List")


def clients_of(root: Any, service: str) -> list[Any]:
    """The boto3 clients of ``service`` that a handler's service object holds, wherever its
    wiring keeps them."""
    found: dict[int, Any] = {}
    todo, seen = [root], set()
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        model = getattr(getattr(item, "meta", None), "service_model", None)
        if getattr(model, "service_name", None) == service:
            found[id(item)] = item
        elif type(item).__module__.startswith("autopilot_flow") and hasattr(item, "__dict__"):
            todo.extend(vars(item).values())
    assert found, f"the handler's service holds no {service} client to watch"
    return list(found.values())


@dataclass
class SageMakerCalls:
    """Every SageMaker call, counted twice: by a ``before-call`` hook on each SageMaker client
    the handlers hold, and by moto's SageMaker itself (the simulator counts every request it
    receives, whichever client sent it)."""

    simulator: AutopilotSimulator
    operations: list[str] = field(default_factory=list)

    def watch(self, service: Any) -> None:
        for client in clients_of(service, "sagemaker"):
            client.meta.events.register("before-call.sagemaker", self._seen)

    def _seen(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)

    def since(self, before: tuple[int, int]) -> str:
        """What was called after ``before``, for the failure message."""
        hooked = self.operations[before[0] :]
        counted = self.simulator.calls_from(threading.get_ident()) - before[1]
        return f"SageMaker was called: {hooked} by the handlers, {counted} call(s) received"

    def now(self) -> tuple[int, int]:
        # Only this thread's calls: the handlers run in it (in-process moto answers in the
        # caller's thread), while another test file's Step Functions executions, run by moto
        # in threads of their own, may outlive their test in this worker and call SageMaker.
        return len(self.operations), self.simulator.calls_from(threading.get_ident())


@dataclass
class S3Writes:
    """Every S3 call of the handlers that is not a read, as (operation, key): what they wrote,
    replaced or deleted (a listing of the bucket would cost more with every case)."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    def watch(self, service: Any) -> None:
        for client in clients_of(service, "s3"):
            # Before the parameters are serialised: ``params`` still holds the Key.
            client.meta.events.register("before-parameter-build.s3", self._seen)

    def _seen(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if not model.name.startswith(S3_READS):
            self.seen.append((model.name, str(params.get("Key", ""))))

    def take(self) -> list[tuple[str, str]]:
        taken, self.seen = self.seen, []
        return taken


@dataclass
class Gauntlet:
    api: ApiHarness
    simulator: AutopilotSimulator
    calls: SageMakerCalls
    writes: S3Writes
    published: PublishedEvents
    ids: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        session = self.api.ingest.session
        self.s3 = session.client("s3", region_name="us-east-1")
        self.sqs = session.client("sqs", region_name="us-east-1")
        self.dynamodb = session.client("dynamodb", region_name="us-east-1")

    @property
    def bucket(self) -> str:
        return self.api.ingest.bucket

    # --- the S3 door ------------------------------------------------------------------------

    def drop(self, key: str, body: bytes) -> dict[str, Any]:
        """Upload a manifest, then hand its notification to the ingest handler as its event
        source mapping would (a batch of one), deleting the message unless it failed."""
        self.writes.take()  # from here on, only what the handler writes
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        source = self.api.ingest.source
        messages = source.receive()
        assert len(messages) == 1, f"expected one notification for {key!r}, got {len(messages)}"
        # Called directly (not through SqsEventSource.deliver, which turns a raise into a
        # failed batch) so that an exception fails the case with its traceback.
        response: dict[str, Any] = source.handler(source.event(messages), source.context)
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return response

    def ingest_key(self, case: Case) -> str:
        number = next(self.ids)
        # The notification filters are case-sensitive: only these three suffixes arrive.
        suffix = ".json" if case.media == "json" else (".yaml", ".yml")[number % 2]
        return f"manifests/gauntlet/{number:05d}-{case.kind}{suffix}"

    # --- the HTTP door ------------------------------------------------------------------------

    def post(self, case: Case) -> tuple[dict[str, Any], Answer]:
        """POST /jobs with the case's body, as API Gateway's proxy integration sends it."""
        self.writes.take()
        number = next(self.ids)
        event = with_body(sample("post-jobs-json.json"), "")
        set_header(event, "X-Manifest-Name", None)
        types = JSON_TYPES if case.media == "json" else YAML_TYPES
        set_header(event, "Content-Type", types[number % len(types)])
        try:
            text: str | None = case.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        # API Gateway passes text as it is and binary media base64-encoded: send both ways.
        if text is None or number % 4 == 0:
            event["body"] = base64.b64encode(case.body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
            event["isBase64Encoded"] = False
        event = new_request(event, f"gauntlet-{number:05d}")
        return event, self.api.call(copy.deepcopy(event))

    # --- what the service keeps ------------------------------------------------------------

    def read_json(self, key: str) -> dict[str, Any]:
        """An answer the service filed, read from moto's S3 itself: the handlers' reads and
        writes go through S3's API; this only looks (a GetObject per case was about a
        fifteenth of the gauntlet's time)."""
        filed = s3_backends[ACCOUNT]["aws"].get_object(self.bucket, key)
        assert filed is not None, f"nothing filed at {key!r}"
        document: dict[str, Any] = json.loads(filed.value)
        return document

    def created_records(self) -> int:
        """Registry items in the CREATED lifecycle status (the ByStatus index)."""
        response = self.dynamodb.query(
            TableName=self.api.stack.physical("JobsTable"),
            IndexName="ByStatus",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": CREATED}},
            Select="COUNT",
        )
        return int(response["Count"])

    def last_event(self, service: Any) -> dict[str, Any]:
        return self.published.of(service.ingestor.publisher.client)[-1]


@contextmanager
def gauntlet_stack() -> Iterator[Gauntlet]:
    CANARY.unlink(missing_ok=True)
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=7) as simulator,
    ):
        api = build_api_harness()
        api.ingest.source.drain()  # S3's test event, sent when the notification was set up
        calls, writes, published = SageMakerCalls(simulator), S3Writes(), PublishedEvents()
        for service in (api.ingest.service, api.service):
            calls.watch(service)
            writes.watch(service)
            published.watch(service.ingestor.publisher.client)
        yield Gauntlet(api, simulator, calls, writes, published)
    # The python tags in the cases would have created it, had a loader run them.
    assert not CANARY.exists(), "a YAML python tag was executed"


# --- what an answer must show -------------------------------------------------------------------


def check_errors(case: Case, errors: list[dict[str, Any]]) -> None:
    """The errors of a rejection: well formed, and naming what the case damaged."""
    assert errors, "a rejection without errors"
    for error in errors:
        assert set(error) == {"path", "message", "code"}, error
        assert isinstance(error["path"], str), error
        assert isinstance(error["message"], str) and error["message"], error
        assert isinstance(error["code"], str) and error["code"], error
    if case.document_level:
        # The document cannot be read: one error, about the document itself ("").
        assert [(e["path"], e["code"]) for e in errors] == [("", case.expected_code)], errors
    else:
        paths = [e["path"] for e in errors]
        assert all(paths), f"an error without a path: {errors}"
        assert case.expected_path in paths, f"{case.expected_path!r} not named in {paths}"


def check_listed(listed: list[dict[str, str]], errors: list[dict[str, str]]) -> None:
    """``listed`` (an event's or an answer's errors) is the report's ``errors``, or the first
    of them with long texts cut short ("..."): what fits within AWS's size limits."""
    assert listed, "no errors listed"
    assert len(listed) <= len(errors)
    for short, full in zip(listed, errors, strict=False):
        assert short.keys() == full.keys(), (short, full)
        for name, text in short.items():
            cut = text.endswith("...") and full[name].startswith(text[:-3])
            assert text == full[name] or cut, (name, text[:80], full[name][:80])


def check_rejected_event(
    event: dict[str, Any], report_uri: str, errors: list[dict[str, str]]
) -> None:
    assert event["DetailType"] == "AutoML Job Rejected"
    assert len(json.dumps(event).encode()) <= EVENT_ENTRY_LIMIT, "too large for EventBridge"
    detail = json.loads(event["Detail"])
    assert detail["report"] == report_uri
    check_listed(detail["errors"], errors)


def check_dropped(
    gauntlet: Gauntlet, case: Case, key: str, response: dict[str, Any], calls_before: Any
) -> None:
    """The answer to a manifest dropped into the bucket, as ``case`` expects it."""
    assert response == {"batchItemFailures": []}  # answered, not to be retried
    relative = key.removeprefix("manifests/")
    if case.expect_valid:
        receipt_key = f"receipts/{relative}.json"
        assert gauntlet.writes.take() == [("PutObject", receipt_key)]
        receipt = gauntlet.read_json(receipt_key)
        assert receipt["manifest"]["key"] == key
        now = gauntlet.calls.now()
        assert now[0] > calls_before[0] and now[1] > calls_before[1], "SageMaker not called"
        record = gauntlet.api.ingest.record(receipt["jobName"])
        assert record is not None and record["status"] == CREATED
        return
    # Its one write is the report: no receipt, nothing replaced or deleted.
    report_key = f"rejections/{relative}.json"
    assert gauntlet.writes.take() == [("PutObject", report_key)]
    report = gauntlet.read_json(report_key)
    assert report["valid"] is False
    assert report["manifest"]["key"] == key
    check_errors(case, report["errors"])
    service = gauntlet.api.ingest.service
    report_uri = f"s3://{gauntlet.bucket}/{report_key}"
    check_rejected_event(gauntlet.last_event(service), report_uri, report["errors"])
    assert gauntlet.calls.now() == calls_before, gauntlet.calls.since(calls_before)


def check_posted(
    gauntlet: Gauntlet, case: Case, event: dict[str, Any], answer: Answer, calls_before: Any
) -> None:
    """The answer to POST /jobs, as ``case`` expects it (``ApiHarness.call`` has already
    checked it against openapi.json and for leaked internals)."""
    assert len(answer.raw.encode()) <= LAMBDA_RESPONSE_LIMIT
    request_id = event["requestContext"]["requestId"]
    if case.expect_valid:
        assert answer.status == 202, (answer.status, answer.body)
        receipt_key = f"receipts/_api/{request_id}.json"
        assert gauntlet.writes.take() == [("PutObject", receipt_key)]
        assert answer.body["receipt"] == f"s3://{gauntlet.bucket}/{receipt_key}"
        now = gauntlet.calls.now()
        assert now[0] > calls_before[0] and now[1] > calls_before[1], "SageMaker not called"
        record = gauntlet.api.ingest.record(answer.body["jobName"])
        assert record is not None and record["status"] == CREATED
        return
    assert answer.status == 422, (answer.status, answer.body)
    assert answer.content_type == PROBLEM_JSON
    problem = answer.body
    assert problem["type"].endswith("/invalid-manifest")
    report_key = f"rejections/_api/{request_id}.json"
    assert gauntlet.writes.take() == [("PutObject", report_key)]
    assert problem["report"] == f"s3://{gauntlet.bucket}/{report_key}"
    report = gauntlet.read_json(report_key)
    check_errors(case, report["errors"])
    check_errors(case, problem["errors"])  # the answer itself names the path
    check_listed(problem["errors"], report["errors"])
    event = gauntlet.last_event(gauntlet.api.service)
    check_rejected_event(event, problem["report"], report["errors"])
    assert gauntlet.calls.now() == calls_before, gauntlet.calls.since(calls_before)


def run_every_case(
    gauntlet: Gauntlet, send_and_check: Callable[[Case, tuple[int, int]], None]
) -> None:
    """Every generated malformed manifest through one door: ``send_and_check(case,
    calls_before)`` sends it and checks its answer. Then: enough cases, every kind of damage
    tried, and no job recorded as CREATED."""
    tried: Counter[str] = Counter()
    calls_before = gauntlet.calls.now()
    created_before = gauntlet.created_records()

    @GAUNTLET_SETTINGS
    @given(case=malformed_manifests())
    def one(case: Case) -> None:
        note(repr(case))  # always shown for a failing case (hypothesis may leave it out)
        tried[case.kind] += 1
        send_and_check(case, calls_before)

    one()
    assert sum(tried.values()) >= EXAMPLES_PER_DOOR
    assert set(tried) == ALL_KINDS, f"never tried: {sorted(ALL_KINDS - set(tried))}"
    # Once for all cases (the query costs more with every record): a CREATED record is
    # only ever written after a CreateAutoMLJobV2 call, and records are never deleted.
    assert gauntlet.created_records() == created_before
