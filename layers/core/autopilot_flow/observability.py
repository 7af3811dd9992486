"""Observability: the metric contract, handler instrumentation, correlation ids.

Metrics are CloudWatch embedded metric format (EMF) lines written by Powertools Metrics on
stdout, in the namespace ``POWERTOOLS_METRICS_NAMESPACE`` (``AutopilotFlow``) with Powertools'
default ``service`` dimension from ``POWERTOOLS_SERVICE_NAME`` (``autopilot-flow``, the
default stack name: the template sets it to the stack name).
CloudWatch alarms and the dashboard in template.yaml use these exact names, units and
dimensions: ``METRICS`` below is the contract (a template test checks alarms against it).

=========================  ============  ===================  ==============================
metric                     unit          dimensions           emitted by
=========================  ============  ===================  ==============================
ManifestsReceived          Count         service              IngestManifest, JobsApi
ManifestsRejected          Count         service              IngestManifest, JobsApi
RejectionsByCode           Count         service, ErrorCode   IngestManifest, JobsApi
JobsCreated                Count         service              IngestManifest, JobsApi
JobsWaitingForCapacity     Count         service              IngestManifest, JobsApi
DuplicateDeliveries        Count         service              IngestManifest, JobsApi
SubmissionsFailed          Count         service              IngestManifest
ObjectsIgnored             Count         service              IngestManifest
StateChanges               Count         service              WatchJobs
WatcherTicks               Count         service              WatchJobs (1 per good tick)
Deployments                Count         service, Outcome     FinalizeJob state machine
NotificationsFailed        Count         service              FinalizeJob state machine
HandlerLatency             Milliseconds  service, Handler     every function
ColdStart                  Count         service,             every function (first
                                         function_name        invocation of an environment)
=========================  ============  ===================  ==============================

Manifests, both doors (the S3 ingest and ``POST /jobs``; not the dry run ``POST
/jobs/validate``): every delivery that the pipeline answers counts once in
``ManifestsReceived`` and once in exactly one of ``JobsCreated``, ``ManifestsRejected``,
``DuplicateDeliveries`` (the same manifest again: a redelivered object version, a resent
body, an idempotent replay), ``JobsWaitingForCapacity`` (AutoML quota full, retried later) or
``SubmissionsFailed`` (quota still full at the last attempt: answered ``capacity.exhausted``). So
``ManifestsReceived`` is the sum of those five. Not counted: objects that are not manifests
(``ObjectsIgnored``), and deliveries that fail before an answer and are retried (data
preflight unavailable, throttling), which count when they are answered. A rejected manifest
also counts once per distinct error code in ``RejectionsByCode`` (a separate EMF line per
code, so that ``ErrorCode`` does not reach the other metrics).

``Deployments`` (Outcome ``Done``, ``Skipped``, ``Failed``) is counted by the FinalizeJob
state machine itself with PutMetricData tasks: a state machine has no stdout, so it cannot
write EMF (see ``statemachines/finalize_job.asl.json``). Its ``service`` is the literal
``SERVICE`` (the definition has no substitution for the stack name).

``NotificationsFailed`` is counted by the same machine in the same way: one per SNS topic or
outcome event that could not be published (an "AutoML Notification Failed" event says
which); it never changes the deployment's outcome.

``ColdStart`` is Powertools' metric (same name and dimensions as ``capture_cold_start_metric``)
but emitted here: Powertools prints its own even when metrics are disabled, and keeps one
cold-start flag per process rather than per function.

Logs: every function's lines about a job carry the job name as ``correlation_id`` (the key
of Powertools ``Logger.set_correlation_id``): per record in IngestManifest (the S3 key until
the job name is known), per request in JobsApi (the path's job name, or the submitted job's;
the API Gateway request id is the ``api_request_id`` key), per transition in WatchJobs, from
the input in StartFinalizeJob, BuildLeaderboard and PlanFinalize. It is cleared after each
record, transition and invocation, so it never leaks into the next one. The keys are set with
Powertools' thread-safe keys (``thread_safe_append_keys``; they take precedence over the
logger-wide ones ``set_correlation_id`` writes): on Lambda one invocation runs at a time
either way, but offline and in tests several functions share a process and its logger.

Core code reports outcomes through the module functions (``record_outcome``...); they act on
the ``Telemetry`` of the handler invocation in progress (a context variable set by
``Telemetry.handler``) and do nothing elsewhere (the CLI, tests of the core library).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from autopilot_flow import vocabulary
from autopilot_flow.vocabulary import IngestOutcome

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from autopilot_flow.watcher import TickReport

# The ``Outcome`` dimension of ``Deployments`` (the state machine writes it); the words live in
# autopilot_flow.vocabulary.
DeploymentOutcome = vocabulary.DeploymentOutcome
NAMESPACE = "AutopilotFlow"  # POWERTOOLS_METRICS_NAMESPACE in template.yaml
SERVICE = "autopilot-flow"  # POWERTOOLS_SERVICE_NAME (the stack name) of the default stack

COUNT = "Count"
MILLISECONDS = "Milliseconds"


class MetricName(StrEnum):
    MANIFESTS_RECEIVED = "ManifestsReceived"
    MANIFESTS_REJECTED = "ManifestsRejected"
    REJECTIONS_BY_CODE = "RejectionsByCode"
    JOBS_CREATED = "JobsCreated"
    JOBS_WAITING_FOR_CAPACITY = "JobsWaitingForCapacity"
    DUPLICATE_DELIVERIES = "DuplicateDeliveries"
    SUBMISSIONS_FAILED = "SubmissionsFailed"
    OBJECTS_IGNORED = "ObjectsIgnored"
    STATE_CHANGES = "StateChanges"
    WATCHER_TICKS = "WatcherTicks"
    DEPLOYMENTS = "Deployments"
    NOTIFICATIONS_FAILED = "NotificationsFailed"
    HANDLER_LATENCY = "HandlerLatency"
    COLD_START = "ColdStart"


class Dimension(StrEnum):
    SERVICE = "service"
    ERROR_CODE = "ErrorCode"
    OUTCOME = "Outcome"
    HANDLER = "Handler"
    FUNCTION_NAME = "function_name"


class Handler(StrEnum):
    """The ``Handler`` dimension of ``HandlerLatency``: one per function."""

    INGEST_MANIFEST = "IngestManifest"
    JOBS_API = "JobsApi"
    WATCH_JOBS = "WatchJobs"
    START_FINALIZE_JOB = "StartFinalizeJob"
    BUILD_LEADERBOARD = "BuildLeaderboard"
    PLAN_FINALIZE = "PlanFinalize"
    REGISTER_CANDIDATE = "RegisterCandidate"
    APPROVE_MODEL_PACKAGE = "ApproveModelPackage"


@dataclass(frozen=True)
class MetricSpec:
    name: MetricName
    unit: str
    dimensions: tuple[str, ...]


def _spec(name: MetricName, unit: str = COUNT, *extra: Dimension) -> MetricSpec:
    return MetricSpec(name, unit, (Dimension.SERVICE.value, *(d.value for d in extra)))


METRICS: Mapping[MetricName, MetricSpec] = {
    spec.name: spec
    for spec in (
        _spec(MetricName.MANIFESTS_RECEIVED),
        _spec(MetricName.MANIFESTS_REJECTED),
        _spec(MetricName.REJECTIONS_BY_CODE, COUNT, Dimension.ERROR_CODE),
        _spec(MetricName.JOBS_CREATED),
        _spec(MetricName.JOBS_WAITING_FOR_CAPACITY),
        _spec(MetricName.DUPLICATE_DELIVERIES),
        _spec(MetricName.SUBMISSIONS_FAILED),
        _spec(MetricName.OBJECTS_IGNORED),
        _spec(MetricName.STATE_CHANGES),
        _spec(MetricName.WATCHER_TICKS),
        _spec(MetricName.DEPLOYMENTS, COUNT, Dimension.OUTCOME),
        _spec(MetricName.NOTIFICATIONS_FAILED),
        _spec(MetricName.HANDLER_LATENCY, MILLISECONDS, Dimension.HANDLER),
        _spec(MetricName.COLD_START, COUNT, Dimension.FUNCTION_NAME),
    )
}
METRIC_NAMES: tuple[str, ...] = tuple(name.value for name in MetricName)
assert set(METRICS) == set(MetricName)

MAX_CORRELATION_ID = 1024
CORRELATION_ID = "correlation_id"  # Powertools' key (Logger.set_correlation_id)

_ACTIVE: ContextVar[Telemetry | None] = ContextVar("autopilot_flow_telemetry", default=None)

F = TypeVar("F", bound=Callable[..., Any])
EventReader = Callable[[Mapping[str, Any]], Any]


def metrics_disabled() -> bool:
    """POWERTOOLS_METRICS_DISABLED (and POWERTOOLS_DEV), as Powertools reads them."""
    from aws_lambda_powertools.metrics.functions import is_metrics_disabled  # noqa: PLC0415

    return bool(is_metrics_disabled())


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return str(value)[:MAX_CORRELATION_ID] if isinstance(value, str) and value else None


# Where each function finds the job name in its input (None: per record or per transition).
def state_change_job(event: Mapping[str, Any]) -> str | None:
    """StartFinalizeJob: the "AutoML Job State Change" event."""
    return _text(_dig(event, "detail", "jobName"))


def described_job(event: Mapping[str, Any]) -> str | None:
    """BuildLeaderboard and PlanFinalize: ``{"job": <DescribeAutoMLJobV2>, ...}``."""
    return _text(_dig(event, "job", "AutoMLJobName"))


def package_state_change(event: Mapping[str, Any]) -> str | None:
    """ApproveModelPackage: SageMaker's "Model Package State Change" names the package."""
    return _text(_dig(event, "detail", "ModelPackageArn"))


