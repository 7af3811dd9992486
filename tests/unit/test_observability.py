"""The metric contract, and ``Telemetry``: EMF lines, latency, cold start, correlation ids.

EMF lines are what Powertools prints (captured with capsys); log lines are a real
Powertools ``Logger`` of its own service, writing JSON to a buffer.
"""

from __future__ import annotations

import ast
import io
import json
import threading
import tomllib
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from autopilot_flow import observability as obs
from autopilot_flow.observability import (
    METRIC_NAMES,
    METRICS,
    NAMESPACE,
    SERVICE,
    Handler,
    MetricName,
    Telemetry,
)
from offline.lambda_runtime import LambdaContext
from offline.template import ROOT, load_template

TEMPLATE = load_template()

# The contract as the issue states it (alarms and the dashboard depend on it).
CONTRACT = {
    "ManifestsReceived": ("Count", {"service"}),
    "ManifestsRejected": ("Count", {"service"}),
    "RejectionsByCode": ("Count", {"service", "ErrorCode"}),
    "JobsCreated": ("Count", {"service"}),
    "JobsWaitingForCapacity": ("Count", {"service"}),
    "DuplicateDeliveries": ("Count", {"service"}),
    "ObjectsIgnored": ("Count", {"service"}),
    "SubmissionsFailed": ("Count", {"service"}),
    "StateChanges": ("Count", {"service"}),
    "WatcherTicks": ("Count", {"service"}),
    "Deployments": ("Count", {"service", "Outcome"}),
    "NotificationsFailed": ("Count", {"service"}),
    "HandlerLatency": ("Milliseconds", {"service", "Handler"}),
    "ColdStart": ("Count", {"service", "function_name"}),
}
FUNCTIONS = {
    "ingest_manifest": "IngestManifest",
    "jobs_api": "JobsApi",
    "watch_jobs": "WatchJobs",
    "start_finalize": "StartFinalizeJob",
    "build_leaderboard": "BuildLeaderboard",
    "plan_finalize": "PlanFinalize",
    "register_candidate": "RegisterCandidate",
    "approve_model_package": "ApproveModelPackage",
}


def test_the_metric_contract() -> None:
    assert set(METRIC_NAMES) == set(CONTRACT)
    assert len(METRIC_NAMES) == len(set(METRIC_NAMES))
    for name, (unit, dimensions) in CONTRACT.items():
        spec = METRICS[MetricName(name)]
        assert (spec.unit, set(spec.dimensions)) == (unit, dimensions), name
    assert {h.value for h in Handler} == set(FUNCTIONS.values())
    assert [o.value for o in obs.DeploymentOutcome] == ["Done", "Skipped", "Failed", "RolledBack"]


def test_the_template_sets_the_namespace_and_service_of_the_contract() -> None:
    """The functions' namespace and ``service`` dimension, as deployed under the stack name
    of samconfig.toml (FinalizeJob writes ``service`` = SERVICE into Deployments)."""
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    stack_name = samconfig["default"]["global"]["parameters"]["stack_name"]
    service = variables["POWERTOOLS_SERVICE_NAME"]
    assert (stack_name if service == {"Ref": "AWS::StackName"} else service) == SERVICE
    machine = TEMPLATE["Resources"]["FinalizeJobStateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"]["MetricsNamespace"] == NAMESPACE


def test_alarms_on_our_metrics_use_the_contract() -> None:
    for name, resource in TEMPLATE["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        if props.get("Namespace") != NAMESPACE:
            continue
        assert props["MetricName"] in METRIC_NAMES, name
        spec = METRICS[MetricName(props["MetricName"])]
        assert {d["Name"] for d in props.get("Dimensions", [])} == set(spec.dimensions), name


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_is_instrumented(function: str) -> None:
    """``Telemetry(Handler.<its name>, logger, ...)`` and ``@telemetry.handler`` on the
    Lambda handler; no Tracer (X-Ray comes from ``Tracing: Active``; the Tracer doubles the
    cold start)."""
    source = (ROOT / "functions" / function / "app.py").read_text()
    tree = ast.parse(source)
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Telemetry"
    ]
    (call,) = calls
    handler = call.args[0]
    assert isinstance(handler, ast.Attribute)
    assert Handler[handler.attr].value == FUNCTIONS[function]
    (lambda_handler,) = [
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler"
    ]
    decorators = [ast.unparse(d) for d in lambda_handler.decorator_list]
    assert "telemetry.handler" in decorators
    assert "Tracer" not in source


