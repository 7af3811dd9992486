"""Every validation code: a manifest that breaks it, and a valid one near the boundary.

Each case starts from a valid base manifest per problem type (defined inline below, modelled
on ``examples/manifests/``), changes one thing, and asserts the exact ``path`` and ``code`` of
the single error it causes and that the message says something actionable. Changes and
expected paths are written as API paths; ``@`` stands for the problem config of the case,
e.g. ``@.ForecastHorizon`` is ``AutoMLProblemTypeConfig.TimeSeriesForecastingJobConfig
.ForecastHorizon`` for a time-series case.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from autopilot_flow import policy as policy_module
from autopilot_flow.issues import Issue
from autopilot_flow.policy import Policy, PolicyError
from autopilot_flow.rules import RULES
from autopilot_flow.validate import ValidationResult, validate_document

# --- Base manifests (all valid) ------------------------------------------------------------

ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"
DATA = "s3://amzn-s3-demo-ml-data"
OUTPUT = "s3://amzn-s3-demo-ml-output"
CSV = "text/csv;header=present"
PARQUET = "x-application/vnd.amazon+parquet"


def _channel(uri: str, channel_type: str | None = "training", **extra: Any) -> dict[str, Any]:
    channel: dict[str, Any] = {} if channel_type is None else {"ChannelType": channel_type}
    channel.update(extra)
    channel["DataSource"] = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}
    return channel


BASES: dict[str, dict[str, Any]] = {
    "tabular": {
        "AutoMLJobName": "churn-binary-2026-11",
        "AutoMLJobInputDataConfig": [
            _channel(f"{DATA}/churn/train/", ContentType=CSV, CompressionType="None"),
            _channel(
                f"{DATA}/churn/validation/", "validation", ContentType=CSV, CompressionType="None"
            ),
        ],
        "OutputDataConfig": {"S3OutputPath": f"{OUTPUT}/autopilot/churn/"},
        "AutoMLProblemTypeConfig": {
            "TabularJobConfig": {
                "TargetAttributeName": "churned",
                "ProblemType": "BinaryClassification",
                "Mode": "ENSEMBLING",
                "SampleWeightAttributeName": "account_weight",
                "CompletionCriteria": {"MaxCandidates": 50, "MaxAutoMLJobRuntimeInSeconds": 14400},
                "CandidateGenerationConfig": {
                    "AlgorithmsConfig": [
                        {"AutoMLAlgorithms": ["xgboost", "lightgbm", "catboost", "randomforest"]}
                    ]
                },
            }
        },
        "AutoMLJobObjective": {"MetricName": "F1"},
        "RoleArn": ROLE,
        "Tags": [{"Key": "team", "Value": "growth-analytics"}],
        "Deployment": {
            "EndpointName": "churn-classifier",
            "OnlyIfBetter": True,
            "Serverless": {"MemorySizeInMB": 2048, "MaxConcurrency": 5},
            "InferenceResponseKeys": ["predicted_label", "probability"],
        },
        "Notifications": {"OnStatus": ["Completed", "Failed"]},
    },
    "timeseries": {
        "AutoMLJobName": "demand-forecast-daily",
        "AutoMLJobInputDataConfig": [_channel(f"{DATA}/retail/demand/", ContentType=CSV)],
        "OutputDataConfig": {"S3OutputPath": f"{OUTPUT}/autopilot/demand/"},
        "AutoMLProblemTypeConfig": {
            "TimeSeriesForecastingJobConfig": {
                "ForecastFrequency": "1D",
                "ForecastHorizon": 14,
                "ForecastQuantiles": ["p10", "p50", "p90"],
                "TimeSeriesConfig": {
                    "TargetAttributeName": "demand",
                    "TimestampAttributeName": "date",
                    "ItemIdentifierAttributeName": "product_id",
                    "GroupingAttributeNames": ["store_id"],
                },
                "Transformations": {
                    "Filling": {
                        "demand": {"middlefill": "zero", "backfill": "zero"},
                        "price": {
                            "middlefill": "median",
                            "futurefill": "value",
                            "futurefill_value": "0",
                        },
                    },
                    "Aggregation": {"demand": "sum"},
                },
                "HolidayConfig": [{"CountryCode": "US"}],
                "CandidateGenerationConfig": {
                    "AlgorithmsConfig": [
                        {
                            "AutoMLAlgorithms": [
                                "cnn-qr",
                                "deepar",
                                "prophet",
                                "arima",
                                "npts",
                                "ets",
                            ]
                        }
                    ]
                },
                "CompletionCriteria": {"MaxAutoMLJobRuntimeInSeconds": 86400},
            }
        },
        "AutoMLJobObjective": {"MetricName": "AverageWeightedQuantileLoss"},
        "RoleArn": ROLE,
        "Deployment": {"EndpointName": "demand-forecast", "InstanceType": "ml.m5.xlarge"},
    },
    "image": {
        "AutoMLJobName": "weld-defect-images",
        "AutoMLJobInputDataConfig": [
            {
                "ChannelType": "training",
                "ContentType": "image/*",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "AugmentedManifestFile",
                        "S3Uri": f"{DATA}/inspection/labels/output.manifest",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"{OUTPUT}/autopilot/inspection/"},
        "AutoMLProblemTypeConfig": {
            "ImageClassificationJobConfig": {
                "CompletionCriteria": {"MaxCandidates": 1, "MaxAutoMLJobRuntimeInSeconds": 28800}
            }
        },
        "AutoMLJobObjective": {"MetricName": "Accuracy"},
        "RoleArn": ROLE,
        "SecurityConfig": {"EnableInterContainerTrafficEncryption": True},
        "Deployment": {
            "EndpointName": "weld-defects",
            "InstanceType": "ml.g4dn.xlarge",
            "InferenceResponseKeys": ["predicted_label", "probabilities", "labels"],
        },
    },
    "text": {
        "AutoMLJobName": "support-ticket-routing",
        "AutoMLJobInputDataConfig": [
            _channel(f"{DATA}/support/tickets/train/", ContentType=CSV),
            _channel(f"{DATA}/support/tickets/validation/", "validation", ContentType=CSV),
        ],
        "OutputDataConfig": {"S3OutputPath": f"{OUTPUT}/autopilot/support/"},
        "AutoMLProblemTypeConfig": {
            "TextClassificationJobConfig": {
                "ContentColumn": "ticket_text",
                "TargetLabelColumn": "queue",
                "CompletionCriteria": {"MaxCandidates": 1, "MaxAutoMLJobRuntimeInSeconds": 43200},
            }
        },
        "AutoMLJobObjective": {"MetricName": "Accuracy"},
        "RoleArn": ROLE,
        "Deployment": {
            "EndpointName": "ticket-router",
            "InstanceType": "ml.g5.xlarge",
            "InferenceResponseKeys": ["predicted_label", "probability"],
        },
    },
    "textgen": {
        "AutoMLJobName": "support-assistant-llama",
        "AutoMLJobInputDataConfig": [_channel(f"{DATA}/support/qa-pairs/", ContentType=CSV)],
        "OutputDataConfig": {"S3OutputPath": f"{OUTPUT}/autopilot/assistant/"},
        "AutoMLProblemTypeConfig": {
            "TextGenerationJobConfig": {
                "BaseModelName": "Llama2-7BChat",
                "ModelAccessConfig": {"AcceptEula": True},
                "TextGenerationHyperParameters": {
                    "epochCount": "3",
                    "batchSize": "16",
                    "learningRate": "0.0001",
                    "learningRateWarmupSteps": "10",
                },
                "CompletionCriteria": {
                    "MaxRuntimePerTrainingJobInSeconds": 86400,
                    "MaxAutoMLJobRuntimeInSeconds": 172800,
                },
            }
        },
        "RoleArn": ROLE,
        "Deployment": {"EndpointName": "support-assistant", "InstanceType": "ml.g5.2xlarge"},
    },
}

CONFIGS = {
    "tabular": "TabularJobConfig",
    "timeseries": "TimeSeriesForecastingJobConfig",
    "image": "ImageClassificationJobConfig",
    "text": "TextClassificationJobConfig",
    "textgen": "TextGenerationJobConfig",
}
NON_TABULAR = ("timeseries", "image", "text", "textgen")
# Every time-series job gets this warning (the 1/4-of-the-data bound needs the data).
BASE_WARNINGS = dict.fromkeys(BASES, ()) | {"timeseries": ("timeseries.horizon_needs_data",)}

STRUCTURAL_CODES = {
    "required",
    "unknown_field",
    "type",
    "enum",
    "min_length",
    "max_length",
    "min_items",
    "max_items",
    "min_value",
    "max_value",
    "pattern",
    "union_exactly_one",
}

# --- Helpers -------------------------------------------------------------------------------

DELETE = object()
# The tabular base deploys serverless; these changes deploy to instances instead.
ON_INSTANCES: dict[str, Any] = {
    "Deployment.Serverless": DELETE,
    "Deployment.InstanceType": "ml.m5.large",
}
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def expand(kind: str, path: str) -> str:
    """``@`` -> the problem config of ``kind``."""
    return path.replace("@", f"AutoMLProblemTypeConfig.{CONFIGS[kind]}")


def _segments(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _SEGMENT.findall(path)]


def build(kind: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of the base manifest of ``kind`` with ``changes`` (path -> value) applied.

    Missing intermediate objects are created; ``DELETE`` removes a field or list item; an
    index one past the end of a list appends.
    """
    document = copy.deepcopy(BASES[kind])
    for path, value in (changes or {}).items():
        *parents, last = _segments(expand(kind, path))
        node: Any = document
        for segment in parents:
            if isinstance(node, dict) and segment not in node:
                node[segment] = {}
            node = node[segment]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    return document


def found(issues: list[Issue]) -> list[tuple[str, str]]:
    return [(issue.path, issue.code) for issue in issues]


def validate(kind: str, changes: dict[str, Any] | None = None, **kwargs: Any) -> ValidationResult:
    return validate_document(build(kind, changes), **kwargs)


def tags(count: int) -> list[dict[str, str]]:
    return [{"Key": f"key-{i}", "Value": f"value-{i}"} for i in range(count)]


def case(  # noqa: PLR0917 - one positional per table column
    case_id: str, kind: str, changes: dict[str, Any], path: str, code: str, mention: str
) -> Any:
    return pytest.param(kind, changes, path, code, mention, id=case_id)


# --- Structural codes ----------------------------------------------------------------------

