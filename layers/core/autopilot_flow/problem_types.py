"""What the reference says differs per problem type, in one place."""

from __future__ import annotations

from typing import Final

from autopilot_flow.vocabulary import PROBLEM_TYPES, ProblemType

# The problem types' names live in autopilot_flow.vocabulary; these plain-string aliases
# keep this module's API (the rules, the policy, the skeleton and the simulator use them, and
# a manifest written as YAML needs plain strings).
TABULAR: Final = ProblemType.TABULAR.value
TIME_SERIES: Final = ProblemType.TIME_SERIES.value
TEXT_CLASSIFICATION: Final = ProblemType.TEXT_CLASSIFICATION.value
IMAGE_CLASSIFICATION: Final = ProblemType.IMAGE_CLASSIFICATION.value
TEXT_GENERATION: Final = ProblemType.TEXT_GENERATION.value

PROBLEM_CONFIGS: Final = tuple(member.value for member in PROBLEM_TYPES)

# CLI names (autopilot-flow skeleton --problem-type ...) for each problem config.
CLI_NAMES: Final = {member.word: member.value for member in PROBLEM_TYPES}

CSV: Final = "text/csv;header=present"
PARQUET: Final = "x-application/vnd.amazon+parquet"

# "The supported formats depend on the problem type" (AutoMLJobInputDataConfig).
S3_DATA_TYPES: Final[dict[str, tuple[str, ...]]] = {
    TABULAR: ("S3Prefix", "ManifestFile"),
    IMAGE_CLASSIFICATION: ("S3Prefix", "ManifestFile", "AugmentedManifestFile"),
    TEXT_CLASSIFICATION: ("S3Prefix",),
    TIME_SERIES: ("S3Prefix",),
    TEXT_GENERATION: ("S3Prefix",),
}

# "The following are the allowed content types for different problems" (ContentType);
# the first entry is the documented default.
CONTENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    TABULAR: (CSV, PARQUET),
    IMAGE_CLASSIFICATION: ("image/*", "image/png", "image/jpeg"),
    TEXT_CLASSIFICATION: (CSV, PARQUET),
    TIME_SERIES: (CSV, PARQUET),
    TEXT_GENERATION: (CSV, PARQUET),
}

# AutoMLJobObjective.MetricName per problem type (reference, and AWS "Autopilot metrics"
# for time series and text/image classification).
TABULAR_METRICS: Final[dict[str, tuple[str, ...]]] = {
    "Regression": ("MAE", "MSE", "R2", "RMSE"),
    "BinaryClassification": ("Accuracy", "AUC", "BalancedAccuracy", "F1", "Precision", "Recall"),
    "MulticlassClassification": (
        "Accuracy",
        "BalancedAccuracy",
        "F1macro",
        "PrecisionMacro",
        "RecallMacro",
    ),
}
TIME_SERIES_METRICS: Final = ("AverageWeightedQuantileLoss", "MAPE", "MASE", "WAPE", "RMSE")
CLASSIFICATION_METRICS: Final = ("Accuracy",)

# Objective metrics that are better when higher (AWS docs "Autopilot metrics" and the LLM
# fine-tuning metrics). Every other metric (MSE, RMSE, MAE, MAPE, MASE, WAPE,
# AverageWeightedQuantileLoss, losses) is better when lower.
MAXIMIZED_METRICS: Final = frozenset(
    {
        "Accuracy",
        "AUC",
        "BalancedAccuracy",
        "F1",
        "F1macro",
        "Precision",
        "PrecisionMacro",
        "Recall",
        "RecallMacro",
        "R2",
        "Rouge1",
        "Rouge2",
        "RougeL",
        "RougeLSum",
    }
)


def objective_type(metric_name: str | None) -> str:
    """``Maximize`` or ``Minimize``, as SageMaker reports a candidate's objective."""
    return "Maximize" if metric_name in MAXIMIZED_METRICS else "Minimize"


# AutoMLAlgorithms allowed per training mode / problem type (AlgorithmsConfig).
ENSEMBLING_ALGORITHMS: Final = (
    "catboost",
    "extra-trees",
    "fastai",
    "lightgbm",
    "linear-learner",
    "nn-torch",
    "randomforest",
    "xgboost",
)
HPO_ALGORITHMS: Final = ("linear-learner", "mlp", "xgboost")
TIME_SERIES_ALGORITHMS: Final = ("cnn-qr", "deepar", "prophet", "arima", "npts", "ets")

# TextGenerationHyperParameters: the four documented keys, (kind, low, high), inclusive.
TEXT_GENERATION_HYPERPARAMETERS: Final[dict[str, tuple[type, float, float]]] = {
    "epochCount": (int, 1, 10),
    "batchSize": (int, 1, 64),
    "learningRate": (float, 0, 1),
    "learningRateWarmupSteps": (int, 0, 250),
}

# Text generation base models (AWS docs, LLM fine-tuning in Autopilot); the list may grow,
# so an unknown name is a warning. Models whose name starts with "Llama" need
# ModelAccessConfig.AcceptEula = true.
TEXT_GENERATION_MODELS: Final = (
    "Dolly3B",
    "Dolly7B",
    "Dolly12B",
    "Falcon7B",
    "Falcon7BInstruct",
    "Falcon40B",
    "Falcon40BInstruct",
    "FlanT5L",
    "FlanT5XL",
    "FlanT5XXL",
    "Llama2-7B",
    "Llama2-7BChat",
    "Llama2-13B",
    "Llama2-13BChat",
    "Mistral7B",
    "Mistral7BInstruct",
    "MPT7B",
    "MPT7BInstruct",
)
DEFAULT_TEXT_GENERATION_MODEL: Final = "Falcon7BInstruct"
EULA_MODEL_PREFIXES: Final = ("Llama",)

# Filling methods and the options each accepts (Transformations.Filling).
FILLING_OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "frontfill": ("none",),
    "middlefill": ("zero", "value", "median", "mean", "min", "max"),
    "backfill": ("zero", "value", "median", "mean", "min", "max"),
    "futurefill": ("zero", "value", "median", "mean", "min", "max"),
}

# ForecastFrequency units: (upper bound of the count, next larger unit, how many make it).
FREQUENCY_UNITS: Final[dict[str, tuple[int, str | None, int | None]]] = {
    "min": (59, "H", 60),
    "H": (23, "D", 24),
    "D": (6, "W", 7),
    "W": (4, None, None),
    "M": (11, "Y", 12),
    "Y": (1, None, None),
}
FREQUENCY_NAMES: Final = {
    "min": "minutes",
    "H": "hours",
    "D": "days",
    "W": "weeks",
    "M": "months",
    "Y": "years",
}
MAX_FORECAST_HORIZON: Final = 500
MAX_TABULAR_CANDIDATES: Final = 750
MAX_S3_OUTPUT_PATH: Final = 512
