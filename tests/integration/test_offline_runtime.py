"""The offline stack's speed fixes keep AWS's behaviour, and a stopped stack leaves nothing.

Each moto speed fix (offline/moto_speedups.py) is checked twice: the answers are the ones moto gave
without it, and the work it removes is really gone (the costs a burst measured: parsing the
state machine per execution, copying the whole bucket per ListObjectVersions, computing the
queue's attributes per received message, finding the backend per request).
"""

from __future__ import annotations

import copy
import io
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError, UnknownServiceError
from botocore.loaders import JSONFileLoader, Loader
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count
from moto.core.base_backend import BaseBackend
from moto.core.loaders import create_loader as moto_loader
from moto.dynamodb.models import dynamodb_backends
from moto.moto_server import werkzeug_app
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.server import ThreadedMotoServer
from moto.sqs.models import Queue, SQSBackend, sqs_backends
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from offline import in_process_http
from offline.lambda_runtime import (
    HANDLER_MODULE_PREFIX,
    SQS_INITIAL_CONCURRENCY,
    lambda_environment,
    sqs_concurrency,
)
from offline.moto_fixes import install_aws_sdk_error_names
from offline.moto_speedups import (
    UNCHECKED_SIGNATURE,
    copy_json,
    install_backend_url_cache,
    install_dynamodb_update_expression_cache,
    install_s3_prefixed_version_listing,
    install_server_dispatch_cache,
    install_shared_botocore_models,
    install_sqs_retention_check,
    install_sqs_send_without_counting,
    install_step_functions_caches,
    install_step_functions_clock,
    install_step_functions_json_copies,
    install_unchecked_signatures,
)
from offline.stack import OfflineOptions, OfflineStack, scale_watch_overlap

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _handler_modules() -> list[str]:
    return [name for name in sys.modules if name.startswith(HANDLER_MODULE_PREFIX)]


@pytest.fixture
def aws() -> Iterator[boto3.session.Session]:
    with lambda_environment(), mock_aws():
        yield boto3.session.Session(region_name=REGION)


# --- the stack's life cycle ----------------------------------------------------------------


def test_stacks_started_and_stopped_twice_leave_no_handler_modules(tmp_path: Path) -> None:
    before = set(_handler_modules())
    for run in range(2):
        options = OfflineOptions(state_dir=tmp_path / f"state-{run}")
        with OfflineStack(options) as stack:
            loaded = set(_handler_modules()) - before
            # every function, plus the ingest queue's extra concurrent environments
            assert len(loaded) == len(stack.handlers) + SQS_INITIAL_CONCURRENCY - 1
            ingest = [s for s in stack.event_sources if "IngestQueue" in s.queue_arn]
            assert len(ingest) == SQS_INITIAL_CONCURRENCY
            # each concurrent batch runs in an environment of its own, as on Lambda
            modules = {id(source.handler.module) for source in ingest}  # type: ignore[attr-defined]
            assert len(modules) == SQS_INITIAL_CONCURRENCY
            assert all(source.batch_size == 10 for source in ingest)  # template's BatchSize
            # the watcher's overlap runs at its schedule's pace: 300 s / speed 600, at least 1
            watch = stack.stack.functions["WatchJobsFunction"].environment
            assert watch["WATCH_OVERLAP_SECONDS"] == "1"
            watcher = stack.handlers["WatchJobsFunction"].module.watcher  # type: ignore[attr-defined]
            assert watcher.overlap == timedelta(seconds=1)
        assert set(_handler_modules()) == before, f"run {run} left handler modules behind"
        assert not stack.handlers and not stack.event_sources


def test_the_watch_overlap_is_scaled_by_the_speed_and_kept_at_least_a_second() -> None:
    for speed, expected in ((600.0, "1"), (60.0, "5"), (1.0, "300"), (7.0, "43")):
        environment = {"WATCH_OVERLAP_SECONDS": "300", "JOBS_TABLE_NAME": "t"}
        scale_watch_overlap(environment, speed)
        assert environment == {"WATCH_OVERLAP_SECONDS": expected, "JOBS_TABLE_NAME": "t"}
    other = {"JOBS_TABLE_NAME": "t"}
    scale_watch_overlap(other, 600.0)
    assert other == {"JOBS_TABLE_NAME": "t"}  # functions without an overlap are left alone


def test_sqs_concurrency_is_lambdas_initial_five_unless_capped() -> None:
    assert sqs_concurrency({"BatchSize": 10}) == 5
    assert sqs_concurrency({"ScalingConfig": {"MaximumConcurrency": 2}}) == 2
    assert sqs_concurrency({"ScalingConfig": {"MaximumConcurrency": 50}}) == 5
    assert sqs_concurrency({"ScalingConfig": {}}) == 5


# --- Step Functions: one parse per definition, compiled paths, shared clients ----------------

_DEFINITION = {
    "StartAt": "Shape",
    "States": {
        "Shape": {
            "Type": "Pass",
            "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)", "name.$": "$.who.name"},
            "ResultPath": "$.shaped",
            "Next": "Tags",
        },
        "Tags": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sqs:listQueues",
            "Parameters": {},
            "ResultSelector": {"count.$": "States.ArrayLength($.QueueUrls)"},
            "ResultPath": "$.queues",
            "End": True,
        },
    },
}