STRUCTURAL_CASES = [
    # required
    case("required-top-level", "tabular", {"RoleArn": DELETE}, "RoleArn", "required", "RoleArn"),
    case(
        "required-nested",
        "tabular",
        {"AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri": DELETE},
        "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri",
        "required",
        "S3Uri is required",
    ),
    case(
        "required-in-problem-config",
        "timeseries",
        {"@.ForecastFrequency": DELETE},
        "@.ForecastFrequency",
        "required",
        "ForecastFrequency",
    ),
    # unknown_field, with a "did you mean" everywhere
    case(
        "unknown-top-level",
        "tabular",
        {"AutoMLJobNmae": "x"},
        "AutoMLJobNmae",
        "unknown_field",
        "Did you mean 'AutoMLJobName'?",
    ),
    case(
        "unknown-top-level-our-section",
        "tabular",
        {"Deploymnt": {}},
        "Deploymnt",
        "unknown_field",
        "Did you mean 'Deployment'?",
    ),
    case(
        "unknown-nested",
        "tabular",
        {"OutputDataConfig.S3OutputPth": "s3://b/"},
        "OutputDataConfig.S3OutputPth",
        "unknown_field",
        "Did you mean 'S3OutputPath'?",
    ),
    case(
        "unknown-in-list-item",
        "tabular",
        {"AutoMLJobInputDataConfig[0].ContentTyp": CSV},
        "AutoMLJobInputDataConfig[0].ContentTyp",
        "unknown_field",
        "Did you mean 'ContentType'?",
    ),
    case(
        "unknown-in-problem-config",
        "tabular",
        {"@.Mod": "ENSEMBLING"},
        "@.Mod",
        "unknown_field",
        "Did you mean 'Mode'?",
    ),
    case(
        "unknown-in-deployment",
        "tabular",
        {"Deployment.EndpointNam": "x"},
        "Deployment.EndpointNam",
        "unknown_field",
        "Did you mean 'EndpointName'?",
    ),
    case(
        "unknown-in-deployment-serverless",
        "tabular",
        {"Deployment.Serverless.MemorySize": 2048},
        "Deployment.Serverless.MemorySize",
        "unknown_field",
        "Did you mean 'MemorySizeInMB'?",
    ),
    case(
        "unknown-in-notifications",
        "tabular",
        {"Notifications.OnStatuses": ["Failed"]},
        "Notifications.OnStatuses",
        "unknown_field",
        "Did you mean 'OnStatus'?",
    ),
    # type: strict, no coercion
    case(
        "type-string-for-integer",
        "tabular",
        {"@.CompletionCriteria.MaxCandidates": "10"},
        "@.CompletionCriteria.MaxCandidates",
        "type",
        "got a string",
    ),
    case(
        "type-float-for-integer",
        "tabular",
        {"@.CompletionCriteria.MaxCandidates": 10.0},
        "@.CompletionCriteria.MaxCandidates",
        "type",
        "without a decimal point",
    ),
    case(
        "type-bool-for-integer",
        "tabular",
        {"@.CompletionCriteria.MaxCandidates": True},
        "@.CompletionCriteria.MaxCandidates",
        "type",
        "got a boolean",
    ),
    case(
        "type-string-for-horizon",
        "timeseries",
        {"@.ForecastHorizon": "14"},
        "@.ForecastHorizon",
        "type",
        "whole number",
    ),
    case(
        "type-string-for-float",
        "tabular",
        {"DataSplitConfig.ValidationFraction": "0.2"},
        "DataSplitConfig.ValidationFraction",
        "type",
        "must be a number",
    ),
    case(
        "type-bool-for-float",
        "tabular",
        {"DataSplitConfig.ValidationFraction": True},
        "DataSplitConfig.ValidationFraction",
        "type",
        "got a boolean",
    ),
    case(
        "type-nan-for-float",
        "tabular",
        {"DataSplitConfig.ValidationFraction": float("nan")},
        "DataSplitConfig.ValidationFraction",
        "type",
        "finite",
    ),
    case(
        "type-string-for-boolean",
        "tabular",
        {"Deployment.OnlyIfBetter": "true"},
        "Deployment.OnlyIfBetter",
        "type",
        "true or false",
    ),
    case(
        "type-integer-for-string",
        "tabular",
        {"AutoMLJobName": 5},
        "AutoMLJobName",
        "type",
        "must be a string",
    ),
    case(
        "type-object-for-list",
        "tabular",
        {"Tags": {"Key": "team", "Value": "x"}},
        "Tags",
        "type",
        "must be a list",
    ),
    case(
        "type-list-for-object",
        "tabular",
        {"OutputDataConfig": ["s3://b/"]},
        "OutputDataConfig",
        "type",
        "must be an object",
    ),
    case(
        "type-string-for-hyperparameter",
        "textgen",
        {"@.TextGenerationHyperParameters.epochCount": 3},
        "@.TextGenerationHyperParameters.epochCount",
        "type",
        "must be a string",
    ),
    # enum
    case(
        "enum-compression",
        "tabular",
        {"AutoMLJobInputDataConfig[0].CompressionType": "gzip"},
        "AutoMLJobInputDataConfig[0].CompressionType",
        "enum",
        "Did you mean 'Gzip'?",
    ),
    case(
        "enum-problem-type",
        "tabular",
        {"@.ProblemType": "Binary"},
        "@.ProblemType",
        "enum",
        "Allowed: BinaryClassification, MulticlassClassification, Regression",
    ),
    case(
        "enum-aggregation",
        "timeseries",
        {"@.Transformations.Aggregation.demand": "mean"},
        "@.Transformations.Aggregation.demand",
        "enum",
        "Allowed: sum, avg, first, min, max",
    ),
    case(
        "enum-filling-method-key",
        "timeseries",
        {"@.Transformations.Filling.price.sidefill": "zero"},
        "@.Transformations.Filling.price.sidefill",
        "enum",
        "frontfill",
    ),
    case(
        "enum-notifications",
        "tabular",
        {"Notifications.OnStatus[1]": "Done"},
        "Notifications.OnStatus[1]",
        "enum",
        "Completed, Failed, Stopped",
    ),
    case(
        "enum-response-key",
        "tabular",
        {"Deployment.InferenceResponseKeys[1]": "probabilty"},
        "Deployment.InferenceResponseKeys[1]",
        "enum",
        "Did you mean 'probability'?",
    ),
    # lengths
    case(
        "min-length-job-name",
        "tabular",
        {"AutoMLJobName": ""},
        "AutoMLJobName",
        "min_length",
        "empty",
    ),
    case(
        "min-length-target",
        "tabular",
        {"@.TargetAttributeName": ""},
        "@.TargetAttributeName",
        "min_length",
        "empty",
    ),
    case(
        "max-length-job-name-33",
        "tabular",
        {"AutoMLJobName": "a" * 33},
        "AutoMLJobName",
        "max_length",
        "at most 32",
    ),
    case(
        "max-length-frequency",
        "timeseries",
        {"@.ForecastFrequency": "120min"},
        "@.ForecastFrequency",
        "max_length",
        "at most 5",
    ),
    case(
        "max-length-s3-uri",
        "tabular",
        {"OutputDataConfig.S3OutputPath": "s3://b/" + "a" * 1018},
        "OutputDataConfig.S3OutputPath",
        "max_length",
        "at most 1024",
    ),
    # item counts
    case(
        "min-items-channels",
        "tabular",
        {"AutoMLJobInputDataConfig": []},
        "AutoMLJobInputDataConfig",
        "min_items",
        "at least 1",
    ),
    case(
        "min-items-quantiles",
        "timeseries",
        {"@.ForecastQuantiles": []},
        "@.ForecastQuantiles",
        "min_items",
        "at least 1",
    ),
    case("max-items-51-tags", "tabular", {"Tags": tags(51)}, "Tags", "max_items", "at most 50"),
    case(
        "max-items-six-quantiles",
        "timeseries",
        {"@.ForecastQuantiles": ["p10", "p20", "p30", "p40", "p50", "p60"]},
        "@.ForecastQuantiles",
        "max_items",
        "at most 5",
    ),
    case(
        "max-items-holidays",
        "timeseries",
        {"@.HolidayConfig[1]": {"CountryCode": "DE"}},
        "@.HolidayConfig",
        "max_items",
        "at most 1",
    ),
    case(
        "max-items-algorithms-config",
        "tabular",
        {"@.CandidateGenerationConfig.AlgorithmsConfig[1]": {"AutoMLAlgorithms": ["xgboost"]}},
        "@.CandidateGenerationConfig.AlgorithmsConfig",
        "max_items",
        "at most 1",
    ),
    # ranges
    case(
        "min-value-horizon-0",
        "timeseries",
        {"@.ForecastHorizon": 0},
        "@.ForecastHorizon",
        "min_value",
        "at least 1",
    ),
    case(
        "min-value-tabular-candidates-0",
        "tabular",
        {"@.CompletionCriteria.MaxCandidates": 0},
        "@.CompletionCriteria.MaxCandidates",
        "min_value",
        "at least 1",
    ),
    case(
        "min-value-fraction-negative",
        "tabular",
        {"DataSplitConfig.ValidationFraction": -0.1},
        "DataSplitConfig.ValidationFraction",
        "min_value",
        "at least 0",
    ),
    case(
        "min-value-deployment-concurrency",
        "tabular",
        {"Deployment.Serverless.MaxConcurrency": 0},
        "Deployment.Serverless.MaxConcurrency",
        "min_value",
        "at least 1",
    ),
    case(
        "max-value-tabular-candidates-751",
        "tabular",
        {"@.CompletionCriteria.MaxCandidates": 751},
        "@.CompletionCriteria.MaxCandidates",
        "max_value",
        "at most 750",
    ),
    case(
        "max-value-fraction",
        "tabular",
        {"DataSplitConfig.ValidationFraction": 1.5},
        "DataSplitConfig.ValidationFraction",
        "max_value",
        "at most 1",
    ),
    case(
        "max-value-deployment-instances",
        "timeseries",
        {"Deployment.InitialInstanceCount": 101},
        "Deployment.InitialInstanceCount",
        "max_value",
        "at most 100",
    ),
    case(
        "max-value-deployment-memory",
        "tabular",
        {"Deployment.Serverless.MemorySizeInMB": 7168},
        "Deployment.Serverless.MemorySizeInMB",
        "max_value",
        "at most 6144",
    ),
    # patterns
    case(
        "pattern-job-name-underscore",
        "tabular",
        {"AutoMLJobName": "churn_binary"},
        "AutoMLJobName",
        "pattern",
        "letters, digits and hyphens",
    ),
    case(
        "pattern-job-name-trailing-hyphen",
        "tabular",
        {"AutoMLJobName": "churn-"},
        "AutoMLJobName",
        "pattern",
        "starting and ending with a letter or digit",
    ),
    case(
        "pattern-role-arn",
        "tabular",
        {"RoleArn": "arn:aws:iam::1111:role/AutopilotExecution"},
        "RoleArn",
        "pattern",
        "IAM role ARN",
    ),
    case(
        "pattern-s3-uri",
        "tabular",
        {"AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri": "bucket/churn/train/"},
        "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri",
        "pattern",
        "s3://bucket/prefix/",
    ),
    case(
        "pattern-country-code",
        "timeseries",
        {"@.HolidayConfig[0].CountryCode": "us"},
        "@.HolidayConfig[0].CountryCode",
        "pattern",
        "upper-case country code",
    ),
    case(
        "pattern-tag-key-control-character",
        "tabular",
        {"Tags[0].Key": "team\tname"},
        "Tags[0].Key",
        "pattern",
        "letters, digits, spaces",
    ),
    case(
        "pattern-deployment-endpoint",
        "tabular",
        {"Deployment.EndpointName": "churn_classifier"},
        "Deployment.EndpointName",
        "pattern",
        "1-63 characters",
    ),
    case(
        "pattern-deployment-instance-type",
        "timeseries",
        {"Deployment.InstanceType": "m5.xlarge"},
        "Deployment.InstanceType",
        "pattern",
        "ml\\.",
    ),
    # tagged union
    case(
        "union-none-set",
        "tabular",
        {"AutoMLProblemTypeConfig": {}},
        "AutoMLProblemTypeConfig",
        "union_exactly_one",
        "none is set",
    ),
    case(
        "union-two-set",
        "tabular",
        {"AutoMLProblemTypeConfig.ImageClassificationJobConfig": {}},
        "AutoMLProblemTypeConfig",
        "union_exactly_one",
        "2 are set (TabularJobConfig, ImageClassificationJobConfig)",
    ),
]

# --- Rule codes (rules.py and sections.py) -------------------------------------------------