def api_path_job(event: Mapping[str, Any]) -> str | None:
    """JobsApi: ``/jobs/{name}...`` names the job (POST /jobs learns it from the outcome)."""
    return _text(_dig(event, "pathParameters", "name"))


def api_request_keys(event: Mapping[str, Any]) -> dict[str, Any]:
    request_id = _text(_dig(event, "requestContext", "requestId"))
    return {"api_request_id": request_id} if request_id else {}


class Telemetry:
    """The metrics and the correlation id of one function (one per handler module).

    ``handler`` decorates the Lambda handler: per invocation it sets the correlation id from
    the input, measures ``HandlerLatency``, adds ``ColdStart`` on an environment's first
    invocation, and flushes every metric (one EMF line for the ``{service}`` metrics, one
    per extra dimension set), honouring POWERTOOLS_METRICS_DISABLED. Metrics live in a
    Powertools ``EphemeralMetrics`` of this function, not in the process-wide ``Metrics``
    singleton, so that functions sharing a process (offline, tests) never flush each
    other's metrics."""

    def __init__(
        self,
        handler: Handler,
        logger: Logger,
        *,
        correlation_id: EventReader | None = None,
        log_keys: EventReader | None = None,
    ) -> None:
        from aws_lambda_powertools.metrics import EphemeralMetrics  # noqa: PLC0415

        self.name = Handler(handler)
        self.logger = logger
        self.namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE
        self.service = os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE
        self.metrics = EphemeralMetrics(namespace=self.namespace, service=self.service)
        self._dimensioned: list[tuple[str, str, float, dict[str, str]]] = []
        self._correlation_id = correlation_id
        self._log_keys = log_keys
        self._cold = True

    # --- recording ------------------------------------------------------------------------------

    def add(self, name: str, unit: str, value: float, **dimensions: str) -> None:
        """A metric; with ``dimensions`` it gets an EMF line of its own (service + those)."""
        if dimensions:
            self._dimensioned.append((str(name), unit, float(value), dimensions))
        else:
            self.metrics.add_metric(name=str(name), unit=unit, value=float(value))

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        self.add(name, COUNT, value, **dimensions)

    def flush(self) -> None:
        """Print every metric recorded so far as EMF (nothing when metrics are disabled)."""
        try:
            if metrics_disabled():
                return
            # Serialized by Powertools, printed here: one path (and one switch, the variable
            # above) for every line, whatever has been done to Powertools' module print.
            blobs = [self.metrics.serialize_metric_set()] if self.metrics.metric_set else []
            blobs.extend(self._dimensioned_blobs())
            for blob in blobs:
                print(json.dumps(blob, separators=(",", ":")))  # EMF goes to stdout
        except Exception:  # metrics must never fail the invocation they describe
            self.logger.exception("metrics could not be published")
        finally:
            self.metrics.clear_metrics()
            self._dimensioned.clear()

    def _dimensioned_blobs(self) -> Iterator[Any]:
        from aws_lambda_powertools.metrics import EphemeralMetrics  # noqa: PLC0415

        groups: dict[tuple[tuple[str, str], ...], Any] = {}
        for name, unit, value, dimensions in self._dimensioned:
            key = tuple(sorted(dimensions.items()))
            blob = groups.get(key)
            if blob is None:
                blob = EphemeralMetrics(namespace=self.namespace, service=self.service)
                blob.add_dimension(name=Dimension.SERVICE.value, value=self.service)
                for dimension, dimension_value in dimensions.items():
                    blob.add_dimension(name=dimension, value=dimension_value)
                groups[key] = blob
            blob.add_metric(name=name, unit=unit, value=value)
        for blob in groups.values():
            yield blob.serialize_metric_set()

    # --- correlation ----------------------------------------------------------------------------

    def correlate(self, value: str | None) -> None:
        self.logger.thread_safe_append_keys(correlation_id=_text(value))

    def correlation_id(self) -> str | None:
        value = self.logger.thread_safe_get_current_keys().get(CORRELATION_ID)
        return str(value) if value is not None else None

    @contextmanager
    def correlation(self, value: str | None) -> Iterator[None]:
        """``value`` as the correlation id inside the block; the previous one after it."""
        previous = self.correlation_id()
        self.correlate(value)
        try:
            yield
        finally:
            self.correlate(previous)

    # --- the handler decorator ------------------------------------------------------------------

    def handler(self, function: F) -> F:
        @wraps(function)
        def invoke(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            token = _ACTIVE.set(self)
            started = time.perf_counter()
            cold, self._cold = self._cold, False
            keys = self._begin(event)
            try:
                return function(event, context, *args, **kwargs)
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                self.add(MetricName.HANDLER_LATENCY, MILLISECONDS, elapsed, Handler=self.name.value)
                if cold:
                    self.count(MetricName.COLD_START, function_name=_function_name(context))
                self.flush()
                self.logger.thread_safe_remove_keys([CORRELATION_ID, *keys])
                _ACTIVE.reset(token)

        return invoke  # type: ignore[return-value]

    def _begin(self, event: Any) -> dict[str, Any]:
        event = event if isinstance(event, Mapping) else {}
        correlation_id = self._correlation_id(event) if self._correlation_id else None
        self.correlate(correlation_id)
        keys: dict[str, Any] = dict(self._log_keys(event)) if self._log_keys else {}
        if keys:
            self.logger.thread_safe_append_keys(**keys)
        return keys

    # --- outcomes -> metrics and log lines ---------------------------------------------------

    def record_outcome(self, outcome: Mapping[str, Any], *, duplicate: bool = False) -> None:
        """One manifest answered by the pipeline (``Outcome.to_dict()`` of autopilot_flow
        .ingest); ``duplicate``: an idempotent replay of an earlier answer."""
        status = str(outcome.get("status"))
        job_name = outcome.get("job_name")
        if job_name:
            self.correlate(str(job_name))
        if status == IngestOutcome.IGNORED:
            self.count(MetricName.OBJECTS_IGNORED)
            self.logger.info("object ignored", extra={"outcome": dict(outcome)})
            return
        self.count(MetricName.MANIFESTS_RECEIVED)
        if duplicate or status == IngestOutcome.ALREADY_CREATED:
            self.count(MetricName.DUPLICATE_DELIVERIES)
        elif status == IngestOutcome.CREATED:
            self.count(MetricName.JOBS_CREATED)
        elif status == IngestOutcome.REJECTED:
            self.count(MetricName.MANIFESTS_REJECTED)
            codes = sorted({str(e.get("code")) for e in outcome.get("errors") or []})
            for code in codes:
                self.count(MetricName.REJECTIONS_BY_CODE, ErrorCode=code)
        self.logger.info(
            "manifest handled", extra={"outcome": dict(outcome), "duplicate": duplicate}
        )

    def record_capacity_wait(self, job_name: str, *, final: bool, reason: str = "") -> None:
        """The AutoML quota is full: retried later, or (``final``) given up for good."""
        self.correlate(job_name)
        self.count(MetricName.MANIFESTS_RECEIVED)
        if final:
            self.count(MetricName.SUBMISSIONS_FAILED)
            self.logger.warning(
                "submission failed: the AutoML quota is still full", extra={"reason": reason}
            )
        else:
            self.count(MetricName.JOBS_WAITING_FOR_CAPACITY)
            self.logger.info("waiting for capacity", extra={"reason": reason})

    def record_tick(self, report: TickReport) -> None:
        """A successful WatchJobs tick: one log line per transition, correlated with its job,
        then the tick's summary; StateChanges, and the WatcherTicks heartbeat."""
        for name, previous, current in report.transitions:
            with self.correlation(name):
                self.logger.info(
                    "state change", extra={"job": name, "previous": previous, "current": current}
                )
        self.count(MetricName.STATE_CHANGES, report.published)
        self.count(MetricName.WATCHER_TICKS)  # the heartbeat an alarm watches: 1 per tick
        self.logger.info(
            "tick",
            extra={
                "listed": report.listed,
                "changed": report.changed,
                "published": report.published,
                "list_calls": report.list_calls,
                "describe_calls": report.describe_calls,
                "lost_races": report.lost_races,
            },
        )


def _function_name(context: Any) -> str:
    return str(
        os.environ.get("POWERTOOLS_METRICS_FUNCTION_NAME")
        or getattr(context, "function_name", None)
        or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        or "unknown"
    )


# --- for the core library: no-ops outside a handler invocation ---------------------------------


def active() -> Telemetry | None:
    return _ACTIVE.get()


@contextmanager
def correlation(value: str | None) -> Iterator[None]:
    """``value`` as the correlation id inside the block (e.g. one record of a batch)."""
    telemetry = _ACTIVE.get()
    if telemetry is None:
        yield
        return
    with telemetry.correlation(value):
        yield


def record_outcome(outcome: Mapping[str, Any], *, duplicate: bool = False) -> None:
    telemetry = _ACTIVE.get()
    if telemetry is not None:
        telemetry.record_outcome(outcome, duplicate=duplicate)


def record_capacity_wait(job_name: str, *, final: bool, reason: str = "") -> None:
    telemetry = _ACTIVE.get()
    if telemetry is not None:
        telemetry.record_capacity_wait(job_name, final=final, reason=reason)