def _run_executions(inputs: list[dict[str, Any]]) -> list[Any]:
    session = boto3.session.Session(region_name=REGION)
    sfn, iam, sqs = session.client("stepfunctions"), session.client("iam"), session.client("sqs")
    sqs.create_queue(QueueName="one")
    role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = sfn.create_state_machine(
        name="cached", definition=json.dumps(_DEFINITION), roleArn=role
    )["stateMachineArn"]
    arns = [
        sfn.start_execution(stateMachineArn=machine, name=f"run-{n}", input=json.dumps(i))[
            "executionArn"
        ]
        for n, i in enumerate(inputs)
    ]
    outputs = []
    for arn in arns:
        for _ in range(400):
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            threading.Event().wait(0.05)
        assert described["status"] == "SUCCEEDED", described
        outputs.append(json.loads(described["output"]))
    return outputs


def test_executions_of_one_definition_parse_it_once_and_answer_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = [{"n": n, "who": {"name": f"job-{n}"}} for n in range(4)]
    expected = [
        {**i, "shaped": {"doubled": 2 * i["n"], "name": i["who"]["name"]}, "queues": {"count": 1}}
        for i in inputs
    ]
    parses: list[str] = []
    original = AmazonStateLanguageParser.parse

    def counting_parse(definition: str) -> Any:
        parses.append(definition)
        return original(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting_parse))
    undo = [
        install_aws_sdk_error_names(),
        install_step_functions_caches(),
        install_step_functions_json_copies(),
    ]
    try:
        with (
            lambda_environment(),
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        ):
            assert _run_executions(inputs) == expected
    finally:
        for step in reversed(undo):
            step()
    # CreateStateMachine's validation and the four executions share one parse (moto alone
    # parses for each of them: five in all).
    assert len(parses) == 1


def test_a_definition_that_does_not_parse_is_refused_every_time() -> None:
    """The parse cache keeps only what parsed: a broken definition is refused as moto alone
    refuses it, at each attempt."""
    broken = json.dumps({"StartAt": "Nowhere", "States": {"Nowhere": {"Type": "Unknown"}}})
    with (
        lambda_environment(),
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
    ):
        session = boto3.session.Session(region_name=REGION)
        sfn = session.client("stepfunctions")
        role = session.client("iam").create_role(RoleName="broken", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]

        def refusal(attempt: str) -> Any:
            with pytest.raises(ClientError) as refused:
                sfn.create_state_machine(name=attempt, definition=broken, roleArn=role)
            return refused.value.response["Error"]

        by_moto = refusal("moto")
        undo = install_step_functions_caches()
        try:
            cached = [refusal(f"cached-{n}") for n in range(2)]
        finally:
            undo()
        assert sfn.list_state_machines()["stateMachines"] == []
    assert "Unknown" in by_moto["Message"]
    assert cached == [by_moto, by_moto]


def test_step_functions_caches_undo_restores_moto() -> None:
    from moto.stepfunctions.parser.asl.utils import boto_client, json_path

    before = (
        AmazonStateLanguageParser.__dict__["parse"],
        json_path.parse,
        boto_client.boto_client_for,
    )
    install_step_functions_caches()()
    after = (
        AmazonStateLanguageParser.__dict__["parse"],
        json_path.parse,
        boto_client.boto_client_for,
    )
    assert after == before


def test_json_copies_are_deep_and_equal_and_leave_other_values_to_deepcopy() -> None:
    when = datetime(2026, 12, 4, tzinfo=UTC)
    value = {"a": [1, 2.5, {"b": None, "c": True}], "d": "text", "e": when, "f": (1, [2])}
    copied = copy_json(value)
    assert copied == value
    copied["a"][2]["b"] = "changed"
    copied["f"][1].append(3)
    assert value["a"][2]["b"] is None and value["f"] == (1, [2])
    assert copied["a"] is not value["a"] and copied["f"][1] is not value["f"][1]
    assert copied["e"] is when  # immutable: shared, not rebuilt through deepcopy


def test_step_functions_json_copies_undo_restores_copy() -> None:
    from moto.stepfunctions.parser.asl.eval import states

    undo = install_step_functions_json_copies()
    assert states.copy is not copy
    undo()
    assert states.copy is copy


def test_step_functions_json_copies_leave_the_backend_and_steered_copies_alone() -> None:
    """StartExecution deep-copies the state machine with a memo that shares the backend
    (whose locks cannot be copied): that copy must stay moto's own. Found by an e2e run in
    which moto's backend module was imported before the stack started."""
    from moto.stepfunctions.parser import models
    from moto.stepfunctions.parser.asl.eval import states

    lock = threading.RLock()
    holder = {"lock": lock, "data": [1]}
    undo = install_step_functions_json_copies()
    try:
        assert models.copy is copy
        steered = states.copy.deepcopy(holder, {id(lock): lock})
    finally:
        undo()
    assert steered["lock"] is lock and steered["data"] == [1]
    assert steered["data"] is not holder["data"]