RULE_CASES = [
    # input channels
    case(
        "s3-data-type-text-manifest",
        "text",
        {"AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3DataType": "ManifestFile"},
        "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3DataType",
        "input.s3_data_type",
        "use S3Prefix",
    ),
    case(
        "s3-data-type-tabular-augmented",
        "tabular",
        {
            "AutoMLJobInputDataConfig[1].DataSource.S3DataSource.S3DataType": (
                "AugmentedManifestFile"
            )
        },
        "AutoMLJobInputDataConfig[1].DataSource.S3DataSource.S3DataType",
        "input.s3_data_type",
        "S3Prefix or ManifestFile",
    ),
    case(
        "s3-data-type-timeseries-manifest",
        "timeseries",
        {"AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3DataType": "ManifestFile"},
        "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3DataType",
        "input.s3_data_type",
        "use S3Prefix",
    ),
    case(
        "content-type-image-gif",
        "image",
        {"AutoMLJobInputDataConfig[0].ContentType": "image/gif"},
        "AutoMLJobInputDataConfig[0].ContentType",
        "input.content_type",
        "image/*, image/png, image/jpeg",
    ),
    case(
        "content-type-tabular-space",
        "tabular",
        {
            "AutoMLJobInputDataConfig[1]": DELETE,
            "AutoMLJobInputDataConfig[0].ContentType": "text/csv; header=present",
        },
        "AutoMLJobInputDataConfig[0].ContentType",
        "input.content_type",
        "Did you mean 'text/csv;header=present'?",
    ),
    case(
        "content-type-textgen-image",
        "textgen",
        {"AutoMLJobInputDataConfig[0].ContentType": "image/png"},
        "AutoMLJobInputDataConfig[0].ContentType",
        "input.content_type",
        PARQUET,
    ),
    case(
        "compression-gzip-text",
        "text",
        {"AutoMLJobInputDataConfig[0].CompressionType": "Gzip"},
        "AutoMLJobInputDataConfig[0].CompressionType",
        "input.compression",
        "use None",
    ),
    case(
        "compression-gzip-tabular-manifest",
        "tabular",
        {
            "AutoMLJobInputDataConfig[0].CompressionType": "Gzip",
            "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3DataType": "ManifestFile",
        },
        "AutoMLJobInputDataConfig[0].CompressionType",
        "input.compression",
        "only for S3Prefix inputs of tabular jobs",
    ),
    case(
        "channel-types-two-training",
        "tabular",
        {"AutoMLJobInputDataConfig[1].ChannelType": "training"},
        "AutoMLJobInputDataConfig[1].ChannelType",
        "input.channel_types",
        "a second training channel",
    ),
    case(
        "channel-types-two-training-by-default",
        "tabular",
        {"AutoMLJobInputDataConfig[1].ChannelType": DELETE},
        "AutoMLJobInputDataConfig[1].ChannelType",
        "input.channel_types",
        "defaults to training",
    ),
    case(
        "channel-types-validation-only",
        "tabular",
        {"AutoMLJobInputDataConfig[0]": DELETE},
        "AutoMLJobInputDataConfig[0].ChannelType",
        "input.channel_types",
        "needs a training channel",
    ),
    case(
        "content-type-mismatch",
        "tabular",
        {"AutoMLJobInputDataConfig[1].ContentType": PARQUET},
        "AutoMLJobInputDataConfig[1].ContentType",
        "input.content_type_mismatch",
        "same ContentType",
    ),
    case(
        "content-type-mismatch-omitted-means-csv",
        "text",
        {
            "AutoMLJobInputDataConfig[0].ContentType": DELETE,
            "AutoMLJobInputDataConfig[1].ContentType": PARQUET,
        },
        "AutoMLJobInputDataConfig[1].ContentType",
        "input.content_type_mismatch",
        f"an omitted ContentType means '{CSV}'",
    ),
    # output
    case(
        "s3-output-path-513",
        "tabular",
        {"OutputDataConfig.S3OutputPath": "s3://b/" + "a" * 506},
        "OutputDataConfig.S3OutputPath",
        "output.s3_output_path_length",
        "512 characters or less (got 513)",
    ),
    case(
        "s3-output-path-1024",
        "tabular",
        {"OutputDataConfig.S3OutputPath": "s3://b/" + "a" * 1017},
        "OutputDataConfig.S3OutputPath",
        "output.s3_output_path_length",
        "512 characters or less",
    ),
    # completion criteria: MaxCandidates is 1 for every non-tabular type
    *[
        case(
            f"max-candidates-2-{kind}",
            kind,
            {"@.CompletionCriteria.MaxCandidates": 2},
            "@.CompletionCriteria.MaxCandidates",
            "completion.max_candidates",
            f"must be 1 for {CONFIGS[kind]} (got 2)",
        )
        for kind in NON_TABULAR
    ],
    # objective
    case(
        "objective-without-problem-type",
        "tabular",
        {"@.ProblemType": DELETE},
        "@.ProblemType",
        "objective.problem_type_pair",
        "both or neither",
    ),
    case(
        "problem-type-without-objective",
        "tabular",
        {"AutoMLJobObjective": DELETE},
        "AutoMLJobObjective",
        "objective.problem_type_pair",
        "both or neither",
    ),
    case(
        "metric-regression-for-binary",
        "tabular",
        {"AutoMLJobObjective.MetricName": "RMSE"},
        "AutoMLJobObjective.MetricName",
        "objective.metric",
        "Accuracy, AUC, BalancedAccuracy, F1, Precision, Recall",
    ),
    case(
        "metric-binary-for-multiclass",
        "tabular",
        {"@.ProblemType": "MulticlassClassification"},
        "AutoMLJobObjective.MetricName",
        "objective.metric",
        "F1macro",
    ),
    case(
        "metric-classification-for-timeseries",
        "timeseries",
        {"AutoMLJobObjective.MetricName": "Accuracy"},
        "AutoMLJobObjective.MetricName",
        "objective.metric",
        "AverageWeightedQuantileLoss, MAPE, MASE, WAPE, RMSE",
    ),
    case(
        "metric-f1-for-image",
        "image",
        {"AutoMLJobObjective.MetricName": "F1"},
        "AutoMLJobObjective.MetricName",
        "objective.metric",
        "Accuracy",
    ),
    case(
        "metric-for-textgen",
        "textgen",
        {"AutoMLJobObjective": {"MetricName": "Accuracy"}},
        "AutoMLJobObjective",
        "objective.metric",
        "remove it",
    ),
    # tabular modes and algorithms
    case(
        "sample-weights-in-hpo-mode",
        "tabular",
        {
            "@.Mode": "HYPERPARAMETER_TUNING",
            **ON_INSTANCES,
            "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms": ["xgboost"],
        },
        "@.SampleWeightAttributeName",
        "tabular.sample_weight_mode",
        "Mode ENSEMBLING",
    ),
    case(
        "sample-weights-mode-omitted",
        "tabular",
        {"@.Mode": DELETE, "@.CandidateGenerationConfig": DELETE},
        "@.SampleWeightAttributeName",
        "tabular.sample_weight_mode",
        "Mode omitted means AUTO",
    ),
    case(
        "algorithms-in-auto-mode",
        "tabular",
        {"@.Mode": "AUTO", "@.SampleWeightAttributeName": DELETE},
        "@.CandidateGenerationConfig.AlgorithmsConfig",
        "algorithms.auto_mode",
        "must not be set in AUTO mode",
    ),
    case(
        "algorithms-empty-config-tabular",
        "tabular",
        {"@.CandidateGenerationConfig.AlgorithmsConfig": []},
        "@.CandidateGenerationConfig.AlgorithmsConfig",
        "algorithms.exactly_one",
        "exactly one AutoMLAlgorithms entry",
    ),
    case(
        "algorithms-empty-config-timeseries",
        "timeseries",
        {"@.CandidateGenerationConfig.AlgorithmsConfig": []},
        "@.CandidateGenerationConfig.AlgorithmsConfig",
        "algorithms.exactly_one",
        "exactly one AutoMLAlgorithms entry",
    ),
    case(
        "algorithm-mlp-in-ensembling",
        "tabular",
        {"@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms[1]": "mlp"},
        "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms[1]",
        "algorithms.allowed",
        "ENSEMBLING mode",
    ),
    case(
        "algorithm-lightgbm-in-hpo",
        "tabular",
        {
            "@.Mode": "HYPERPARAMETER_TUNING",
            **ON_INSTANCES,
            "@.SampleWeightAttributeName": DELETE,
            "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms": ["mlp", "lightgbm"],
        },
        "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms[1]",
        "algorithms.allowed",
        "linear-learner, mlp, xgboost",
    ),
    case(
        "algorithm-xgboost-in-timeseries",
        "timeseries",
        {"@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms[2]": "xgboost"},
        "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms[2]",
        "algorithms.allowed",
        "cnn-qr, deepar, prophet, arima, npts, ets",
    ),
    # time series
    case(
        "horizon-501",
        "timeseries",
        {"@.ForecastHorizon": 501},
        "@.ForecastHorizon",
        "timeseries.forecast_horizon",
        "at most 500",
    ),
    case(
        "filling-bad-option",
        "timeseries",
        {"@.Transformations.Filling.price.middlefill": "average"},
        "@.Transformations.Filling.price.middlefill",
        "timeseries.filling_option",
        "zero, value, median, mean, min, max",
    ),
    case(
        "filling-frontfill-only-none",
        "timeseries",
        {"@.Transformations.Filling.demand.frontfill": "zero"},
        "@.Transformations.Filling.demand.frontfill",
        "timeseries.filling_option",
        "use none",
    ),
    case(
        "filling-value-missing",
        "timeseries",
        {"@.Transformations.Filling.price.futurefill_value": DELETE},
        "@.Transformations.Filling.price.futurefill",
        "timeseries.filling_value_missing",
        "futurefill_value",
    ),
    case(
        "filling-value-orphan",
        "timeseries",
        {"@.Transformations.Filling.price.futurefill": "zero"},
        "@.Transformations.Filling.price.futurefill_value",
        "timeseries.filling_value_orphan",
        'only with "futurefill": "value"',
    ),
    case(
        "filling-frontfill-value-orphan",
        "timeseries",
        {"@.Transformations.Filling.demand.frontfill_value": "0"},
        "@.Transformations.Filling.demand.frontfill_value",
        "timeseries.filling_value_orphan",
        "frontfill accepts only none",
    ),
    case(
        "frontfill-not-target",
        "timeseries",
        {"@.Transformations.Filling.price.frontfill": "none"},
        "@.Transformations.Filling.price.frontfill",
        "timeseries.frontfill_target_only",
        "target column ('demand')",
    ),
    case(
        "aggregation-not-target",
        "timeseries",
        {"@.Transformations.Aggregation.price": "avg"},
        "@.Transformations.Aggregation.price",
        "timeseries.aggregation_target_only",
        "target column ('demand')",
    ),
    # data split
    case(
        "data-split-for-timeseries",
        "timeseries",
        {"DataSplitConfig.ValidationFraction": 0.2},
        "DataSplitConfig",
        "data_split.time_series",
        "must not be set for time-series",
    ),
    case(
        "validation-fraction-0",
        "tabular",
        {"DataSplitConfig.ValidationFraction": 0},
        "DataSplitConfig.ValidationFraction",
        "data_split.fraction",
        "greater than 0 and less than 1",
    ),
    case(
        "validation-fraction-1",
        "tabular",
        {"DataSplitConfig.ValidationFraction": 1},
        "DataSplitConfig.ValidationFraction",
        "data_split.fraction",
        "greater than 0 and less than 1",
    ),
    case(
        "validation-fraction-1.0",
        "tabular",
        {"DataSplitConfig.ValidationFraction": 1.0},
        "DataSplitConfig.ValidationFraction",
        "data_split.fraction",
        "greater than 0 and less than 1",
    ),
    # model deploy config
    case(
        "endpoint-name-with-auto-generate",
        "tabular",
        {
            "Deployment": DELETE,
            "ModelDeployConfig": {"AutoGenerateEndpointName": True, "EndpointName": "churn"},
        },
        "ModelDeployConfig.EndpointName",
        "model_deploy.endpoint_name",
        "must not be set",
    ),
    case(
        "endpoint-name-missing",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {"AutoGenerateEndpointName": False}},
        "ModelDeployConfig.EndpointName",
        "model_deploy.endpoint_name",
        "required unless AutoGenerateEndpointName is true",
    ),
    case(
        "endpoint-name-missing-default-false",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {}},
        "ModelDeployConfig.EndpointName",
        "model_deploy.endpoint_name",
        "required unless",
    ),
    # compute
    *[
        case(
            f"emr-for-{kind}",
            kind,
            {
                "AutoMLComputeConfig.EmrServerlessComputeConfig.ExecutionRoleARN": (
                    "arn:aws:iam::111122223333:role/EmrServerless"
                )
            },
            "AutoMLComputeConfig.EmrServerlessComputeConfig",
            "compute.emr_problem_type",
            "only for TabularJobConfig and TimeSeriesForecastingJobConfig",
        )
        for kind in ("image", "text", "textgen")
    ],
    # text classification
    case(
        "content-column-is-target",
        "text",
        {"@.TargetLabelColumn": "ticket_text"},
        "@.TargetLabelColumn",
        "text.content_is_target",
        "'ticket_text'",
    ),
    # text generation hyperparameters: one past each end of each documented range
    *[
        case(
            f"hyperparameter-{key}-{value}",
            "textgen",
            {f"@.TextGenerationHyperParameters.{key}": value},
            f"@.TextGenerationHyperParameters.{key}",
            "textgen.hyperparameter_value",
            f"{key} must be {noun} from {low} to {high}",
        )
        for key, value, noun, low, high in [
            ("epochCount", "0", "an integer", 1, 10),
            ("epochCount", "11", "an integer", 1, 10),
            ("epochCount", "5.0", "an integer", 1, 10),
            ("batchSize", "0", "an integer", 1, 64),
            ("batchSize", "65", "an integer", 1, 64),
            ("learningRate", "-0.0001", "a number", 0, 1),
            ("learningRate", "1.0001", "a number", 0, 1),
            ("learningRate", "fast", "a number", 0, 1),
            ("learningRate", "nan", "a number", 0, 1),
            ("learningRateWarmupSteps", "-1", "an integer", 0, 250),
            ("learningRateWarmupSteps", "251", "an integer", 0, 250),
        ]
    ],
    case(
        "hyperparameter-unknown-key",
        "textgen",
        {"@.TextGenerationHyperParameters.batch_size": "16"},
        "@.TextGenerationHyperParameters.batch_size",
        "textgen.hyperparameter_key",
        "Did you mean 'batchSize'?",
    ),
    case(
        "hyperparameter-unknown-key-lists-allowed",
        "textgen",
        {"@.TextGenerationHyperParameters.dropout": "0.1"},
        "@.TextGenerationHyperParameters.dropout",
        "textgen.hyperparameter_key",
        "Allowed: epochCount, batchSize, learningRate, learningRateWarmupSteps",
    ),
    case(
        "llama-without-model-access-config",
        "textgen",
        {"@.ModelAccessConfig": DELETE},
        "@.ModelAccessConfig.AcceptEula",
        "textgen.accept_eula",
        "AcceptEula to true",
    ),
    case(
        "llama-eula-false",
        "textgen",
        {"@.ModelAccessConfig.AcceptEula": False},
        "@.ModelAccessConfig.AcceptEula",
        "textgen.accept_eula",
        "Llama2-7BChat",
    ),
    # tags
    case(
        "tags-duplicate-key",
        "tabular",
        {
            "Tags": [
                {"Key": "team", "Value": "a"},
                {"Key": "x", "Value": "b"},
                {"Key": "team", "Value": "c"},
            ]
        },
        "Tags[2].Key",
        "tags.duplicate_key",
        "'team' is used more than once",
    ),
    case(
        "tags-reserved-prefix",
        "tabular",
        {"Tags[0].Key": "aws:team"},
        "Tags[0].Key",
        "tags.reserved_prefix",
        "reserved for AWS",
    ),
    case(
        "tags-reserved-prefix-upper-case",
        "tabular",
        {"Tags[0].Key": "AWS:team"},
        "Tags[0].Key",
        "tags.reserved_prefix",
        "'aws:'",
    ),
    # our Deployment section
    case(
        "deployment-serverless-and-instances",
        "tabular",
        {"Deployment.InstanceType": "ml.m5.large"},
        "Deployment.Serverless",
        "deployment.target",
        "not both",
    ),
    case(
        "deployment-count-without-instance-type",
        "tabular",
        {"Deployment.InitialInstanceCount": 2},
        "Deployment.InitialInstanceCount",
        "deployment.target",
        "needs InstanceType",
    ),
    case(
        "deployment-memory-not-a-gb-step",
        "tabular",
        {"Deployment.Serverless.MemorySizeInMB": 1500},
        "Deployment.Serverless.MemorySizeInMB",
        "deployment.target",
        "1024, 2048, 3072, 4096, 5120, 6144",
    ),
    case(
        "deployment-textgen-serverless",
        "textgen",
        {"Deployment.InstanceType": DELETE},
        "Deployment.InstanceType",
        "deployment.problem_type",
        "GPUs",
    ),
    case(
        "deployment-textgen-cpu-instances",
        "textgen",
        {"Deployment.InstanceType": "ml.m5.xlarge"},
        "Deployment.InstanceType",
        "deployment.problem_type",
        "ml.m5.xlarge has none",
    ),
    case(
        "deployment-serverless-hpo-pipeline",
        "tabular",
        {
            "@.Mode": "HYPERPARAMETER_TUNING",
            "@.SampleWeightAttributeName": DELETE,
            "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms": ["xgboost"],
        },
        "Deployment.Serverless",
        "target.pipeline",
        "deploy with Deployment.InstanceType",
    ),
    case(
        "deployment-serverless-vpc",
        "tabular",
        {"SecurityConfig.VpcConfig": {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]}},
        "Deployment.Serverless",
        "target.vpc",
        "cannot host a model in a VPC",
    ),
    case(
        "deployment-response-keys-regression",
        "tabular",
        {"@.ProblemType": "Regression", "AutoMLJobObjective.MetricName": "MSE"},
        "Deployment.InferenceResponseKeys",
        "deployment.problem_type",
        "not Regression",
    ),
    case(
        "deployment-response-keys-timeseries",
        "timeseries",
        {"Deployment.InferenceResponseKeys": ["predicted_label"]},
        "Deployment.InferenceResponseKeys",
        "deployment.problem_type",
        "classification models only",
    ),
    case(
        "deployment-candidate-definitions-only",
        "tabular",
        {"@.GenerateCandidateDefinitionsOnly": True},
        "Deployment",
        "deployment.problem_type",
        "nothing to deploy",
    ),
]