# --- Telemetry ------------------------------------------------------------------------------------


@pytest.fixture
def enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICE)


class Logs:
    """A real Powertools Logger (a service of its own), its JSON lines in a buffer."""

    def __init__(self, service: str) -> None:
        self.buffer = io.StringIO()
        self.logger = Logger(service=service, level="INFO", stream=self.buffer)

    def lines(self) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.buffer.getvalue().splitlines()]
        self.buffer.seek(0)
        self.buffer.truncate()
        return found


def emf(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def metric_lines(blobs: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str], Any]]:
    """(name, unit, dimensions, value) of every metric, each line checked against the
    contract."""
    found = []
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        (keys,) = directive["Dimensions"]
        dimensions = {k: blob[k] for k in keys}
        for metric in directive["Metrics"]:
            spec = METRICS[MetricName(metric["Name"])]
            assert metric["Unit"] == spec.unit
            assert set(dimensions) == set(spec.dimensions), metric["Name"]
            found.append((metric["Name"], metric["Unit"], dimensions, blob[metric["Name"]]))
    return found


REJECTED = {
    "status": "rejected",
    "job_name": "churn-2026",
    "errors": [
        {"path": "A", "message": "m", "code": "unknown_field"},
        {"path": "B", "message": "m", "code": "objective.metric"},
        {"path": "C", "message": "m", "code": "unknown_field"},
    ],
}


