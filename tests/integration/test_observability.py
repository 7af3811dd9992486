"""Metrics and correlation ids, from the real handlers against moto.

The EMF lines are what Powertools prints on stdout (CloudWatch Logs turns them into metrics):
captured with ``capsys`` while metrics are enabled (``POWERTOOLS_METRICS_DISABLED=false``;
the offline stack and the other tests run with them disabled). The structured log lines are
the Powertools logger's own JSON, its stream pointed at the captured stdout. Every EMF line
seen is checked against the contract (``autopilot_flow.observability.METRICS``): namespace,
unit and exact dimensions. ``Deployments`` is written by the FinalizeJob state machine itself
(PutMetricData, run by moto's Step Functions interpreter) and read back from moto's
CloudWatch.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from moto import mock_aws

from autopilot_flow import observability as obs
from autopilot_flow.observability import METRICS, NAMESPACE, SERVICE, MetricName
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import context_for, lambda_environment, load_handler
from offline.moto_fixes import moto_as_aws
from tests.integration import test_finalize as fin
from tests.integration.ingest_harness import EXAMPLES, IngestHarness, build_harness
from tests.integration.jobs_api_harness import (
    ApiHarness,
    for_job,
    new_request,
    sample,
    set_header,
    with_body,
)
from tests.integration.test_ingest import (
    _deliver_visible,
    _resend,
    _take_notification,
    visibility_timeout_passes,
)

ENABLED = {"POWERTOOLS_METRICS_DISABLED": "false", "POWERTOOLS_LOG_LEVEL": "INFO"}
CHURN = "churn-binary-2026-11"  # the AutoMLJobName of examples/manifests/churn-tabular.yaml


# --- reading what the functions printed ---------------------------------------------------------


@dataclass(frozen=True)
class Datum:
    name: str
    unit: str
    dimensions: dict[str, str]
    values: list[float]


@dataclass
class Printed:
    emf: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def data(self) -> list[Datum]:
        found = []
        for blob in self.emf:
            (directive,) = blob["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == NAMESPACE
            (keys,) = directive["Dimensions"]  # one dimension set per line
            dimensions = {key: blob[key] for key in keys}
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                found.append(Datum(metric["Name"], metric["Unit"], dimensions, values))
        for datum in found:  # the contract: unit and exact dimensions of every metric
            spec = METRICS[MetricName(datum.name)]
            assert datum.unit == spec.unit, datum
            assert set(datum.dimensions) == set(spec.dimensions), datum
            assert datum.dimensions["service"] == SERVICE, datum
        return found

    def total(self, name: str, **dimensions: str) -> float:
        return sum(
            sum(d.values)
            for d in self.data
            if d.name == name and all(d.dimensions.get(k) == v for k, v in dimensions.items())
        )

    def names(self) -> set[str]:
        return {d.name for d in self.data}

    def latency(self, handler: str) -> list[float]:
        return [
            value
            for d in self.data
            if d.name == MetricName.HANDLER_LATENCY and d.dimensions["Handler"] == handler
            for value in d.values
        ]

    def lines(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.logs if line.get("message") == message]


def read(capsys: pytest.CaptureFixture[str]) -> Printed:
    printed = Printed()
    for line in capsys.readouterr().out.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            printed.emf.append(document)
        elif isinstance(document, dict) and "level" in document and "message" in document:
            printed.logs.append(document)
    return printed


class CurrentStdout:
    """Whatever ``sys.stdout`` is when a line is written (capsys swaps it per test phase)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@contextmanager
def logs_on_stdout() -> Iterator[None]:
    """The functions' Powertools logger (one per service in a process) at INFO, writing to
    the current (captured) stdout."""
    logger = logging.getLogger(SERVICE)
    (handler,) = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    level = logger.level
    stream = handler.setStream(CurrentStdout())  # type: ignore[arg-type]
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)
        if stream is not None:
            handler.setStream(stream)


# --- ingest and the API ---------------------------------------------------------------------------


@pytest.fixture
def simulator() -> Iterator[AutopilotSimulator]:
    with (
        lambda_environment(**ENABLED),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=3) as sim,
    ):
        yield sim