# ForecastFrequency: the documented ranges, and the next larger unit suggested on overlap.
FREQUENCY_CASES = [
    case(
        f"frequency-{value}",
        "timeseries",
        {"@.ForecastFrequency": value},
        "@.ForecastFrequency",
        "timeseries.forecast_frequency",
        mention,
    )
    for value, mention in [
        ("60min", "use 1H instead of 60min"),
        ("24H", "use 1D instead of 24H"),
        ("48H", "use 2D"),
        ("7D", "use 1W instead of 7D"),
        ("5W", "weeks must be 1-4"),
        ("12M", "use 1Y instead of 12M"),
        ("2Y", "years"),
        ("0D", "without leading zeros"),
        ("05D", "without leading zeros"),
        ("1h", "integer followed by Y, M, W, D, H or min"),
        ("daily", "integer followed by"),
        ("min", "minutes need a count"),
    ]
]

QUANTILE_CASES = [
    case(
        f"quantile-{value}",
        "timeseries",
        {"@.ForecastQuantiles": ["p10", value]},
        "@.ForecastQuantiles[1]",
        "timeseries.forecast_quantile",
        mention,
    )
    for value, mention in [
        ("p100", "p1 (0.01) to p99 (0.99)"),
        ("p0", "p1 (0.01) to p99 (0.99)"),
        ("p05", "Write p5 without the leading zero"),
        ("0.5", "Write p50 for 0.5"),
        ("P50", "p1 (0.01) to p99 (0.99)"),
    ]
]

WARNING_CASES = [
    case(
        "deployment-serverless-auto-mode",
        "tabular",
        {
            "@.Mode": DELETE,
            "@.SampleWeightAttributeName": DELETE,
            "@.CandidateGenerationConfig": DELETE,
        },
        "Deployment.Serverless",
        "target.auto_mode",
        "below 100 MB",
    ),
    case(
        "horizon-500-needs-data",
        "timeseries",
        {"@.ForecastHorizon": 500},
        "@.ForecastHorizon",
        "timeseries.horizon_needs_data",
        "at least 2000 time-steps",
    ),
    case(
        "validation-fraction-0.5",
        "tabular",
        {"DataSplitConfig.ValidationFraction": 0.5},
        "DataSplitConfig.ValidationFraction",
        "data_split.fraction_high",
        "less than 0.5 is recommended",
    ),
    case(
        "validation-fraction-0.99",
        "tabular",
        {"DataSplitConfig.ValidationFraction": 0.99},
        "DataSplitConfig.ValidationFraction",
        "data_split.fraction_high",
        "less than 0.5 is recommended",
    ),
    case(
        "candidate-runtime-over-job-runtime",
        "tabular",
        {"@.CompletionCriteria.MaxRuntimePerTrainingJobInSeconds": 14401},
        "@.CompletionCriteria.MaxRuntimePerTrainingJobInSeconds",
        "completion.runtime_order",
        "the job limit wins",
    ),
    case(
        "unknown-base-model",
        "textgen",
        {"@.BaseModelName": "Falcon7BInstrct", "@.ModelAccessConfig": DELETE},
        "@.BaseModelName",
        "textgen.base_model",
        "Did you mean 'Falcon7BInstruct'?",
    ),
    case(
        "deployment-beside-model-deploy-config",
        "tabular",
        {"ModelDeployConfig": {"AutoGenerateEndpointName": True}},
        "Deployment",
        "deployment.model_deploy_config",
        "will be ignored",
    ),
]


# The top of each documented ForecastFrequency range, and some values inside.
VALID_FREQUENCIES = ("1min", "15min", "59min", "1H", "23H", "1D", "6D", "1W", "4W", "1M", "11M")
VALID_FREQUENCIES += ("1Y", "Y", "M", "W", "D", "H")


def valid(case_id: str, kind: str, changes: dict[str, Any], *warnings: str) -> Any:
    """A valid manifest; ``warnings`` are the codes expected beyond the base's own."""
    expected = tuple(sorted((*BASE_WARNINGS[kind], *warnings)))
    return pytest.param(kind, changes, expected, id=case_id)