# --- S3: ListObjectVersions copies only the keys under the prefix ----------------------------


def _versions(s3: Any, bucket: str, **kwargs: Any) -> list[tuple[str, bool]]:
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, **kwargs)
    return [(v["Key"], v["IsLatest"]) for page in pages for v in page.get("Versions", [])]


def test_version_listing_by_prefix_answers_as_moto_and_copies_only_those_keys(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="versions")
    s3.put_bucket_versioning(Bucket="versions", VersioningConfiguration={"Status": "Enabled"})
    for key in ("manifests/a.json", "manifests/a.json", "manifests/a.json.bak", "other/x.json"):
        s3.put_object(Bucket="versions", Key=key, Body=b"{}")
    for n in range(30):
        s3.put_object(Bucket="versions", Key=f"receipts/{n:03}.json", Body=b"{}")
    queries: list[dict[str, Any]] = [
        {"Prefix": "manifests/a.json"},
        {"Prefix": "manifests/a.json", "PaginationConfig": {"PageSize": 1}},
        {"Prefix": "manifests/", "Delimiter": "/"},
        {"Prefix": "nothing/"},
        {},
    ]
    moto_answers = [_versions(s3, "versions", **q) for q in queries]
    assert moto_answers[0] == [
        ("manifests/a.json", True),
        ("manifests/a.json", False),
        ("manifests/a.json.bak", True),
    ]

    copied: list[Any] = []
    deepcopy = copy.deepcopy

    def counting_deepcopy(value: Any, *args: Any) -> Any:
        copied.append(value)
        return deepcopy(value, *args)

    undo = install_s3_prefixed_version_listing()
    try:
        assert [_versions(s3, "versions", **q) for q in queries] == moto_answers
        monkeypatch.setattr(copy, "deepcopy", counting_deepcopy)
        _versions(s3, "versions", Prefix="manifests/a.json")
    finally:
        monkeypatch.undo()
        undo()
    # the two keys under the prefix (each a list of its versions), not the 32 others
    assert len(copied) == 2


# --- each request finds its service's URL table without rebuilding it ----------------------


def _url_tables() -> list[tuple[BaseBackend, dict[str, Any]]]:
    backends = [
        s3_backends[ACCOUNT]["aws"],
        sqs_backends[ACCOUNT][REGION],
        dynamodb_backends[ACCOUNT][REGION],
        sagemaker_backends[ACCOUNT][REGION],
    ]
    return [(backend, backend.urls) for backend in backends]


def test_url_tables_are_built_once_and_are_moto_s_own(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = BaseBackend.__dict__["urls"]
    moto_tables = _url_tables()
    # moto builds a new table for every request (and reloads moto.s3.urls for S3's)
    assert all(backend.urls is not table for backend, table in moto_tables)
    reloads: list[Any] = []
    monkeypatch.setattr("moto.s3.models.reload", lambda module: reloads.append(module) or module)
    undo = install_backend_url_cache()
    try:
        for backend, table in moto_tables:
            assert backend.urls == table, type(backend).__name__
            assert backend.urls is backend.urls  # built once
        # one build of S3's table (its bases, then its paths), not one per request
        assert len(reloads) == 2
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="urls")
        s3.put_object(Bucket="urls", Key="a/b.json", Body=b"{}")
        assert s3.get_object(Bucket="urls", Key="a/b.json")["Body"].read() == b"{}"
        assert len(reloads) == 2
        monkeypatch.undo()  # moto's own reload: S3's module reads the setting below again
        # The settings moto reads while building a table are part of what it is cached by.
        custom = "https://storage.example.test"
        monkeypatch.setenv("MOTO_S3_CUSTOM_ENDPOINTS", custom)
        s3_backend, s3_table = moto_tables[0]
        assert any(url.startswith(custom) for url in s3_backend.urls)
        monkeypatch.delenv("MOTO_S3_CUSTOM_ENDPOINTS")
        assert s3_backend.urls == s3_table
    finally:
        undo()
    assert BaseBackend.__dict__["urls"] is original
    assert moto_tables[1][0].urls is not moto_tables[1][0].urls


# --- SQS: receiving checks retention without computing every queue attribute ----------------