def test_a_rejection_counts_each_distinct_code_on_a_line_of_its_own(
    enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = Logs("obs-unit-rejection")
    telemetry = Telemetry(Handler.INGEST_MANIFEST, logs.logger)

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> str:
        obs.record_outcome(REJECTED)
        return "done"

    assert handler({}, LambdaContext(function_name="ingest-fn")) == "done"
    lines = metric_lines(emf(capsys))
    main = [(n, v) for n, _, d, v in lines if d == {"service": SERVICE}]
    assert main == [("ManifestsReceived", [1.0]), ("ManifestsRejected", [1.0])]
    by_code = sorted(
        (d["ErrorCode"], v) for n, _, d, v in lines if n == MetricName.REJECTIONS_BY_CODE
    )
    assert by_code == [("objective.metric", [1.0]), ("unknown_field", [1.0])]
    ((_, unit, dimensions, latency),) = [x for x in lines if x[0] == "HandlerLatency"]
    assert unit == "Milliseconds"
    assert dimensions == {"service": SERVICE, "Handler": "IngestManifest"}
    assert latency[0] >= 0
    ((_, _, cold, value),) = [x for x in lines if x[0] == "ColdStart"]
    assert cold == {"service": SERVICE, "function_name": "ingest-fn"} and value == [1.0]
    (line,) = logs.lines()
    assert line["message"] == "manifest handled"
    assert line["correlation_id"] == "churn-2026"

    handler({}, LambdaContext(function_name="ingest-fn"))  # warm: no ColdStart
    assert "ColdStart" not in {name for name, *_ in metric_lines(emf(capsys))}


def test_disabled_metrics_print_nothing_and_are_not_kept(
    enabled: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    telemetry = Telemetry(Handler.WATCH_JOBS, Logs("obs-unit-disabled").logger)

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> None:
        if event.get("count"):
            telemetry.count(MetricName.WATCHER_TICKS)

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    for _ in range(150):  # more than Powertools' 100 per line, which it prints even then
        handler({"count": True}, LambdaContext())
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    handler({}, LambdaContext())
    assert [name for name, *_ in metric_lines(emf(capsys))] == ["HandlerLatency"]


def test_a_failing_invocation_still_reports_latency_and_leaves_no_correlation_id(
    enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = Logs("obs-unit-failure")
    telemetry = Telemetry(Handler.PLAN_FINALIZE, logs.logger, correlation_id=obs.described_job)

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> None:
        logs.logger.info("planning")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler({"job": {"AutoMLJobName": "job-1"}}, LambdaContext())
    (line,) = logs.lines()
    assert line["correlation_id"] == "job-1"
    names = [name for name, *_ in metric_lines(emf(capsys))]
    assert "HandlerLatency" in names
    assert telemetry.correlation_id() is None
    assert "correlation_id" not in logs.logger.thread_safe_get_current_keys()
    assert obs.active() is None


def test_per_record_correlation_ids_and_request_keys_are_scoped(enabled: None) -> None:
    logs = Logs("obs-unit-scopes")
    telemetry = Telemetry(
        Handler.JOBS_API,
        logs.logger,
        correlation_id=obs.api_path_job,
        log_keys=obs.api_request_keys,
    )

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> None:
        logs.logger.info("request")
        for key, job in (("manifests/a.yaml", "job-a"), ("manifests/b.yaml", None)):
            with obs.correlation(key):
                logs.logger.info("read")
                obs.record_outcome({"status": "created", "job_name": job})
        logs.logger.info("answered")

    event = {"pathParameters": {"name": "job-in-path"}, "requestContext": {"requestId": "r-1"}}
    handler(event, LambdaContext())
    lines = [(x["message"], x.get("correlation_id"), x.get("api_request_id")) for x in logs.lines()]
    assert lines == [
        ("request", "job-in-path", "r-1"),
        ("read", "manifests/a.yaml", "r-1"),
        ("manifest handled", "job-a", "r-1"),
        ("read", "manifests/b.yaml", "r-1"),  # not job-a: nothing leaks between records
        ("manifest handled", "manifests/b.yaml", "r-1"),
        ("answered", "job-in-path", "r-1"),
    ]
    logs.logger.info("after")
    (after,) = logs.lines()
    assert "correlation_id" not in after or after["correlation_id"] is None
    assert "api_request_id" not in after


def test_outside_an_invocation_the_core_reports_nothing(
    enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert obs.active() is None
    obs.record_outcome(REJECTED)
    obs.record_capacity_wait("job", final=True)
    with obs.correlation("key"):
        pass
    assert capsys.readouterr().out == ""


def test_outcomes_map_to_exactly_one_answer_metric(
    enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """ManifestsReceived is the sum of the five answers; ignored objects are not manifests."""
    telemetry = Telemetry(Handler.INGEST_MANIFEST, Logs("obs-unit-sum").logger)

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> None:
        obs.record_outcome({"status": "created", "job_name": "a"})
        obs.record_outcome({"status": "already_created", "job_name": "a"})
        obs.record_outcome({"status": "created", "job_name": "a"}, duplicate=True)
        obs.record_outcome({"status": "rejected", "job_name": "b", "errors": []})
        obs.record_outcome({"status": "ignored"})
        obs.record_capacity_wait("c", final=False)
        obs.record_capacity_wait("c", final=True)

    handler({}, LambdaContext())
    totals: dict[str, float] = {}
    for name, _, _, value in metric_lines(emf(capsys)):
        totals[name] = totals.get(name, 0) + sum(value)
    answers = (
        "JobsCreated",
        "ManifestsRejected",
        "DuplicateDeliveries",
        "JobsWaitingForCapacity",
        "SubmissionsFailed",
    )
    assert {k: totals[k] for k in answers} == {
        "JobsCreated": 1,
        "ManifestsRejected": 1,
        "DuplicateDeliveries": 2,
        "JobsWaitingForCapacity": 1,
        "SubmissionsFailed": 1,
    }
    assert totals["ManifestsReceived"] == sum(totals[k] for k in answers) == 6
    assert totals["ObjectsIgnored"] == 1
    assert "RejectionsByCode" not in totals  # a rejection without errors has no code


def test_concurrent_invocations_in_one_process_keep_their_own_correlation_ids(
    enabled: None,
) -> None:
    """Offline and in tests, functions share a process and its logger: one invocation ending
    (and clearing its id) must not take another's id away."""
    logs = Logs("obs-unit-threads")
    telemetry = Telemetry(Handler.BUILD_LEADERBOARD, logs.logger, correlation_id=obs.described_job)
    first_started, second_done = threading.Event(), threading.Event()

    @telemetry.handler
    def handler(event: dict[str, Any], context: Any) -> None:
        if event["job"]["AutoMLJobName"] == "job-a":
            first_started.set()
            assert second_done.wait(10)
        logs.logger.info("writing")

    def run(name: str) -> None:
        handler({"job": {"AutoMLJobName": name}}, LambdaContext())

    first = threading.Thread(target=run, args=("job-a",))
    first.start()
    assert first_started.wait(10)
    run("job-b")  # starts and ends while job-a's invocation is in progress
    second_done.set()
    first.join(10)
    assert [(x["message"], x["correlation_id"]) for x in logs.lines()] == [
        ("writing", "job-b"),
        ("writing", "job-a"),
    ]
