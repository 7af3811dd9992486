"""A SageMaker Autopilot simulator on top of moto's SageMaker backend.

moto (5.2.x) accepts ``CreateAutoMLJobV2`` but leaves every job ``InProgress`` forever with a
placeholder best candidate, lacks ``ListCandidatesForAutoMLJob`` and crashes on several valid
requests. This module patches moto's *classes* (not boto3), so the same simulator works with
``moto.mock_aws()`` in-process and with ``moto.server.ThreadedMotoServer`` in the same process.

Quick start::

    from moto import mock_aws
    from offline.autopilot_simulator import AutopilotSimulator, ManualClock

    clock = ManualClock()                      # simulated time, starts at "now" (UTC)
    with mock_aws(), AutopilotSimulator(clock=clock, seed=7) as sim:
        sm = boto3.client("sagemaker", region_name="us-east-1")
        sm.create_auto_ml_job_v2(**request)
        sim.advance(600)                       # 10 simulated minutes, then apply transitions
        sm.describe_auto_ml_job_v2(AutoMLJobName="churn")["AutoMLJobSecondaryStatus"]
        sim.run_until_idle()                   # jump from event to event until no job runs
        sm.list_candidates_for_auto_ml_job(AutoMLJobName="churn",
                                           SortBy="FinalObjectiveMetricValue",
                                           SortOrder="Descending")

Public API
----------
Clocks (all return epoch seconds from ``time()``; ``now()`` gives an aware UTC datetime):

- ``ManualClock(start: float | datetime | None = None)``: time moves only by
  ``advance(seconds) -> float`` or ``set(t: float | datetime)``. Default start: the real time,
  rounded to the millisecond.
- ``ScaledClock(speed: float = 600.0, start=None, source=time.time)``: simulated time runs
  ``speed`` times faster than ``source`` (600: one real second = ten simulated minutes, so a
  tabular ENSEMBLING job takes 2 to 6 real seconds). ``advance(seconds)`` jumps ahead too.
  Its ``wall(t)`` maps a simulated time back onto the real clock, and every time the API
  shows (CreationTime, LastModifiedTime, EndTime, candidates' times) is shown that way: the
  offline stack's jobs were created and ended in the past, as on AWS, and the speed-up shows
  only in how fast they move (an hour of Autopilot at speed 600 is six real seconds apart).
- Any object with ``time() -> float`` (the ``Clock`` protocol) or a zero-argument callable
  returning epoch seconds can be passed as ``clock``.

``AutopilotSimulator(clock=None, seed=0, *, default_max_candidates=5, quota=None,
fail_rate=0.0, throttle_rate=0.0, throttle_operations=None, stop_delay=(30, 90),
auto_ensembling_limit_bytes=100 MB)``

- ``auto_ensembling_limit_bytes`` (also an attribute, changeable while installed): a tabular
  AUTO job trains in ENSEMBLING mode when the objects under its channels' S3Prefix URIs in
  moto's S3 total less, in HYPERPARAMETER_TUNING mode (three-container inference pipelines)
  otherwise; lower it to get HPO candidates from small test data. ManifestFile inputs count
  as nothing. The job's ``data_bytes`` and ``mode`` say what was found and chosen.
- ``install() -> AutopilotSimulator`` / ``uninstall() -> None``; also a context manager.
  Only one simulator can be installed at a time. Install before or after ``mock_aws()``
  starts: the patches live on moto's classes, the job state on moto's backend objects (so
  ``mock_aws`` resets and ``/moto-api/reset`` clear it).
- ``tick() -> list[Transition]``: apply every transition due at ``clock.time()`` to every
  simulated job in every account/region. Describe/List/ListCandidates/Create/Stop tick first
  by themselves, so with a ``ScaledClock`` nobody needs to call it.
- ``advance(seconds) -> list[Transition]``: ``clock.advance(seconds)`` then ``tick()``.
- ``next_event_time() -> float | None`` and ``seconds_until_next_event() -> float | None``:
  when the next scheduled transition of any running job is due (``None``: nothing runs).
- ``run_until_idle(max_seconds=30 days) -> list[Transition]``: jump the clock from event to
  event until no job is InProgress/Stopping.
- ``now() -> datetime``: simulated time (aware, UTC). Use it (or the ``LastModifiedTime``
  values of responses) as a watcher's watermark, never the wall clock.
- ``transitions: list[Transition]``: every status change, in order (job creation included).
  ``Transition(job_name, account_id, region_name, time, status, secondary_status,
  previous_status, previous_secondary_status, failure_reason)``.
- ``history(name) -> list[tuple[str, str]]``: the (status, secondary status) sequence of one
  job so far; ``plan(name) -> list[tuple[float, str, str]]``: the scheduled sequence
  (seconds after creation, status, secondary status), past and future.
- ``job(name, account_id=None, region_name=None) -> SimulatedAutoMLJob``: moto's backend
  object (for assertions); ``KeyError`` if unknown.
- Fault injection:
  ``throttle_next(n=1, operation="CreateAutoMLJobV2")`` (``operation=None``: any SageMaker
  operation): the next ``n`` calls fail with ``ThrottlingException`` (HTTP 400, as AWS).
  ``throttle_rate`` (0..1, seeded) applies to ``throttle_operations`` (``None``: all).
  ``quota``: max concurrent InProgress/Stopping AutoML jobs per account and region, beyond
  which CreateAutoMLJobV2 raises ``ResourceLimitExceeded`` (AWS's message).
  ``fail_rate`` (0..1, drawn per job from the seed at creation): the job ends ``Failed`` with
  a realistic ``FailureReason`` somewhere after ``Starting``.
  ``fail_job(name, reason=None)``: a running job fails now; a name not created yet fails
  half-way through its second phase once created (AnalyzingData; TrainingModels for text
  generation). ``clear_faults()`` resets all of the above.
  To see a throttle in a test, disable boto3's retries with
  ``Config(retries={"total_max_attempts": 1})``: botocore's ``max_attempts`` counts *retries*,
  so ``{"max_attempts": 1}`` still retries once (and sleeps: patch ``time.sleep``).
- Counters: ``calls["CreateAutoMLJobV2"]`` (every SageMaker API call received, throttled ones
  included) and ``throttled["CreateAutoMLJobV2"]`` (``collections.Counter``);
  ``calls_from(thread_id)``: the calls made from one thread (in-process moto serves a call in
  the caller's thread), for a test that must not count another test's leftover work.
- All methods are thread-safe (server mode serves requests from threads).

Recipes. A job watcher: create jobs, ``sim.advance(60)`` per scheduler tick, call the watcher
(its ``ListAutoMLJobs(LastModifiedTimeAfter=watermark)`` sees exactly the jobs that changed),
compare the events it emitted with ``sim.transitions``. A finaliser: create a job,
``sim.run_until_idle()``, then run the state machine / leaderboard against a Completed job with
a BestCandidate; use ``fail_job`` / ``StopAutoMLJob`` / a short ``MaxAutoMLJobRuntimeInSeconds``
for the paths without one. The offline stack: ``AutopilotSimulator(ScaledClock(600)).install()``
next to a ``ThreadedMotoServer`` -- jobs then move on every Describe/List by themselves.

What the simulated jobs do (durations are simulated seconds, drawn per job from the seed):

=====================================  ==========================================================
Tabular ENSEMBLING (and AUTO with       Starting (1-3 min) > AnalyzingData (3-8) >
less than 100 MB of input data)         FeatureEngineering (3-7) > TrainingModels (10-30) >
                                        GeneratingExplainabilityReport (2-6) >
                                        GeneratingModelInsightsReport (2-5) > Completed
                                        (21-59 min in total)
Tabular HYPERPARAMETER_TUNING (and      Starting > AnalyzingData (5-10) > FeatureEngineering
AUTO from 100 MB of input data)         (10-20) > ModelTuning (4-8 min per wave of 10
                                        candidates) > GeneratingExplainabilityReport (5-10) >
                                        GeneratingModelInsightsReport (3-7) > Completed, or
                                        Completed / MaxCandidatesReached when MaxCandidates
                                        was given
GenerateCandidateDefinitionsOnly        Starting > AnalyzingData (5-10) > Completed /
                                        CandidateDefinitionsGenerated (no candidates)
TimeSeriesForecasting                   Starting > AnalyzingData (5-15) > TrainingModels (30-90)
                                        > GeneratingExplainabilityReport (5-15) > Completed
Text / image classification             Starting > AnalyzingData (2-5) > TrainingModels (15-60)
                                        > Completed
TextGeneration                          Starting > TrainingModels (30-120 min, capped by
                                        MaxRuntimePerTrainingJobInSeconds) > Completed
ModelDeployConfig asks to deploy        DeployingModel (5-10 min) before Completed, then
                                        ModelDeployResult.EndpointName (no endpoint is created)
MaxAutoMLJobRuntimeInSeconds too short  Completed / MaxAutoMLJobRuntimeReached at the limit,
                                        with the candidates finished by then (maybe none)
StopAutoMLJob                           Stopping now, Stopped 30-90 s later (stopping a
                                        finished job: ValidationException -- assumed, AWS does
                                        not document it)
Failure (fail_rate / fail_job)          Failed / Failed with FailureReason
=====================================  ==========================================================

Every transition sets ``LastModifiedTime`` to the moment it happened (millisecond precision,
as the API returns it) so ``ListAutoMLJobs(LastModifiedTimeAfter=...)`` returns exactly the
jobs that changed; terminal states set ``EndTime``. ``FailureReason`` only on Failed.

Candidates (``ListCandidatesForAutoMLJob`` and ``BestCandidate``) are deterministic for a
(seed, account, region, job name). Tabular: ``MaxCandidates`` of them in HPO mode
(``default_max_candidates`` when omitted), at most ``MaxCandidates`` in ENSEMBLING mode
(weighted ensembles plus one model per algorithm); 1 for every other problem type. They appear
while the training phase runs (InProgress, then Completed; a few HPO candidates fail when there
are 10 or more). Objective metric: the request's, or the default per problem type (Regression
MSE, BinaryClassification F1, MulticlassClassification Accuracy, time series
AverageWeightedQuantileLoss, text/image Accuracy, text generation ``ValidationLoss`` -- outside
the documented metric enum, as the LLM fine-tuning docs describe a cross-entropy loss).
Ranges: F1/Accuracy/AUC/... 0.6-0.99, R2 0.3-0.95, RMSE/MSE/MAE positive on a per-job scale,
AverageWeightedQuantileLoss/WAPE 0.05-0.4, MAPE 0.05-0.5, MASE 0.3-1.5, ValidationLoss 0.5-2.5.
``BestCandidate`` is the best by the objective's direction, present only on Completed or Stopped
jobs with at least one completed candidate (never on Failed, stopped-before-any-candidate or
candidate-definitions-only jobs). When the tabular ``ProblemType`` is omitted the simulator
"infers" one (seeded) and reveals it in ``ResolvedAttributes`` after AnalyzingData.
Image URIs and S3 layouts are plausible (real repositories and registry accounts for the common
regions), not authoritative; the tabular classification containers carry
``SAGEMAKER_INFERENCE_OUTPUT`` / ``SAGEMAKER_INFERENCE_SUPPORTED``.

``ListCandidatesForAutoMLJob``: StatusEquals, CandidateNameEquals, SortBy (CreationTime when
omitted, Status, FinalObjectiveMetricValue), SortOrder (Ascending when omitted, as documented),
MaxResults (10 when omitted) and an opaque NextToken (a bad one: ValidationException). By
FinalObjectiveMetricValue it sorts the raw value -- Descending is best-first only for Maximize
metrics -- with candidates that have no value (running, failed) last. Unknown job:
``ResourceNotFound`` ("Could not find AutoML job with name ..."), as DescribeAutoMLJobV2.
Describe/Stop/ListCandidates also find a job by its name in another case (AWS names are
case-insensitive). Jobs created before ``install`` keep moto's own behaviour.

moto deviations fixed (each marked ``# moto deviation`` below): KeyError on omitted
CompletionCriteria, tabular ProblemType or ModelDeployConfig.EndpointName; case-sensitive job
names (AWS: unique per account, case-insensitive); the placeholder BestCandidate; EndTime and
a "Completed" secondary status on a fresh job; an empty FailureReason on every job; a made-up
ModelDeployConfig; StopAutoMLJob jumping straight to Stopped without touching
LastModifiedTime; AutoMLComputeConfig dropped; ``TabularResolvedAttributes.TabularProblemType``
(the API calls it ``ProblemType``); text generation BaseModelName ``"string"``.

Patched (all restored by ``uninstall``):
``SageMakerModelBackend.create_auto_ml_job_v2 / describe_auto_ml_job_v2 / list_auto_ml_jobs /
stop_auto_ml_job`` and a new ``list_candidates_for_auto_ml_job``;
``SageMakerResponse.call_action`` (call counting, throttling),
``SageMakerResponse.create_auto_ml_job_v2`` (passes AutoMLComputeConfig) and a new
``SageMakerResponse.list_candidates_for_auto_ml_job``.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import math
import random
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, Self, runtime_checkable

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.sagemaker.exceptions import (
    ResourceInUseException,
    ResourceNotFound,
    SagemakerClientError,
    ValidationError,
)
from moto.sagemaker.models import AutoMLJob, SageMakerModelBackend, sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

from autopilot_flow.deploy_targets import AUTO_ENSEMBLING_LIMIT_BYTES
from autopilot_flow.problem_types import objective_type
from offline.moto_fixes import ClassPatches

__all__ = [
    "AutopilotSimulator",
    "Clock",
    "ManualClock",
    "ScaledClock",
    "SimulatedAutoMLJob",
    "Transition",
]

# --------------------------------------------------------------------------------------------
# Clocks
# --------------------------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the simulated time in epoch seconds."""

    def time(self) -> float: ...