def test_receive_skips_expired_messages_without_computing_queue_attributes(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="deep", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    for body in ("fresh", "expired"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    queue = sqs_backends[ACCOUNT][REGION].get_queue("deep")
    expired = next(m for m in queue._messages if m.body == "expired")
    expired.sent_timestamp -= 120_000  # sent two minutes ago: past the retention period

    computed: list[int] = []
    attributes = Queue.attributes

    def counting_attributes(self: Queue) -> Any:
        computed.append(1)
        return attributes.fget(self)  # type: ignore[attr-defined]

    undo = install_sqs_retention_check()
    try:
        monkeypatch.setattr(Queue, "attributes", property(counting_attributes))
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    finally:
        monkeypatch.undo()
        undo()
    # the message past its retention period is not delivered, as before; and the queue's
    # attributes were never computed for that (moto alone: twice per message received)
    assert [m["Body"] for m in received] == ["fresh"]
    assert computed == []


def _sends(sqs: Any, fifo: str, plain: str, counted: list[str]) -> list[Any]:
    """What moto answers to sends to a FIFO queue with content-based deduplication, a FIFO
    queue without it, and a standard queue (answers, or error codes); then what the FIFO
    queue delivers (receiving computes the queue's attributes: counted apart)."""
    answers: list[Any] = []
    sends = [
        {"QueueUrl": fifo, "MessageBody": "same", "MessageGroupId": "g"},
        {"QueueUrl": fifo, "MessageBody": "same", "MessageGroupId": "g"},  # a duplicate
        {"QueueUrl": plain, "MessageBody": "plain"},
        {
            "QueueUrl": plain.replace("plain", "strict.fifo"),
            "MessageBody": "x",
            "MessageGroupId": "g",
        },  # no MessageDeduplicationId, none by content
    ]
    for send in sends:
        try:
            answers.append(sqs.send_message(**send)["MD5OfMessageBody"])
        except sqs.exceptions.ClientError as error:
            answers.append(error.response["Error"]["Code"])
    answers.append(len(counted))
    received = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10).get("Messages", [])
    answers.append([m["Body"] for m in received])
    return answers


def test_send_reads_deduplication_without_counting_the_queue_and_answers_as_moto(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    original_attributes, original_send = Queue.attributes, SQSBackend.send_message
    sqs = aws.client("sqs")
    fifo_attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    queues = {}
    for run in ("moto", "fixed"):
        queues[run] = (
            sqs.create_queue(QueueName=f"{run}-dedup.fifo", Attributes=fifo_attributes)["QueueUrl"],
            sqs.create_queue(QueueName=f"{run}-plain")["QueueUrl"],
        )
        sqs.create_queue(QueueName=f"{run}-strict.fifo", Attributes={"FifoQueue": "true"})
    counted: list[str] = []
    count = Queue.approximate_number_of_messages

    def counting(self: Queue) -> Any:
        counted.append(self.name)
        return count.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(counting))
    moto_answers = _sends(sqs, *queues["moto"], counted)
    # moto alone: the queue counted at least once per message sent
    assert moto_answers[4] >= 3
    undo = install_sqs_send_without_counting()
    try:
        counted.clear()
        fixed_answers = _sends(sqs, *queues["fixed"], counted)
        assert fixed_answers[4] == 0
        # outside a send, the queue's attributes are moto's own, counts included
        counted.clear()
        plain = sqs.get_queue_attributes(QueueUrl=queues["fixed"][1], AttributeNames=["All"])
        assert plain["Attributes"]["ApproximateNumberOfMessages"] == "1"
        assert counted == ["fixed-plain"]
    finally:
        undo()
        monkeypatch.undo()
    assert fixed_answers[:4] + fixed_answers[5:] == moto_answers[:4] + moto_answers[5:]
    assert moto_answers[1] == moto_answers[0]  # the duplicate was accepted, and dropped:
    assert moto_answers[-1] == ["same"]
    assert moto_answers[3] == "InvalidParameterValue"
    assert Queue.attributes is original_attributes and SQSBackend.send_message == original_send


# --- moto server: the backend of a host is found once -----------------------------------------


def test_server_finds_each_hosts_backend_once_and_serves_every_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listings: list[int] = []
    modules = werkzeug_app.backends.list_of_moto_modules

    def counting_modules() -> Any:
        listings.append(1)
        return modules()

    monkeypatch.setattr(werkzeug_app.backends, "list_of_moto_modules", counting_modules)
    undo = install_server_dispatch_cache()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        session = boto3.session.Session(
            region_name=REGION, aws_access_key_id="offline", aws_secret_access_key="offline"
        )

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=f"http://{host}:{port}")

        s3, sqs, dynamodb = client("s3"), client("sqs"), client("dynamodb")
        s3.create_bucket(Bucket="dispatch")
        sqs.create_queue(QueueName="dispatch")
        for _ in range(5):
            assert s3.list_objects_v2(Bucket="dispatch")["KeyCount"] == 0
            assert sqs.list_queues()["QueueUrls"]
            assert dynamodb.list_tables()["TableNames"] == []
    finally:
        server.stop()
        undo()
    # one lookup per distinct host (moto alone: one per request, 17 here)
    assert 0 < len(listings) <= 3


# --- Step Functions on the stack's clock ------------------------------------------------------