VALID_CASES = [
    *[valid(f"base-{kind}", kind, {}) for kind in BASES],
    # names, tags, paths
    valid("job-name-32", "tabular", {"AutoMLJobName": "a" * 32}),
    valid("job-name-1", "tabular", {"AutoMLJobName": "a"}),
    valid("job-name-double-hyphen", "tabular", {"AutoMLJobName": "churn--binary"}),
    valid("job-name-omitted-with-default", "tabular", {"AutoMLJobName": DELETE}),
    valid("tags-50", "tabular", {"Tags": tags(50)}),
    valid("tags-0", "tabular", {"Tags": []}),
    valid("tag-keys-differ-in-case", "tabular", {"Tags[1]": {"Key": "Team", "Value": "x"}}),
    valid("tag-key-unicode-letters-and-spaces", "tabular", {"Tags[0].Key": "équipe données"}),
    valid("tag-key-aws-inside", "tabular", {"Tags[0].Key": "team:aws:x"}),
    valid(
        "s3-output-path-512", "tabular", {"OutputDataConfig.S3OutputPath": "s3://b/" + "a" * 505}
    ),
    valid(
        "s3-https-uri",
        "tabular",
        {"OutputDataConfig.S3OutputPath": "https://b.s3.amazonaws.com/x/"},
    ),
    # channels
    valid(
        "channel-type-omitted-means-training",
        "tabular",
        {"AutoMLJobInputDataConfig[0].ChannelType": DELETE},
    ),
    valid(
        "gzip-for-tabular-prefix",
        "tabular",
        {
            "AutoMLJobInputDataConfig[0].CompressionType": "Gzip",
            "AutoMLJobInputDataConfig[1].CompressionType": "Gzip",
        },
    ),
    valid(
        "tabular-manifest-file",
        "tabular",
        {"AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3DataType": "ManifestFile"},
    ),
    valid(
        "parquet-both-channels",
        "tabular",
        {
            "AutoMLJobInputDataConfig[0].ContentType": PARQUET,
            "AutoMLJobInputDataConfig[1].ContentType": PARQUET,
        },
    ),
    valid(
        "content-type-omitted-matches-csv",
        "tabular",
        {"AutoMLJobInputDataConfig[1].ContentType": DELETE},
    ),
    valid("image-png", "image", {"AutoMLJobInputDataConfig[0].ContentType": "image/png"}),
    valid(
        "image-jpeg-manifest",
        "image",
        {
            "AutoMLJobInputDataConfig[0].ContentType": "image/jpeg",
            "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3DataType": "ManifestFile",
        },
    ),
    # MaxCandidates
    valid("max-candidates-750-tabular", "tabular", {"@.CompletionCriteria.MaxCandidates": 750}),
    valid("max-candidates-1-tabular", "tabular", {"@.CompletionCriteria.MaxCandidates": 1}),
    *[
        valid(f"max-candidates-1-{kind}", kind, {"@.CompletionCriteria.MaxCandidates": 1})
        for kind in NON_TABULAR
    ],
    valid(
        "runtime-equal-to-job-runtime",
        "tabular",
        {"@.CompletionCriteria.MaxRuntimePerTrainingJobInSeconds": 14400},
    ),
    # objective and tabular modes
    valid(
        "no-objective-no-problem-type",
        "tabular",
        {"AutoMLJobObjective": DELETE, "@.ProblemType": DELETE},
    ),
    valid(
        "regression-metric",
        "tabular",
        {
            "@.ProblemType": "Regression",
            "AutoMLJobObjective.MetricName": "R2",
            "Deployment.InferenceResponseKeys": DELETE,
        },
    ),
    valid(
        "multiclass-metric",
        "tabular",
        {"@.ProblemType": "MulticlassClassification", "AutoMLJobObjective.MetricName": "F1macro"},
    ),
    *[
        valid(
            f"timeseries-metric-{metric}", "timeseries", {"AutoMLJobObjective.MetricName": metric}
        )
        for metric in ("AverageWeightedQuantileLoss", "MAPE", "MASE", "WAPE", "RMSE")
    ],
    valid(
        "hpo-algorithms",
        "tabular",
        {
            "@.Mode": "HYPERPARAMETER_TUNING",
            **ON_INSTANCES,
            "@.SampleWeightAttributeName": DELETE,
            "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms": [
                "linear-learner",
                "mlp",
                "xgboost",
            ],
        },
    ),
    valid(
        "all-ensembling-algorithms",
        "tabular",
        {
            "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms": [
                "catboost",
                "extra-trees",
                "fastai",
                "lightgbm",
                "linear-learner",
                "nn-torch",
                "randomforest",
                "xgboost",
            ],
        },
    ),
    valid(
        "auto-mode-without-algorithms",
        "tabular",
        {
            "@.Mode": "AUTO",
            "@.SampleWeightAttributeName": DELETE,
            "@.CandidateGenerationConfig": DELETE,
        },
        # The base deploys serverless: AUTO may train pipelines it cannot host.
        "target.auto_mode",
    ),
    valid(
        "auto-mode-on-instances",
        "tabular",
        {
            "@.Mode": "AUTO",
            "@.SampleWeightAttributeName": DELETE,
            "@.CandidateGenerationConfig": DELETE,
            **ON_INSTANCES,
        },
    ),
    # ForecastFrequency: the top of each documented range
    *[
        valid(f"frequency-{value}", "timeseries", {"@.ForecastFrequency": value})
        for value in VALID_FREQUENCIES
    ],
    # ForecastQuantiles
    valid("quantiles-p1-p99", "timeseries", {"@.ForecastQuantiles": ["p1", "p99"]}),
    valid(
        "quantiles-five", "timeseries", {"@.ForecastQuantiles": ["p10", "p25", "p50", "p75", "p90"]}
    ),
    valid("quantiles-omitted", "timeseries", {"@.ForecastQuantiles": DELETE}),
    # ForecastHorizon and filling
    valid("horizon-1", "timeseries", {"@.ForecastHorizon": 1}),
    valid("frontfill-target", "timeseries", {"@.Transformations.Filling.demand.frontfill": "none"}),
    valid(
        "backfill-value",
        "timeseries",
        {
            "@.Transformations.Filling.demand.backfill": "value",
            "@.Transformations.Filling.demand.backfill_value": "2",
        },
    ),
    valid("aggregation-target-avg", "timeseries", {"@.Transformations.Aggregation.demand": "avg"}),
    # data split
    valid("validation-fraction-0.49", "tabular", {"DataSplitConfig.ValidationFraction": 0.49}),
    valid("validation-fraction-0.01", "tabular", {"DataSplitConfig.ValidationFraction": 0.01}),
    # model deploy config and compute
    valid(
        "auto-generate-endpoint-name",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {"AutoGenerateEndpointName": True}},
    ),
    valid(
        "explicit-endpoint-name",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {"EndpointName": "churn"}},
    ),
    *[
        valid(
            f"emr-for-{kind}",
            kind,
            {
                "AutoMLComputeConfig.EmrServerlessComputeConfig.ExecutionRoleARN": (
                    "arn:aws:iam::111122223333:role/EmrServerless"
                )
            },
        )
        for kind in ("tabular", "timeseries")
    ],
    # text generation: both ends of each hyperparameter range
    *[
        valid(
            f"hyperparameter-{key}-{value}",
            "textgen",
            {f"@.TextGenerationHyperParameters.{key}": value},
        )
        for key, value in [
            ("epochCount", "1"),
            ("epochCount", "10"),
            ("batchSize", "1"),
            ("batchSize", "64"),
            ("learningRate", "0"),
            ("learningRate", "1"),
            ("learningRate", "1e-5"),
            ("learningRateWarmupSteps", "0"),
            ("learningRateWarmupSteps", "250"),
        ]
    ],
    valid("no-hyperparameters", "textgen", {"@.TextGenerationHyperParameters": {}}),
    valid(
        "default-model-needs-no-eula",
        "textgen",
        {"@.BaseModelName": DELETE, "@.ModelAccessConfig": DELETE},
    ),
    valid(
        "falcon-needs-no-eula",
        "textgen",
        {"@.BaseModelName": "Falcon40BInstruct", "@.ModelAccessConfig": DELETE},
    ),
    # deployment
    valid("deployment-memory-6144", "tabular", {"Deployment.Serverless.MemorySizeInMB": 6144}),
    valid("deployment-memory-1024", "tabular", {"Deployment.Serverless.MemorySizeInMB": 1024}),
    valid("deployment-instances-100", "timeseries", {"Deployment.InitialInstanceCount": 100}),
    valid(
        "response-keys-classification-without-problem-type",
        "tabular",
        {"AutoMLJobObjective": DELETE, "@.ProblemType": DELETE},
    ),
    valid("no-deployment", "textgen", {"Deployment": DELETE}),
]


# --- Deployment.Strategy and Registry (ours) -----------------------------------------------

# The time-series base deploys to ml.m5.xlarge; two instances give a canary a part to run on.
FLEET: dict[str, Any] = {"Deployment.InitialInstanceCount": 2}
STRATEGY = "Deployment.Strategy"
GROUP = {"ModelPackageGroupName": "demand-models"}


def rollout(base: dict[str, Any] | None = None, **strategy: Any) -> dict[str, Any]:
    """Time-series changes: a fleet of two and this Deployment.Strategy (``base`` updated)."""
    return {**FLEET, STRATEGY: {**(base or {}), **strategy}}


def registry(**fields: Any) -> dict[str, Any]:
    return {"Registry": {**GROUP, **fields}}


CANARY = {"Type": "Canary", "StepPercent": 10}