def _to_epoch(value: float | datetime) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


def _ms(t: float) -> float:
    """Millisecond precision: what the API returns, so timestamps round-trip exactly."""
    return round(t * 1000.0) / 1000.0


def _aware(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _naive(t: float) -> datetime:
    # moto keeps naive UTC datetimes (moto.core.utils.utcnow) and compares them with the
    # naive UTC datetimes its request parser produces (ListAutoMLJobs filters).
    return datetime.fromtimestamp(t, tz=UTC).replace(tzinfo=None)


class ManualClock:
    """Simulated time that moves only when told to."""

    def __init__(self, start: float | datetime | None = None) -> None:
        self._t = _ms(time.time() if start is None else _to_epoch(start))
        self._lock = threading.Lock()

    def time(self) -> float:
        return self._t

    def now(self) -> datetime:
        return _aware(self._t)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        with self._lock:
            self._t = _ms(self._t + seconds)
            return self._t

    def set(self, t: float | datetime) -> float:
        new = _ms(_to_epoch(t))
        with self._lock:
            if new < self._t:
                raise ValueError("a clock cannot go back")
            self._t = new
            return self._t


class ScaledClock:
    """``source()`` (default ``time.time``) running ``speed`` times faster from ``start``."""

    def __init__(
        self,
        speed: float = 600.0,
        start: float | datetime | None = None,
        source: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self._source = source
        self._real_start = source()
        self._start = self._real_start if start is None else _to_epoch(start)
        self._offset = 0.0

    def time(self) -> float:
        return self._start + (self._source() - self._real_start) * self.speed + self._offset

    def now(self) -> datetime:
        return _aware(self.time())

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._offset += seconds
        return self.time()

    def wall(self, t: float) -> float:
        """The real time at which simulated time ``t`` is (was, or will be) reached."""
        return self._real_start + (t - self._start - self._offset) / self.speed


class _CallableClock:
    def __init__(self, fn: Callable[[], float]) -> None:
        self._fn = fn

    def time(self) -> float:
        return float(self._fn())


# --------------------------------------------------------------------------------------------
# Errors as AWS returns them
# --------------------------------------------------------------------------------------------


class ThrottlingException(ServiceException):
    # Not an error shape of the SageMaker model (it is a common AWS error): botocore still
    # maps it by code, and its retry handlers treat it as throttling.
    code = "ThrottlingException"


class ResourceLimitExceeded(SagemakerClientError):
    code = "ResourceLimitExceeded"


# --------------------------------------------------------------------------------------------
# Static knowledge: metrics, images, algorithms
# --------------------------------------------------------------------------------------------


_DEFAULT_METRIC = {
    "Regression": "MSE",
    "BinaryClassification": "F1",
    "MulticlassClassification": "Accuracy",
    "TimeSeriesForecasting": "AverageWeightedQuantileLoss",
    "TextClassification": "Accuracy",
    "ImageClassification": "Accuracy",
    "TextGeneration": "ValidationLoss",
}

# Metrics reported per candidate (CandidateProperties.CandidateMetrics), objective first.
_CANDIDATE_METRICS = {
    "Regression": ["MSE", "RMSE", "MAE", "R2"],
    "BinaryClassification": ["F1", "Accuracy", "AUC", "BalancedAccuracy", "Precision", "Recall"],
    "MulticlassClassification": [
        "Accuracy",
        "BalancedAccuracy",
        "F1macro",
        "PrecisionMacro",
        "RecallMacro",
    ],
    "TimeSeriesForecasting": ["AverageWeightedQuantileLoss", "MAPE", "MASE", "WAPE", "RMSE"],
    "TextClassification": ["Accuracy"],
    "ImageClassification": ["Accuracy"],
    "TextGeneration": ["ValidationLoss", "TrainingLoss", "Perplexity"],
}

_PROBLEM_CONFIG_KEYS = {
    "TabularJobConfig": "Tabular",
    "TimeSeriesForecastingJobConfig": "TimeSeriesForecasting",
    "TextClassificationJobConfig": "TextClassification",
    "ImageClassificationJobConfig": "ImageClassification",
    "TextGenerationJobConfig": "TextGeneration",
}

# Registry accounts of the SageMaker-built images (sklearn-automl, xgboost) per region.
_BUILTIN_REGISTRY = {
    "us-east-1": "683313688378",
    "us-east-2": "257758044811",
    "us-west-1": "746614075791",
    "us-west-2": "246618743249",
    "ca-central-1": "341280168497",
    "eu-west-1": "141502667606",
    "eu-west-2": "764974769150",
    "eu-central-1": "492215442770",
    "ap-northeast-1": "354813040037",
    "ap-southeast-1": "121021644041",
    "ap-southeast-2": "783357654285",
    "ap-south-1": "720646828776",
}
_MODEL_TAR = "model.tar.gz"
_NOTEBOOK = "SageMakerAutopilot"
_DLC_REGISTRY = "763104351884"  # AWS Deep Learning Containers, same account in most regions

_ENSEMBLING_ALGORITHMS = {
    "lightgbm": "LightGBM",
    "catboost": "CatBoost",
    "xgboost": "XGBoost",
    "randomforest": "RandomForest",
    "extra-trees": "ExtraTrees",
    "nn-torch": "NeuralNetTorch",
    "fastai": "NeuralNetFastAI",
    "linear-learner": "LinearModel",
}
_HPO_ALGORITHMS = ["xgboost", "linear-learner", "mlp"]
_ALGORITHM_PENALTY = {"xgboost": 0.0, "mlp": 0.04, "linear-learner": 0.09}

_TEXT_GENERATION_DEFAULT_MODEL = "Falcon7BInstruct"
_DEFAULT_MAX_RUNTIME_PER_TRAINING_JOB = 86400
_TEXT_GENERATION_MAX_RUNTIME_PER_TRAINING_JOB = 259200  # 72 h, as documented
_DEFAULT_MAX_JOB_RUNTIME = 2592000  # 30 days

_FAILURE_REASONS = {
    "AnalyzingData": [
        "ClientError: Could not find the target column '{target}' in the header of the input "
        "data. Please make sure TargetAttributeName matches a column name.",
        "ClientError: The input data contains fewer than 500 rows. Provide a larger data set.",
    ],
    "FeatureEngineering": [
        "AlgorithmError: All data processing jobs failed. Check the processing job logs in "
        "CloudWatch Logs.",
    ],
    "TrainingModels": [
        "AlgorithmError: All training jobs failed. Check the training job logs in CloudWatch Logs.",
        "ClientError: An error occurred while reading the input data: unable to parse "
        "row 1043 (expected 12 columns, found 9).",
    ],
    "ModelTuning": [
        "AlgorithmError: All training jobs failed. Check the training job logs in CloudWatch Logs.",
    ],
    "*": [
        "InternalServerError: We encountered an internal error. Please try again.",
    ],
}

_ACTIVE = ("InProgress", "Stopping")
_TERMINAL = ("Completed", "Failed", "Stopped")


def _input_bytes(account_id: str, region: str, channels: list[dict[str, Any]] | None) -> int:
    """The bytes under the channels' S3Prefix URIs in moto's S3 (same process). A ManifestFile
    or a bucket moto does not hold counts as nothing: AUTO then chooses ENSEMBLING."""
    from moto.s3.models import s3_backends  # noqa: PLC0415
    from moto.utilities.utils import get_partition  # noqa: PLC0415

    total = 0
    buckets = s3_backends[account_id][get_partition(region)].buckets
    for channel in channels or []:
        source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
        uri = str(source.get("S3Uri") or "")
        if source.get("S3DataType", "S3Prefix") != "S3Prefix" or not uri.startswith("s3://"):
            continue
        bucket_name, _, prefix = uri.removeprefix("s3://").partition("/")
        bucket = buckets.get(bucket_name)
        if bucket is not None:
            total += sum(
                key.size for name, key in list(bucket.keys.items()) if name.startswith(prefix)
            )
    return total


def _registry_account(region: str) -> str:
    return _BUILTIN_REGISTRY.get(region, _BUILTIN_REGISTRY["us-east-1"])


def _image(account: str, region: str, repo_tag: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{suffix}/{repo_tag}"


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return max(lo, min(hi, x))


def _metric_value(metric: str, quality: float, scale: float) -> float:
    """A plausible value of ``metric`` for a model of ``quality`` (0 bad .. 1 good)."""
    q = _clip(quality)
    bad = 1.0 - q
    rmse = scale * (0.15 + 0.5 * bad)
    loss = 0.5 + 2.0 * bad
    values = {
        "R2": 0.3 + 0.65 * q,
        "RMSE": rmse,
        "MSE": rmse * rmse,
        "MAE": 0.8 * rmse,
        "MAPE": 0.05 + 0.45 * bad,
        "MASE": 0.3 + 1.2 * bad,
        "WAPE": 0.05 + 0.35 * bad,
        "AverageWeightedQuantileLoss": 0.05 + 0.35 * bad,
        "ValidationLoss": loss,
        "TrainingLoss": 0.85 * loss,
        "Perplexity": math.exp(loss),
    }
    value = values.get(metric, 0.6 + 0.39 * q)  # classification metrics: 0.6 .. 0.99
    return round(value, 6)


def _objective_type(metric: str) -> str:
    return objective_type(metric)


# --------------------------------------------------------------------------------------------
# Data records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One status change of one job (the first one is the job's creation)."""

    job_name: str
    account_id: str
    region_name: str
    time: datetime
    status: str
    secondary_status: str
    previous_status: str | None
    previous_secondary_status: str | None
    failure_reason: str | None = None


@dataclass
class _Event:
    time: float
    status: str
    secondary: str
    failure_reason: str | None = None
    cut: str | None = None  # "stop" | "fail" | "runtime": unfinished candidates end here


@dataclass
class _Candidate:
    name: str
    start: float
    end: float
    quality: float
    fails: bool
    steps: list[dict[str, str]]
    containers: list[dict[str, Any]]
    container_definitions: dict[str, list[dict[str, Any]]] | None
    artifact_locations: dict[str, str] | None
    metrics: list[dict[str, Any]] = field(default_factory=list)
    value: float = 0.0


class _Timeline:
    """One backend's simulated jobs by the time of their next event (a heap), and the latest
    time the backend was ticked. A tick applies the events of the jobs that are due and no
    others: walking every job at every tick made a thousand jobs' lives quadratic (each tick
    under the simulator's lock). Kept on moto's backend object, so it goes with its jobs."""

    def __init__(self) -> None:
        self.ticked = -math.inf
        self._heap: list[tuple[float, int, SimulatedAutoMLJob]] = []
        self._created = itertools.count()

    @staticmethod
    def of(backend: SageMakerModelBackend) -> _Timeline:
        timeline: _Timeline | None = getattr(backend, "_simulated_timeline", None)
        if timeline is None:
            timeline = _Timeline()
            backend._simulated_timeline = timeline  # type: ignore[attr-defined]
        return timeline

    def attach(self, job: SimulatedAutoMLJob) -> None:
        """A job just stored in the backend (its first advance schedules it)."""
        job._timeline, job._created = self, next(self._created)

    def schedule(self, job: SimulatedAutoMLJob) -> None:
        """After a job's future changed (created, advanced, stopped, failed)."""
        t = job.next_event_time()
        if t is not None:
            heapq.heappush(self._heap, (t, job._created, job))

    def due(self, now: float) -> list[SimulatedAutoMLJob]:
        """The jobs with an event due by ``now``, in the order they were created (the order
        of moto's backend, in which a walk of every job would have applied them)."""
        self.ticked = max(self.ticked, now)
        due: dict[int, SimulatedAutoMLJob] = {}
        while self._heap and self._heap[0][0] <= now:
            _, created, job = heapq.heappop(self._heap)
            t = job.next_event_time()
            if t is not None and t <= now:  # else a stale entry: the job's future changed
                due[created] = job
        return [due[created] for created in sorted(due)]

    def next_time(self) -> float | None:
        while self._heap:
            t, _, job = self._heap[0]
            if job.next_event_time() == t:
                return t
            heapq.heappop(self._heap)  # stale: the job has an entry for its real next time
        return None


# --------------------------------------------------------------------------------------------
# The simulated job (stored in moto's backend, in place of moto's AutoMLJob)
# --------------------------------------------------------------------------------------------


class SimulatedAutoMLJob(AutoMLJob):
    """A moto ``AutoMLJob`` whose state is a function of the simulated time.

    The whole life is planned at creation (``events``); ``advance_to(t)`` applies the events
    due by ``t``. Stop and forced failures replace the future events.
    """

    def __init__(
        self,
        *,
        now: float,
        seed: int,
        auto_ml_job_name: str,
        auto_ml_job_input_data_config: list[dict[str, Any]],
        output_data_config: dict[str, Any],
        auto_ml_problem_type_config: dict[str, Any],
        role_arn: str,
        region_name: str,
        account_id: str,
        security_config: dict[str, Any] | None,
        auto_ml_job_objective: dict[str, Any] | None,
        model_deploy_config: dict[str, Any] | None,
        data_split_config: dict[str, Any] | None,
        auto_ml_compute_config: dict[str, Any] | None,
        tags: list[dict[str, str]] | None,
        default_max_candidates: int,
        fail_rate: float,
        forced_failure: str | None,
        data_bytes: int = 0,
        auto_ensembling_limit_bytes: int = AUTO_ENSEMBLING_LIMIT_BYTES,
        wall: Callable[[float], float] | None = None,
    ) -> None:
        # Times the API shows: simulated times mapped onto the real clock (ScaledClock.wall).
        self._wall = wall or (lambda t: t)
        # moto's AutoMLJob.__init__ is not called on purpose: it is where moto crashes on
        # valid requests (KeyError on CompletionCriteria / ProblemType / EndpointName) and
        # builds its placeholders. Every attribute moto's backend reads is set here.
        self.region_name = region_name
        self.account_id = account_id
        self.auto_ml_job_name = auto_ml_job_name
        self.auto_ml_job_input_data_config = auto_ml_job_input_data_config
        self.output_data_config = output_data_config
        self.auto_ml_problem_type_config = auto_ml_problem_type_config
        self.role_arn = role_arn
        self.security_config = security_config
        self.auto_ml_job_objective = auto_ml_job_objective
        self.auto_ml_compute_config = auto_ml_compute_config
        # moto deviation: moto invents {"AutoGenerateEndpointName": False, "EndpointName":
        # "EndpointName"} when ModelDeployConfig is omitted; AWS returns only what was sent.
        self.deploy_config = model_deploy_config
        self.split_config = data_split_config
        self.tags = tags or []
        self.arn = arn_formatter("automl-job", auto_ml_job_name, account_id, region_name)

        key = next(k for k in _PROBLEM_CONFIG_KEYS if k in auto_ml_problem_type_config)
        self.auto_ml_problem_type_config_name = _PROBLEM_CONFIG_KEYS[key]
        self.kind = self.auto_ml_problem_type_config_name
        self._config: dict[str, Any] = auto_ml_problem_type_config[key] or {}
        # moto deviation: moto reads config["CompletionCriteria"] and crashes with KeyError
        # when it is omitted; on AWS it is optional (defaults apply).
        self._criteria: dict[str, Any] = dict(self._config.get("CompletionCriteria") or {})

        self._rng = random.Random(f"{seed}:{account_id}:{region_name}:{auto_ml_job_name.lower()}")  # noqa: S311
        rng = self._rng
        self._hex = f"{rng.getrandbits(40):010x}"

        # Problem type and objective. moto deviation: moto reads TabularJobConfig.ProblemType
        # and crashes with KeyError when it is omitted; AWS infers it while analysing the data.
        self.problem_type_given = self.kind != "Tabular" or "ProblemType" in self._config
        if self.kind == "Tabular":
            self.problem_type = (
                self._config.get("ProblemType")
                or rng.choices(
                    ["BinaryClassification", "Regression", "MulticlassClassification"], [5, 3, 2]
                )[0]
            )
        else:
            self.problem_type = self.kind
        requested = (auto_ml_job_objective or {}).get("MetricName")
        self.objective_metric: str = requested or _DEFAULT_METRIC[self.problem_type]
        self.objective_type = _objective_type(self.objective_metric)

        mode = str(self._config.get("Mode") or "AUTO")
        self.candidate_definitions_only = bool(self._config.get("GenerateCandidateDefinitionsOnly"))
        if self.kind != "Tabular":
            self.mode: str | None = None
        elif mode == "HYPERPARAMETER_TUNING" or self.candidate_definitions_only:
            self.mode = "HYPERPARAMETER_TUNING"
        else:
            # AUTO picks ENSEMBLING below 100 MB of data, HYPERPARAMETER_TUNING from there
            # (AWS docs, "Training modes and algorithm support"): the size of the input data
            # the simulator finds in moto's S3 decides, against a limit tests may lower.
            self.mode = (
                "HYPERPARAMETER_TUNING"
                if data_bytes >= auto_ensembling_limit_bytes
                else "ENSEMBLING"
            )
        self.data_bytes = data_bytes
        self.max_candidates_given = "MaxCandidates" in self._criteria

        deploy = model_deploy_config or {}
        self.deploy_endpoint: str | None = None
        if deploy.get("AutoGenerateEndpointName"):
            self.deploy_endpoint = f"{auto_ml_job_name}-endpoint"[:63]
        elif deploy.get("EndpointName"):
            self.deploy_endpoint = str(deploy["EndpointName"])

        self._scale = 10 ** rng.uniform(0.0, 3.0)  # target scale for RMSE/MSE/MAE
        self._base_quality = rng.uniform(0.35, 0.9)

        # ---- plan the life of the job
        self.creation_ts = _ms(now)
        phases, training_phase, final_secondary = self._phases(default_max_candidates)
        events: list[_Event] = []
        offset = 0.0
        starts: dict[str, float] = {}
        for secondary, duration in phases:
            starts[secondary] = self.creation_ts + offset
            events.append(_Event(_ms(self.creation_ts + offset), "InProgress", secondary))
            offset += duration
        self.done_ts = _ms(self.creation_ts + offset)
        events.append(_Event(self.done_ts, "Completed", final_secondary))
        analysis = "AnalyzingData" if "AnalyzingData" in starts else phases[0][0]
        self.analysis_end_ts = _ms(starts[analysis] + dict(phases)[analysis])
        self.deploy_end_ts = self.done_ts if self.deploy_endpoint else None

        self.candidates: list[_Candidate] = []
        if training_phase is not None:
            window = (starts[training_phase], starts[training_phase] + dict(phases)[training_phase])
            self.candidates = self._plan_candidates(window, default_max_candidates)

        # Planned failure (fail_rate or fail_job before creation), then the runtime limit.
        roll = rng.random()
        fail_at: float | None = None
        reason = forced_failure
        if forced_failure is not None or roll < fail_rate:
            index = min(1, len(phases) - 1) if forced_failure is not None else None
            if index is None:
                index = rng.randrange(1, len(phases)) if len(phases) > 1 else 0
            secondary = phases[index][0]
            fraction = 0.5 if forced_failure is not None else rng.uniform(0.1, 0.9)
            fail_at = _ms(starts[secondary] + fraction * phases[index][1])
            if reason is None:
                choices = _FAILURE_REASONS.get(secondary, _FAILURE_REASONS["*"])
                target = self._config.get("TargetAttributeName", "target")
                reason = rng.choice(choices).format(target=target)
        limit = self._criteria.get("MaxAutoMLJobRuntimeInSeconds")
        limit_at = _ms(self.creation_ts + float(limit)) if limit else None
        if (
            limit_at is not None
            and limit_at < self.done_ts
            and (fail_at is None or limit_at < fail_at)
        ):
            events = [e for e in events if e.time < limit_at]
            events.append(
                _Event(limit_at, "Completed", "MaxAutoMLJobRuntimeReached", cut="runtime")
            )
            self.deploy_end_ts = None
        elif fail_at is not None:
            events = [e for e in events if e.time < fail_at]
            events.append(_Event(fail_at, "Failed", "Failed", failure_reason=reason, cut="fail"))
            self.deploy_end_ts = None
        self.events = events
        self.next_event = 0

        # ---- observable state (moto attribute names, read by moto's ListAutoMLJobs)
        # moto deviation: moto creates jobs as InProgress / "Completed" with EndTime set; a
        # real job starts InProgress / Starting without EndTime (set by advance_to below).
        self._now_ts = self.creation_ts
        self._timeline: _Timeline | None = None  # set when stored in a backend
        self._created = 0
        self.auto_ml_job_status = ""
        self.auto_ml_job_secondary_status = ""
        self.creation_time = self._shown(self.creation_ts)
        self.last_modified_time = self.creation_time
        self.ended_at: datetime | None = None
        self.failure: str | None = None
        self.cut_ts: float | None = None
        self.cut_kind: str | None = None

    # ---- planning -----------------------------------------------------------------------

    def _phases(
        self, default_max_candidates: int
    ) -> tuple[list[tuple[str, float]], str | None, str]:
        r = self._rng.uniform
        minute = 60.0
        phases: list[tuple[str, float]] = [("Starting", r(1, 3) * minute)]
        training: str | None = None
        final = "Completed"
        if self.kind == "Tabular":
            if self.candidate_definitions_only:
                phases.append(("AnalyzingData", r(5, 10) * minute))
                return phases, None, "CandidateDefinitionsGenerated"
            if self.mode == "HYPERPARAMETER_TUNING":
                waves = math.ceil(self._n_candidates(default_max_candidates) / 10)
                phases += [
                    ("AnalyzingData", r(5, 10) * minute),
                    ("FeatureEngineering", r(10, 20) * minute),
                    ("ModelTuning", waves * r(4, 8) * minute),
                    ("GeneratingExplainabilityReport", r(5, 10) * minute),
                    ("GeneratingModelInsightsReport", r(3, 7) * minute),
                ]
                training = "ModelTuning"
                if self.max_candidates_given:
                    final = "MaxCandidatesReached"
            else:
                phases += [
                    ("AnalyzingData", r(3, 8) * minute),
                    ("FeatureEngineering", r(3, 7) * minute),
                    ("TrainingModels", r(10, 30) * minute),
                    ("GeneratingExplainabilityReport", r(2, 6) * minute),
                    ("GeneratingModelInsightsReport", r(2, 5) * minute),
                ]
                training = "TrainingModels"
        elif self.kind == "TimeSeriesForecasting":
            phases += [
                ("AnalyzingData", r(5, 15) * minute),
                ("TrainingModels", r(30, 90) * minute),
                ("GeneratingExplainabilityReport", r(5, 15) * minute),
            ]
            training = "TrainingModels"
        elif self.kind in ("TextClassification", "ImageClassification"):
            phases += [
                ("AnalyzingData", r(2, 5) * minute),
                ("TrainingModels", self._cap_training(r(15, 60) * minute)),
            ]
            training = "TrainingModels"
        else:  # TextGeneration: no data analysis, one fine-tuning job
            phases.append(("TrainingModels", self._cap_training(r(30, 120) * minute)))
            training = "TrainingModels"
        if self.deploy_endpoint:
            phases.append(("DeployingModel", r(5, 10) * minute))
        return [(s, float(round(d))) for s, d in phases], training, final

    def _cap_training(self, seconds: float) -> float:
        cap = self._criteria.get("MaxRuntimePerTrainingJobInSeconds")
        return min(seconds, float(cap)) if cap else seconds

    def _n_candidates(self, default_max_candidates: int) -> int:
        if self.kind != "Tabular":
            return 1  # the only supported value for every non-tabular problem type
        n = int(self._criteria.get("MaxCandidates") or default_max_candidates)
        if self.mode == "ENSEMBLING":
            n = min(n, len(self._ensembling_names()))
        return max(1, n)

    def _algorithms(self, default: list[str]) -> list[str]:
        for entry in (self._config.get("CandidateGenerationConfig") or {}).get(
            "AlgorithmsConfig"
        ) or []:
            chosen = [a for a in entry.get("AutoMLAlgorithms") or [] if a in default]
            if chosen:
                return chosen
        return default

    def _ensembling_names(self) -> list[str]:
        algos = self._algorithms(list(_ENSEMBLING_ALGORITHMS))
        names = ["WeightedEnsemble-L3-FULL", "WeightedEnsemble-L2-FULL"]
        names += [f"{_ENSEMBLING_ALGORITHMS[a]}-BAG-L1-FULL" for a in algos]
        names += [f"{_ENSEMBLING_ALGORITHMS[a]}-BAG-L2-FULL" for a in algos]
        return names

    def _plan_candidates(
        self, window: tuple[float, float], default_max_candidates: int
    ) -> list[_Candidate]:
        rng = self._rng
        t0, t1 = window
        span = t1 - t0
        n = self._n_candidates(default_max_candidates)
        out: list[_Candidate] = []
        if self.kind == "Tabular" and self.mode == "HYPERPARAMETER_TUNING":
            algos = self._algorithms(list(_HPO_ALGORITHMS))
            waves = math.ceil(n / 10)
            wave = span / waves
            for i in range(n):
                algo = algos[i % len(algos)]
                start = t0 + (i // 10) * wave + rng.uniform(0, 0.05) * wave
                end = start + rng.uniform(0.6, 0.94) * wave
                quality = self._base_quality + rng.gauss(0, 0.06) - _ALGORITHM_PENALTY[algo]
                fails = n >= 10 and i < n - 1 and rng.random() < 0.05
                tail = f"{i + 1:03d}-{rng.getrandbits(32):08x}"
                name = f"{self.auto_ml_job_name[:16]}-tuning-job-1-{self._hex}-{tail}"
                out.append(
                    self._candidate(
                        name=name,
                        start=start,
                        end=end,
                        quality=quality,
                        fails=fails,
                        algo=algo,
                        i=i,
                    )
                )
        elif self.kind == "Tabular":
            names = self._ensembling_names()[:n]
            for i, name in enumerate(names):
                if name.startswith("WeightedEnsemble"):
                    start, end = t0 + 0.5 * span, t0 + rng.uniform(0.9, 0.99) * span
                    quality = self._base_quality + (0.05 if "L3" in name else 0.035)
                else:
                    start, end = t0 + rng.uniform(0, 0.1) * span, t0 + rng.uniform(0.3, 0.85) * span
                    quality = self._base_quality + rng.gauss(-0.03, 0.04)
                out.append(
                    self._candidate(
                        name=name, start=start, end=end, quality=quality, fails=False, algo="", i=i
                    )
                )
        else:
            suffix = "ensemble" if self.kind == "TimeSeriesForecasting" else "trial"
            name = f"{self.auto_ml_job_name[:24]}-{suffix}-{rng.getrandbits(32):08x}-1"
            start, end = t0 + rng.uniform(0.0, 0.05) * span, t0 + rng.uniform(0.93, 0.99) * span
            out.append(
                self._candidate(
                    name=name,
                    start=start,
                    end=end,
                    quality=self._base_quality,
                    fails=False,
                    algo="",
                    i=0,
                )
            )
        return out

    def _candidate(
        self, *, name: str, start: float, end: float, quality: float, fails: bool, algo: str, i: int
    ) -> _Candidate:
        rng = self._rng
        quality = _clip(quality, 0.02, 0.98)
        out_root = f"{self._output_root()}/{self.auto_ml_job_name}"
        candidates_root = f"{out_root}/sagemaker-automl-candidates"
        account, region = self.account_id, self.region_name
        job = self.auto_ml_job_name.lower()
        short = f"{job[:20]}-{self._hex[:6]}"
        h = f"{rng.getrandbits(32):08x}"

        def step(kind: str, arn_type: str, step_name: str) -> dict[str, str]:
            return {
                "CandidateStepType": f"AWS::SageMaker::{kind}",
                "CandidateStepArn": arn_formatter(arn_type, step_name, account, region),
                "CandidateStepName": step_name,
            }

        builtin = _registry_account(region)
        sklearn = _image(builtin, region, "sagemaker-sklearn-automl:2.5-1-cpu-py3")
        classification = self.problem_type in (
            "BinaryClassification",
            "MulticlassClassification",
            "TextClassification",
            "ImageClassification",
        )
        supported = "predicted_label,probability,probabilities,labels"
        containers: list[dict[str, Any]] = []
        definitions: dict[str, list[dict[str, Any]]] | None = None
        locations: dict[str, str] = {
            "Explainability": f"{out_root}/documentation/explainability/output",
            "ModelInsights": f"{out_root}/documentation/model_monitor/output",
        }
        if self.kind == "Tabular" and self.mode == "HYPERPARAMETER_TUNING":
            dpp = f"{short}-dpp{i % 3}"
            dpp_url = f"{out_root}/data-processor-models/{dpp}-1-{h}/output/{_MODEL_TAR}"
            steps = [
                step("ProcessingJob", "processing-job", f"{short}-db-1-{self._hex[:8]}"),
                step("TrainingJob", "training-job", f"{dpp}-1-{h}"),
                step("TransformJob", "transform-job", f"{dpp}-csv-1-{h}"),
                step("TrainingJob", "training-job", name[:63].lower()),
            ]
            algo_image = {
                "xgboost": _image(builtin, region, "sagemaker-xgboost:1.7-1"),
                "linear-learner": _image(builtin, region, "linear-learner:1"),
                "mlp": _image(_DLC_REGISTRY, region, "pytorch-inference:2.1-cpu-py310"),
            }[algo]
            containers.append(
                {
                    "Image": sklearn,
                    "ModelDataUrl": dpp_url,
                    "Environment": {
                        "AUTOML_TRANSFORM_MODE": "feature-transform",
                        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/x-recordio-protobuf",
                        "SAGEMAKER_PROGRAM": "sagemaker_serve",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                    },
                }
            )
            algo_env = {
                "MAX_CONTENT_LENGTH": "20971520",
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            }
            if classification:
                algo_env["SAGEMAKER_INFERENCE_OUTPUT"] = "predicted_label"
                algo_env["SAGEMAKER_INFERENCE_SUPPORTED"] = (
                    "predicted_label,probability,probabilities"
                )
            containers.append(
                {
                    "Image": algo_image,
                    "ModelDataUrl": f"{out_root}/tuning/{dpp}-{algo}/{name}/output/model.tar.gz",
                    "Environment": algo_env,
                }
            )
            if classification:
                containers.append(
                    {
                        "Image": sklearn,
                        "ModelDataUrl": dpp_url,
                        "Environment": {
                            "AUTOML_TRANSFORM_MODE": "inverse-label-transform",
                            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                            "SAGEMAKER_INFERENCE_INPUT": "predicted_label",
                            "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                            "SAGEMAKER_INFERENCE_SUPPORTED": supported,
                            "SAGEMAKER_PROGRAM": "sagemaker_serve",
                            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                        },
                    }
                )
        elif self.kind == "Tabular":
            steps = [
                step("ProcessingJob", "processing-job", f"{short}-db-1-{self._hex[:8]}"),
                step("TrainingJob", "training-job", f"{short}-t{i + 1}-{h}"),
            ]
            env = {
                "MODEL_NAME": name,
                "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                "SAGEMAKER_PROGRAM": "tabular_serve.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            }
            if classification:
                env["SAGEMAKER_INFERENCE_OUTPUT"] = "predicted_label"
                env["SAGEMAKER_INFERENCE_SUPPORTED"] = supported
            containers.append(
                {
                    "Image": _image(
                        _DLC_REGISTRY, region, "autogluon-inference:0.4.3-cpu-py38-ubuntu20.04"
                    ),
                    "ModelDataUrl": f"{candidates_root}/model/{name}/{_MODEL_TAR}",
                    "Environment": env,
                }
            )
        else:
            steps = [
                step("ProcessingJob", "processing-job", f"{short}-db-1-{self._hex[:8]}"),
                step("TrainingJob", "training-job", f"{short}-t1-{h}"),
            ]
            model_url = f"{candidates_root}/{name}/output/{_MODEL_TAR}"
            if self.kind == "TimeSeriesForecasting":
                locations["BacktestResults"] = f"{out_root}/backtest_results/{name}/"
                containers.append(
                    {
                        "Image": _image(
                            builtin, region, "sagemaker-forecasting-inference:1.0-cpu-py3"
                        ),
                        "ModelDataUrl": model_url,
                        "Environment": {"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
                    }
                )
            elif self.kind == "TextGeneration":
                locations = {}
                base_model = self._config.get("BaseModelName") or _TEXT_GENERATION_DEFAULT_MODEL
                containers.append(
                    {
                        "Image": _image(
                            _DLC_REGISTRY,
                            region,
                            "huggingface-pytorch-tgi-inference:2.1.1-tgi1.4.0-gpu-py310-cu121-ubuntu22.04",
                        ),
                        "ModelDataUrl": model_url,
                        "Environment": {
                            "HF_MODEL_ID": "/opt/ml/model",
                            "SM_NUM_GPUS": "1",
                            "MAX_INPUT_LENGTH": "2048",
                            "MAX_TOTAL_TOKENS": "4096",
                            "AUTOML_BASE_MODEL": str(base_model),
                        },
                    }
                )
            else:  # text / image classification: CPU and GPU inference definitions
                framework = (
                    "huggingface-pytorch-inference:2.1-transformers4.37-{}-py310-ubuntu22.04"
                    if self.kind == "TextClassification"
                    else "pytorch-inference:2.1-{}-py310"
                )
                env = {
                    "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                    "SAGEMAKER_INFERENCE_SUPPORTED": supported,
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                }
                definitions = {
                    unit: [
                        {
                            "Image": _image(_DLC_REGISTRY, region, framework.format(unit.lower())),
                            "ModelDataUrl": model_url,
                            "Environment": dict(env),
                        }
                    ]
                    for unit in ("CPU", "GPU")
                }
                containers = [dict(c) for c in definitions["CPU"]]
        cand = _Candidate(
            name,
            _ms(start),
            _ms(end),
            quality,
            fails,
            steps,
            containers,
            definitions,
            locations or None,
        )
        cand.value = _metric_value(self.objective_metric, quality, self._scale)
        names = [self.objective_metric] + [
            m for m in _CANDIDATE_METRICS[self.problem_type] if m != self.objective_metric
        ]
        for metric in names:
            q = quality if metric == self.objective_metric else quality + rng.gauss(0, 0.02)
            datum: dict[str, Any] = {
                "MetricName": metric,
                "Value": cand.value
                if metric == self.objective_metric
                else _metric_value(metric, q, self._scale),
                "Set": "Train" if metric == "TrainingLoss" else "Validation",
                "StandardMetricName": metric,
            }
            cand.metrics.append(datum)
        return cand

    # ---- time -----------------------------------------------------------------------------

    def _shown(self, t: float) -> datetime:
        # To the millisecond, as the API shows times (a finer one would pass a filter that
        # names the time the API showed).
        return _naive(_ms(self._wall(t)))

    def advance_to(self, t: float) -> list[tuple[_Event, str | None, str | None]]:
        """Apply the events due by ``t``; return (event, previous status, previous secondary)."""
        applied: list[tuple[_Event, str | None, str | None]] = []
        while self.next_event < len(self.events) and self.events[self.next_event].time <= t:
            event = self.events[self.next_event]
            self.next_event += 1
            previous = (self.auto_ml_job_status or None, self.auto_ml_job_secondary_status or None)
            self.auto_ml_job_status = event.status
            self.auto_ml_job_secondary_status = event.secondary
            self.last_modified_time = self._shown(event.time)
            if event.cut is not None:
                self.cut_ts, self.cut_kind = event.time, event.cut
            if event.status in _TERMINAL:
                self.ended_at = self._shown(event.time)
            if event.failure_reason is not None:
                self.failure = event.failure_reason
            applied.append((event, previous[0], previous[1]))
        self._now_ts = max(self._now_ts, t)
        return applied

    @property
    def now_ts(self) -> float:
        """The simulated time the job was last seen at: its backend's latest tick (which
        every job of the backend saw, due or not), or a later time it was advanced to."""
        if self._timeline is None:
            return self._now_ts
        return max(self._now_ts, self._timeline.ticked)

    def _output_root(self) -> str:
        return str(self.output_data_config.get("S3OutputPath", "")).rstrip("/")

    def next_event_time(self) -> float | None:
        if self.next_event < len(self.events):
            return self.events[self.next_event].time
        return None

    @property
    def active(self) -> bool:
        return self.auto_ml_job_status in _ACTIVE

    def replace_future(self, events: list[_Event]) -> None:
        self.events = self.events[: self.next_event] + events
        self.deploy_end_ts = None

    # ---- views ----------------------------------------------------------------------------

    def candidate_views(self) -> list[dict[str, Any]]:
        """The candidates as ListCandidatesForAutoMLJob shows them at the current time."""
        now, cut = self.now_ts, self.cut_ts
        views: list[dict[str, Any]] = []
        for c in self.candidates:
            if c.start > now or (cut is not None and c.start >= cut):
                continue
            view: dict[str, Any] = {
                "CandidateName": c.name,
                "CandidateSteps": c.steps,
                "CreationTime": self._shown(c.start),
            }
            if c.end <= now and (cut is None or c.end <= cut):
                ended = c.end
                if c.fails:
                    view["CandidateStatus"] = "Failed"
                    view["ObjectiveStatus"] = "Failed"
                    view["FailureReason"] = (
                        "AlgorithmError: training job exited with a non-zero status (137): "
                        "out of memory. Check the training job logs."
                    )
                else:
                    view["CandidateStatus"] = "Completed"
                    view["ObjectiveStatus"] = "Succeeded"
                    view["FinalAutoMLJobObjectiveMetric"] = {
                        "Type": self.objective_type,
                        "MetricName": self.objective_metric,
                        "Value": c.value,
                        "StandardMetricName": self.objective_metric,
                    }
                    view["InferenceContainers"] = c.containers
                    if c.container_definitions is not None:
                        view["InferenceContainerDefinitions"] = c.container_definitions
                    props: dict[str, Any] = {"CandidateMetrics": c.metrics}
                    if c.artifact_locations is not None:
                        props["CandidateArtifactLocations"] = c.artifact_locations
                    view["CandidateProperties"] = props
            elif cut is not None:
                ended = cut
                view["ObjectiveStatus"] = "Failed" if self.cut_kind == "fail" else "Pending"
                if self.cut_kind == "fail":
                    view["CandidateStatus"] = "Failed"
                    view["FailureReason"] = "The AutoML job failed before the candidate finished."
                elif self.auto_ml_job_status == "Stopping":
                    view["CandidateStatus"] = "Stopping"
                else:
                    view["CandidateStatus"] = "Stopped"
            else:
                ended = c.start
                view["CandidateStatus"] = "InProgress"
                view["ObjectiveStatus"] = "Pending"
            view["LastModifiedTime"] = self._shown(ended)
            if view["CandidateStatus"] not in ("InProgress", "Stopping"):
                view["EndTime"] = self._shown(ended)
            views.append(view)
        return views

    def best(self) -> dict[str, Any] | None:
        # moto deviation: moto returns the same placeholder BestCandidate (Image "string",
        # Accuracy 123, FailureReason "string") on every job in every state. Real behaviour:
        # the best completed candidate by the objective, absent on Failed jobs, on jobs stopped
        # (or out of runtime) before any candidate finished and on candidate-definitions-only
        # jobs -- callers must not assume it.
        if self.auto_ml_job_status not in ("Completed", "Stopped"):
            return None
        done = [v for v in self.candidate_views() if v["CandidateStatus"] == "Completed"]
        if not done:
            return None
        sign = 1.0 if self.objective_type == "Maximize" else -1.0
        return max(done, key=lambda v: sign * v["FinalAutoMLJobObjectiveMetric"]["Value"])

    def _resolved_attributes(self) -> dict[str, Any]:
        criteria = {
            "MaxCandidates": len(self.candidates) or int(self._criteria.get("MaxCandidates") or 1),
            "MaxRuntimePerTrainingJobInSeconds": int(
                self._criteria.get("MaxRuntimePerTrainingJobInSeconds")
                or (
                    _TEXT_GENERATION_MAX_RUNTIME_PER_TRAINING_JOB
                    if self.kind == "TextGeneration"
                    else _DEFAULT_MAX_RUNTIME_PER_TRAINING_JOB
                )
            ),
            "MaxAutoMLJobRuntimeInSeconds": int(
                self._criteria.get("MaxAutoMLJobRuntimeInSeconds") or _DEFAULT_MAX_JOB_RUNTIME
            ),
        }
        resolved: dict[str, Any] = {"CompletionCriteria": criteria}
        if self.kind == "Tabular":
            if self.problem_type_known:
                resolved["AutoMLJobObjective"] = {"MetricName": self.objective_metric}
                # moto deviation: moto writes "TabularProblemType"; the API member is
                # "ProblemType" (moto's serializer silently drops the unknown key).
                resolved["AutoMLProblemTypeResolvedAttributes"] = {
                    "TabularResolvedAttributes": {"ProblemType": self.problem_type}
                }
        elif self.kind == "TextGeneration":
            # moto deviation: moto reports BaseModelName "string".
            base = self._config.get("BaseModelName") or _TEXT_GENERATION_DEFAULT_MODEL
            resolved["AutoMLProblemTypeResolvedAttributes"] = {
                "TextGenerationResolvedAttributes": {"BaseModelName": base}
            }
        else:
            resolved["AutoMLJobObjective"] = {"MetricName": self.objective_metric}
        return resolved

    @property
    def problem_type_known(self) -> bool:
        return self.problem_type_given or self.now_ts >= self.analysis_end_ts

    def _artifacts(self) -> dict[str, str] | None:
        if self.kind != "Tabular" or self.now_ts < self.analysis_end_ts:
            return None
        if self.cut_ts is not None and self.cut_ts < self.analysis_end_ts:
            return None
        base = (
            f"{self._output_root()}/"
            f"{self.auto_ml_job_name}/sagemaker-automl-candidates/"
            f"{self.auto_ml_job_name[:20]}-pr-1-{self._hex}/notebooks"
        )
        artifacts = {
            "DataExplorationNotebookLocation": f"{base}/{_NOTEBOOK}DataExplorationNotebook.ipynb"
        }
        if self.mode == "HYPERPARAMETER_TUNING":
            artifacts["CandidateDefinitionNotebookLocation"] = (
                f"{base}/{_NOTEBOOK}CandidateDefinitionNotebook.ipynb"
            )
        return artifacts

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "AutoMLJobName": self.auto_ml_job_name,
            "AutoMLJobArn": self.arn,
            "AutoMLJobInputDataConfig": self.auto_ml_job_input_data_config,
            "OutputDataConfig": self.output_data_config,
            "RoleArn": self.role_arn,
            "AutoMLProblemTypeConfig": self.auto_ml_problem_type_config,
            "AutoMLProblemTypeConfigName": self.auto_ml_problem_type_config_name,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "AutoMLJobStatus": self.auto_ml_job_status,
            "AutoMLJobSecondaryStatus": self.auto_ml_job_secondary_status,
            "ResolvedAttributes": self._resolved_attributes(),
        }
        if self.auto_ml_job_objective:
            d["AutoMLJobObjective"] = self.auto_ml_job_objective
        elif self.kind != "TextGeneration" and self.problem_type_known:
            d["AutoMLJobObjective"] = {"MetricName": self.objective_metric}
        # moto deviation: moto sets EndTime at creation and FailureReason "" on every job;
        # AWS sets EndTime on terminal states and FailureReason on failures only.
        if self.ended_at is not None:
            d["EndTime"] = self.ended_at
        if self.failure:
            d["FailureReason"] = self.failure
        partial = self._partial_failures()
        if partial:
            d["PartialFailureReasons"] = partial
        best = self.best()
        if best is not None:
            d["BestCandidate"] = best
        artifacts = self._artifacts()
        if artifacts:
            d["AutoMLJobArtifacts"] = artifacts
        optional = {
            "ModelDeployConfig": self.deploy_config,
            "DataSplitConfig": self.split_config,
            "SecurityConfig": self.security_config,
            "AutoMLComputeConfig": self.auto_ml_compute_config,
        }
        d.update({k: v for k, v in optional.items() if v})
        if self.deploy_end_ts is not None and self.now_ts >= self.deploy_end_ts:
            d["ModelDeployResult"] = {"EndpointName": self.deploy_endpoint}
        return d

    def _partial_failures(self) -> list[dict[str, str]]:
        failed = [v for v in self.candidate_views() if v["CandidateStatus"] == "Failed"]
        if not failed or self.cut_kind == "fail":
            return []
        return [
            {
                "PartialFailureMessage": f"{len(failed)} of {len(self.candidates)} candidate "
                "training jobs failed. See ListCandidatesForAutoMLJob for the reasons."
            }
        ]

    def summary(self) -> dict[str, Any]:
        s: dict[str, Any] = {
            "AutoMLJobName": self.auto_ml_job_name,
            "AutoMLJobArn": self.arn,
            "AutoMLJobStatus": self.auto_ml_job_status,
            "AutoMLJobSecondaryStatus": self.auto_ml_job_secondary_status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.ended_at is not None:
            s["EndTime"] = self.ended_at
        if self.failure:
            s["FailureReason"] = self.failure
        partial = self._partial_failures()
        if partial:
            s["PartialFailureReasons"] = partial
        return s

    def planned(self) -> list[tuple[float, str, str]]:
        return [(round(e.time - self.creation_ts, 3), e.status, e.secondary) for e in self.events]


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------

_INSTALLED: list[AutopilotSimulator] = []  # at most one


class AutopilotSimulator:
    """Drives moto's AutoML jobs through realistic lives. See the module docstring."""

    def __init__(
        self,
        clock: Clock | Callable[[], float] | None = None,
        seed: int = 0,
        *,
        default_max_candidates: int = 5,
        quota: int | None = None,
        fail_rate: float = 0.0,
        throttle_rate: float = 0.0,
        throttle_operations: Iterable[str] | None = None,
        stop_delay: tuple[float, float] = (30.0, 90.0),
        auto_ensembling_limit_bytes: int = AUTO_ENSEMBLING_LIMIT_BYTES,
    ) -> None:
        if clock is None:
            self.clock: Clock = ManualClock()
        elif isinstance(clock, Clock):
            self.clock = clock
        elif callable(clock):
            self.clock = _CallableClock(clock)
        else:
            raise TypeError("clock must have time() or be a callable returning epoch seconds")
        self.seed = seed
        self.default_max_candidates = default_max_candidates
        self.quota = quota
        self.fail_rate = fail_rate
        self.throttle_rate = throttle_rate
        self.throttle_operations: set[str] | None = (
            None if throttle_operations is None else set(throttle_operations)
        )
        self.stop_delay = stop_delay
        self.auto_ensembling_limit_bytes = auto_ensembling_limit_bytes
        self.calls: Counter[str] = Counter()
        self._calls_by_thread: dict[int, int] = {}
        self.throttled: Counter[str] = Counter()
        self.transitions: list[Transition] = []
        self._throttle_queue: dict[str | None, int] = {}
        self._pending_failures: dict[str, str | None] = {}
        self._fault_rng = random.Random(f"faults:{seed}")  # noqa: S311
        self._lock = threading.RLock()
        self._patches = ClassPatches()

    # ---- installation ---------------------------------------------------------------------

    @property
    def installed(self) -> bool:
        return bool(self._patches)

    def install(self) -> Self:
        if self.installed:
            return self
        if _INSTALLED:
            raise RuntimeError("another AutopilotSimulator is installed; uninstall it first")
        sim = self

        def create_auto_ml_job_v2(
            backend: SageMakerModelBackend,
            *,
            auto_ml_job_name: str,
            auto_ml_job_input_data_config: list[dict[str, Any]],
            output_data_config: dict[str, Any],
            auto_ml_problem_type_config: dict[str, Any],
            role_arn: str,
            tags: list[dict[str, str]] | None,
            security_config: dict[str, Any] | None,
            auto_ml_job_objective: dict[str, Any] | None,
            model_deploy_config: dict[str, Any] | None,
            data_split_config: dict[str, Any] | None,
            auto_ml_compute_config: dict[str, Any] | None = None,
        ) -> str:
            return sim._create(
                backend,
                auto_ml_job_name=auto_ml_job_name,
                auto_ml_job_input_data_config=auto_ml_job_input_data_config,
                output_data_config=output_data_config,
                auto_ml_problem_type_config=auto_ml_problem_type_config,
                role_arn=role_arn,
                tags=tags,
                security_config=security_config,
                auto_ml_job_objective=auto_ml_job_objective,
                model_deploy_config=model_deploy_config,
                data_split_config=data_split_config,
                auto_ml_compute_config=auto_ml_compute_config,
            )

        def describe_auto_ml_job_v2(
            backend: SageMakerModelBackend, auto_ml_job_name: str
        ) -> dict[str, Any]:
            with sim._lock:
                sim._tick_backend(backend)
                return sim._find(backend, auto_ml_job_name).describe()

        original_list = SageMakerModelBackend.list_auto_ml_jobs

        def list_auto_ml_jobs(backend: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
            with sim._lock:
                sim._tick_backend(backend)
                return original_list(backend, *args, **kwargs)

        def stop_auto_ml_job(backend: SageMakerModelBackend, auto_ml_job_name: str) -> None:
            sim._stop(backend, auto_ml_job_name)

        def list_candidates_for_auto_ml_job(
            backend: SageMakerModelBackend,
            *,
            auto_ml_job_name: str,
            status_equals: str | None = None,
            candidate_name_equals: str | None = None,
            sort_order: str | None = None,
            sort_by: str | None = None,
            max_results: int | None = None,
            next_token: str | None = None,
        ) -> tuple[list[dict[str, Any]], str | None]:
            return sim._list_candidates(
                backend,
                auto_ml_job_name,
                status_equals=status_equals,
                candidate_name_equals=candidate_name_equals,
                sort_order=sort_order,
                sort_by=sort_by,
                max_results=max_results,
                next_token=next_token,
            )

        original_call_action = SageMakerResponse.call_action

        def call_action(response: SageMakerResponse) -> Any:
            action = response._get_action() or ""
            if sim._count_and_check_throttle(action):
                return _error_response(response, ThrottlingException("Rate exceeded"))
            return original_call_action(response)

        def response_create(response: SageMakerResponse) -> ActionResult:
            # moto deviation: moto's handler drops AutoMLComputeConfig.
            arn = create_auto_ml_job_v2(
                response.sagemaker_backend,
                auto_ml_job_name=response._get_param("AutoMLJobName"),
                auto_ml_job_input_data_config=response._get_param("AutoMLJobInputDataConfig"),
                output_data_config=response._get_param("OutputDataConfig"),
                auto_ml_problem_type_config=response._get_param("AutoMLProblemTypeConfig"),
                role_arn=response._get_param("RoleArn"),
                tags=response._get_param("Tags"),
                security_config=response._get_param("SecurityConfig"),
                auto_ml_job_objective=response._get_param("AutoMLJobObjective"),
                model_deploy_config=response._get_param("ModelDeployConfig"),
                data_split_config=response._get_param("DataSplitConfig"),
                auto_ml_compute_config=response._get_param("AutoMLComputeConfig"),
            )
            return ActionResult({"AutoMLJobArn": arn})

        def response_list_candidates(response: SageMakerResponse) -> ActionResult:
            # moto gap: ListCandidatesForAutoMLJob is not implemented at all.
            candidates, token = list_candidates_for_auto_ml_job(
                response.sagemaker_backend,
                auto_ml_job_name=response._get_param("AutoMLJobName"),
                status_equals=response._get_param("StatusEquals"),
                candidate_name_equals=response._get_param("CandidateNameEquals"),
                sort_order=response._get_param("SortOrder"),
                sort_by=response._get_param("SortBy"),
                max_results=response._get_param("MaxResults"),
                next_token=response._get_param("NextToken"),
            )
            result: dict[str, Any] = {"Candidates": candidates}
            if token:
                result["NextToken"] = token
            return ActionResult(result)

        self._patch(SageMakerModelBackend, "create_auto_ml_job_v2", create_auto_ml_job_v2)
        self._patch(SageMakerModelBackend, "describe_auto_ml_job_v2", describe_auto_ml_job_v2)
        self._patch(SageMakerModelBackend, "list_auto_ml_jobs", list_auto_ml_jobs)
        self._patch(SageMakerModelBackend, "stop_auto_ml_job", stop_auto_ml_job)
        self._patch(
            SageMakerModelBackend,
            "list_candidates_for_auto_ml_job",
            list_candidates_for_auto_ml_job,
        )
        self._patch(SageMakerResponse, "call_action", call_action)
        self._patch(SageMakerResponse, "create_auto_ml_job_v2", response_create)
        self._patch(SageMakerResponse, "list_candidates_for_auto_ml_job", response_list_candidates)
        _INSTALLED.append(self)
        return self

    def _patch(self, owner: type, name: str, replacement: Any) -> None:
        self._patches.patch(owner, name, replacement)

    def uninstall(self) -> None:
        self._patches.restore()
        if self in _INSTALLED:
            _INSTALLED.remove(self)

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # ---- time -----------------------------------------------------------------------------

    def now(self) -> datetime:
        return _aware(self.clock.time())

    def tick(self) -> list[Transition]:
        with self._lock:
            out: list[Transition] = []
            for backend in self._backends():
                out += self._tick_backend(backend)
            return out

    def advance(self, seconds: float) -> list[Transition]:
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError(f"{type(self.clock).__name__} cannot be advanced")
        advance(seconds)
        return self.tick()

    def next_event_time(self) -> float | None:
        with self._lock:
            self.tick()
            times = [
                t
                for backend in self._backends()
                if (t := _Timeline.of(backend).next_time()) is not None
            ]
            return min(times) if times else None

    def seconds_until_next_event(self) -> float | None:
        t = self.next_event_time()
        if t is None:
            return None
        # Whole milliseconds, rounded up and at least 1 ms, so that advancing the clock by
        # this much always reaches the event (a clock off the millisecond grid must not spin).
        return max(0.001, math.ceil((t - self.clock.time()) * 1000 - 1e-6) / 1000)

    def run_until_idle(self, max_seconds: float = 30 * 86400.0) -> list[Transition]:
        deadline = self.clock.time() + max_seconds
        out: list[Transition] = []
        while True:
            dt = self.seconds_until_next_event()
            if dt is None or self.clock.time() + dt > deadline:
                return out
            out += self.advance(dt)

    # ---- fault injection ------------------------------------------------------------------

    def throttle_next(self, n: int = 1, operation: str | None = "CreateAutoMLJobV2") -> None:
        with self._lock:
            self._throttle_queue[operation] = self._throttle_queue.get(operation, 0) + n

    def fail_job(self, name: str, reason: str | None = None) -> None:
        reason = reason or "AlgorithmError: All training jobs failed. Check the training job logs."
        with self._lock:
            self.tick()
            jobs = [j for j in self._jobs() if j.auto_ml_job_name.lower() == name.lower()]
            if not jobs:
                self._pending_failures[name.lower()] = reason
                return
            now = _ms(self.clock.time())
            for job in jobs:
                if not job.active:
                    raise ValueError(
                        f"job {job.auto_ml_job_name} is already {job.auto_ml_job_status}"
                    )
                job.replace_future(
                    [_Event(now, "Failed", "Failed", failure_reason=reason, cut="fail")]
                )
                self._advance(job, now)

    def clear_faults(self) -> None:
        with self._lock:
            self._throttle_queue.clear()
            self._pending_failures.clear()
            self.throttle_rate = 0.0
            self.fail_rate = 0.0
            self.quota = None

    # ---- introspection --------------------------------------------------------------------

    def job(
        self, name: str, account_id: str | None = None, region_name: str | None = None
    ) -> SimulatedAutoMLJob:
        with self._lock:
            self.tick()
            for job in self._jobs():
                if job.auto_ml_job_name.lower() != name.lower():
                    continue
                if account_id not in (None, job.account_id):
                    continue
                if region_name not in (None, job.region_name):
                    continue
                return job
        raise KeyError(name)

    def history(self, name: str) -> list[tuple[str, str]]:
        with self._lock:
            self.tick()
            return [
                (t.status, t.secondary_status)
                for t in self.transitions
                if t.job_name.lower() == name.lower()
            ]

    def plan(self, name: str) -> list[tuple[float, str, str]]:
        return self.job(name).planned()

    # ---- internals ------------------------------------------------------------------------

    @staticmethod
    def _backends() -> list[SageMakerModelBackend]:
        out: list[SageMakerModelBackend] = []
        for account_id in list(sagemaker_backends.keys()):
            regions = sagemaker_backends[account_id]
            out += [regions[r] for r in list(regions.keys())]
        return out

    def _jobs(self) -> list[SimulatedAutoMLJob]:
        return [
            job
            for backend in self._backends()
            for job in list(getattr(backend, "auto_ml_jobs", {}).values())
            if isinstance(job, SimulatedAutoMLJob)
        ]

    def _tick_backend(self, backend: SageMakerModelBackend) -> list[Transition]:
        now = self.clock.time()
        out: list[Transition] = []
        for job in _Timeline.of(backend).due(now):
            out += self._advance(job, now)
        return out

    def _advance(self, job: SimulatedAutoMLJob, t: float) -> list[Transition]:
        """Apply the job's events due by ``t``, record them, and put the job back in its
        backend's timeline at its next event."""
        out = self._record(job, job.advance_to(t))
        if job._timeline is not None:
            job._timeline.schedule(job)
        return out

    def _record(
        self, job: SimulatedAutoMLJob, applied: list[tuple[_Event, str | None, str | None]]
    ) -> list[Transition]:
        out = [
            Transition(
                job_name=job.auto_ml_job_name,
                account_id=job.account_id,
                region_name=job.region_name,
                time=_aware(event.time),
                status=event.status,
                secondary_status=event.secondary,
                previous_status=prev_status,
                previous_secondary_status=prev_secondary,
                failure_reason=event.failure_reason,
            )
            for event, prev_status, prev_secondary in applied
        ]
        self.transitions += out
        return out

    @staticmethod
    def _find(backend: SageMakerModelBackend, name: str) -> AutoMLJob:
        """The job (simulated, or a plain moto one created before ``install``)."""
        # Names are case-insensitive on AWS (unique per account regardless of case), so a
        # lookup in another case finds the job too.
        job = backend.auto_ml_jobs.get(name)
        if job is None:
            job = next(
                (j for n, j in backend.auto_ml_jobs.items() if n.lower() == name.lower()), None
            )
        if job is None:
            raise ResourceNotFound(f"Could not find AutoML job with name {name}.")
        return job

    def calls_from(self, thread_id: int) -> int:
        with self._lock:
            return self._calls_by_thread.get(thread_id, 0)

    def _count_and_check_throttle(self, action: str) -> bool:
        with self._lock:
            self.calls[action] += 1
            caller = threading.get_ident()
            self._calls_by_thread[caller] = self._calls_by_thread.get(caller, 0) + 1
            throttle = False
            for key in (action, None):
                if self._throttle_queue.get(key, 0) > 0:
                    self._throttle_queue[key] -= 1
                    throttle = True
                    break
            if (
                not throttle
                and self.throttle_rate > 0
                and (self.throttle_operations is None or action in self.throttle_operations)
            ):
                throttle = self._fault_rng.random() < self.throttle_rate
            if throttle:
                self.throttled[action] += 1
            return throttle

    def _create(self, backend: SageMakerModelBackend, **kwargs: Any) -> str:
        name: str = kwargs["auto_ml_job_name"]
        problem = kwargs["auto_ml_problem_type_config"] or {}
        with self._lock:
            self._tick_backend(backend)
            # moto deviation: moto only rejects the exact same name. AWS: "The name must be
            # unique to your account and is case insensitive" -- `Churn` after `churn` fails.
            for existing in backend.auto_ml_jobs:
                if existing.lower() == name.lower():
                    raise ResourceInUseException(
                        message=f"Resource Already Exists: Auto ML Job with name {existing} "
                        "already exists. Choose a different name."
                    )
            keys = [k for k in _PROBLEM_CONFIG_KEYS if k in problem]
            if len(keys) != 1:
                raise ValidationError(
                    message="AutoMLProblemTypeConfig must set exactly one of "
                    + ", ".join(_PROBLEM_CONFIG_KEYS)
                )
            deploy = kwargs["model_deploy_config"] or {}
            # moto deviation: moto reads ModelDeployConfig["EndpointName"] and crashes with
            # KeyError when AutoGenerateEndpointName is true (the valid way to omit it). The
            # 400 for giving both, and for neither, is what AWS documents.
            if deploy.get("AutoGenerateEndpointName") and deploy.get("EndpointName"):
                raise ValidationError(
                    message="Validation Error: An EndpointName cannot be provided while "
                    "AutoGenerateEndpoint name is True."
                )
            if (
                deploy
                and not deploy.get("AutoGenerateEndpointName")
                and not deploy.get("EndpointName")
            ):
                raise ValidationError(
                    message="Validation Error: EndpointName must be provided when "
                    "AutoGenerateEndpointName is False."
                )
            if self.quota is not None:
                running = sum(
                    1
                    for j in backend.auto_ml_jobs.values()
                    if isinstance(j, SimulatedAutoMLJob) and j.active
                )
                if running >= self.quota:
                    raise ResourceLimitExceeded(
                        "The account-level service limit 'Maximum number of concurrent AutoML "
                        f"jobs' is {self.quota} AutoML Jobs, with current utilization of "
                        f"{running} AutoML Jobs and a request delta of 1 AutoML Jobs. Please "
                        "use AWS Service Quotas to request an increase for this quota. If AWS "
                        "Service Quotas is not available, contact AWS support to request an "
                        "increase for this quota."
                    )
            # Only a tabular AUTO job needs the size of its data (the mode depends on it).
            tabular = problem.get("TabularJobConfig")
            data_bytes = (
                _input_bytes(
                    backend.account_id,
                    backend.region_name,
                    kwargs["auto_ml_job_input_data_config"],
                )
                if isinstance(tabular, dict) and tabular.get("Mode", "AUTO") == "AUTO"
                else 0
            )
            job = SimulatedAutoMLJob(
                now=self.clock.time(),
                seed=self.seed,
                region_name=backend.region_name,
                account_id=backend.account_id,
                default_max_candidates=self.default_max_candidates,
                fail_rate=self.fail_rate,
                forced_failure=self._pending_failures.pop(name.lower(), None),
                data_bytes=data_bytes,
                auto_ensembling_limit_bytes=self.auto_ensembling_limit_bytes,
                wall=getattr(self.clock, "wall", None),
                **kwargs,
            )
            backend.auto_ml_jobs[name] = job
            _Timeline.of(backend).attach(job)
            self._advance(job, job.creation_ts)
            return job.arn

    def _stop(self, backend: SageMakerModelBackend, name: str) -> None:
        with self._lock:
            self._tick_backend(backend)
            job = self._find(backend, name)
            if not isinstance(job, SimulatedAutoMLJob):  # created before install: moto's way
                job.auto_ml_job_status = job.auto_ml_job_secondary_status = "Stopped"
                return
            if job.auto_ml_job_status == "Stopping":
                return
            if not job.active:
                # Assumed AWS behaviour (not documented): stopping a finished job is refused.
                raise ValidationError(
                    message=f"AutoML job {job.auto_ml_job_name} is in status "
                    f"{job.auto_ml_job_status} and cannot be stopped."
                )
            # moto deviation: moto jumps to Stopped at once and leaves LastModifiedTime alone;
            # AWS goes InProgress -> Stopping -> Stopped.
            now = _ms(self.clock.time())
            delay = job._rng.uniform(*self.stop_delay)
            job.replace_future(
                [
                    _Event(now, "Stopping", "Stopping", cut="stop"),
                    _Event(_ms(now + delay), "Stopped", "Stopped"),
                ]
            )
            self._advance(job, now)

    def _list_candidates(
        self,
        backend: SageMakerModelBackend,
        name: str,
        *,
        status_equals: str | None,
        candidate_name_equals: str | None,
        sort_order: str | None,
        sort_by: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        with self._lock:
            self._tick_backend(backend)
            job = self._find(backend, name)
            views = job.candidate_views() if isinstance(job, SimulatedAutoMLJob) else []
        if status_equals:
            views = [v for v in views if v["CandidateStatus"] == status_equals]
        if candidate_name_equals:
            views = [v for v in views if v["CandidateName"] == candidate_name_equals]
        descending = sort_order == "Descending"  # the API's default order is Ascending
        if sort_by == "FinalObjectiveMetricValue":
            # Sorted by the raw value; candidates without one (running, failed) come last.
            scored = [v for v in views if "FinalAutoMLJobObjectiveMetric" in v]
            unscored = [v for v in views if "FinalAutoMLJobObjectiveMetric" not in v]
            scored.sort(
                key=lambda v: (v["FinalAutoMLJobObjectiveMetric"]["Value"], v["CandidateName"]),
                reverse=descending,
            )
            views = scored + unscored
        elif sort_by == "Status":
            views.sort(key=lambda v: (v["CandidateStatus"], v["CandidateName"]), reverse=descending)
        else:  # CreationTime (also when SortBy is omitted)
            views.sort(key=lambda v: (v["CreationTime"], v["CandidateName"]), reverse=descending)
        limit = int(max_results or 10)
        start = _decode_token(next_token, job.auto_ml_job_name) if next_token else 0
        page = views[start : start + limit]
        more = start + limit < len(views)
        return page, _encode_token(job.auto_ml_job_name, start + limit) if more else None


def _encode_token(job_name: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{job_name.lower()}:{offset}".encode()).decode()


def _decode_token(token: str, job_name: str) -> int:
    try:
        name, _, offset = base64.urlsafe_b64decode(token.encode()).decode().rpartition(":")
        if name == job_name.lower():
            return int(offset)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        pass
    raise ValidationError(message="Invalid pagination token (NextToken).")


def _error_response(response: SageMakerResponse, error: ServiceException) -> Any:
    """Serialise ``error`` exactly as moto serialises errors raised by its handlers."""
    with warnings.catch_warnings():
        # moto warns that ThrottlingException is not an error shape of the SageMaker model.
        warnings.simplefilter("ignore", UserWarning)
        status, headers, body = response.serialized(ActionResult(error))
    headers["status"] = status
    status, headers, body = response._transform_response(response.response_headers, (body, headers))
    headers, body = response._enrich_response(headers, body)
    return status, headers, body