HOUR = 3600
_CLOCKED_DEFINITION = {
    "StartAt": "AnHour",
    "States": {
        "AnHour": {"Type": "Wait", "Seconds": HOUR, "Next": "MissingQueue"},
        "MissingQueue": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sqs:getQueueUrl",
            "Parameters": {"QueueName": "no-such-queue"},
            "Retry": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "IntervalSeconds": HOUR,
                    "BackoffRate": 1.0,
                    "MaxAttempts": 2,
                }
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Done"}],
            "End": True,
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


def _clocked_machine(session: boto3.session.Session, definition: dict[str, Any]) -> str:
    iam, sfn = session.client("iam"), session.client("stepfunctions")
    role = iam.create_role(RoleName="clocked", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn: str = sfn.create_state_machine(
        name="clocked", definition=json.dumps(definition), roleArn=role
    )["stateMachineArn"]
    return arn


def _final(sfn: Any, execution: str) -> dict[str, Any]:
    """The execution once it has ended; one that is still running after 30 s fails the test
    (unscaled, this one would run for three hours)."""
    for _ in range(600):
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        threading.Event().wait(0.05)
    raise AssertionError(f"still running: {execution}")


def test_step_functions_clock_scales_waits_and_retries_and_changes_nothing_else() -> None:
    """An hour's Wait and two retries an hour apart, at 36,000x: a tenth of a second each. The
    execution takes the same path (every attempt made, the error caught), and the undo puts
    moto's real-second sleeps back."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )

    original = (WaitFunction.__dict__["_wait_interval"], retrier_decl.time)
    undo = [install_aws_sdk_error_names(), install_step_functions_clock(HOUR * 10)]
    try:
        with (
            lambda_environment(),
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        ):
            session = boto3.session.Session(region_name=REGION)
            sfn = session.client("stepfunctions")
            machine = _clocked_machine(session, _CLOCKED_DEFINITION)
            execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
            described = _final(sfn, execution)
            history = sfn.get_execution_history(executionArn=execution)["events"]
    finally:
        for step in reversed(undo):
            step()
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["caught"]["Error"] == "sqs.QueueDoesNotExistException", output
    kinds = [event["type"] for event in history]
    assert kinds.count("WaitStateExited") == 1
    assert kinds.count("TaskFailed") == 3  # the call and both retries, none skipped
    assert (WaitFunction.__dict__["_wait_interval"], retrier_decl.time) == original


def test_a_stopped_execution_ends_its_scaled_wait_at_once() -> None:
    """Stopping an execution still interrupts its Wait: at 1x, an hour's wait ends when the
    execution is stopped, not an hour later."""
    undo = install_step_functions_clock(1.0)
    try:
        with (
            lambda_environment(),
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        ):
            session = boto3.session.Session(region_name=REGION)
            sfn = session.client("stepfunctions")
            machine = _clocked_machine(session, _CLOCKED_DEFINITION)
            execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
            for _ in range(200):  # until it waits
                history = sfn.get_execution_history(executionArn=execution)["events"]
                if any(event["type"] == "WaitStateEntered" for event in history):
                    break
                threading.Event().wait(0.05)
            sfn.stop_execution(executionArn=execution)
            assert _final(sfn, execution)["status"] == "ABORTED"
    finally:
        undo()


def test_step_functions_clock_refuses_a_speed_that_is_not_positive() -> None:
    for speed in (0.0, -1.0):
        with pytest.raises(ValueError, match="positive"):
            install_step_functions_clock(speed)


# --- requests moto answers in this process carry a placeholder signature ---------------------


def _sent_headers(client: Any) -> list[dict[str, str]]:
    """The headers of every request ``client`` sends from now on, as moto receives them."""
    sent: list[dict[str, str]] = []

    def seen(request: Any, **_: Any) -> None:
        sent.append({name: _text(value) for name, value in request.headers.items()})

    client.meta.events.register_first("before-send", seen)
    return sent


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _authorization(headers: dict[str, str]) -> dict[str, str]:
    """The parts of a SigV4 Authorization header: Credential, SignedHeaders, Signature."""
    scheme, _, parts = headers["Authorization"].partition(" ")
    assert scheme == "AWS4-HMAC-SHA256"
    return dict(part.split("=", 1) for part in parts.split(", "))


def _calls(session: boto3.session.Session, bucket: str) -> list[dict[str, str]]:
    s3 = session.client("s3")
    dynamodb = session.client("dynamodb")
    sent = _sent_headers(s3)
    sent_dynamodb = _sent_headers(dynamodb)
    s3.put_object(Bucket=bucket, Key="signed/a.json", Body=b'{"a": 1}')
    assert s3.get_object(Bucket=bucket, Key="signed/a.json")["Body"].read() == b'{"a": 1}'
    assert dynamodb.list_tables()["TableNames"] == []
    return sent + sent_dynamodb


def test_unchecked_signatures_change_the_signature_and_nothing_else(
    aws: boto3.session.Session,
) -> None:
    session = boto3.session.Session(
        region_name=REGION,
        aws_access_key_id="AKIAUNCHECKED",
        aws_secret_access_key="secret",
        aws_session_token="token",
    )
    aws.client("s3").create_bucket(Bucket="signatures")
    signed = _calls(session, "signatures")
    undo = install_unchecked_signatures()
    try:
        unchecked = _calls(session, "signatures")
    finally:
        undo()
    assert len(signed) == len(unchecked) == 3
    for real, placeholder in zip(signed, unchecked, strict=True):
        # the same headers (the date's value is the second it was sent)
        assert real.keys() == placeholder.keys()
        for name in real.keys() - {"Authorization", "X-Amz-Date", "amz-sdk-invocation-id"}:
            assert real[name] == placeholder[name], name
        assert placeholder["X-Amz-Security-Token"] == "token"
        real_auth, placeholder_auth = _authorization(real), _authorization(placeholder)
        assert real_auth["Credential"].split("/")[0] == "AKIAUNCHECKED"
        assert (
            real_auth["Credential"].split("/")[2:] == placeholder_auth["Credential"].split("/")[2:]
        )
        assert real_auth["SignedHeaders"] == placeholder_auth["SignedHeaders"]
        assert real_auth["Signature"] != UNCHECKED_SIGNATURE
        assert placeholder_auth["Signature"] == UNCHECKED_SIGNATURE
    # the S3 signer's payload hash header is still there (moto reads its streaming values)
    assert "X-Amz-Content-SHA256" in unchecked[0]
    assert SigV4Auth.add_auth.__module__ == "botocore.auth"  # undone


def test_moto_still_reads_the_account_from_an_unchecked_request(
    aws: boto3.session.Session,
) -> None:
    """Credentials of another account (an assumed role): moto files the bucket there."""
    other = "111111111111"
    credentials = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{other}:role/elsewhere", RoleSessionName="unchecked"
    )["Credentials"]
    undo = install_unchecked_signatures()
    try:
        s3 = aws.client(
            "s3",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        sent = _sent_headers(s3)
        s3.create_bucket(Bucket="in-the-other-account")
    finally:
        undo()
    assert _authorization(sent[0])["Signature"] == UNCHECKED_SIGNATURE
    assert "in-the-other-account" in s3_backends[other]["aws"].buckets
    assert "in-the-other-account" not in s3_backends[ACCOUNT]["aws"].buckets


def test_while_moto_checks_signatures_every_request_is_signed(
    aws: boto3.session.Session,
) -> None:
    """IAM enforcement on: a wrong secret is refused and the right one accepted, which only
    holds if both requests carry a real signature."""
    iam = aws.client("iam")
    iam.create_user(UserName="signer")
    iam.put_user_policy(
        UserName="signer",
        PolicyName="list",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="signer")["AccessKey"]

    def list_buckets(secret: str) -> str:
        client = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=secret,
        )
        sent = _sent_headers(client)
        try:
            client.list_buckets()
            answer = "allowed"
        except client.exceptions.ClientError as exc:
            answer = exc.response["Error"]["Code"]
        assert _authorization(sent[0])["Signature"] != UNCHECKED_SIGNATURE
        return answer

    undo = install_unchecked_signatures()
    try:
        answers = set_initial_no_auth_action_count(0)(
            lambda: (list_buckets(key["SecretAccessKey"]), list_buckets("wrong"))
        )()
    finally:
        undo()
    assert answers == ("allowed", "SignatureDoesNotMatch")


def _signature_sent(client: Any) -> str:
    """The signature of a ListQueues ``client`` sends, answered by a hook (never sent)."""
    sent: list[str] = []

    def answer(request: Any, **_: Any) -> Any:
        sent.append(
            _authorization({"Authorization": _text(request.headers["Authorization"])})["Signature"]
        )
        return AWSResponse(request.url, 200, {}, _Raw(b"{}"))

    client.meta.events.register_first("before-send", answer)
    client.list_queues()
    return sent[0]


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.read()


def test_presigned_urls_and_other_endpoints_are_signed_as_before() -> None:
    def sqs(endpoint: str | None = None) -> Any:
        return boto3.client(
            "sqs",
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="AKIAOUTSIDE",
            aws_secret_access_key="secret",
        )

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]

    undo = install_unchecked_signatures()
    try:
        # No moto in this process answers AWS's URLs, nor a loopback endpoint.
        assert _signature_sent(sqs()) != UNCHECKED_SIGNATURE
        assert _signature_sent(sqs("http://127.0.0.1:9")) != UNCHECKED_SIGNATURE
        with mock_aws():
            # moto answers AWS's URLs here; a loopback endpoint still goes out over HTTP.
            assert _signature_sent(sqs()) == UNCHECKED_SIGNATURE
            assert _signature_sent(sqs("http://127.0.0.1:9")) != UNCHECKED_SIGNATURE
            s3 = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))
            url = s3.generate_presigned_url(
                "get_object", Params={"Bucket": "any", "Key": "k"}, ExpiresIn=60
            )
            assert "X-Amz-Signature=" in url and UNCHECKED_SIGNATURE not in url
        # An offline stack's endpoint served in-process: moto answers it here.
        stop_serving = in_process_http.install(app, "http://127.0.0.1:9")
        try:
            assert _signature_sent(sqs("http://127.0.0.1:9")) == UNCHECKED_SIGNATURE
        finally:
            stop_serving()
    finally:
        undo()


# --- botocore's loaders share what they parsed -------------------------------------------------


def test_sessions_parse_each_model_once_and_answer_as_their_own_loader(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    parsed: list[str] = []
    original_load = JSONFileLoader.load_file

    def load_file(loader: JSONFileLoader, file_path: str) -> Any:
        parsed.append(file_path)
        return original_load(loader, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", load_file)
    private = Loader().load_service_model("sagemaker", "service-2")
    private_moto = moto_loader().load_service_model("sagemaker", "service-2")
    undo = install_shared_botocore_models()
    try:
        parsed.clear()
        sessions = [boto3.session.Session(region_name=REGION) for _ in range(3)]
        for session in sessions:
            session.client("sagemaker")
        models = [s._session.get_component("data_loader") for s in sessions]
        shared = [loader.load_service_model("sagemaker", "service-2") for loader in models]
        # parsed once for three sessions (or not at all: an offline stack of this process
        # parsed it already), the same object for each
        assert sum(p.endswith("sagemaker/2017-07-24/service-2") for p in parsed) <= 1
        assert all(model is shared[0] for model in shared)
        assert shared[0] == private
        # moto's loader merges other extras: its own entry, as it computes it alone
        moto_model = moto_loader().load_service_model("sagemaker", "service-2")
        assert moto_model == private_moto and moto_model is not shared[0]
        # a search path added after the loader was made (as boto3 does) is honoured
        model_dir = tmp_path / "example" / "2026-01-01"
        model_dir.mkdir(parents=True)
        (model_dir / "service-2.json").write_text(json.dumps({"metadata": {}, "shapes": {}}))
        with_path, without = Loader(), Loader()
        with_path.search_paths.append(str(tmp_path))
        assert with_path.load_service_model("example", "service-2") == {
            "metadata": {},
            "shapes": {},
        }
        with pytest.raises(UnknownServiceError):
            without.load_service_model("example", "service-2")
        # loaders whose search paths differ but find the same file share its parse; one that
        # finds another file first reads that one
        name = "sagemaker/2017-07-24/service-2"
        appended, shadowed = Loader(), Loader()
        appended.search_paths.append(str(tmp_path))  # holds no sagemaker: botocore's found
        shadow = tmp_path / "shadow" / "sagemaker" / "2017-07-24"
        shadow.mkdir(parents=True)
        (shadow / "service-2.json").write_text(json.dumps({"metadata": {"shadow": True}}))
        shadowed.search_paths.insert(0, str(tmp_path / "shadow"))
        plain_data, plain_path = Loader().load_data_with_path(name)
        assert appended.load_data_with_path(name) == (plain_data, plain_path)
        assert appended.load_data_with_path(name)[0] is plain_data
        assert shadowed.load_data_with_path(name)[0] == {"metadata": {"shadow": True}}
        assert Loader().load_data_with_path(name)[0] is plain_data
    finally:
        undo()
    assert type(Loader()._cache) is dict  # undone: new loaders keep their own cache again


# --- DynamoDB: an update expression is parsed and checked once ------------------------------------

RECORD_STATE = (
    "SET jobStatus = :status, observedAt = :now, jobName = if_not_exists(jobName, :name), "
    "stateHistory = list_append(if_not_exists(stateHistory, :none), :seen)"
)


def _state_values(status: str, now: str, name: str) -> dict[str, Any]:
    """RECORD_STATE's values for one state seen."""
    return {
        ":status": {"S": status},
        ":now": {"S": now},
        ":name": {"S": name},
        ":none": {"L": []},
        ":seen": {"L": [{"S": status}]},
    }


NEW_STATE = "attribute_not_exists(jobStatus)"
# (Key, UpdateExpression, ExpressionAttributeNames, ExpressionAttributeValues, condition)
UPDATES: list[tuple[str, str, dict[str, str], dict[str, Any], str | None]] = [
    ("a", RECORD_STATE, {}, _state_values("InProgress", "t1", "a"), NEW_STATE),
    # the same expression on the item it made: the condition now fails
    ("a", RECORD_STATE, {}, _state_values("Completed", "t2", "a"), NEW_STATE),
    # and again, with the values of the state it holds: it appends
    ("a", RECORD_STATE, {}, _state_values("Completed", "t3", "ignored"), "jobStatus = :prev"),
    (
        "b",
        "SET n = :one, tags = :set, gone = :one",
        {},
        {":one": {"N": "1"}, ":set": {"SS": ["x", "y"]}},
        None,
    ),
    (
        "b",
        "ADD n :one DELETE tags :x REMOVE gone",
        {},
        {":one": {"N": "2"}, ":x": {"SS": ["x"]}},
        None,
    ),
    ("b", "SET a = :v SET b = :v", {}, {":v": {"S": "v"}}, None),  # two SET clauses
    ("b", "SET m = :v, m.inner = :v", {}, {":v": {"S": "v"}}, None),  # overlapping paths
    ("b", "SET pk = :v", {}, {":v": {"S": "v"}}, None),  # the key itself
    ("b", "SET #n = :v", {"#n": "pk"}, {":v": {"S": "v"}}, None),  # the key, by a name
    ("b", "SET #n = :v", {"#n": "other"}, {":v": {"S": "v"}}, None),  # same text, allowed
    ("b", "SET #n = :v", {"#n": "pk"}, {":v": {"S": "v"}}, None),  # refused again
    ("b", "SET #n = :v", {"#m": "x"}, {":v": {"S": "v"}}, None),  # a name not given
    ("b", "SET a = :missing", {}, {":v": {"S": "v"}}, None),  # a value not given
    ("b", "SET a = ", {}, {":v": {"S": "v"}}, None),  # not an expression
    ("b", "ADD n :v", {}, {":v": {"S": "text"}}, None),  # ADD of a string to a number
    ("b", "SET l = list_append(n, :v)", {}, {":v": {"L": []}}, None),  # not a list
    ("c", "SET a = :v SET b = :v", {}, {":v": {"S": "v"}}, None),  # refused on a new item too
    ("c", "SET p.q = :v", {}, {":v": {"S": "v"}}, None),  # a path below nothing
]


def _update_answers(dynamodb: Any, table: str) -> list[Any]:
    """Each of UPDATES, twice, as moto answers it (the new item, or the error), and then the
    table's items."""
    answers: list[Any] = []
    for _ in range(2):
        for key, expression, names, values, condition in UPDATES:
            request: dict[str, Any] = {
                "TableName": table,
                "Key": {"pk": {"S": key}},
                "UpdateExpression": expression,
                "ExpressionAttributeValues": {**values, ":prev": {"S": "Completed"}}
                if condition and ":prev" in condition
                else values,
                "ReturnValues": "ALL_NEW",
            }
            if names:
                request["ExpressionAttributeNames"] = names
            if condition:
                request["ConditionExpression"] = condition
            try:
                answers.append(dynamodb.update_item(**request).get("Attributes"))
            except ClientError as error:
                answers.append(
                    (error.response["Error"]["Code"], error.response["Error"]["Message"])
                )
    items = dynamodb.scan(TableName=table)["Items"]
    answers.append(sorted(items, key=lambda item: item["pk"]["S"]))
    return answers


def _table(dynamodb: Any, name: str) -> str:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_update_expressions_are_parsed_and_checked_once_and_answered_as_moto(
    aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.parsing import ast_nodes, expressions, validators

    dynamodb = aws.client("dynamodb")
    parsed: list[str] = []
    checked: list[str] = []  # each count of a tree's clauses
    make, traverse = (
        expressions.UpdateExpressionParser.make.__func__,
        ast_nodes.DepthFirstTraverser.traverse,
    )

    def counting_make(cls: type, text: str) -> Any:
        parsed.append(text)
        return make(cls, text)

    def counting_traverse(self: Any, node: Any) -> Any:
        if isinstance(self, validators.ActionCountValidator):
            checked.append(type(self).__name__)
        return traverse(self, node)

    monkeypatch.setattr(expressions.UpdateExpressionParser, "make", classmethod(counting_make))
    monkeypatch.setattr(ast_nodes.DepthFirstTraverser, "traverse", counting_traverse)
    try:
        moto_answers = _update_answers(dynamodb, _table(dynamodb, "moto"))
        moto_parsed, moto_checked = len(parsed), len(checked)
        parsed.clear()
        checked.clear()
        undo = install_dynamodb_update_expression_cache()
        try:
            cached_answers = _update_answers(dynamodb, _table(dynamodb, "cached"))
            cached_parsed, cached_checked = list(parsed), len(checked)
            parsed.clear()
            checked.clear()
            # an expression seen before, on new items: neither parsed nor counted again
            for key in ("d", "e", "f"):
                dynamodb.update_item(
                    TableName="cached",
                    Key={"pk": {"S": key}},
                    UpdateExpression=UPDATES[0][1],
                    ExpressionAttributeValues=UPDATES[0][3],
                )
            assert parsed == [] and checked == []
        finally:
            undo()
    finally:
        monkeypatch.undo()
    assert cached_answers == moto_answers
    # every answer above was compared: some refused, with moto's own messages
    refusals = [a for a in moto_answers if isinstance(a, tuple)]
    assert {code for code, _ in refusals} == {
        "ValidationException",
        "ConditionalCheckFailedException",
    }
    assert len(refusals) >= 2 * 11
    # each expression text parsed once, not twice per request and again for each new item;
    # one that does not parse is tried every time (and refused every time, as compared above)
    texts = {expression for _, expression, _, _, _ in UPDATES}
    unparsable = "SET a = "  # moto strips it first: "SET a ="
    expected = dict.fromkeys(texts - {unparsable}, 1) | {unparsable.strip(): 2}
    assert Counter(cached_parsed) == expected
    # moto alone: up to two parses per request, and a count of clauses per validation
    assert moto_parsed > 2 * len(UPDATES) > len(cached_parsed)
    # cached: counted for each combination the first time, and for every refusal by a check
    # of the expression alone (most of UPDATES)
    assert 0 < cached_checked < moto_checked
    # undone: moto's own parser, copy and traversal
    assert expressions.UpdateExpressionParser.make.__func__ is make
    assert validators.deepcopy is copy.deepcopy
    assert ast_nodes.DepthFirstTraverser.traverse is traverse
    assert "validate" not in validators.UpdateExpressionValidator.__dict__