@pytest.fixture
def ingest(simulator: AutopilotSimulator) -> Iterator[IngestHarness]:
    harness = build_harness()
    with logs_on_stdout():
        yield harness


@pytest.fixture
def api(ingest: IngestHarness) -> ApiHarness:
    spec = ingest.stack.functions["JobsApiFunction"]
    handler = load_handler(spec)
    handler.module.service.backoff.sleep = lambda seconds: None  # type: ignore[attr-defined]
    return ApiHarness(ingest, handler, context_for(spec))


def invalid_churn(*, name: str | None = None) -> bytes:
    """Three errors, two codes: an objective of another problem type, two unknown fields."""
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document["AutoMLJobObjective"] = {"MetricName": "RMSE"}
    document["Unknownfield"] = 1
    document["Otherfield"] = 2
    if name:
        document["AutoMLJobName"] = name
    return yaml.safe_dump(document).encode()


def test_a_created_job_counts_once_with_its_name_as_correlation_id(
    ingest: IngestHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.upload_example("churn-tabular.yaml")
    ingest.source.drain()
    printed = read(capsys)

    assert printed.total(MetricName.MANIFESTS_RECEIVED) == 1
    assert printed.total(MetricName.JOBS_CREATED) == 1
    assert not printed.names() & {
        MetricName.MANIFESTS_REJECTED,
        MetricName.REJECTIONS_BY_CODE,
        MetricName.DUPLICATE_DELIVERIES,
        MetricName.JOBS_WAITING_FOR_CAPACITY,
    }
    (latency,) = printed.latency("IngestManifest")
    assert latency > 0
    # The first invocation of an execution environment: Powertools' ColdStart metric.
    function = ingest.stack.functions["IngestManifestFunction"].name
    assert printed.total(MetricName.COLD_START, function_name=function) == 1
    (line,) = printed.lines("manifest handled")
    assert line["correlation_id"] == CHURN
    assert line["outcome"]["status"] == "created"
    assert line["level"] == "INFO"

    # The next invocation is warm; the correlation id is gone with the invocation.
    ingest.upload_example("product-categories-multiclass.yaml")
    ingest.source.drain()
    printed = read(capsys)
    assert printed.total(MetricName.JOBS_CREATED) == 1
    assert MetricName.COLD_START not in printed.names()
    assert ingest.handler.module.telemetry.correlation_id() is None  # type: ignore[attr-defined]


def test_a_rejected_manifest_counts_each_distinct_error_code_once(
    ingest: IngestHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.upload("manifests/bad-churn.yaml", invalid_churn())
    ingest.source.drain()
    printed = read(capsys)

    report = ingest.read_json("rejections/bad-churn.yaml.json")
    assert sorted(e["code"] for e in report["errors"]) == [
        "objective.metric",
        "unknown_field",
        "unknown_field",
    ]
    assert printed.total(MetricName.MANIFESTS_RECEIVED) == 1
    assert printed.total(MetricName.MANIFESTS_REJECTED) == 1
    by_code = [d for d in printed.data if d.name == MetricName.REJECTIONS_BY_CODE]
    assert sorted((d.dimensions["ErrorCode"], d.values) for d in by_code) == [
        ("objective.metric", [1.0]),
        ("unknown_field", [1.0]),
    ]
    # ErrorCode stays on its own lines: nothing else is split by it.
    assert all(
        "ErrorCode" not in d.dimensions for d in printed.data if d.name != "RejectionsByCode"
    )
    assert MetricName.JOBS_CREATED not in printed.names()
    (line,) = printed.lines("manifest handled")
    assert line["correlation_id"] == CHURN == report["jobName"]


def test_waiting_for_capacity_then_failing_for_good(
    ingest: IngestHarness, simulator: AutopilotSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator.quota = 0
    ingest.upload_example("churn-tabular.yaml")
    deliveries = 0
    while True:
        messages, response = _deliver_visible(ingest)
        if not messages:
            break
        deliveries += 1
        # Only the messages reported failed come back; the last receive is answered
        # (capacity.exhausted) and consumed.
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        visibility_timeout_passes(ingest, [m for m in messages if m["MessageId"] in failed])
    printed = read(capsys)

    max_receives = int(ingest.stack.parameters["IngestMaxReceiveCount"])
    assert deliveries == max_receives
    assert printed.total(MetricName.JOBS_WAITING_FOR_CAPACITY) == max_receives - 1
    assert printed.total(MetricName.SUBMISSIONS_FAILED) == 1
    assert printed.total(MetricName.MANIFESTS_RECEIVED) == max_receives
    assert MetricName.JOBS_CREATED not in printed.names()
    # One latency per invocation (S3's test event, when moto sends one, is an invocation too).
    assert len(printed.latency("IngestManifest")) >= max_receives
    waits = printed.lines("waiting for capacity")
    assert len(waits) == max_receives - 1
    assert {w["correlation_id"] for w in waits} == {CHURN}
    (failed,) = [line for line in printed.logs if line["message"].startswith("submission failed")]
    assert failed["correlation_id"] == CHURN
    assert failed["level"] == "WARNING"


def test_duplicate_deliveries_are_counted_not_created_again(
    ingest: IngestHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.upload_example("churn-tabular.yaml")
    original = _take_notification(ingest)
    _resend(ingest, original["Body"], copies=2)  # three messages, one object version
    ingest.source.deliver([original])
    ingest.source.drain()
    printed = read(capsys)

    assert len(ingest.create_calls) == 1
    assert printed.total(MetricName.JOBS_CREATED) == 1
    assert printed.total(MetricName.DUPLICATE_DELIVERIES) == 2
    assert printed.total(MetricName.MANIFESTS_RECEIVED) == 3
    lines = printed.lines("manifest handled")
    assert [line["duplicate"] for line in lines] == [False, True, True]
    assert {line["correlation_id"] for line in lines} == {CHURN}


def test_correlation_ids_never_leak_from_one_record_to_the_next(
    ingest: IngestHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """One batch: a valid manifest, then one too large to read (its job name is never known,
    so its S3 key is its correlation id), then an invalid one."""
    ingest.upload_example("churn-tabular.yaml", "manifests/a-churn.yaml")
    ingest.upload("manifests/b-huge.json", b" " * (1024 * 1024 + 1))
    ingest.upload("manifests/c-bad.yaml", invalid_churn(name="c-bad-churn"))
    messages, response = _deliver_visible(ingest)
    printed = read(capsys)

    assert len(messages) == 3  # one invocation, three records
    assert response.get("batchItemFailures") == []
    handled = {
        line["outcome"]["answer"]: line["correlation_id"]
        for line in printed.lines("manifest handled")
    }
    assert handled == {
        "receipts/a-churn.yaml.json": CHURN,
        "rejections/b-huge.json.json": "manifests/b-huge.json",
        "rejections/c-bad.yaml.json": "c-bad-churn",
    }
    assert printed.total(MetricName.MANIFESTS_RECEIVED) == 3
    assert printed.total(MetricName.JOBS_CREATED) == 1
    assert printed.total(MetricName.MANIFESTS_REJECTED) == 2
    assert printed.total(MetricName.REJECTIONS_BY_CODE, ErrorCode="parse.too_large") == 1
    # Nothing is left behind for the next invocation.
    assert ingest.handler.module.telemetry.correlation_id() is None  # type: ignore[attr-defined]


def test_api_submissions_count_like_the_bucket_and_correlate_by_job(
    api: ApiHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    base = sample("post-jobs-yaml.json")
    rejected = api.call(new_request(with_body(base, invalid_churn().decode()), "req-bad"))
    assert rejected.status == 422
    printed = read(capsys)
    assert printed.total(MetricName.MANIFESTS_RECEIVED) == 1
    assert printed.total(MetricName.MANIFESTS_REJECTED) == 1
    assert {
        d.dimensions["ErrorCode"] for d in printed.data if d.name == MetricName.REJECTIONS_BY_CODE
    } == {"objective.metric", "unknown_field"}
    (latency,) = printed.latency("JobsApi")
    assert latency > 0
    (line,) = printed.lines("manifest handled")
    assert line["correlation_id"] == CHURN
    assert line["api_request_id"] == "req-bad"

    churn = (EXAMPLES / "churn-tabular.yaml").read_text()
    created = api.call(new_request(with_body(base, churn), "req-ok"))
    assert created.status == 202
    again = api.call(new_request(with_body(base, churn), "req-again"))
    assert again.status == 202 and again.body["created"] is False
    keyed = set_header(new_request(with_body(base, churn), "req-key"), "Idempotency-Key", "k-1")
    assert api.call(keyed).status == 202
    replay = api.call(new_request(keyed, "req-key-again"))
    assert replay.headers.get("Idempotent-Replayed") == "true"
    printed = read(capsys)
    assert printed.total(MetricName.JOBS_CREATED) == 1
    # The same body again, with or without a key, and the key's replay: duplicates.
    assert printed.total(MetricName.DUPLICATE_DELIVERIES) == 3
    assert printed.total(MetricName.MANIFESTS_RECEIVED) == 4
    lines = printed.lines("manifest handled")
    assert [(line["api_request_id"], line["correlation_id"]) for line in lines] == [
        ("req-ok", CHURN),
        ("req-again", CHURN),
        ("req-key", CHURN),
        ("req-key-again", CHURN),
    ]

    # The dry run counts no manifest; a job's route correlates by the path's name.
    assert api.call(with_body(sample("post-jobs-validate.json"), churn)).status == 200
    assert api.call(for_job(sample("get-job.json"), CHURN)).status == 200
    printed = read(capsys)
    assert printed.names() == {MetricName.HANDLER_LATENCY}
    assert len(printed.latency("JobsApi")) == 2
    assert api.handler.module.telemetry.correlation_id() is None  # type: ignore[attr-defined]


# --- the watcher ----------------------------------------------------------------------------------


def test_each_tick_is_a_heartbeat_and_each_transition_a_correlated_line(
    ingest: IngestHarness, simulator: AutopilotSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.upload_example("churn-tabular.yaml")
    ingest.source.drain()
    spec = ingest.stack.functions["WatchJobsFunction"]
    watch = load_handler(spec)
    read(capsys)

    first = watch({}, context_for(spec))
    printed = read(capsys)
    assert printed.total(MetricName.WATCHER_TICKS) == 1
    assert printed.total(MetricName.STATE_CHANGES) == first["published"] >= 1
    assert len(printed.latency("WatchJobs")) == 1
    changes = printed.lines("state change")
    assert len(changes) == first["published"]
    assert {line["correlation_id"] for line in changes} == {CHURN}
    (tick,) = printed.lines("tick")
    assert "correlation_id" not in tick or tick["correlation_id"] is None

    simulator.run_until_idle()
    watch({}, context_for(spec))
    quiet = watch({}, context_for(spec))  # nothing changed since: still a heartbeat
    printed = read(capsys)
    assert quiet["published"] == 0
    assert printed.total(MetricName.WATCHER_TICKS) == 2
    assert [d.values for d in printed.data if d.name == MetricName.WATCHER_TICKS] == [
        [1.0],
        [1.0],
    ]


# --- FinalizeJob: the functions' latency, and Deployments from the state machine ------------------

world = fin.world  # the FinalizeJob stack of tests/integration/test_finalize.py


@pytest.fixture
def finalize(
    world: fin.FinalizeHarness, monkeypatch: pytest.MonkeyPatch
) -> Iterator[fin.FinalizeHarness]:
    harness = world  # as test_finalize's ``harness`` fixture leaves it
    for queue in harness.queues:
        harness.drain(queue)
    harness.sim.clear_faults()
    harness.endpoints.failures.clear()
    harness.endpoints.describes_until_ready = 0
    for name, value in ENABLED.items():
        monkeypatch.setenv(name, value)  # read when the functions flush
    with logs_on_stdout():
        yield harness


def deployments(harness: fin.FinalizeHarness) -> dict[str, float]:
    """The Deployments metric in moto's CloudWatch: the sum per Outcome."""
    cloudwatch = harness.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace=NAMESPACE, MetricName="Deployments")["Metrics"]
    sums: dict[str, float] = {}
    now = datetime.now(UTC)
    for metric in listed:
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert set(dimensions) == set(METRICS[MetricName.DEPLOYMENTS].dimensions), dimensions
        assert dimensions["service"] == SERVICE
        assert dimensions["Outcome"] in set(obs.DeploymentOutcome)
        statistics = cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE,
            MetricName="Deployments",
            Dimensions=metric["Dimensions"],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(hours=1),
            Period=3600,
            Statistics=["Sum"],
            Unit="Count",
        )["Datapoints"]
        sums[dimensions["Outcome"]] = sum(point["Sum"] for point in statistics)
    return sums


def counted(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    changed = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    return {k: v for k, v in changed.items() if v}


def test_finalize_functions_report_latency_and_correlate_by_job(
    finalize: fin.FinalizeHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    before = deployments(finalize)
    name = finalize.submit(fin.churn("obs-deployed", "obs-endpoint"))
    read(capsys)
    execution = finalize.finish(name)
    printed = read(capsys)

    assert execution.status == "SUCCEEDED", execution.description
    assert "CountDeploymentDone" in execution.entered()
    assert counted(before, deployments(finalize)) == {"Done": 1}
    for handler in ("WatchJobs", "StartFinalizeJob", "BuildLeaderboard", "PlanFinalize"):
        assert len(printed.latency(handler)) == 1, handler
    assert printed.total(MetricName.WATCHER_TICKS) == 1
    for message in ("finalize", "leaderboard written", "plan"):
        (line,) = printed.lines(message)
        assert line["correlation_id"] == name, message
    assert {line["correlation_id"] for line in printed.lines("state change")} == {name}


def test_deployments_skipped_failed_and_not_asked_for(finalize: fin.FinalizeHarness) -> None:
    first = finalize.submit(fin.churn("obs-live", "obs-skip"))
    assert finalize.finish(first).status == "SUCCEEDED"
    fin.set_live_value(finalize, "obs-skip", 0.995)

    before = deployments(finalize)
    skipped = finalize.finish(finalize.submit(fin.churn("obs-not-better", "obs-skip")))
    assert skipped.status == "SUCCEEDED" and skipped.output["action"] == "skip"
    assert counted(before, deployments(finalize)) == {"Skipped": 1}

    before = deployments(finalize)
    finalize.endpoints.fail_next("obs-broken", "the container did not pass the ping check")
    broken = finalize.finish(finalize.submit(fin.churn("obs-broken", "obs-broken")))
    # The metric changes nothing about the outcome: still failed, with the real error.
    assert broken.status == "FAILED"
    assert broken.description["error"] == "EndpointFailed"
    assert counted(before, deployments(finalize)) == {"Failed": 1}

    # Nothing to count: no deployment asked for, or a job that did not complete.
    before = deployments(finalize)
    none = finalize.finish(finalize.submit(fin.churn("obs-no-deploy")))
    assert none.status == "SUCCEEDED" and none.output["action"] == "none"
    failing = finalize.submit(fin.churn("obs-job-fails", "obs-job-fails"))
    finalize.sim.fail_job(failing, "ClientError: the target column has a single value")
    failed = finalize.finish(failing)
    assert failed.status == "SUCCEEDED" and failed.output["action"] == "none"
    assert counted(before, deployments(finalize)) == {}


def test_a_plan_that_refuses_to_deploy_counts_as_a_failed_deployment(
    finalize: fin.FinalizeHarness,
) -> None:
    name = finalize.submit(fin.churn("obs-first", "obs-busy"))
    assert finalize.finish(name).status == "SUCCEEDED"
    sagemaker = finalize.client("sagemaker")
    config = sagemaker.describe_endpoint(EndpointName="obs-busy")["EndpointConfigName"]
    finalize.endpoints.describes_until_ready = 3
    sagemaker.update_endpoint(EndpointName="obs-busy", EndpointConfigName=config)  # Updating

    before = deployments(finalize)
    blocked = finalize.finish(finalize.submit(fin.churn("obs-blocked", "obs-busy")))
    assert blocked.status == "FAILED"
    assert blocked.description["error"] == "DeploymentBlocked"
    assert "FailedAtPlan" in blocked.entered()
    assert counted(before, deployments(finalize)) == {"Failed": 1}