SECTION_CASES = [
    # the documented bounds, one below and one above each (structural codes)
    *[
        case(
            f"strategy-{field}-{value}",
            "timeseries",
            rollout(CANARY, **{field: value}),
            f"{STRATEGY}.{field}",
            code,
            mention,
        )
        for field, value, code, mention in [
            ("WaitIntervalInSeconds", -1, "min_value", "at least 0"),
            ("WaitIntervalInSeconds", 3601, "max_value", "at most 3600"),
            ("TerminationWaitInSeconds", -1, "min_value", "at least 0"),
            ("TerminationWaitInSeconds", 3601, "max_value", "at most 3600"),
            ("MaximumExecutionTimeoutInSeconds", 599, "min_value", "at least 600"),
            ("MaximumExecutionTimeoutInSeconds", 28801, "max_value", "at most 28800"),
            ("StepPercent", 0, "min_value", "at least 1"),
            ("StepPercent", 51, "max_value", "at most 50"),
            ("WaitIntervalInSeconds", "300", "type", "a whole number"),
            ("AutoRollbackAlarmNames", [], "min_items", "at least 1"),
            ("AutoRollbackAlarmNames", [f"a{i}" for i in range(11)], "max_items", "at most 10"),
        ]
    ],
    case(
        "strategy-alarm-name-empty",
        "timeseries",
        rollout(CANARY, AutoRollbackAlarmNames=["ok", ""]),
        f"{STRATEGY}.AutoRollbackAlarmNames[1]",
        "min_length",
        "must not be empty",
    ),
    case(
        "strategy-alarm-name-256",
        "timeseries",
        rollout(CANARY, AutoRollbackAlarmNames=["a" * 256]),
        f"{STRATEGY}.AutoRollbackAlarmNames[0]",
        "max_length",
        "at most 255 characters",
    ),
    case(
        "strategy-alarm-name-blank",
        "timeseries",
        rollout(CANARY, AutoRollbackAlarmNames=["   "]),
        f"{STRATEGY}.AutoRollbackAlarmNames[0]",
        "pattern",
        "not blank",
    ),
    case(
        "strategy-type-misspelt",
        "timeseries",
        rollout(Type="canary", StepPercent=10),
        f"{STRATEGY}.Type",
        "enum",
        "Did you mean 'Canary'?",
    ),
    case(
        "strategy-unknown-field",
        "timeseries",
        rollout(CANARY, StepPercentage=10),
        f"{STRATEGY}.StepPercentage",
        "unknown_field",
        "Did you mean 'StepPercent'?",
    ),
    # strategy.target: serverless endpoints have no blue/green guardrails
    case(
        "strategy-on-serverless",
        "tabular",
        {STRATEGY: {}},
        STRATEGY,
        "strategy.target",
        "set InstanceType",
    ),
    case(
        "strategy-on-default-serverless",
        "tabular",
        {"Deployment.Serverless": DELETE, STRATEGY: {"Type": "AllAtOnce"}},
        STRATEGY,
        "strategy.target",
        "no InstanceType (serverless)",
    ),
    # strategy.step_percent
    case(
        "strategy-all-at-once-with-step",
        "timeseries",
        rollout(Type="AllAtOnce", StepPercent=10),
        f"{STRATEGY}.StepPercent",
        "strategy.step_percent",
        "Canary and Linear only",
    ),
    case(
        "strategy-default-type-with-step",
        "timeseries",
        rollout(StepPercent=10),
        f"{STRATEGY}.StepPercent",
        "strategy.step_percent",
        "Canary and Linear only",
    ),
    case(
        "strategy-canary-without-step",
        "timeseries",
        rollout(Type="Canary"),
        f"{STRATEGY}.StepPercent",
        "strategy.step_percent",
        "the canary's share (1-50)",
    ),
    case(
        "strategy-linear-without-step",
        "timeseries",
        rollout(Type="Linear"),
        f"{STRATEGY}.StepPercent",
        "strategy.step_percent",
        "each step's share (10-50)",
    ),
    case(
        "strategy-linear-step-9",
        "timeseries",
        rollout(Type="Linear", StepPercent=9),
        f"{STRATEGY}.StepPercent",
        "strategy.step_percent",
        "10-50% of the new fleet (got 9)",
    ),
    # strategy.timeout: larger than the waits; the waits must leave room for a timeout
    case(
        "strategy-timeout-equal-to-the-waits",
        "timeseries",
        rollout(CANARY, WaitIntervalInSeconds=600, MaximumExecutionTimeoutInSeconds=600),
        f"{STRATEGY}.MaximumExecutionTimeoutInSeconds",
        "strategy.timeout",
        "2 x WaitIntervalInSeconds 600 + TerminationWaitInSeconds 0 = 1200 s (got 600)",
    ),
    case(
        # Both baking periods count (the canary's and the final one): a timeout that covers
        # only one was refused by UpdateEndpoint after the job had run.
        "strategy-timeout-covers-one-canary-bake-only",
        "timeseries",
        rollout(CANARY, WaitIntervalInSeconds=600, MaximumExecutionTimeoutInSeconds=1200),
        f"{STRATEGY}.MaximumExecutionTimeoutInSeconds",
        "strategy.timeout",
        "2 x WaitIntervalInSeconds 600 + TerminationWaitInSeconds 0 = 1200 s (got 1200)",
    ),
    case(
        "strategy-timeout-below-linear-waits",
        "timeseries",
        rollout(
            Type="Linear",
            StepPercent=25,
            WaitIntervalInSeconds=600,
            TerminationWaitInSeconds=600,
            MaximumExecutionTimeoutInSeconds=2400,
        ),
        f"{STRATEGY}.MaximumExecutionTimeoutInSeconds",
        "strategy.timeout",
        "4 x WaitIntervalInSeconds 600 + TerminationWaitInSeconds 600 = 3000 s",
    ),
    case(
        "strategy-timeout-default-waits",
        "timeseries",
        rollout(
            Type="Linear",
            StepPercent=10,
            TerminationWaitInSeconds=900,
            MaximumExecutionTimeoutInSeconds=3600,
        ),
        f"{STRATEGY}.MaximumExecutionTimeoutInSeconds",
        "strategy.timeout",
        "10 x WaitIntervalInSeconds 300 + TerminationWaitInSeconds 900 = 3900 s",
    ),
    case(
        "strategy-waits-leave-no-timeout",
        "timeseries",
        rollout(Type="Linear", StepPercent=10, WaitIntervalInSeconds=2880),
        f"{STRATEGY}.WaitIntervalInSeconds",
        "strategy.timeout",
        "10 x WaitIntervalInSeconds 2880 + TerminationWaitInSeconds 0 = 28800 s: no Maximum",
    ),
    # Registry: names and descriptions as CreateModelPackageGroup / CreateModelPackage
    case(
        "registry-group-required",
        "timeseries",
        {"Registry": {"ApprovalRequired": True}},
        "Registry.ModelPackageGroupName",
        "required",
        "ModelPackageGroupName is required",
    ),
    case(
        "registry-group-pattern",
        "timeseries",
        {"Registry": {"ModelPackageGroupName": "demand_models"}},
        "Registry.ModelPackageGroupName",
        "pattern",
        "letters, digits and hyphens",
    ),
    case(
        "registry-group-trailing-hyphen",
        "timeseries",
        {"Registry": {"ModelPackageGroupName": "demand-"}},
        "Registry.ModelPackageGroupName",
        "pattern",
        "ending with a letter or digit",
    ),
    case(
        "registry-group-empty",
        "timeseries",
        {"Registry": {"ModelPackageGroupName": ""}},
        "Registry.ModelPackageGroupName",
        "min_length",
        "must not be empty",
    ),
    case(
        "registry-group-64",
        "timeseries",
        {"Registry": {"ModelPackageGroupName": "a" * 64}},
        "Registry.ModelPackageGroupName",
        "max_length",
        "at most 63 characters",
    ),
    case(
        "registry-description-1025",
        "timeseries",
        registry(Description="d" * 1025),
        "Registry.Description",
        "max_length",
        "at most 1024 characters",
    ),
    case(
        "registry-description-two-lines",
        "timeseries",
        registry(Description="weekly retrain\nby the demand team"),
        "Registry.Description",
        "registry.description",
        "'\\n'",
    ),
    case(
        "registry-description-tab",
        "timeseries",
        registry(Description="a\tb"),
        "Registry.Description",
        "registry.description",
        "one line of text",
    ),
    case(
        "registry-approval-not-boolean",
        "timeseries",
        registry(ApprovalRequired="yes"),
        "Registry.ApprovalRequired",
        "type",
        "true or false",
    ),
    case(
        "registry-unknown-field",
        "timeseries",
        registry(ApprovalRequried=True),
        "Registry.ApprovalRequried",
        "unknown_field",
        "Did you mean 'ApprovalRequired'?",
    ),
    case(
        "registry-unknown-top-level",
        "timeseries",
        {"Registy": GROUP},
        "Registy",
        "unknown_field",
        "Did you mean 'Registry'?",
    ),
    case(
        "registry-candidate-definitions-only",
        "tabular",
        {"@.GenerateCandidateDefinitionsOnly": True, "Deployment": DELETE, **registry()},
        "Registry",
        "registry.no_model",
        "nothing to register",
    ),
    case(
        "registry-approval-beside-model-deploy-config",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {"EndpointName": "churn"}}
        | registry(ApprovalRequired=True),
        "Registry.ApprovalRequired",
        "registry.approval_bypassed",
        "before anyone can approve it",
    ),
]

SECTION_WARNING_CASES = [
    case(
        "strategy-canary-on-one-instance",
        "timeseries",
        {STRATEGY: CANARY},
        f"{STRATEGY}.Type",
        "strategy.single_instance",
        "set InitialInstanceCount to 2 or more",
    ),
    case(
        "registry-approval-without-deployment",
        "textgen",
        {"Deployment": DELETE, **registry(ApprovalRequired=True)},
        "Registry.ApprovalRequired",
        "registry.approval_without_deployment",
        "approving it deploys nothing",
    ),
]

SECTION_VALID_CASES = [
    valid("strategy-empty-is-all-at-once", "timeseries", {STRATEGY: {}}),
    valid("strategy-all-at-once-one-instance", "timeseries", {STRATEGY: {"Type": "AllAtOnce"}}),
    valid(
        "strategy-canary-one-instance-warns",
        "timeseries",
        {STRATEGY: CANARY},
        "strategy.single_instance",
    ),
    *[
        valid(f"strategy-{field}-{value}", "timeseries", rollout(CANARY, **{field: value}))
        for field, value in [
            ("WaitIntervalInSeconds", 0),
            ("WaitIntervalInSeconds", 3600),
            ("TerminationWaitInSeconds", 0),
            ("TerminationWaitInSeconds", 3600),
            ("MaximumExecutionTimeoutInSeconds", 28800),
            ("StepPercent", 1),
            ("StepPercent", 50),
            ("AutoRollbackAlarmNames", [f"demand-{i}" for i in range(10)]),
            ("AutoRollbackAlarmNames", ["a" * 255, " spaced name ", "x"]),
        ]
    ],
    valid(
        "strategy-timeout-600-all-at-once",
        "timeseries",
        rollout(MaximumExecutionTimeoutInSeconds=600),
    ),
    valid(
        "strategy-timeout-one-above-the-waits",
        "timeseries",
        rollout(CANARY, WaitIntervalInSeconds=600, MaximumExecutionTimeoutInSeconds=1201),
    ),
    valid("strategy-linear-10", "timeseries", rollout(Type="Linear", StepPercent=10)),
    valid("strategy-linear-50", "timeseries", rollout(Type="Linear", StepPercent=50)),
    valid(
        "strategy-linear-waits-just-below-the-largest-timeout",
        "timeseries",
        rollout(Type="Linear", StepPercent=10, WaitIntervalInSeconds=2879),
    ),
    valid(
        "strategy-issue-example",
        "timeseries",
        rollout(
            Type="Canary",
            StepPercent=10,
            WaitIntervalInSeconds=300,
            TerminationWaitInSeconds=600,
            MaximumExecutionTimeoutInSeconds=3600,
            AutoRollbackAlarmNames=["demand-forecast-5xx"],
        )
        | registry(ApprovalRequired=True, Description="Daily demand forecast"),
    ),
    valid("registry-group-only", "timeseries", registry()),
    valid("registry-group-1", "timeseries", {"Registry": {"ModelPackageGroupName": "d"}}),
    valid("registry-group-63", "timeseries", {"Registry": {"ModelPackageGroupName": "d" * 63}}),
    valid(
        "registry-group-inner-hyphens",
        "timeseries",
        {"Registry": {"ModelPackageGroupName": "demand--models-2"}},
    ),
    valid("registry-description-1024", "timeseries", registry(Description="d" * 1024)),
    valid("registry-description-empty", "timeseries", registry(Description="")),
    valid(
        "registry-description-unicode",
        "timeseries",
        registry(Description="Modèle de demande — v2 ✓ (€, 日本)"),
    ),
    valid(
        "registry-without-approval-beside-model-deploy-config",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {"EndpointName": "churn"}} | registry(),
    ),
    valid("registry-on-serverless", "tabular", registry(ApprovalRequired=True)),
]


# --- Tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "changes", "path", "code", "mention"),
    STRUCTURAL_CASES + RULE_CASES + FREQUENCY_CASES + QUANTILE_CASES + SECTION_CASES,
)
def test_breaking_a_rule_reports_exactly_that_error(
    kind: str, changes: dict[str, Any], path: str, code: str, mention: str
) -> None:
    result = validate(kind, changes)
    assert found(result.errors) == [(expand(kind, path), code)]
    assert mention in result.errors[0].message
    assert not result.valid


@pytest.mark.parametrize(
    ("kind", "changes", "path", "code", "mention"), WARNING_CASES + SECTION_WARNING_CASES
)
def test_warning_is_reported_and_the_manifest_stays_valid(
    kind: str, changes: dict[str, Any], path: str, code: str, mention: str
) -> None:
    result = validate(kind, changes)
    assert result.errors == []
    assert result.valid
    matching = [w for w in result.warnings if (w.path, w.code) == (expand(kind, path), code)]
    assert len(matching) == 1
    assert mention in matching[0].message


@pytest.mark.parametrize(("kind", "changes", "warnings"), VALID_CASES + SECTION_VALID_CASES)
def test_valid_near_the_boundary(
    kind: str, changes: dict[str, Any], warnings: tuple[str, ...]
) -> None:
    result = validate(kind, changes, default_job_name="derived-name")
    assert found(result.errors) == []
    assert result.valid
    assert tuple(sorted(w.code for w in result.warnings)) == warnings


@pytest.mark.parametrize("kind", NON_TABULAR)
def test_max_candidates_751_is_reported_once_for_non_tabular(kind: str) -> None:
    # One error per place: the API model's max_value already says it, the rule stays quiet.
    result = validate(kind, {"@.CompletionCriteria.MaxCandidates": 751})
    path = expand(kind, "@.CompletionCriteria.MaxCandidates")
    assert found(result.errors) == [(path, "max_value")]


def test_validation_fraction_below_half_has_no_warning() -> None:
    result = validate("tabular", {"DataSplitConfig.ValidationFraction": 0.49})
    assert result.warnings == []
    high = validate("tabular", {"DataSplitConfig.ValidationFraction": 0.5})
    assert found(high.warnings) == [
        ("DataSplitConfig.ValidationFraction", "data_split.fraction_high")
    ]


def test_horizon_warning_scales_with_the_horizon() -> None:
    result = validate("timeseries", {"@.ForecastHorizon": 30})
    (warning,) = result.warnings
    assert warning.code == "timeseries.horizon_needs_data"
    assert "at least 120 time-steps" in warning.message


def test_horizon_501_is_an_error_without_the_data_warning() -> None:
    result = validate("timeseries", {"@.ForecastHorizon": 501})
    assert result.warnings == []


def test_omitted_job_name_is_filled_from_the_default() -> None:
    result = validate("tabular", {"AutoMLJobName": DELETE}, default_job_name="churn-1a2b3c4d")
    assert result.valid
    assert result.job_name == "churn-1a2b3c4d"
    assert result.defaults_applied == ["AutoMLJobName"]


def test_omitted_job_name_without_default_is_required() -> None:
    result = validate("tabular", {"AutoMLJobName": DELETE})
    assert found(result.errors) == [("AutoMLJobName", "required")]


