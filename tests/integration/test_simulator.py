"""The Autopilot simulator, driven through real boto3 clients against moto."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.server import ThreadedMotoServer

from offline.autopilot_simulator import (
    AutopilotSimulator,
    ManualClock,
    ScaledClock,
    SimulatedAutoMLJob,
)

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# botocore's retries "max_attempts" counts *retries* (max_attempts=1 still makes two calls);
# "total_max_attempts" counts calls, so 1 really disables retries.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
MAXIMIZE = {"F1", "Accuracy", "AUC", "BalancedAccuracy", "R2", "F1macro"}


def manifest(filename: str, **overrides: Any) -> dict[str, Any]:
    """An example manifest as a CreateAutoMLJobV2 request (our own sections stripped)."""
    text = (ROOT / "examples" / "manifests" / filename).read_text()
    doc = json.loads(text) if filename.endswith(".json") else yaml.safe_load(text)
    doc.pop("Deployment", None)
    doc.pop("Notifications", None)
    doc.setdefault("AutoMLJobName", Path(filename).stem[:32])
    doc.update(overrides)
    return doc


def tabular(name: str, **job_config: Any) -> dict[str, Any]:
    """The minimal tabular request (no ProblemType, no CompletionCriteria, no objective)."""
    return {
        "AutoMLJobName": name,
        "AutoMLJobInputDataConfig": [
            {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/train/"}}}
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://b/out/"},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {"TargetAttributeName": "y", **job_config}},
        "RoleArn": "arn:aws:iam::123456789012:role/R",
    }


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[AutopilotSimulator]:
    with mock_aws(), AutopilotSimulator(clock=clock, seed=42) as simulator:
        yield simulator


def client(config: Config = NO_RETRIES, endpoint_url: str | None = None) -> Any:
    # Explicit credentials: a client made outside mock_aws() can then be reused inside it
    # (moto intercepts at the botocore level); making a SageMaker client costs ~0.25 s.
    return boto3.client(
        "sagemaker",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture(scope="module")
def shared_client() -> Any:
    return client()


@pytest.fixture
def sm(sim: AutopilotSimulator, shared_client: Any) -> Any:
    return shared_client


def state(sm: Any, name: str) -> tuple[str, str]:
    d = sm.describe_auto_ml_job_v2(AutoMLJobName=name)
    return d["AutoMLJobStatus"], d["AutoMLJobSecondaryStatus"]


def observe(sim: AutopilotSimulator, sm: Any, name: str) -> list[tuple[str, str]]:
    """Advance from event to event, describing the job each time: what a poller sees."""
    seen = [state(sm, name)]
    while (dt := sim.seconds_until_next_event()) is not None:
        sim.clock.advance(dt)  # type: ignore[attr-defined]
        now = state(sm, name)
        if now != seen[-1]:
            seen.append(now)
    return seen


def all_candidates(sm: Any, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    token = None
    while True:
        page = sm.list_candidates_for_auto_ml_job(
            AutoMLJobName=name, **kwargs, **({"NextToken": token} if token else {})
        )
        out += page["Candidates"]
        token = page.get("NextToken")
        if not token:
            return out


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


TABULAR_ENSEMBLING = [
    ("InProgress", "Starting"),
    ("InProgress", "AnalyzingData"),
    ("InProgress", "FeatureEngineering"),
    ("InProgress", "TrainingModels"),
    ("InProgress", "GeneratingExplainabilityReport"),
    ("InProgress", "GeneratingModelInsightsReport"),
    ("Completed", "Completed"),
]
TABULAR_HPO = [
    s if s[1] != "TrainingModels" else ("InProgress", "ModelTuning") for s in TABULAR_ENSEMBLING
]


@pytest.mark.parametrize(
    ("request_", "expected", "n_candidates", "metric"),
    [
        pytest.param(manifest("churn-tabular.yaml"), TABULAR_ENSEMBLING, 10, "F1", id="ensembling"),
        pytest.param(
            manifest("product-categories-multiclass.yaml"),
            TABULAR_ENSEMBLING,
            18,  # AUTO -> ENSEMBLING: 2 weighted ensembles + 2 stack levels x 8 algorithms
            "BalancedAccuracy",
            id="auto-mode",
        ),
        pytest.param(
            manifest("house-prices-regression.json"),
            TABULAR_HPO[:-1] + [("Completed", "MaxCandidatesReached")],
            100,
            "RMSE",
            id="hpo-max-candidates",
        ),
        pytest.param(
            tabular("hpo-default", Mode="HYPERPARAMETER_TUNING"),
            TABULAR_HPO,
            5,  # MaxCandidates omitted: the simulator keeps it cheap
            None,
            id="hpo-default-candidates",
        ),
        pytest.param(
            tabular(
                "defs-only", Mode="HYPERPARAMETER_TUNING", GenerateCandidateDefinitionsOnly=True
            ),
            [
                ("InProgress", "Starting"),
                ("InProgress", "AnalyzingData"),
                ("Completed", "CandidateDefinitionsGenerated"),
            ],
            0,
            None,
            id="candidate-definitions-only",
        ),
        pytest.param(
            manifest("demand-forecast-timeseries.yaml"),
            [
                ("InProgress", "Starting"),
                ("InProgress", "AnalyzingData"),
                ("InProgress", "TrainingModels"),
                ("InProgress", "GeneratingExplainabilityReport"),
                ("Completed", "Completed"),
            ],
            1,
            "AverageWeightedQuantileLoss",
            id="time-series",
        ),
        pytest.param(
            manifest("support-tickets-text.json"),
            [
                ("InProgress", "Starting"),
                ("InProgress", "AnalyzingData"),
                ("InProgress", "TrainingModels"),
                ("Completed", "Completed"),
            ],
            1,
            "Accuracy",
            id="text-classification",
        ),
        pytest.param(
            manifest("defect-images.yaml"),
            [
                ("InProgress", "Starting"),
                ("InProgress", "AnalyzingData"),
                ("InProgress", "TrainingModels"),
                ("Completed", "Completed"),
            ],
            1,
            "Accuracy",
            id="image-classification",
        ),
        pytest.param(
            manifest("support-assistant-textgen.yaml"),
            [
                ("InProgress", "Starting"),
                ("InProgress", "TrainingModels"),
                ("Completed", "Completed"),
            ],
            1,
            "ValidationLoss",
            id="text-generation",
        ),
    ],
)
def test_each_problem_type_goes_through_its_sequence(
    *,
    sim: AutopilotSimulator,
    sm: Any,
    request_: dict[str, Any],
    expected: list[tuple[str, str]],
    n_candidates: int,
    metric: str | None,
) -> None:
    name = request_["AutoMLJobName"]
    sm.create_auto_ml_job_v2(**request_)
    assert observe(sim, sm, name) == expected
    assert sim.history(name) == expected  # every transition was recorded, none skipped

    d = sm.describe_auto_ml_job_v2(AutoMLJobName=name)
    assert d["EndTime"] == d["LastModifiedTime"] > d["CreationTime"]
    assert "FailureReason" not in d
    candidates = all_candidates(sm, name)
    assert len(candidates) == n_candidates
    if n_candidates == 0:
        assert "BestCandidate" not in d
        assert "CandidateDefinitionNotebookLocation" in d["AutoMLJobArtifacts"]
        return
    objective = d["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]
    metric = metric or objective["MetricName"]
    assert objective["MetricName"] == metric
    assert objective["Type"] == ("Maximize" if metric in MAXIMIZE else "Minimize")
    values = [
        c["FinalAutoMLJobObjectiveMetric"]["Value"]
        for c in candidates
        if "FinalAutoMLJobObjectiveMetric" in c
    ]
    best = max(values) if objective["Type"] == "Maximize" else min(values)
    assert objective["Value"] == best
    containers = d["BestCandidate"]["InferenceContainers"]
    assert containers
    for container in containers:
        assert container["Image"].split("/")[0].endswith(f".dkr.ecr.{REGION}.amazonaws.com")
        assert container["ModelDataUrl"].startswith(request_["OutputDataConfig"]["S3OutputPath"])


def test_tabular_ensembling_takes_20_to_60_simulated_minutes(
    sim: AutopilotSimulator, sm: Any
) -> None:
    for i in range(8):
        sm.create_auto_ml_job_v2(**tabular(f"job{i}", ProblemType="Regression", Mode="ENSEMBLING"))
        sm.create_auto_ml_job_v2(**tabular(f"auto{i}"))
    sim.run_until_idle()
    for summary in sm.list_auto_ml_jobs(MaxResults=100)["AutoMLJobSummaries"]:
        minutes = (summary["EndTime"] - summary["CreationTime"]).total_seconds() / 60
        assert 20 <= minutes <= 60, summary


def test_tabular_classification_containers_declare_inference_outputs(
    sim: AutopilotSimulator, sm: Any
) -> None:
    sm.create_auto_ml_job_v2(**manifest("churn-tabular.yaml"))
    sm.create_auto_ml_job_v2(
        **tabular("hpo-binary", Mode="HYPERPARAMETER_TUNING", ProblemType="BinaryClassification"),
        AutoMLJobObjective={"MetricName": "AUC"},
    )
    sim.run_until_idle()
    for name, n_containers in (("churn-binary-2026-11", 1), ("hpo-binary", 3)):
        best = sm.describe_auto_ml_job_v2(AutoMLJobName=name)["BestCandidate"]
        containers = best["InferenceContainers"]
        assert len(containers) == n_containers
        env = containers[-1]["Environment"]
        assert env["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label"
        assert {"predicted_label", "probability"} <= set(
            env["SAGEMAKER_INFERENCE_SUPPORTED"].split(",")
        )
    hpo = sm.describe_auto_ml_job_v2(AutoMLJobName="hpo-binary")["BestCandidate"]
    assert "sagemaker-sklearn-automl:2.5-1-cpu-py3" in hpo["InferenceContainers"][0]["Image"]
    assert [s["CandidateStepType"] for s in hpo["CandidateSteps"]] == [
        "AWS::SageMaker::ProcessingJob",
        "AWS::SageMaker::TrainingJob",
        "AWS::SageMaker::TransformJob",
        "AWS::SageMaker::TrainingJob",
    ]


@pytest.mark.parametrize(
    ("problem_type", "metric", "low", "high"),
    [
        ("BinaryClassification", "F1", 0.6, 0.99),
        ("BinaryClassification", "AUC", 0.6, 0.99),
        ("MulticlassClassification", "Accuracy", 0.6, 0.99),
        ("MulticlassClassification", "F1macro", 0.6, 0.99),
        ("Regression", "R2", 0.3, 0.95),
        ("Regression", "RMSE", 0.0, float("inf")),
        ("Regression", "MSE", 0.0, float("inf")),
        ("Regression", "MAE", 0.0, float("inf")),
    ],
)
def test_objective_values_are_plausible(
    *, sim: AutopilotSimulator, sm: Any, problem_type: str, metric: str, low: float, high: float
) -> None:
    for i in range(3):
        sm.create_auto_ml_job_v2(
            **tabular(
                f"m{i}",
                ProblemType=problem_type,
                Mode="HYPERPARAMETER_TUNING",
                CompletionCriteria={"MaxCandidates": 8},
            ),
            AutoMLJobObjective={"MetricName": metric},
        )
    sim.run_until_idle()
    for i in range(3):
        for c in all_candidates(sm, f"m{i}"):
            objective = c["FinalAutoMLJobObjectiveMetric"]
            assert objective["MetricName"] == metric
            assert low < objective["Value"] <= high
            assert objective["Type"] == ("Maximize" if metric in MAXIMIZE else "Minimize")
            assert c["CandidateProperties"]["CandidateMetrics"][0]["MetricName"] == metric


def test_omitted_problem_type_is_resolved_after_analysing_data(
    sim: AutopilotSimulator, sm: Any
) -> None:
    # moto alone: KeyError on CompletionCriteria / ProblemType, 500 to the client.
    sm.create_auto_ml_job_v2(**tabular("churn"))
    d = sm.describe_auto_ml_job_v2(AutoMLJobName="churn")
    assert "AutoMLProblemTypeResolvedAttributes" not in d["ResolvedAttributes"]
    assert "AutoMLJobObjective" not in d
    assert "EndTime" not in d and "FailureReason" not in d and "BestCandidate" not in d
    sim.run_until_idle()
    d = sm.describe_auto_ml_job_v2(AutoMLJobName="churn")
    problem = d["ResolvedAttributes"]["AutoMLProblemTypeResolvedAttributes"][
        "TabularResolvedAttributes"
    ]["ProblemType"]
    default = {
        "Regression": "MSE",
        "BinaryClassification": "F1",
        "MulticlassClassification": "Accuracy",
    }
    assert d["ResolvedAttributes"]["AutoMLJobObjective"]["MetricName"] == default[problem]
    assert d["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["MetricName"] == default[problem]


def test_one_click_deployment_config_without_endpoint_name(
    sim: AutopilotSimulator, sm: Any
) -> None:
    # moto alone: KeyError on ModelDeployConfig["EndpointName"].
    sm.create_auto_ml_job_v2(
        **tabular("deploy", ProblemType="Regression"),
        ModelDeployConfig={"AutoGenerateEndpointName": True},
    )
    assert observe(sim, sm, "deploy")[-2:] == [
        ("InProgress", "DeployingModel"),
        ("Completed", "Completed"),
    ]
    assert sm.describe_auto_ml_job_v2(AutoMLJobName="deploy")["ModelDeployResult"]["EndpointName"]
    with pytest.raises(ClientError) as exc:
        sm.create_auto_ml_job_v2(
            **tabular("both"),
            ModelDeployConfig={"AutoGenerateEndpointName": True, "EndpointName": "e"},
        )
    assert error_code(exc) == "ValidationException"


def test_list_last_modified_after_returns_only_changed_jobs(
    sim: AutopilotSimulator, sm: Any, clock: ManualClock
) -> None:
    for name in ("alpha", "beta", "gamma"):
        sm.create_auto_ml_job_v2(**tabular(name, ProblemType="Regression"))
        clock.advance(1)
    summaries = sm.list_auto_ml_jobs()["AutoMLJobSummaries"]
    watermark = max(s["LastModifiedTime"] for s in summaries)
    assert sm.list_auto_ml_jobs(LastModifiedTimeAfter=watermark)["AutoMLJobSummaries"] == []

    # Jump to the first scheduled transition: exactly that job changed.
    next_at = {n: sim.job(n).next_event_time() for n in ("alpha", "beta", "gamma")}
    first = min(next_at, key=lambda n: next_at[n] or 0)
    sim.advance(sim.seconds_until_next_event() or 0)
    changed = sm.list_auto_ml_jobs(LastModifiedTimeAfter=watermark)["AutoMLJobSummaries"]
    assert [s["AutoMLJobName"] for s in changed] == [first]
    assert changed[0]["AutoMLJobSecondaryStatus"] == "AnalyzingData"
    assert changed[0]["LastModifiedTime"] == datetime.fromtimestamp(next_at[first] or 0, UTC)

    # A stop is a change too; the returned timestamp round-trips (millisecond precision).
    watermark = changed[0]["LastModifiedTime"]
    clock.advance(0.5)
    sm.stop_auto_ml_job(AutoMLJobName="gamma")
    changed = sm.list_auto_ml_jobs(LastModifiedTimeAfter=watermark)["AutoMLJobSummaries"]
    assert [(s["AutoMLJobName"], s["AutoMLJobStatus"]) for s in changed] == [("gamma", "Stopping")]
    again = sm.list_auto_ml_jobs(LastModifiedTimeAfter=changed[0]["LastModifiedTime"])
    assert again["AutoMLJobSummaries"] == []


def test_stop_goes_through_stopping_to_stopped(
    sim: AutopilotSimulator, sm: Any, clock: ManualClock
) -> None:
    sm.create_auto_ml_job_v2(**tabular("early", ProblemType="Regression"))
    sm.create_auto_ml_job_v2(
        **tabular(
            "late",
            ProblemType="Regression",
            Mode="HYPERPARAMETER_TUNING",
            CompletionCriteria={"MaxCandidates": 30},
        )
    )
    clock.advance(30)
    sm.stop_auto_ml_job(AutoMLJobName="early")
    assert state(sm, "early") == ("Stopping", "Stopping")
    assert "EndTime" not in sm.describe_auto_ml_job_v2(AutoMLJobName="early")
    sim.advance(120)
    d = sm.describe_auto_ml_job_v2(AutoMLJobName="early")
    assert (d["AutoMLJobStatus"], d["AutoMLJobSecondaryStatus"]) == ("Stopped", "Stopped")
    assert d["EndTime"] == d["LastModifiedTime"]
    assert "BestCandidate" not in d  # stopped before any candidate
    assert sim.history("early") == [
        ("InProgress", "Starting"),
        ("Stopping", "Stopping"),
        ("Stopped", "Stopped"),
    ]

    # Stop "late" once some candidates are done and others still run.
    while not any(c["CandidateStatus"] == "Completed" for c in all_candidates(sm, "late")):
        sim.advance(60)
    assert any(c["CandidateStatus"] == "InProgress" for c in all_candidates(sm, "late"))
    sm.stop_auto_ml_job(AutoMLJobName="late")
    assert {c["CandidateStatus"] for c in all_candidates(sm, "late")} >= {"Completed", "Stopping"}
    sim.run_until_idle()
    d = sm.describe_auto_ml_job_v2(AutoMLJobName="late")
    assert d["AutoMLJobStatus"] == "Stopped"
    assert d["BestCandidate"]["CandidateStatus"] == "Completed"
    assert "InProgress" not in {c["CandidateStatus"] for c in all_candidates(sm, "late")}
    with pytest.raises(ClientError) as exc:
        sm.stop_auto_ml_job(AutoMLJobName="late")
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        sm.stop_auto_ml_job(AutoMLJobName="nope")
    assert error_code(exc) == "ResourceNotFound"


def test_a_tick_advances_only_the_jobs_with_an_event_due(
    sim: AutopilotSimulator, sm: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"due-{index}" for index in range(20)]
    for name in names:
        sm.create_auto_ml_job_v2(**tabular(name))
        clock.advance(1)
    advanced: list[str] = []
    advance_to = SimulatedAutoMLJob.advance_to

    def counting(job: SimulatedAutoMLJob, t: float) -> Any:
        advanced.append(job.auto_ml_job_name)
        return advance_to(job, t)

    monkeypatch.setattr(SimulatedAutoMLJob, "advance_to", counting)
    transitions = sim.run_until_idle()
    ticks = len({t.time for t in transitions})
    for name in names:
        changed_at = {t.time for t in transitions if t.job_name == name}
        # advanced when one of its events was due, never at another job's event (a walk of
        # every job at every tick: about ``ticks`` times each)
        assert 0 < advanced.count(name) <= len(changed_at) < ticks
        assert sim.history(name)[-1] == ("Completed", "Completed")
    # a job with nothing due still sees the present: its backend's latest tick
    sim.advance(60)
    assert {sim.job(name).now_ts for name in names} == {clock.time()}


def test_fail_job_and_fail_rate(sim: AutopilotSimulator, sm: Any, clock: ManualClock) -> None:
    sm.create_auto_ml_job_v2(**tabular("running", ProblemType="Regression"))
    sim.advance(1000)
    sim.fail_job("running", "ClientError: boom")
    d = sm.describe_auto_ml_job_v2(AutoMLJobName="running")
    assert (d["AutoMLJobStatus"], d["AutoMLJobSecondaryStatus"]) == ("Failed", "Failed")
    assert d["FailureReason"] == "ClientError: boom"
    assert d["EndTime"] == d["LastModifiedTime"] == clock.now()
    assert "BestCandidate" not in d

    sim.fail_job("future")  # not created yet: fails soon after it starts
    sm.create_auto_ml_job_v2(**tabular("future"))
    assert observe(sim, sm, "future") == [
        ("InProgress", "Starting"),
        ("InProgress", "AnalyzingData"),
        ("Failed", "Failed"),
    ]

    sim.fail_rate = 1.0
    for i in range(4):
        sm.create_auto_ml_job_v2(**manifest("support-tickets-text.json", AutoMLJobName=f"f{i}"))
    sim.run_until_idle()
    for summary in sm.list_auto_ml_jobs(NameContains="f", StatusEquals="Failed")[
        "AutoMLJobSummaries"
    ]:
        assert summary["FailureReason"]
    assert len(sm.list_auto_ml_jobs(StatusEquals="Failed")["AutoMLJobSummaries"]) == 6


def test_quota_raises_resource_limit_exceeded_until_a_job_finishes(
    sim: AutopilotSimulator, sm: Any
) -> None:
    sim.quota = 2
    sm.create_auto_ml_job_v2(**tabular("q1", ProblemType="Regression"))
    sm.create_auto_ml_job_v2(**manifest("support-assistant-textgen.yaml", AutoMLJobName="q2"))
    with pytest.raises(ClientError) as exc:
        sm.create_auto_ml_job_v2(**tabular("q3"))
    assert error_code(exc) == "ResourceLimitExceeded"
    assert "concurrent AutoML jobs" in exc.value.response["Error"]["Message"]
    while state(sm, "q1")[0] == "InProgress":
        sim.advance(300)
    assert state(sm, "q2")[0] == "InProgress"
    sm.create_auto_ml_job_v2(**tabular("q3"))  # a slot is free again
    with pytest.raises(ClientError):
        sm.create_auto_ml_job_v2(**tabular("q4"))


def test_throttling_is_a_throttling_exception_for_boto3(
    sim: AutopilotSimulator, sm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    backoffs: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", backoffs.append)  # keep the test fast
    sim.throttle_next(2)
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            sm.create_auto_ml_job_v2(**tabular("t"))
        assert error_code(exc) == "ThrottlingException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sm.create_auto_ml_job_v2(**tabular("t"))
    assert sim.calls["CreateAutoMLJobV2"] == 3
    assert sim.throttled["CreateAutoMLJobV2"] == 2

    # The brief's Config(retries={"max_attempts": 1}) still retries once.
    one_retry = client(Config(retries={"max_attempts": 1, "mode": "standard"}))
    sim.throttle_next(1, operation="DescribeAutoMLJobV2")
    one_retry.describe_auto_ml_job_v2(AutoMLJobName="t")
    assert sim.calls["DescribeAutoMLJobV2"] == 2

    # boto3's own retries absorb an occasional throttle (standard mode: 3 attempts).
    retrying = client(Config(retries={"total_max_attempts": 3, "mode": "standard"}))
    sim.throttle_next(1, operation="DescribeAutoMLJobV2")
    assert retrying.describe_auto_ml_job_v2(AutoMLJobName="t")["AutoMLJobName"] == "t"
    assert sim.calls["DescribeAutoMLJobV2"] == 4
    assert len(backoffs) == 2  # boto3 backed off before each retry

    sim.throttle_rate, sim.throttle_operations = 1.0, {"ListAutoMLJobs"}
    with pytest.raises(ClientError) as exc:
        sm.list_auto_ml_jobs()
    assert error_code(exc) == "ThrottlingException"
    sm.describe_auto_ml_job_v2(AutoMLJobName="t")


def test_job_names_are_case_insensitive(sim: AutopilotSimulator, sm: Any) -> None:
    sm.create_auto_ml_job_v2(**tabular("churn"))
    with pytest.raises(ClientError) as exc:
        sm.create_auto_ml_job_v2(**tabular("Churn"))
    assert error_code(exc) == "ResourceInUse"
    assert sm.describe_auto_ml_job_v2(AutoMLJobName="CHURN")["AutoMLJobName"] == "churn"
    with pytest.raises(ClientError) as exc:
        sm.describe_auto_ml_job_v2(AutoMLJobName="other")
    assert error_code(exc) == "ResourceNotFound"


def test_list_candidates_sorted_filtered_and_paginated(sim: AutopilotSimulator, sm: Any) -> None:
    request = tabular(
        "leader",
        ProblemType="BinaryClassification",
        Mode="HYPERPARAMETER_TUNING",
        CompletionCriteria={"MaxCandidates": 40},
    )
    sm.create_auto_ml_job_v2(**request, AutoMLJobObjective={"MetricName": "F1"})

    # While tuning runs: candidates appear, some InProgress, no BestCandidate yet.
    while state(sm, "leader")[1] != "ModelTuning":
        sim.advance(60)
    sim.advance(300)
    running = all_candidates(sm, "leader")
    assert running and {"InProgress"} <= {c["CandidateStatus"] for c in running}
    assert "BestCandidate" not in sm.describe_auto_ml_job_v2(AutoMLJobName="leader")
    sim.run_until_idle()

    pages = []
    token = None
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = sm.list_candidates_for_auto_ml_job(
            AutoMLJobName="leader",
            SortBy="FinalObjectiveMetricValue",
            SortOrder="Descending",
            MaxResults=7,
            **kwargs,
        )
        pages.append(page["Candidates"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [7, 7, 7, 7, 7, 5]
    ranked = [c for p in pages for c in p]
    assert len({c["CandidateName"] for c in ranked}) == 40
    scored = [
        c["FinalAutoMLJobObjectiveMetric"]["Value"]
        for c in ranked
        if c["CandidateStatus"] == "Completed"
    ]
    assert scored == sorted(scored, reverse=True)
    failed = [c for c in ranked if c["CandidateStatus"] == "Failed"]
    assert ranked[len(scored) :] == failed  # unscored candidates last
    assert all(c["FailureReason"] and c["ObjectiveStatus"] == "Failed" for c in failed)

    best = sm.describe_auto_ml_job_v2(AutoMLJobName="leader")["BestCandidate"]
    assert best["CandidateName"] == ranked[0]["CandidateName"]
    ascending = all_candidates(
        sm,
        "leader",
        SortBy="FinalObjectiveMetricValue",
        SortOrder="Ascending",
        StatusEquals="Completed",
    )
    assert [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in ascending] == sorted(scored)
    one = sm.list_candidates_for_auto_ml_job(
        AutoMLJobName="leader", CandidateNameEquals=best["CandidateName"]
    )
    assert one["Candidates"] == [best]

    with pytest.raises(ClientError) as exc:
        sm.list_candidates_for_auto_ml_job(AutoMLJobName="missing")
    assert error_code(exc) == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sm.list_candidates_for_auto_ml_job(AutoMLJobName="leader", NextToken="garbage")
    assert error_code(exc) == "ValidationException"


def test_max_runtime_reached_keeps_finished_candidates(sim: AutopilotSimulator, sm: Any) -> None:
    hpo = {"ProblemType": "Regression", "Mode": "HYPERPARAMETER_TUNING"}
    sm.create_auto_ml_job_v2(
        **tabular("short", **hpo, CompletionCriteria={"MaxAutoMLJobRuntimeInSeconds": 600})
    )
    sm.create_auto_ml_job_v2(
        **tabular(
            "tuned",
            **hpo,
            CompletionCriteria={"MaxCandidates": 50, "MaxAutoMLJobRuntimeInSeconds": 3600},
        )
    )
    sim.run_until_idle()
    for name, limit in (("short", 600), ("tuned", 3600)):
        d = sm.describe_auto_ml_job_v2(AutoMLJobName=name)
        assert (d["AutoMLJobStatus"], d["AutoMLJobSecondaryStatus"]) == (
            "Completed",
            "MaxAutoMLJobRuntimeReached",
        )
        assert d["EndTime"] - d["CreationTime"] == timedelta(seconds=limit)
    assert "BestCandidate" not in sm.describe_auto_ml_job_v2(AutoMLJobName="short")
    assert all_candidates(sm, "short") == []
    tuned = all_candidates(sm, "tuned")
    statuses = {c["CandidateStatus"] for c in tuned}
    assert "Completed" in statuses and "InProgress" not in statuses
    assert (
        sm.describe_auto_ml_job_v2(AutoMLJobName="tuned")["BestCandidate"]["CandidateStatus"]
        == "Completed"
    )


def test_candidates_are_deterministic_per_seed(shared_client: Any) -> None:
    def run(seed: int) -> list[tuple[str, float, str]]:
        with mock_aws(), AutopilotSimulator(clock=ManualClock(START), seed=seed) as sim:
            shared_client.create_auto_ml_job_v2(**manifest("house-prices-regression.json"))
            sim.run_until_idle()
            return [
                (
                    c["CandidateName"],
                    c.get("FinalAutoMLJobObjectiveMetric", {}).get("Value", -1.0),
                    c["LastModifiedTime"].isoformat(),
                )
                for c in all_candidates(shared_client, "house-prices-regression", MaxResults=100)
            ]

    first = run(3)
    assert run(3) == first
    assert run(4) != first


def test_scaled_clock_runs_faster_than_its_source(shared_client: Any) -> None:
    now = [1000.0]
    clock = ScaledClock(speed=600, start=START, source=lambda: now[0])
    assert clock.now() == START
    now[0] += 2.5
    assert clock.time() == pytest.approx(START.timestamp() + 1500)
    clock.advance(60)
    assert clock.time() == pytest.approx(START.timestamp() + 1560)
    with mock_aws(), AutopilotSimulator(clock=clock) as sim:
        sm = shared_client
        sm.create_auto_ml_job_v2(**tabular("fast", ProblemType="Regression"))
        now[0] += 6.0  # one hour simulated: describe alone moves the job
        assert state(sm, "fast") == ("Completed", "Completed")
        assert sim.transitions[-1].status == "Completed"


def test_times_shown_are_real_times_only_the_pace_is_fast(shared_client: Any) -> None:
    """Offline, jobs run 600 times faster, but what the API shows happened in the past, at
    real times: a job that took an hour of Autopilot ended six real seconds after it began."""
    real = [START.timestamp()]
    clock = ScaledClock(speed=600, source=lambda: real[0])
    with mock_aws(), AutopilotSimulator(clock=clock):
        sm = shared_client
        sm.create_auto_ml_job_v2(**tabular("paced", ProblemType="Regression"))
        real[0] += 20.0  # more than the job needs at this speed
        described = sm.describe_auto_ml_job_v2(AutoMLJobName="paced")
        assert described["AutoMLJobStatus"] == "Completed"
        created, ended = described["CreationTime"], described["EndTime"]
        now = datetime.fromtimestamp(real[0], UTC)
        assert created == START
        assert created < described["LastModifiedTime"] <= ended <= now
        # The simulated run takes 20 to 60 minutes: 2 to 6 real seconds at speed 600.
        assert timedelta(seconds=2) <= ended - created <= timedelta(seconds=6)
        candidates = all_candidates(sm, "paced")
        assert candidates
        assert all(created <= c["CreationTime"] <= c["EndTime"] <= ended for c in candidates)
        # The watcher's filter sees the same times.
        after_start = sm.list_auto_ml_jobs(LastModifiedTimeAfter=created)["AutoMLJobSummaries"]
        assert [j["AutoMLJobName"] for j in after_start] == ["paced"]
        assert sm.list_auto_ml_jobs(LastModifiedTimeAfter=ended)["AutoMLJobSummaries"] == []


def test_uninstall_restores_moto() -> None:
    before = (dict(vars(SageMakerModelBackend)), dict(vars(SageMakerResponse)))
    with AutopilotSimulator():
        assert "list_candidates_for_auto_ml_job" in vars(SageMakerResponse)
        with pytest.raises(RuntimeError):
            AutopilotSimulator().install()
    assert (dict(vars(SageMakerModelBackend)), dict(vars(SageMakerResponse))) == before


def test_server_mode() -> None:
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    try:
        with AutopilotSimulator(clock=ManualClock(START), seed=1) as sim:
            sm = client(endpoint_url=url)
            sm.create_auto_ml_job_v2(**tabular("served", ProblemType="BinaryClassification"))
            with pytest.raises(ClientError) as exc:
                sm.create_auto_ml_job_v2(**tabular("SERVED"))
            assert error_code(exc) == "ResourceInUse"
            assert observe(sim, sm, "served") == TABULAR_ENSEMBLING
            assert sm.list_candidates_for_auto_ml_job(AutoMLJobName="served", MaxResults=2)[
                "NextToken"
            ]
            sim.throttle_next(1, operation=None)
            with pytest.raises(ClientError) as exc:
                sm.list_auto_ml_jobs()
            assert error_code(exc) == "ThrottlingException"
            assert sim.calls["CreateAutoMLJobV2"] == 2
    finally:
        reset = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset).close()
        server.stop()
