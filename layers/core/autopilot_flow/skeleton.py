"""Complete, valid starting manifests, one per problem type (``autopilot-flow skeleton``).

Every optional section of ours is shown: ``Deployment`` (with a rollout ``Strategy`` on
instance endpoints; its alarm is a placeholder that must exist before submitting),
``Notifications`` and ``Registry``.
"""

from __future__ import annotations

import copy
from typing import Any

from autopilot_flow import problem_types as pt

ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"
DATA = "s3://amzn-s3-demo-bucket/data"
OUTPUT = "s3://amzn-s3-demo-bucket/autopilot-output/"


def _channel(uri: str, content_type: str, channel_type: str = "training") -> dict[str, Any]:
    return {
        "ChannelType": channel_type,
        "ContentType": content_type,
        "CompressionType": "None",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
    }


_PROBLEMS: dict[str, dict[str, Any]] = {
    pt.TABULAR: {
        "channels": [_channel(f"{DATA}/tabular/train/", pt.CSV)],
        "config": {
            "TargetAttributeName": "label",
            "ProblemType": "BinaryClassification",
            "Mode": "ENSEMBLING",
            "CompletionCriteria": {
                "MaxCandidates": 50,
                "MaxAutoMLJobRuntimeInSeconds": 14400,
            },
        },
        "objective": "F1",
        "deployment": {"Serverless": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}},
    },
    pt.TIME_SERIES: {
        "channels": [_channel(f"{DATA}/timeseries/", pt.CSV)],
        "config": {
            "ForecastFrequency": "1D",
            "ForecastHorizon": 14,
            "ForecastQuantiles": ["p10", "p50", "p90"],
            "TimeSeriesConfig": {
                "TargetAttributeName": "demand",
                "TimestampAttributeName": "timestamp",
                "ItemIdentifierAttributeName": "item_id",
            },
            "CompletionCriteria": {"MaxAutoMLJobRuntimeInSeconds": 86400},
        },
        "objective": "AverageWeightedQuantileLoss",
        # Two instances: a canary is a part of the new fleet (at most half of it).
        "deployment": {"InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 2},
        "strategy": {
            "Type": "Canary",
            "StepPercent": 50,
            "WaitIntervalInSeconds": 600,
            "TerminationWaitInSeconds": 300,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
    },
    pt.TEXT_CLASSIFICATION: {
        "channels": [_channel(f"{DATA}/text/train/", pt.CSV)],
        "config": {
            "ContentColumn": "text",
            "TargetLabelColumn": "label",
            "CompletionCriteria": {"MaxCandidates": 1, "MaxAutoMLJobRuntimeInSeconds": 43200},
        },
        "objective": "Accuracy",
        "deployment": {"InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1},
    },
    pt.IMAGE_CLASSIFICATION: {
        "channels": [_channel(f"{DATA}/images/train/", "image/*")],
        "config": {
            "CompletionCriteria": {"MaxCandidates": 1, "MaxAutoMLJobRuntimeInSeconds": 28800},
        },
        "objective": "Accuracy",
        "deployment": {"InstanceType": "ml.g4dn.xlarge", "InitialInstanceCount": 1},
    },
    pt.TEXT_GENERATION: {
        "channels": [_channel(f"{DATA}/instructions/", pt.CSV)],
        "config": {
            "BaseModelName": pt.DEFAULT_TEXT_GENERATION_MODEL,
            "TextGenerationHyperParameters": {
                "epochCount": "3",
                "batchSize": "8",
                "learningRate": "0.0001",
                "learningRateWarmupSteps": "10",
            },
            "CompletionCriteria": {"MaxRuntimePerTrainingJobInSeconds": 86400},
        },
        "objective": None,
        "deployment": {"InstanceType": "ml.g5.2xlarge", "InitialInstanceCount": 1},
    },
}


def skeleton(problem: str) -> dict[str, Any]:
    """A valid manifest for ``problem`` (a problem config key or a CLI name)."""
    key = pt.CLI_NAMES.get(problem, problem)
    spec = copy.deepcopy(_PROBLEMS[key])
    short = next(name for name, value in pt.CLI_NAMES.items() if value == key)
    manifest: dict[str, Any] = {
        "AutoMLJobName": f"my-{short}-job",
        "AutoMLJobInputDataConfig": spec["channels"],
        "OutputDataConfig": {"S3OutputPath": OUTPUT},
        "AutoMLProblemTypeConfig": {key: spec["config"]},
        "RoleArn": ROLE,
        "Tags": [{"Key": "team", "Value": "data-science"}],
    }
    if spec["objective"]:
        manifest["AutoMLJobObjective"] = {"MetricName": spec["objective"]}
    endpoint = f"my-{short}-endpoint"
    manifest["Deployment"] = {"EndpointName": endpoint, **spec["deployment"]}
    if "InstanceType" in spec["deployment"]:
        # Blue/green with alarm rollback: instance endpoints only (serverless has none).
        strategy = spec.get("strategy") or {"Type": "AllAtOnce", "WaitIntervalInSeconds": 600}
        manifest["Deployment"]["Strategy"] = {
            **strategy,
            "AutoRollbackAlarmNames": [f"{endpoint}-5xx"],
        }
    manifest["Notifications"] = {"OnStatus": ["Completed", "Failed", "Stopped"]}
    manifest["Registry"] = {
        "ModelPackageGroupName": f"my-{short}-models",
        "ApprovalRequired": False,
        "Description": f"Best candidate of my-{short}-job",
    }
    return manifest
