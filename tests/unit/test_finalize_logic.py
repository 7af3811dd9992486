"""FinalizeJob's pure logic: ranking, rendering, response keys, names, variants, summary."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from autopilot_flow import leaderboard as lb
from autopilot_flow.finalize import (
    FAILURE_CODES,
    NONE,
    NOTIFICATION_CODES,
    STACK_TAG_KEY,
    UnsupportedResponseKeys,
    apply_response_keys,
    attribute_map,
    choose_containers,
    deploy_request,
    deployment_names,
    describe_failure,
    describe_notification_failure,
    describe_rollback,
    endpoint_arn,
    endpoint_key,
    execution_name,
    production_variant,
    stack_tag_of,
    summarize,
)

JOB_ARN = "arn:aws:sagemaker:eu-west-1:111122223333:automl-job/churn-2026"


def candidate(name: str, value: float | None, metric: str = "F1", **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"CandidateName": name, "CandidateStatus": "Completed", **extra}
    if value is not None:
        found["FinalAutoMLJobObjectiveMetric"] = {
            "MetricName": metric,
            "Value": value,
            "Type": lb.objective_type(metric),
        }
        found["CandidateProperties"] = {
            "CandidateMetrics": [
                {"MetricName": metric, "Value": value},
                {"MetricName": "AUC", "Value": 0.5},
            ]
        }
    else:
        found["CandidateStatus"] = "Failed"
        found["FailureReason"] = "AlgorithmError: out of memory | exit 137"
    return found


def description(**extra: Any) -> dict[str, Any]:
    return {
        "AutoMLJobName": "churn-2026",
        "AutoMLJobArn": JOB_ARN,
        "AutoMLJobStatus": "Completed",
        "AutoMLJobSecondaryStatus": "Completed",
        "OutputDataConfig": {"S3OutputPath": "s3://ml-output/autopilot/churn/"},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {"ProblemType": "BinaryClassification"}},
        **extra,
    }


# --- ranking and rendering ------------------------------------------------------------------


def test_maximize_ranks_highest_first_and_unscored_last() -> None:
    rows = lb.rank_candidates(
        [candidate("b", 0.8), candidate("x", None), candidate("a", 0.9), candidate("c", 0.8)],
        "Maximize",
    )
    assert [(r["rank"], r["candidateName"]) for r in rows] == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
        (None, "x"),
    ]
    assert rows[0]["otherMetrics"] == {"AUC": 0.5}


def test_minimize_ranks_lowest_first() -> None:
    rows = lb.rank_candidates(
        [candidate("big", 9.5, "RMSE"), candidate("small", 1.25, "RMSE")], "Minimize"
    )
    assert [r["candidateName"] for r in rows] == ["small", "big"]


@pytest.mark.parametrize(
    ("metric", "kind"),
    [
        ("F1", "Maximize"),
        ("Accuracy", "Maximize"),
        ("R2", "Maximize"),
        ("MSE", "Minimize"),
        ("AverageWeightedQuantileLoss", "Minimize"),
        ("ValidationLoss", "Minimize"),
    ],
)
def test_objective_direction(metric: str, kind: str) -> None:
    assert lb.objective_type(metric) == kind


def test_better_is_strict_in_the_objective_direction() -> None:
    assert lb.better(0.9, 0.8, "Maximize") and not lb.better(0.8, 0.8, "Maximize")
    assert lb.better(1.0, 2.0, "Minimize") and not lb.better(2.0, 1.0, "Minimize")


def test_output_location_is_beside_the_job_output() -> None:
    assert lb.s3_output_root(description()) == ("ml-output", "autopilot/churn/churn-2026/")
    root = description(OutputDataConfig={"S3OutputPath": "s3://bucket"})
    assert lb.s3_output_root(root) == ("bucket", "churn-2026/")
    with pytest.raises(lb.LeaderboardError):
        lb.s3_output_root(description(OutputDataConfig={}))


def test_objective_falls_back_to_the_job_when_no_candidate_has_a_value() -> None:
    assert lb.job_objective(description(AutoMLJobObjective={"MetricName": "AUC"}), []) == {
        "metricName": "AUC",
        "type": "Maximize",
    }
    assert lb.job_objective(description(), []) == {"metricName": None, "type": None}


def test_markdown_table_and_document() -> None:
    board = lb.build(
        description(), [candidate("ens|1", 0.91), candidate("xgb", 0.87), candidate("bad", None)]
    )
    text = board.markdown()
    assert "# Leaderboard: churn-2026" in text
    assert "- Objective: F1 (higher is better)" in text
    assert "| Rank | Candidate | Status | F1 | AUC |" in text
    assert "| 1 | ens\\|1 | Completed | 0.91 | 0.5 |" in text  # pipes escaped
    assert "| - | bad | Failed | - | - |" in text
    assert "## Failed candidates" in text
    document = board.document()
    assert document["candidateCount"] == 3 and document["rankedCount"] == 2
    assert board.best is not None and board.best["candidateName"] == "ens|1"
    assert [t["rank"] for t in board.top] == [1, 2]
    assert lb.build(description(), []).markdown().endswith("No candidates.\n")


# --- the model -----------------------------------------------------------------------------

SUPPORTED = "predicted_label,probability,probabilities,labels"


def hpo_classification() -> list[dict[str, Any]]:
    """The three containers of an HPO classification candidate (AWS docs: feature
    transform, algorithm, inverse label transform)."""
    return [
        {"Image": "sklearn", "ModelDataUrl": "s3://m/dpp", "Environment": {"A": "1"}},
        {
            "Image": "xgboost",
            "ModelDataUrl": "s3://m/algo",
            "Environment": {
                "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                "SAGEMAKER_INFERENCE_SUPPORTED": "predicted_label,probability,probabilities",
            },
        },
        {
            "Image": "sklearn",
            "ModelDataUrl": "s3://m/dpp",
            "Environment": {
                "SAGEMAKER_INFERENCE_INPUT": "predicted_label",
                "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                "SAGEMAKER_INFERENCE_SUPPORTED": SUPPORTED,
            },
        },
    ]


def test_response_keys_chain_through_an_hpo_classifier() -> None:
    original = hpo_classification()
    containers = apply_response_keys(original, ["predicted_label", "probability", "labels"])
    assert containers[0]["Environment"] == {"A": "1"}
    algo, inverse = containers[1]["Environment"], containers[2]["Environment"]
    assert algo["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label,probability"
    assert inverse["SAGEMAKER_INFERENCE_INPUT"] == "predicted_label,probability"
    assert inverse["SAGEMAKER_INFERENCE_OUTPUT"] == "predicted_label,probability,labels"
    assert original == hpo_classification()  # not changed in place


def test_unsupported_response_keys_are_refused() -> None:
    regression = [{"Image": "xgb", "ModelDataUrl": "s3://m", "Environment": {}}]
    with pytest.raises(UnsupportedResponseKeys, match="cannot choose"):
        apply_response_keys(regression, ["probability"])
    limited = [{"Image": "x", "Environment": {"SAGEMAKER_INFERENCE_SUPPORTED": "predicted_label"}}]
    with pytest.raises(UnsupportedResponseKeys, match="probability"):
        apply_response_keys(limited, ["predicted_label", "probability"])
    assert apply_response_keys(regression, []) == regression


def test_gpu_instances_get_the_gpu_container_definitions() -> None:
    best = {
        "InferenceContainers": [{"Image": "cpu", "ModelDataUrl": "s3://m", "Environment": {}}],
        "InferenceContainerDefinitions": {
            "CPU": [{"Image": "cpu", "ModelDataUrl": "s3://m", "Environment": {}}],
            "GPU": [{"Image": "gpu", "ModelDataUrl": "s3://m", "Environment": {}}],
        },
    }
    assert choose_containers(best, "ml.g4dn.xlarge")[0]["Image"] == "gpu"
    assert choose_containers(best, "ml.p3.2xlarge")[0]["Image"] == "gpu"
    assert choose_containers(best, "ml.m5.large")[0]["Image"] == "cpu"
    assert choose_containers(best, None)[0]["Image"] == "cpu"
    plain = {"InferenceContainers": [{"Image": "one", "Environment": {}, "Extra": 1}]}
    assert choose_containers(plain, "ml.g5.2xlarge") == [{"Image": "one", "Environment": {}}]


def test_production_variants() -> None:
    variant, serving = production_variant({}, "m")
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": "m",
        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
    }
    assert serving == {"type": "serverless", "memorySizeInMB": 2048, "maxConcurrency": 5}
    variant, serving = production_variant({"InstanceType": "ml.m5.xlarge"}, "m")
    assert variant["InstanceType"] == "ml.m5.xlarge" and variant["InitialInstanceCount"] == 1
    assert serving == {"type": "instances", "instanceType": "ml.m5.xlarge", "instanceCount": 1}


# --- names ---------------------------------------------------------------------------------


def test_names() -> None:
    assert execution_name("churn-2026", "Completed") == "churn-2026-Completed"
    assert execution_name("a" * 80, "Stopped") == "a" * 80
    assert execution_name("x.y", "Failed") == "x-y-Failed"
    assert endpoint_key("Churn-Classifier") == "#endpoint#churn-classifier"
    assert (
        endpoint_arn(JOB_ARN, "Churn") == "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/churn"
    )
    one = deployment_names("j" * 32, "arn:aws:states:r:a:execution:m:e1")
    assert one == deployment_names("j" * 32, "arn:aws:states:r:a:execution:m:e1")
    assert one != deployment_names("j" * 32, "arn:aws:states:r:a:execution:m:e2")
    assert len(one) <= 63 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", one)


def test_attribute_maps_are_dynamodb_json() -> None:
    assert attribute_map({"value": 0.91, "n": 3, "name": "x", "gone": None, "m": {"f": 1.5}}) == {
        "value": {"N": "0.91"},
        "n": {"N": "3"},
        "name": {"S": "x"},
        "m": {"M": {"f": {"N": "1.5"}}},
    }


# --- the summary ---------------------------------------------------------------------------


def plan(**extra: Any) -> dict[str, Any]:
    return {
        "jobName": "churn-2026",
        "jobStatus": "Failed",
        "secondaryStatus": "Failed",
        "problemType": "TabularJobConfig",
        "action": NONE,
        "reason": "the job ended Failed: nothing to deploy",
        "endpointName": None,
        "endpointExists": False,
        "candidate": None,
        **extra,
    }


def test_summary_of_a_failed_job() -> None:
    job = description(FailureReason="ClientError: no data", AutoMLJobStatus="Failed")
    summary = summarize(plan(), job, {"count": 0, "top": [], "markdown": None}, None)
    assert summary["subject"] == "Autopilot Flow: churn-2026 Failed"
    assert "Failure reason: ClientError: no data" in summary["message"]
    assert "Best candidate: none" in summary["message"]
    assert "No deployment: the job ended Failed: nothing to deploy." in summary["message"]


def test_subject_is_short_printable_ascii() -> None:
    long_name = plan(
        jobName="j" * 32,
        jobStatus="Completed",
        action="deploy",
        endpointName="é" + "e" * 62,
        endpointExists=False,
        reason="r",
    )
    subject = summarize(long_name, description(), {}, None)["subject"]
    assert len(subject) <= 100
    assert all(32 <= ord(ch) < 127 for ch in subject)
    assert subject.endswith("...")


# --- failures: stage, stable code, plain message ---------------------------------------------

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "plan_finalize"
LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "endpoint churn is Updating: another deployment is in progress",
        "errorType": "DeploymentBlocked",
        "requestId": "5f2d7c1e-0000-4000-8000-000000000001",
        "stackTrace": [
            '  File "/var/task/app.py", line 28, in lambda_handler\n',
            "    plan = planner.plan(event)\n",
        ],
    }
)
RAW = ("stackTrace", 'File "', "/var/task", "requestId", "Exception", "DeploymentBlocked")


@pytest.mark.parametrize(
    ("stage", "error", "cause", "code"),
    [
        ("plan", "DeploymentBlocked", LAMBDA_CAUSE, "endpoint.blocked"),
        (
            "deploy",
            "EndpointFailed",
            "Endpoint churn is Failed: ping health check",
            "endpoint.failed",
        ),
        (
            "deploy",
            "EndpointUpdateRolledBack",
            "Endpoint churn is InService on c1",
            "endpoint.rolled_back",
        ),
        (
            "deploy",
            "EndpointNotInService",
            "Endpoint churn did not reach InService",
            "endpoint.not_in_service",
        ),
        (
            "deploy",
            "DynamoDB.ConditionalCheckFailedException",
            "The conditional request failed (Service: DynamoDb, Request ID: ABC)",
            "endpoint.claimed",
        ),
        ("record", "DynamoDB.ConditionalCheckFailedException", "...", "registry.conflict"),
        ("record", "DynamoDB.InternalServerErrorException", "...", "registry.unavailable"),
        ("deploy", "SageMaker.ResourceLimitExceededException", "...", "sagemaker.quota"),
        (
            "deploy",
            "SageMaker.SageMakerException",
            "User: arn:aws:sts::1:assumed-role/x is not authorized to perform: "
            "sagemaker:UpdateEndpoint (Service: SageMaker, Status Code: 400, Request ID: R)",
            "sagemaker.not_authorized",
        ),
        (
            "deploy",
            "SageMaker.SageMakerException",
            "Rate exceeded (Request ID: R)",
            "sagemaker.throttled",
        ),
        ("deploy", "SageMaker.SageMakerException", "Could not find model", "sagemaker.refused"),
        (
            "plan",
            "SageMakerThrottled",
            json.dumps({"errorMessage": "Rate exceeded"}),
            "sagemaker.throttled",
        ),
        ("leaderboard", "States.Timeout", "", "timeout"),
        (
            "leaderboard",
            "KeyError",
            json.dumps({"errorMessage": "'x'", "stackTrace": []}),
            "internal",
        ),
        ("plan", "Lambda.Unknown", "The function crashed (Request ID: R)", "internal"),
    ],
)
def test_failures_become_a_stable_code_and_a_plain_message(
    stage: str, error: str, cause: str, code: str
) -> None:
    described = describe_failure(
        {"stage": stage, "error": error, "cause": cause, "endpointName": "churn"}
    )
    assert described["stage"] == stage
    assert described["code"] == code
    assert code in FAILURE_CODES
    assert described["message"]
    for raw in RAW:
        assert raw not in described["message"], raw
    assert "Request ID" not in described["message"]


def test_own_failure_messages_are_kept_and_foreign_ones_point_to_the_logs() -> None:
    blocked = describe_failure(
        {"stage": "plan", "error": "DeploymentBlocked", "cause": LAMBDA_CAUSE}
    )
    assert blocked["message"] == "endpoint churn is Updating: another deployment is in progress"
    claimed = describe_failure(
        {"stage": "deploy", "error": "DynamoDB.ConditionalCheckFailedException", "cause": "x"}
    )
    assert "FinalizeJob's logs" in claimed["message"]
    # No endpoint name (the plan never got that far): still a sentence.
    assert describe_failure({})["code"] == "internal"


def test_failure_codes_are_the_schemas() -> None:
    failed = json.loads((SCHEMAS / "automl-deployment-failed.json").read_text())
    assert set(failed["properties"]["detail"]["properties"]["code"]["enum"]) == FAILURE_CODES
    notified = json.loads((SCHEMAS / "automl-notification-failed.json").read_text())
    codes = notified["properties"]["detail"]["properties"]["code"]["enum"]
    assert set(codes) == NOTIFICATION_CODES
    skipped = json.loads((SCHEMAS / "automl-deployment-skipped.json").read_text())
    assert "endpoint.not_owned" in skipped["properties"]["detail"]["properties"]["reason"]["enum"]


@pytest.mark.parametrize(
    ("channel", "error", "cause", "code"),
    [
        (
            "sns",
            "SNS.NotFoundException",
            "Topic does not exist (Request ID: R)",
            "notification.topic_not_found",
        ),
        ("sns", "SNS.AuthorizationErrorException", "not authorized", "notification.not_authorized"),
        ("sns", "SNS.KMSAccessDeniedException", "...", "notification.not_authorized"),
        ("sns", "SNS.KMSDisabledException", "...", "notification.topic_key"),
        ("sns", "States.Runtime", "...", "notification.failed"),
        ("events", "EventBridge.FailedEntry", "...", "notification.event_not_published"),
    ],
)
def test_notification_failures_become_codes(
    channel: str, error: str, cause: str, code: str
) -> None:
    target = "arn:aws:sns:eu-west-1:111122223333:team-ml"
    described = describe_notification_failure(
        {"channel": channel, "target": target, "error": error, "cause": cause}
    )
    assert described["code"] == code
    assert described["channel"] == channel and described["target"] == target
    assert "outcome is unchanged" in described["message"]
    assert error not in described["message"] and "Request ID" not in described["message"]


def test_the_stack_tag_comes_from_the_state_machine() -> None:
    tag = {"Key": STACK_TAG_KEY, "Value": "autopilot-flow"}
    assert stack_tag_of({"stackTag": tag}) == tag
    for wrong in (
        {},
        {"stackTag": {"Key": "other", "Value": "x"}},
        {"stackTag": {"Key": STACK_TAG_KEY}},
    ):
        with pytest.raises(ValueError, match=STACK_TAG_KEY):
            stack_tag_of(wrong)


@pytest.mark.parametrize("sample", ["describe-failure.json", "describe-notification.json"])
def test_the_sample_failures_leak_nothing(sample: str) -> None:
    """events/plan_finalize: what the machine's failure paths send PlanFinalize (raw Step
    Functions errors, a Lambda stack trace among them) and what comes back."""
    event = json.loads((SAMPLES / sample).read_text())
    if event["describe"] == "failure":
        described = describe_failure(event["failure"])
        assert described["code"] == "endpoint.blocked"
    else:
        described = describe_notification_failure(event["notification"])
        assert described["code"] == "notification.topic_not_found"
    text = json.dumps(described)
    for raw in (*RAW, "NotFound", "Request ID", "/opt/python"):
        assert raw not in text, raw


# --- issue 13: deploy requests and rollbacks ---------------------------------------------------


def _deploy(**changes: Any) -> dict[str, Any]:
    request = {
        "mode": "deploy",
        "reason": "rollback",
        "jobName": "churn-1",
        "endpointName": "churn",
        "requestedBy": None,
        "modelPackageArn": None,
        **changes,
    }
    return {"deploy": {k: v for k, v in request.items() if v != "<absent>"}}


def test_a_deploy_request_is_read_exactly() -> None:
    assert deploy_request({}) is None
    assert deploy_request({"deploy": {"mode": "finalize"}}) is None
    assert deploy_request(_deploy())["jobName"] == "churn-1"
    assert deploy_request(_deploy(reason="approved"))["reason"] == "approved"
    for bad in (
        _deploy(reason="because"),
        _deploy(reason="<absent>"),
        _deploy(jobName=""),
        _deploy(endpointName="<absent>"),
    ):
        with pytest.raises(ValueError, match="a deploy request"):
            deploy_request(bad)


def _rolled_back_plan(alarms: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {"BlueGreenUpdatePolicy": {}}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return {
        "jobName": "churn-2",
        "jobArn": "arn:aws:sagemaker:us-east-1:123456789012:automl-job/churn-2",
        "jobStatus": "Completed",
        "problemType": "TabularJobConfig",
        "endpointName": "churn",
        "endpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn",
        "endpointConfigName": "churn-2-abc",
        "modelName": "churn-2-abc",
        "candidate": {
            "candidateName": "c",
            "metricName": "F1",
            "value": 0.9,
            "objectiveType": "Maximize",
        },
        "live": {"jobName": "churn-1", "candidateName": "b", "metricName": "F1", "value": 0.8},
        "modelPackageArn": None,
        "strategy": "Canary",
        "deploymentConfig": config,
        "records": {"live": {}},
        "summary": {"subject": "s", "message": "AutoML job churn-2: Completed\n\nEndpoint: x.\n"},
    }


@pytest.mark.parametrize(
    ("alarms", "reason", "named"),
    [
        (
            ["churn-5xx", "churn-5xx-canary"],
            "Alarm churn-5xx-canary went to ALARM",
            "churn-5xx-canary",
        ),
        (["churn-5xx"], "Alarm churn-5xx went to ALARM", "churn-5xx"),
        (["churn-5xx"], "The update failed", None),
        ([], "Alarm churn-5xx went to ALARM", None),  # not an alarm the rollout was given
        (["churn-5xx"], "", None),
    ],
)
def test_a_rollback_names_only_its_own_alarm(
    alarms: list[str], reason: str, named: str | None
) -> None:
    endpoint = {"EndpointConfigName": "churn-1-def", "FailureReason": reason}
    described = describe_rollback(_rolled_back_plan(alarms), endpoint)
    detail = described["event"]["detail"]
    assert described["action"] == "rolled_back"
    assert described["event"]["detailType"] == "AutoML Deployment Rolled Back"
    assert detail["alarm"] == named
    assert detail["liveEndpointConfigName"] == "churn-1-def"
    assert detail["attemptedEndpointConfigName"] == "churn-2-abc"
    assert detail["live"]["jobName"] == "churn-1"
    assert described["records"]["deployment"]["state"] == {"S": "ROLLED_BACK"}
    assert described["records"]["live"] == {}  # the endpoint record is not rewritten
    schema = json.loads((SCHEMAS / "automl-deployment-rolled-back.json").read_text())
    jsonschema.validate(
        {
            "source": "autopilot-flow",
            "detail-type": "AutoML Deployment Rolled Back",
            "detail": detail,
        },
        schema,
    )
    summary = described["summary"]
    assert summary["subject"] == "Autopilot Flow: churn-2 Completed, rolled back on churn"
    assert summary["message"].startswith("AutoML job churn-2: Completed\n")
    assert "Deployment to churn rolled back:" in summary["message"]
    assert "Endpoint: x." not in summary["message"]


@pytest.mark.parametrize(
    ("strategy", "config", "polls"),
    [
        # MaximumExecutionTimeoutInSeconds bounds the rollout: 3600 s / 30 s more polls.
        (
            {
                "Type": "Canary",
                "StepPercent": 10,
                "WaitIntervalInSeconds": 300,
                "MaximumExecutionTimeoutInSeconds": 3600,
            },
            {"pollSeconds": 30, "maxPolls": 120},
            240,
        ),
        # Without it, the waits: Linear 25% = 4 shifts, 4 bakes of 600 s, + 900 s termination.
        (
            {
                "Type": "Linear",
                "StepPercent": 25,
                "WaitIntervalInSeconds": 600,
                "TerminationWaitInSeconds": 900,
            },
            {"pollSeconds": 60, "maxPolls": 10},
            10 + 55,
        ),
        # All at once without waits: the stack's budget as it is.
        ({"Type": "AllAtOnce"}, {"pollSeconds": 30, "maxPolls": 120}, 120),
        # The machine passed no config (a direct call): the template's defaults.
        ({"Type": "Canary", "StepPercent": 10, "WaitIntervalInSeconds": 60}, {}, 120 + 4),
    ],
)
def test_a_rollout_gets_the_polls_its_waits_need(
    strategy: dict[str, Any], config: dict[str, Any], polls: int
) -> None:
    from autopilot_flow.finalize import poll_budget, rollout_polls
    from autopilot_flow.sections import RolloutStrategy

    seconds, budget = poll_budget({"config": config})
    assert rollout_polls(RolloutStrategy.from_section(strategy), seconds, budget) == polls