def test_our_sections_are_checked_but_not_sent() -> None:
    result = validate("tabular", {"Deployment.EndpointNam": "x"})
    assert found(result.errors) == [("Deployment.EndpointNam", "unknown_field")]
    assert result.request is not None
    assert "Deployment" not in result.request
    assert "Notifications" not in result.request
    assert result.request["AutoMLJobName"] == "churn-binary-2026-11"


def test_unknown_top_level_field_lists_our_sections_as_allowed() -> None:
    result = validate("tabular", {"Notification": {}})
    (error,) = result.errors
    assert error.message.startswith("unknown field 'Notification'. Did you mean 'Notifications'?")
    assert "Deployment, Notifications" in error.message


def test_non_string_field_name_is_a_type_error() -> None:
    document = build("tabular")
    document["OutputDataConfig"][1] = "x"
    result = validate_document(document)
    assert found(result.errors) == [("OutputDataConfig.1", "type")]
    assert "field names must be strings" in result.errors[0].message


def test_non_mapping_document_is_one_error() -> None:
    result = validate_document(["not", "a", "mapping"])  # type: ignore[arg-type]
    assert found(result.errors) == [("", "parse.not_a_mapping")]
    assert result.request is None


# --- All at once, in document order -------------------------------------------------------

# One error in many places: structural errors and rule errors interleaved in the document.
MANY_ERRORS: dict[str, Any] = {
    "AutoMLJobName": "churn_binary",  # pattern
    "AutoMLJobInputDataConfig[1].ContentType": PARQUET,  # rule: mismatch
    "OutputDataConfig.S3OutputPath": "ml-output/churn/",  # pattern
    "@.CompletionCriteria.MaxCandidates": 751,  # max_value
    "@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms[1]": "mlp",  # rule
    "AutoMLJobObjective.MetricName": "RMSE",  # rule
    "Tags[0].Key": "aws:team",  # rule
    "Deployment.Serverless.MemorySizeInMB": 1500,  # rule (ours)
    "Deployment.Serverless.MaxConcurrency": 0,  # min_value
    "Notifications.OnStatus[1]": "Done",  # enum
}
MANY_ERRORS_EXPECTED = [
    ("AutoMLJobName", "pattern"),
    ("AutoMLJobInputDataConfig[1].ContentType", "input.content_type_mismatch"),
    ("OutputDataConfig.S3OutputPath", "pattern"),
    ("@.CompletionCriteria.MaxCandidates", "max_value"),
    ("@.CandidateGenerationConfig.AlgorithmsConfig[0].AutoMLAlgorithms[1]", "algorithms.allowed"),
    ("AutoMLJobObjective.MetricName", "objective.metric"),
    ("Tags[0].Key", "tags.reserved_prefix"),
    ("Deployment.Serverless.MemorySizeInMB", "deployment.target"),
    ("Deployment.Serverless.MaxConcurrency", "min_value"),
    ("Notifications.OnStatus[1]", "enum"),
]


def test_all_errors_are_reported_at_once_in_document_order() -> None:
    result = validate("tabular", MANY_ERRORS)
    expected = [(expand("tabular", path), code) for path, code in MANY_ERRORS_EXPECTED]
    assert found(result.errors) == expected


def test_order_follows_the_document_not_the_api_model() -> None:
    document = build("tabular", MANY_ERRORS)
    reordered = dict(reversed(list(document.items())))
    result = validate_document(reordered)
    top_level = list(reordered)
    expected = sorted(
        ((expand("tabular", path), code) for path, code in MANY_ERRORS_EXPECTED),
        key=lambda item: top_level.index(re.split(r"[.\[]", item[0])[0]),
    )
    assert found(result.errors) == expected


def test_missing_field_sorts_right_after_its_parent() -> None:
    result = validate(
        "tabular",
        {
            "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri": DELETE,
            "AutoMLJobInputDataConfig[1].ContentType": 7,
            "OutputDataConfig.S3OutputPath": 7,
        },
    )
    assert found(result.errors) == [
        ("AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri", "required"),
        ("AutoMLJobInputDataConfig[1].ContentType", "type"),
        ("OutputDataConfig.S3OutputPath", "type"),
    ]


def test_warnings_are_in_document_order_too() -> None:
    result = validate(
        "tabular",
        {
            "@.CompletionCriteria.MaxRuntimePerTrainingJobInSeconds": 20000,
            "DataSplitConfig.ValidationFraction": 0.6,
            "ModelDeployConfig": {"AutoGenerateEndpointName": True},
        },
    )
    assert result.errors == []
    assert [w.code for w in result.warnings] == [
        "completion.runtime_order",
        "deployment.model_deploy_config",
        "data_split.fraction_high",
    ]


# --- Policy --------------------------------------------------------------------------------

ROLE_PATTERN = "arn:aws:iam::111122223333:role/autopilot-*"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:ml-other"
DATA_AND_OUTPUT = [f"{DATA}/", f"{OUTPUT}/"]


def policy_case(  # noqa: PLR0917 - one positional per table column
    case_id: str,
    kind: str,
    changes: dict[str, Any],
    policy: dict[str, Any],
    path: str,
    code: str,
    mention: str,
) -> Any:
    return pytest.param(kind, changes, policy, path, code, mention, id=case_id)


POLICY_CASES = [
    policy_case(
        "vpc-from-defaults-serverless",
        "tabular",
        {},
        {
            "Defaults": {
                "SecurityConfig": {
                    "VpcConfig": {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]}
                }
            }
        },
        "Deployment.Serverless",
        "target.vpc",
        "from the manifest or the policy",
    ),
    policy_case(
        "role-not-allowed",
        "tabular",
        {},
        {"Guardrails": {"AllowedRoleArns": [ROLE_PATTERN]}},
        "RoleArn",
        "policy.role_not_allowed",
        ROLE_PATTERN,
    ),
    policy_case(
        "role-list-closed-by-default-role",
        "tabular",
        {},
        {"Defaults": {"RoleArn": "arn:aws:iam::111122223333:role/autopilot-default"}},
        "RoleArn",
        "policy.role_not_allowed",
        "autopilot-default",
    ),
    policy_case(
        "emr-role-not-allowed",
        "tabular",
        {
            "AutoMLComputeConfig.EmrServerlessComputeConfig.ExecutionRoleARN": (
                "arn:aws:iam::111122223333:role/EmrOther"
            )
        },
        {"Guardrails": {"AllowedRoleArns": [ROLE]}},
        "AutoMLComputeConfig.EmrServerlessComputeConfig.ExecutionRoleARN",
        "policy.role_not_allowed",
        "EmrOther",
    ),
    policy_case(
        "output-outside-prefixes",
        "tabular",
        {},
        {"Guardrails": {"AllowedS3Prefixes": [f"{DATA}/"]}},
        "OutputDataConfig.S3OutputPath",
        "policy.s3_not_allowed",
        f"{OUTPUT}/autopilot/churn/ is outside",
    ),
    policy_case(
        "input-prefix-matches-whole-segments-only",
        "image",
        {},
        {"Guardrails": {"AllowedS3Prefixes": ["s3://amzn-s3-demo-ml", f"{OUTPUT}/"]}},
        "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri",
        "policy.s3_not_allowed",
        "s3://amzn-s3-demo-ml,",
    ),
    policy_case(
        "feature-specification-outside-prefixes",
        "tabular",
        {"@.FeatureSpecificationS3Uri": "s3://elsewhere/features.json"},
        {"Guardrails": {"AllowedS3Prefixes": DATA_AND_OUTPUT}},
        "@.FeatureSpecificationS3Uri",
        "policy.s3_not_allowed",
        "s3://elsewhere/features.json",
    ),
    policy_case(
        "topic-not-allowed",
        "tabular",
        {"Notifications.TopicArns": [TOPIC]},
        {"Guardrails": {"AllowedTopicArns": ["arn:aws:sns:eu-west-1:111122223333:ml-team-*"]}},
        "Notifications.TopicArns[0]",
        "policy.topic_not_allowed",
        "ml-team-*",
    ),
    policy_case(
        "topic-with-no-topics-allowed",
        "tabular",
        {"Notifications.TopicArns": [TOPIC]},
        {"Guardrails": {}},
        "Notifications.TopicArns[0]",
        "policy.topic_not_allowed",
        "(none is)",
    ),
    policy_case(
        "problem-type-not-allowed",
        "tabular",
        {},
        {"Guardrails": {"AllowedProblemTypes": ["TimeSeriesForecastingJobConfig"]}},
        "@",
        "policy.problem_type_not_allowed",
        "allowed: TimeSeriesForecastingJobConfig",
    ),
    policy_case(
        "endpoint-not-allowed",
        "tabular",
        {"Deployment.EndpointName": "prod-api"},
        {"Guardrails": {"AllowedEndpointNames": ["churn-*"]}},
        "Deployment.EndpointName",
        "policy.endpoint_not_allowed",
        "allowed: churn-*",
    ),
    policy_case(
        "approval-required-for-endpoint",
        "timeseries",
        {},
        {"Guardrails": {"RequireApprovalForEndpoints": ["demand-*"]}},
        "Registry.ApprovalRequired",
        "policy.approval_required",
        "reaches endpoint demand-forecast (it matches demand-*)",
    ),
    policy_case(
        "approval-required-registry-without-approval",
        "timeseries",
        {"Registry": {"ModelPackageGroupName": "demand-models", "ApprovalRequired": False}},
        {"Guardrails": {"RequireApprovalForEndpoints": ["other", "DEMAND-*"]}},
        "Registry.ApprovalRequired",
        "policy.approval_required",
        "ApprovalRequired: true",
    ),
    policy_case(
        "approval-required-default-endpoint-name",
        "timeseries",
        {"Deployment.EndpointName": DELETE},
        {"Guardrails": {"RequireApprovalForEndpoints": ["demand-forecast-*"]}},
        "Registry.ApprovalRequired",
        "policy.approval_required",
        "endpoint demand-forecast-daily",
    ),
    policy_case(
        "approval-required-model-deploy-config",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {"EndpointName": "churn"}},
        {"Guardrails": {"RequireApprovalForEndpoints": ["churn*"]}},
        "ModelDeployConfig.EndpointName",
        "policy.approval_required",
        "deploys to endpoint churn at once",
    ),
    policy_case(
        "approval-required-generated-endpoint-name",
        "tabular",
        {"Deployment": DELETE, "ModelDeployConfig": {"AutoGenerateEndpointName": True}},
        {"Guardrails": {"RequireApprovalForEndpoints": ["churn*"]}},
        "ModelDeployConfig.AutoGenerateEndpointName",
        "policy.approval_required",
        "a generated endpoint name",
    ),
    policy_case(
        "cap-max-candidates",
        "tabular",
        {"@.CompletionCriteria.MaxCandidates": 11},
        {"Guardrails": {"MaxCandidates": 10}},
        "@.CompletionCriteria.MaxCandidates",
        "policy.cap_exceeded",
        "11 is above the policy's cap of 10",
    ),
    policy_case(
        "cap-job-runtime",
        "tabular",
        {},
        {"Guardrails": {"MaxAutoMLJobRuntimeInSeconds": 3600}},
        "@.CompletionCriteria.MaxAutoMLJobRuntimeInSeconds",
        "policy.cap_exceeded",
        "cap of 3600",
    ),
    policy_case(
        "cap-candidate-runtime",
        "textgen",
        {},
        {"Guardrails": {"MaxRuntimePerTrainingJobInSeconds": 3600}},
        "@.CompletionCriteria.MaxRuntimePerTrainingJobInSeconds",
        "policy.cap_exceeded",
        "86400 is above",
    ),
    policy_case(
        "required-tag-missing",
        "tabular",
        {},
        {"Guardrails": {"RequiredTagKeys": ["team", "cost-center"]}},
        "Tags",
        "policy.required_tag",
        "cost-center",
    ),
    policy_case(
        "required-tag-no-tags",
        "image",
        {},
        {"Guardrails": {"RequiredTagKeys": ["team"]}},
        "Tags",
        "policy.required_tag",
        "team",
    ),
    policy_case(
        "kms-volume-key-missing",
        "tabular",
        {"OutputDataConfig.KmsKeyId": "alias/ml"},
        {"Guardrails": {"RequireKmsKey": True}},
        "SecurityConfig.VolumeKmsKeyId",
        "policy.kms_required",
        "training volumes",
    ),
    policy_case(
        "kms-output-key-missing",
        "image",
        {"SecurityConfig.VolumeKmsKeyId": "alias/ml"},
        {"Guardrails": {"RequireKmsKey": True}},
        "OutputDataConfig.KmsKeyId",
        "policy.kms_required",
        "output",
    ),
    policy_case(
        "vpc-missing",
        "tabular",
        # On instances: RequireVpc also refuses a serverless deployment (target.vpc).
        ON_INSTANCES,
        {"Guardrails": {"RequireVpc": True}},
        "SecurityConfig.VpcConfig",
        "policy.vpc_required",
        "VPC",
    ),
    policy_case(
        "encryption-missing",
        "tabular",
        {},
        {"Guardrails": {"RequireInterContainerEncryption": True}},
        "SecurityConfig.EnableInterContainerTrafficEncryption",
        "policy.encryption_required",
        "set it to true",
    ),
    policy_case(
        "encryption-false",
        "image",
        {"SecurityConfig.EnableInterContainerTrafficEncryption": False},
        {"Guardrails": {"RequireInterContainerEncryption": True}},
        "SecurityConfig.EnableInterContainerTrafficEncryption",
        "policy.encryption_required",
        "inter-container",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "policy", "path", "code", "mention"), POLICY_CASES)
def test_breaking_a_guardrail_reports_exactly_that_error(  # noqa: PLR0917 - one positional per table column
    kind: str,
    changes: dict[str, Any],
    policy: dict[str, Any],
    path: str,
    code: str,
    mention: str,
) -> None:
    result = validate(kind, changes, policy=Policy.from_document(policy))
    assert found(result.errors) == [(expand(kind, path), code)]
    assert mention in result.errors[0].message


VALID_POLICY_CASES = [
    pytest.param(
        "tabular",
        {},
        {"Guardrails": {"AllowedRoleArns": ["arn:aws:iam::111122223333:role/Autopilot*"]}},
        id="role-pattern-matches",
    ),
    pytest.param(
        "tabular",
        {},
        {"Guardrails": {"AllowedS3Prefixes": DATA_AND_OUTPUT}},
        id="all-locations-inside-prefixes",
    ),
    pytest.param(
        "tabular",
        {"OutputDataConfig.S3OutputPath": f"{OUTPUT}"},
        {"Guardrails": {"AllowedS3Prefixes": DATA_AND_OUTPUT}},
        id="prefix-itself-allowed",
    ),
    pytest.param(
        "tabular",
        {"Notifications.TopicArns": [TOPIC]},
        {"Guardrails": {"AllowedTopicArns": ["arn:aws:sns:eu-west-1:111122223333:ml-*"]}},
        id="topic-pattern-matches",
    ),
    pytest.param(
        "tabular",
        {},
        {"Guardrails": {"AllowedProblemTypes": ["TabularJobConfig"]}},
        id="problem-type-allowed",
    ),
    pytest.param(
        "tabular",
        {},
        {
            "Guardrails": {
                "MaxCandidates": 50,
                "MaxAutoMLJobRuntimeInSeconds": 14400,
                "MaxRuntimePerTrainingJobInSeconds": 3600,
            }
        },
        id="values-equal-to-caps",
    ),
    pytest.param(
        "image",
        {},
        {"Guardrails": {"MaxCandidates": 1, "RequireInterContainerEncryption": True}},
        id="non-tabular-at-cap-and-encrypted",
    ),
    pytest.param(
        "tabular",
        {},
        {
            "Defaults": {"Tags": [{"Key": "cost-center", "Value": "ml"}]},
            "Guardrails": {"RequiredTagKeys": ["team", "cost-center"]},
        },
        id="required-tag-from-defaults",
    ),
    pytest.param(
        "tabular",
        # A model in a VPC needs an instance endpoint (serverless ones refuse VPCs).
        ON_INSTANCES,
        {
            "Defaults": {
                "OutputDataConfig": {"S3OutputPath": f"{OUTPUT}/other/", "KmsKeyId": "alias/ml"},
                "SecurityConfig": {
                    "VolumeKmsKeyId": "alias/ml",
                    "EnableInterContainerTrafficEncryption": True,
                    "VpcConfig": {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]},
                },
            },
            "Guardrails": {
                "AllowedS3Prefixes": DATA_AND_OUTPUT,
                "RequireKmsKey": True,
                "RequireVpc": True,
                "RequireInterContainerEncryption": True,
            },
        },
        id="security-from-defaults",
    ),
]


VALID_POLICY_CASES += [
    pytest.param(
        "timeseries",
        {"Registry": {"ModelPackageGroupName": "demand-models", "ApprovalRequired": True}},
        {"Guardrails": {"RequireApprovalForEndpoints": ["demand-*"]}},
        id="approval-given-for-a-matching-endpoint",
    ),
    pytest.param(
        "timeseries",
        {},
        {"Guardrails": {"RequireApprovalForEndpoints": ["churn-*"]}},
        id="approval-not-needed-for-another-endpoint",
    ),
    pytest.param(
        "textgen",
        {"Deployment": DELETE},
        {"Guardrails": {"RequireApprovalForEndpoints": ["*"]}},
        id="approval-not-needed-without-a-deployment",
    ),
]


@pytest.mark.parametrize(("kind", "changes", "policy"), VALID_POLICY_CASES)
def test_manifest_within_the_policy_is_valid(
    kind: str, changes: dict[str, Any], policy: dict[str, Any]
) -> None:
    result = validate(kind, changes, policy=Policy.from_document(policy))
    assert found(result.errors) == []


def test_policy_defaults_fill_omitted_fields_only() -> None:
    policy = Policy.from_document(
        {
            "Defaults": {
                "RoleArn": ROLE,
                "OutputDataConfig": {"S3OutputPath": f"{OUTPUT}/default/", "KmsKeyId": "alias/ml"},
                "Tags": [
                    {"Key": "team", "Value": "platform"},
                    {"Key": "cost-center", "Value": "ml"},
                ],
            },
            "Guardrails": {"AllowedS3Prefixes": DATA_AND_OUTPUT},
        }
    )
    result = validate("tabular", {"RoleArn": DELETE}, policy=policy)
    assert found(result.errors) == []
    assert result.request is not None
    assert result.request["RoleArn"] == ROLE
    # The manifest's own output path and tag value win; only what is missing is filled.
    assert result.request["OutputDataConfig"] == {
        "S3OutputPath": f"{OUTPUT}/autopilot/churn/",
        "KmsKeyId": "alias/ml",
    }
    assert result.request["Tags"] == [
        {"Key": "team", "Value": "growth-analytics"},
        {"Key": "cost-center", "Value": "ml"},
    ]
    assert result.defaults_applied == ["RoleArn", "OutputDataConfig.KmsKeyId", "Tags.cost-center"]


def test_policy_caps_are_written_into_the_request_when_omitted() -> None:
    policy = Policy.from_document({"Guardrails": {"MaxRuntimePerTrainingJobInSeconds": 7200}})
    result = validate("tabular", {}, policy=policy)
    assert result.valid
    assert result.request is not None
    criteria = result.request["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"]
    assert criteria["MaxRuntimePerTrainingJobInSeconds"] == 7200


def test_policy_does_not_change_the_callers_document() -> None:
    document = build("tabular", {"RoleArn": DELETE})
    before = copy.deepcopy(document)
    validate_document(document, policy=Policy.from_document({"Defaults": {"RoleArn": ROLE}}))
    assert document == before


def test_guardrail_errors_join_the_others_in_document_order() -> None:
    policy = Policy.from_document({"Guardrails": {"AllowedS3Prefixes": [f"{DATA}/"]}})
    result = validate(
        "tabular", {"AutoMLJobName": "bad_name", "Tags[0].Key": "aws:x"}, policy=policy
    )
    assert found(result.errors) == [
        ("AutoMLJobName", "pattern"),
        ("OutputDataConfig.S3OutputPath", "policy.s3_not_allowed"),
        ("Tags[0].Key", "tags.reserved_prefix"),
    ]


@pytest.mark.parametrize(
    ("document", "path", "code", "mention"),
    [
        pytest.param(
            {"Guardrails": {"MaxCandidate": 5}},
            "Guardrails.MaxCandidate",
            "unknown_field",
            "Did you mean 'MaxCandidates'?",
            id="unknown-guardrail",
        ),
        pytest.param(
            {"Defaults": {"Region": "eu-west-1"}},
            "Defaults.Region",
            "unknown_field",
            "RoleArn, OutputDataConfig, SecurityConfig, Tags",
            id="unknown-default",
        ),
        pytest.param(
            {"Defaults": {"RoleArn": "arn:aws:iam::111122223333:user/someone"}},
            "Defaults.RoleArn",
            "pattern",
            "IAM role ARN",
            id="default-role-not-a-role",
        ),
        pytest.param(
            {"Guardrails": {"AllowedProblemTypes": ["Tabular"]}},
            "Guardrails.AllowedProblemTypes[0]",
            "enum",
            "Did you mean 'TabularJobConfig'?",
            id="unknown-problem-type",
        ),
        pytest.param(
            {"Guardrails": {"MaxCandidates": 751}},
            "Guardrails.MaxCandidates",
            "max_value",
            "750",
            id="cap-above-api-limit",
        ),
        pytest.param(
            {"Guardrails": {"RequireVpc": "yes"}},
            "Guardrails.RequireVpc",
            "type",
            "true or false",
            id="flag-not-boolean",
        ),
    ],
)
def test_invalid_policy_is_rejected(
    document: dict[str, Any], path: str, code: str, mention: str
) -> None:
    with pytest.raises(PolicyError) as caught:
        Policy.from_document(document)
    assert found(caught.value.issues) == [(path, code)]
    assert mention in caught.value.issues[0].message


# --- Every code is covered -----------------------------------------------------------------


def _policy_codes() -> set[str]:
    source = Path(policy_module.__file__).read_text(encoding="utf-8")
    return set(re.findall(r'"(policy\.[a-z0-9_]+)"', source))


def test_every_code_has_a_case_that_breaks_it() -> None:
    rule_codes = {code for registered in RULES for code in registered.codes}
    # sections.py registers on import of autopilot_flow.validate; policy codes are found.
    assert {"deployment.target", "deployment.problem_type"} <= rule_codes
    assert {"policy.role_not_allowed", "policy.encryption_required"} <= _policy_codes()

    covered = {
        param.values[3]
        for param in STRUCTURAL_CASES
        + RULE_CASES
        + FREQUENCY_CASES
        + QUANTILE_CASES
        + WARNING_CASES
        + SECTION_CASES
        + SECTION_WARNING_CASES
    } | {param.values[4] for param in POLICY_CASES}
    every_code = rule_codes | _policy_codes() | STRUCTURAL_CODES
    assert every_code - covered == set()
    assert covered - every_code == set()


# --- Known library bugs (expected behaviour, failing today) --------------------------------


def test_misspelt_channel_type_on_the_only_channel_is_an_error_not_a_crash() -> None:
    result = validate("image", {"AutoMLJobInputDataConfig[0].ChannelType": "train"})
    assert ("AutoMLJobInputDataConfig[0].ChannelType", "enum") in found(result.errors)
    assert "Did you mean 'training'?" in result.errors[0].message


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param({"Guardrails": {"RequiredTagKeys": ["team"]}}, id="required-tag-keys"),
        pytest.param(
            {"Defaults": {"Tags": [{"Key": "cost-center", "Value": "ml"}]}}, id="default-tags"
        ),
    ],
)
def test_non_string_tag_key_with_a_tag_policy_is_an_error_not_a_crash(
    policy: dict[str, Any],
) -> None:
    result = validate("tabular", {"Tags[0].Key": ["team"]}, policy=Policy.from_document(policy))
    assert ("Tags[0].Key", "type") in found(result.errors)
