"""The documented rules of ``CreateAutoMLJobV2`` that the API model alone cannot express.

One small check per rule. Each is registered with the codes it can report and the sentence
of the ``CreateAutoMLJobV2`` API reference (or of the AWS documentation page it names) it
enforces, so that ``autopilot-flow rules`` prints a list a reviewer can hold against the docs.

Rules run after the structural walk, on a document that may still be malformed: they read
through ``RuleContext`` helpers that return ``None`` (and so skip the rule) when a value
has the wrong type, because the structural walk has already reported that.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from autopilot_flow import problem_types as pt
from autopilot_flow.issues import Issue, Loc, describe
from autopilot_flow.structure import suggest

PROBLEM_CONFIG = "AutoMLProblemTypeConfig"
CHANNELS = "AutoMLJobInputDataConfig"


@dataclass
class RuleContext:
    """What a rule reads (the request and our sections) and where it reports."""

    request: dict[str, Any]
    sections: dict[str, Any] = field(default_factory=dict)
    # The policy's RequireVpc: every job runs in a VPC, whatever the manifest says.
    policy_requires_vpc: bool = False
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def __post_init__(self) -> None:
        config = self.request.get(PROBLEM_CONFIG)
        self.problem: str | None = None
        self.config: dict[str, Any] = {}
        if isinstance(config, dict):
            chosen = [k for k in config if k in pt.PROBLEM_CONFIGS]
            if len(chosen) == 1 and isinstance(config[chosen[0]], dict):
                self.problem = chosen[0]
                self.config = config[chosen[0]]

    @property
    def config_loc(self) -> Loc:
        return (PROBLEM_CONFIG, self.problem or "")

    def error(self, loc: Loc, code: str, message: str) -> None:
        self.errors.append(Issue(loc, code, message))

    def warn(self, loc: Loc, code: str, message: str) -> None:
        self.warnings.append(Issue(loc, code, message))

    def channels(self) -> Iterator[tuple[Loc, dict[str, Any]]]:
        channels = self.request.get(CHANNELS)
        if isinstance(channels, list):
            for index, channel in enumerate(channels):
                if isinstance(channel, dict):
                    yield (CHANNELS, index), channel

    def tabular_problem_type(self) -> str | None:
        return text(self.config.get("ProblemType")) if self.problem == pt.TABULAR else None

    def tabular_mode(self) -> str:
        """The tabular training mode; AUTO when omitted (the API's default)."""
        mode = text(self.config.get("Mode"))
        return mode if mode is not None else "AUTO"


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def s3_data_type(channel: dict[str, Any]) -> str | None:
    source = mapping(mapping(channel.get("DataSource")).get("S3DataSource"))
    return text(source.get("S3DataType"))


RuleCheck = Callable[[RuleContext], None]


@dataclass(frozen=True)
class Rule:
    name: str
    codes: tuple[str, ...]
    cite: str
    # None: the rule is checked during the structural walk (see STRUCTURAL_CHECKS).
    check: RuleCheck | None


RULES: list[Rule] = []


def rule(*codes: str, cite: str) -> Callable[[RuleCheck], RuleCheck]:
    """Register a check with the codes it reports and the reference sentence it enforces."""

    def register(check: RuleCheck) -> RuleCheck:
        RULES.append(Rule(check.__name__, codes, " ".join(cite.split()), check))
        return check

    return register


def _name_of(problem: str | None) -> str:
    return problem or "this problem type"


# --- Input channels ------------------------------------------------------------------------


@rule(
    "input.s3_data_type",
    cite="The supported formats depend on the problem type: tabular S3Prefix, ManifestFile; "
    "image classification S3Prefix, ManifestFile, AugmentedManifestFile; text classification, "
    "time-series forecasting and text generation S3Prefix."
    " (AWS docs: AutoMLS3DataSource, SageMaker API reference)",
)
def s3_data_type_for_problem(ctx: RuleContext) -> None:
    if ctx.problem is None:
        return
    allowed = pt.S3_DATA_TYPES[ctx.problem]
    for loc, channel in ctx.channels():
        data_type = s3_data_type(channel)
        if data_type is not None and data_type not in allowed:
            ctx.error(
                loc + ("DataSource", "S3DataSource", "S3DataType"),
                "input.s3_data_type",
                f"{data_type} is not supported for {ctx.problem}; use {' or '.join(allowed)}.",
            )


@rule(
    "input.content_type",
    cite="ContentType: the allowed content types for different problems: tabular, text "
    "classification, time-series forecasting and text generation text/csv;header=present or "
    "x-application/vnd.amazon+parquet; image classification image/png, image/jpeg, or image/*."
    " (AWS docs: AutoMLJobChannel, SageMaker API reference)",
)
def content_type_for_problem(ctx: RuleContext) -> None:
    if ctx.problem is None:
        return
    allowed = pt.CONTENT_TYPES[ctx.problem]
    for loc, channel in ctx.channels():
        content_type = text(channel.get("ContentType"))
        if content_type is not None and content_type not in allowed:
            hint = suggest(content_type.replace(" ", ""), allowed)
            more = f" Did you mean {hint!r}?" if hint else ""
            ctx.error(
                loc + ("ContentType",),
                "input.content_type",
                f"{describe(content_type)} is not supported for {ctx.problem}.{more} "
                f"Allowed: {', '.join(allowed)}.",
            )


@rule(
    "input.compression",
    cite="We allow the compression type Gzip for S3Prefix inputs on tabular data only. For all "
    "other inputs, the compression type should be None."
    " (AWS docs: AutoMLJobChannel, SageMaker API reference)",
)
def compression_only_tabular_prefix(ctx: RuleContext) -> None:
    for loc, channel in ctx.channels():
        if channel.get("CompressionType") != "Gzip":
            continue
        data_type = s3_data_type(channel)
        if ctx.problem == pt.TABULAR and data_type in (None, "S3Prefix"):
            continue
        where = f"{data_type} inputs" if ctx.problem == pt.TABULAR else _name_of(ctx.problem)
        ctx.error(
            loc + ("CompressionType",),
            "input.compression",
            f"Gzip is allowed only for S3Prefix inputs of tabular jobs, not for {where}; use None.",
        )


@rule(
    "input.channel_types",
    cite="ChannelType defines whether the data are used for training or validation; the "
    "default value is training. (At most two channels: one training, one validation.)"
    " (AWS docs: AutoMLJobChannel, SageMaker API reference)",
)
def one_channel_per_type(ctx: RuleContext) -> None:
    seen: dict[str, Loc] = {}
    for loc, channel in ctx.channels():
        channel_type = channel.get("ChannelType", "training")
        if channel_type not in ("training", "validation"):
            return  # not a channel type at all: the enum check reports it
        if channel_type in seen:
            ctx.error(
                loc + ("ChannelType",),
                "input.channel_types",
                f"a second {channel_type} channel; give one training channel and at most one "
                "validation channel (ChannelType defaults to training).",
            )
        seen.setdefault(channel_type, loc)
    if "validation" in seen and "training" not in seen:
        ctx.error(
            seen["validation"] + ("ChannelType",),
            "input.channel_types",
            "a validation channel needs a training channel beside it.",
        )


@rule(
    "input.content_type_mismatch",
    cite="Channels for training and validation must share the same ContentType."
    " (AWS docs: CreateAutoMLJobV2 API reference)",
)
def channels_share_content_type(ctx: RuleContext) -> None:
    channels = list(ctx.channels())
    if len(channels) != 2 or ctx.problem is None:
        return
    default = pt.CONTENT_TYPES[ctx.problem][0]
    (_, first), (second_loc, second) = channels
    first_type = first.get("ContentType", default)
    second_type = second.get("ContentType", default)
    if isinstance(first_type, str) and isinstance(second_type, str) and first_type != second_type:
        ctx.error(
            second_loc + ("ContentType",),
            "input.content_type_mismatch",
            f"training and validation channels must share the same ContentType "
            f"({describe(first_type)} vs {describe(second_type)}; an omitted ContentType "
            f"means {default!r}).",
        )


# --- Output ----------------------------------------------------------------------------------


@rule(
    "output.s3_output_path_length",
    cite="S3OutputPath: The Amazon S3 output path. Must be 512 characters or less."
    " (AWS docs: AutoMLOutputDataConfig, SageMaker API reference)",
)
def s3_output_path_length(ctx: RuleContext) -> None:
    path = text(mapping(ctx.request.get("OutputDataConfig")).get("S3OutputPath"))
    if path is not None and pt.MAX_S3_OUTPUT_PATH < len(path) <= 1024:
        # Over 1024 the API model's max_length already reports it.
        ctx.error(
            ("OutputDataConfig", "S3OutputPath"),
            "output.s3_output_path_length",
            f"must be {pt.MAX_S3_OUTPUT_PATH} characters or less (got {len(path)}).",
        )


# --- Completion criteria ---------------------------------------------------------------------


@rule(
    "completion.max_candidates",
    cite="MaxCandidates: For text and image classification, time-series forecasting, as well "
    "as text generation (LLMs fine-tuning) problem types, the supported value is 1. For "
    "tabular problem types, the maximum value is 750 (the API model's max)."
    " (AWS docs: AutoMLJobCompletionCriteria, SageMaker API reference)",
)
def max_candidates_non_tabular(ctx: RuleContext) -> None:
    if ctx.problem is None or ctx.problem == pt.TABULAR:
        return
    value = integer(mapping(ctx.config.get("CompletionCriteria")).get("MaxCandidates"))
    if value is not None and value != 1:
        ctx.error(
            ctx.config_loc + ("CompletionCriteria", "MaxCandidates"),
            "completion.max_candidates",
            f"must be 1 for {ctx.problem} (got {value}); only tabular jobs train several "
            "candidates.",
        )


@rule(
    "completion.runtime_order",
    cite="MaxRuntimePerTrainingJobInSeconds controls the runtime of one candidate; "
    "MaxAutoMLJobRuntimeInSeconds the whole job (warning: a candidate cannot outlive its job)."
    " (AWS docs: AutoMLJobCompletionCriteria, SageMaker API reference)",
)
def candidate_runtime_within_job(ctx: RuleContext) -> None:
    criteria = mapping(ctx.config.get("CompletionCriteria"))
    per_candidate = integer(criteria.get("MaxRuntimePerTrainingJobInSeconds"))
    whole_job = integer(criteria.get("MaxAutoMLJobRuntimeInSeconds"))
    if per_candidate is not None and whole_job is not None and per_candidate > whole_job:
        ctx.warn(
            ctx.config_loc + ("CompletionCriteria", "MaxRuntimePerTrainingJobInSeconds"),
            "completion.runtime_order",
            f"a candidate may run {per_candidate} s but the whole job only "
            f"{whole_job} s; the job limit wins.",
        )


# --- Objective -------------------------------------------------------------------------------


@rule(
    "objective.problem_type_pair",
    cite="For tabular problem types: You must either provide both the AutoMLJobObjective and "
    "indicate the type of supervised learning problem in AutoMLProblemTypeConfig "
    "(TabularJobConfig.ProblemType), or none at all."
    " (AWS docs: CreateAutoMLJobV2 API reference)",
)
def objective_with_problem_type(ctx: RuleContext) -> None:
    if ctx.problem != pt.TABULAR:
        return
    has_objective = "AutoMLJobObjective" in ctx.request
    has_problem_type = "ProblemType" in ctx.config
    if has_objective and not has_problem_type:
        ctx.error(
            ctx.config_loc + ("ProblemType",),
            "objective.problem_type_pair",
            "AutoMLJobObjective is set, so ProblemType is required too (both or neither).",
        )
    elif has_problem_type and not has_objective:
        ctx.error(
            ("AutoMLJobObjective",),
            "objective.problem_type_pair",
            "ProblemType is set, so AutoMLJobObjective is required too (both or neither).",
        )


@rule(
    "objective.metric",
    cite="MetricName: Regression: MAE, MSE, R2, RMSE. Binary classification: Accuracy, AUC, "
    "BalancedAccuracy, F1, Precision, Recall. Multiclass classification: Accuracy, "
    "BalancedAccuracy, F1macro, PrecisionMacro, RecallMacro. Time series: "
    "AverageWeightedQuantileLoss, MAPE, MASE, WAPE, RMSE; text and image classification: "
    "Accuracy (AWS docs: Autopilot metrics). Text generation: no objective to set.",
)
def objective_metric_for_problem(ctx: RuleContext) -> None:
    metric = text(mapping(ctx.request.get("AutoMLJobObjective")).get("MetricName"))
    if metric is None or ctx.problem is None:
        return
    loc: Loc = ("AutoMLJobObjective", "MetricName")
    if ctx.problem == pt.TEXT_GENERATION:
        ctx.error(
            ("AutoMLJobObjective",),
            "objective.metric",
            "text generation fine-tunes against cross-entropy loss and takes no "
            "AutoMLJobObjective; remove it.",
        )
        return
    if ctx.problem == pt.TABULAR:
        problem_type = ctx.tabular_problem_type()
        allowed = pt.TABULAR_METRICS.get(problem_type or "")
        label = problem_type or ""
    elif ctx.problem == pt.TIME_SERIES:
        allowed, label = pt.TIME_SERIES_METRICS, ctx.problem
    else:
        allowed, label = pt.CLASSIFICATION_METRICS, ctx.problem
    if allowed is not None and metric not in allowed:
        ctx.error(
            loc,
            "objective.metric",
            f"{metric} is not an objective for {label}; use one of {', '.join(allowed)}.",
        )


# --- Tabular ---------------------------------------------------------------------------------


@rule(
    "tabular.sample_weight_mode",
    cite="SampleWeightAttributeName: Support for sample weights is available in Ensembling "
    "mode only."
    " (AWS docs: TabularJobConfig, SageMaker API reference)",
)
def sample_weights_only_ensembling(ctx: RuleContext) -> None:
    if ctx.problem != pt.TABULAR or "SampleWeightAttributeName" not in ctx.config:
        return
    mode = ctx.tabular_mode()
    if mode != "ENSEMBLING":
        omitted = " (Mode omitted means AUTO)" if "Mode" not in ctx.config else ""
        ctx.error(
            ctx.config_loc + ("SampleWeightAttributeName",),
            "tabular.sample_weight_mode",
            f"sample weights need Mode ENSEMBLING; Mode is {mode}{omitted}.",
        )


@rule(
    "algorithms.auto_mode",
    cite="AlgorithmsConfig should not be set when the training mode AutoMLJobConfig.Mode is "
    "set to AUTO."
    " (AWS docs: AutoMLAlgorithmConfig, SageMaker API reference)",
)
def no_algorithms_in_auto_mode(ctx: RuleContext) -> None:
    if ctx.problem != pt.TABULAR:
        return
    generation = mapping(ctx.config.get("CandidateGenerationConfig"))
    if "AlgorithmsConfig" in generation and ctx.tabular_mode() == "AUTO":
        omitted = " (Mode omitted means AUTO)" if "Mode" not in ctx.config else ""
        ctx.error(
            ctx.config_loc + ("CandidateGenerationConfig", "AlgorithmsConfig"),
            "algorithms.auto_mode",
            f"AlgorithmsConfig must not be set in AUTO mode{omitted}; set Mode to ENSEMBLING "
            "or HYPERPARAMETER_TUNING, or remove AlgorithmsConfig.",
        )


@rule(
    "algorithms.exactly_one",
    cite="When AlgorithmsConfig is provided, one AutoMLAlgorithms attribute must be set and one "
    "only (more than one item is the API model's max_items)."
    " (AWS docs: AutoMLAlgorithmConfig, SageMaker API reference)",
)
def one_algorithms_entry(ctx: RuleContext) -> None:
    if ctx.problem not in (pt.TABULAR, pt.TIME_SERIES):
        return
    configs = mapping(ctx.config.get("CandidateGenerationConfig")).get("AlgorithmsConfig")
    if isinstance(configs, list) and len(configs) == 0:
        ctx.error(
            ctx.config_loc + ("CandidateGenerationConfig", "AlgorithmsConfig"),
            "algorithms.exactly_one",
            "when AlgorithmsConfig is given it must hold exactly one AutoMLAlgorithms entry; "
            "remove it to train the full set.",
        )


@rule(
    "algorithms.allowed",
    cite="Selected algorithms must belong to the list corresponding to the training mode: "
    "ENSEMBLING catboost, extra-trees, fastai, lightgbm, linear-learner, nn-torch, "
    "randomforest, xgboost; HYPERPARAMETER_TUNING linear-learner, mlp, xgboost; time-series "
    "forecasting cnn-qr, deepar, prophet, arima, npts, ets."
    " (AWS docs: AutoMLAlgorithmConfig, SageMaker API reference)",
)
def algorithms_for_mode(ctx: RuleContext) -> None:
    if ctx.problem == pt.TABULAR:
        mode = ctx.tabular_mode()
        allowed = {
            "ENSEMBLING": pt.ENSEMBLING_ALGORITHMS,
            "HYPERPARAMETER_TUNING": pt.HPO_ALGORITHMS,
        }.get(mode)
        label = f"{mode} mode"
        if allowed is None:
            return  # AUTO: reported by algorithms.auto_mode
    elif ctx.problem == pt.TIME_SERIES:
        allowed, label = pt.TIME_SERIES_ALGORITHMS, "time-series forecasting"
    else:
        return
    configs = mapping(ctx.config.get("CandidateGenerationConfig")).get("AlgorithmsConfig")
    if not isinstance(configs, list):
        return
    for index, entry in enumerate(configs):
        algorithms = mapping(entry).get("AutoMLAlgorithms")
        if not isinstance(algorithms, list):
            continue
        for position, algorithm in enumerate(algorithms):
            if isinstance(algorithm, str) and algorithm not in allowed:
                ctx.error(
                    ctx.config_loc
                    + ("CandidateGenerationConfig", "AlgorithmsConfig", index)
                    + ("AutoMLAlgorithms", position),
                    "algorithms.allowed",
                    f"{algorithm} is not available in {label}; choose from {', '.join(allowed)}.",
                )


# --- Time series -----------------------------------------------------------------------------


def check_forecast_frequency(value: str, loc: Loc, out: list[Issue]) -> None:
    """ForecastFrequency: an integer and a unit, never overlapping the next larger unit."""
    match = re.fullmatch(r"([0-9]*)(min|[YMWDH])", value)
    if match is None:
        out.append(
            Issue(
                loc,
                "timeseries.forecast_frequency",
                f"{describe(value)} is not a frequency: write an integer followed by Y, M, W, "
                "D, H or min, e.g. 1D or 15min.",
            )
        )
        return
    digits, unit = match.groups()
    high, bigger, factor = pt.FREQUENCY_UNITS[unit]
    count = int(digits) if digits else 1
    problem = None
    if digits.startswith("0") or count < 1:
        problem = f"the count must be 1-{high} without leading zeros"
    elif count > high:
        bound = "1" if high == 1 else f"1-{high}"
        problem = f"{pt.FREQUENCY_NAMES[unit]} must be {bound}"
        if bigger is not None and factor is not None and count % factor == 0:
            problem += f"; use {count // factor}{bigger} instead of {value}"
    elif not digits and unit == "min":
        problem = "minutes need a count, e.g. 1min"
    if problem is not None:
        out.append(Issue(loc, "timeseries.forecast_frequency", f"{value!r}: {problem}."))


def check_forecast_quantile(value: str, loc: Loc, out: list[Issue]) -> None:
    """ForecastQuantiles: p1 (0.01) to p99 (0.99)."""
    if re.fullmatch(r"p[1-9][0-9]?", value):
        return
    hint = ""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if 0 < number < 1:
        hint = f" Write p{round(number * 100)} for {value}."
    elif re.fullmatch(r"p0[1-9]", value):
        hint = f" Write p{value[2:]} without the leading zero."
    out.append(
        Issue(
            loc,
            "timeseries.forecast_quantile",
            f"{describe(value)} is not a quantile: use p1 (0.01) to p99 (0.99).{hint}",
        )
    )


def structural_rule(*codes: str, cite: str, name: str | None = None) -> None:
    """Register a rule that the structural walk checks (in place of a shape's pattern, or as
    the bounds of our sections' model): listed by ``autopilot-flow rules`` like the others."""
    label = name or codes[0].rsplit(".", maxsplit=1)[-1]
    RULES.append(Rule(label, codes, " ".join(cite.split()), None))


structural_rule(
    "timeseries.forecast_frequency",
    cite="ForecastFrequency: Valid intervals are an integer followed by Y, M, W, D, H, and min. "
    "The value of a frequency must not overlap with the next larger frequency (1H, not 60min). "
    "Minute 1-59, Hour 1-23, Day 1-6, Week 1-4, Month 1-11, Year 1. (Checked during the "
    "structural walk, in place of the pattern.)"
    " (AWS docs: TimeSeriesForecastingJobConfig, SageMaker API reference)",
)
structural_rule(
    "timeseries.forecast_quantile",
    cite="ForecastQuantiles: from 0.01 (p1) to 0.99 (p99). Up to five forecast quantiles (the "
    "API model's max_items). (Checked during the structural walk, in place of the pattern.)"
    " (AWS docs: TimeSeriesForecastingJobConfig, SageMaker API reference)",
)

# Shape name -> checker used by the structural walk instead of the generic pattern message.
STRUCTURAL_CHECKS = {
    "ForecastFrequency": check_forecast_frequency,
    "ForecastQuantile": check_forecast_quantile,
}


@rule(
    "timeseries.forecast_horizon",
    "timeseries.horizon_needs_data",
    cite="ForecastHorizon: The maximum forecast horizon is the lesser of 500 time-steps or 1/4 "
    "of the time-steps in the dataset (the second bound needs the data: a warning)."
    " (AWS docs: TimeSeriesForecastingJobConfig, SageMaker API reference)",
)
def forecast_horizon_limit(ctx: RuleContext) -> None:
    if ctx.problem != pt.TIME_SERIES:
        return
    horizon = integer(ctx.config.get("ForecastHorizon"))
    if horizon is None or horizon < 1:
        return
    loc = ctx.config_loc + ("ForecastHorizon",)
    if horizon > pt.MAX_FORECAST_HORIZON:
        ctx.error(
            loc,
            "timeseries.forecast_horizon",
            f"must be at most {pt.MAX_FORECAST_HORIZON} time-steps (got {horizon}).",
        )
    else:
        ctx.warn(
            loc,
            "timeseries.horizon_needs_data",
            f"the horizon may be at most 1/4 of the time-steps in the dataset: each series "
            f"needs at least {4 * horizon} time-steps; this can only be checked against the "
            "data.",
        )


def _target_column(ctx: RuleContext) -> str | None:
    return text(mapping(ctx.config.get("TimeSeriesConfig")).get("TargetAttributeName"))


@rule(
    "timeseries.filling_option",
    "timeseries.filling_value_missing",
    "timeseries.filling_value_orphan",
    "timeseries.frontfill_target_only",
    cite="Filling: frontfill: none (Supported only for target column); middlefill, backfill, "
    "futurefill: zero, value, median, mean, min, max. To set a filling method to a specific "
    "value, set the fill parameter to value and define the filling value in an additional "
    "parameter prefixed with _value."
    " (AWS docs: TimeSeriesTransformations, SageMaker API reference)",
)
def filling_methods(ctx: RuleContext) -> None:
    if ctx.problem != pt.TIME_SERIES:
        return
    filling = mapping(mapping(ctx.config.get("Transformations")).get("Filling"))
    target = _target_column(ctx)
    base = ctx.config_loc + ("Transformations", "Filling")
    for column, methods in filling.items():
        if not isinstance(methods, dict):
            continue
        loc = base + (str(column),)
        for method, option in methods.items():
            if not isinstance(method, str) or not isinstance(option, str):
                continue
            if method in pt.FILLING_OPTIONS:
                allowed = pt.FILLING_OPTIONS[method]
                if option not in allowed:
                    ctx.error(
                        loc + (method,),
                        "timeseries.filling_option",
                        f"{describe(option)} is not a {method} option; use {', '.join(allowed)}.",
                    )
                elif option == "value" and f"{method}_value" not in methods:
                    ctx.error(
                        loc + (method,),
                        "timeseries.filling_value_missing",
                        f'{method} is "value", so {method}_value must give the value, e.g. '
                        f'"{method}_value": "0".',
                    )
                if method == "frontfill" and target is not None and column != target:
                    ctx.error(
                        loc + (method,),
                        "timeseries.frontfill_target_only",
                        f"frontfill is supported only for the target column ({target!r}), "
                        f"not {column!r}.",
                    )
            elif method.endswith("_value"):
                parent = method[: -len("_value")]
                if methods.get(parent) != "value":
                    ctx.error(
                        loc + (method,),
                        "timeseries.filling_value_orphan",
                        f'{method} is used only with "{parent}": "value"'
                        + (
                            "; frontfill accepts only none."
                            if parent == "frontfill"
                            else f"; set {parent} to value or remove {method}."
                        ),
                    )


@rule(
    "timeseries.aggregation_target_only",
    cite="Aggregation: The supported aggregation methods are sum (default), avg, first, min, "
    "max (the API model's enum). Aggregation is only supported for the target column."
    " (AWS docs: TimeSeriesTransformations, SageMaker API reference)",
)
def aggregation_on_target(ctx: RuleContext) -> None:
    if ctx.problem != pt.TIME_SERIES:
        return
    aggregation = mapping(mapping(ctx.config.get("Transformations")).get("Aggregation"))
    target = _target_column(ctx)
    if target is None:
        return
    for column in aggregation:
        if column != target:
            ctx.error(
                ctx.config_loc + ("Transformations", "Aggregation", str(column)),
                "timeseries.aggregation_target_only",
                f"aggregation is supported only for the target column ({target!r}), "
                f"not {column!r}.",
            )


# --- Data split, deployment, compute ---------------------------------------------------------


@rule(
    "data_split.time_series",
    cite="DataSplitConfig: This attribute must not be set for the time-series forecasting "
    "problem type."
    " (AWS docs: CreateAutoMLJobV2 API reference)",
)
def no_data_split_for_time_series(ctx: RuleContext) -> None:
    if ctx.problem == pt.TIME_SERIES and "DataSplitConfig" in ctx.request:
        ctx.error(
            ("DataSplitConfig",),
            "data_split.time_series",
            "must not be set for time-series forecasting: Autopilot splits the data itself.",
        )


@rule(
    "data_split.fraction",
    "data_split.fraction_high",
    cite="ValidationFraction: values must be greater than 0 and less than 1. We recommend "
    "setting this value to be less than 0.5 (a warning)."
    " (AWS docs: AutoMLDataSplitConfig, SageMaker API reference)",
)
def validation_fraction(ctx: RuleContext) -> None:
    value = mapping(ctx.request.get("DataSplitConfig")).get("ValidationFraction")
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return
    loc: Loc = ("DataSplitConfig", "ValidationFraction")
    if value in (0, 1):
        ctx.error(
            loc,
            "data_split.fraction",
            f"must be greater than 0 and less than 1 (got {value}).",
        )
    elif 0.5 <= value < 1:
        ctx.warn(
            loc,
            "data_split.fraction_high",
            f"{value} leaves half or less of the data for training; less than 0.5 is recommended.",
        )


@rule(
    "model_deploy.endpoint_name",
    cite="If you set AutoGenerateEndpointName to True, do not specify the EndpointName. "
    "Specify the EndpointName if and only if you set AutoGenerateEndpointName to False "
    "(the default)."
    " (AWS docs: ModelDeployConfig, SageMaker API reference)",
)
def endpoint_name_iff_not_generated(ctx: RuleContext) -> None:
    config = ctx.request.get("ModelDeployConfig")
    if not isinstance(config, dict):
        return
    generate = config.get("AutoGenerateEndpointName", False)
    if not isinstance(generate, bool):
        return
    if generate and "EndpointName" in config:
        ctx.error(
            ("ModelDeployConfig", "EndpointName"),
            "model_deploy.endpoint_name",
            "must not be set when AutoGenerateEndpointName is true.",
        )
    elif not generate and "EndpointName" not in config:
        ctx.error(
            ("ModelDeployConfig", "EndpointName"),
            "model_deploy.endpoint_name",
            "is required unless AutoGenerateEndpointName is true.",
        )


@rule(
    "compute.emr_problem_type",
    cite="EMR Serverless is available for the tabular and time series problem types."
    " (AWS docs: AutoMLComputeConfig, SageMaker API reference)",
)
def emr_only_tabular_and_time_series(ctx: RuleContext) -> None:
    compute = mapping(ctx.request.get("AutoMLComputeConfig"))
    if "EmrServerlessComputeConfig" not in compute or ctx.problem is None:
        return
    if ctx.problem not in (pt.TABULAR, pt.TIME_SERIES):
        ctx.error(
            ("AutoMLComputeConfig", "EmrServerlessComputeConfig"),
            "compute.emr_problem_type",
            f"EMR Serverless is available only for TabularJobConfig and "
            f"TimeSeriesForecastingJobConfig, not {ctx.problem}.",
        )


# --- Text classification and text generation -------------------------------------------------


@rule(
    "text.content_is_target",
    cite="ContentColumn should not be the same as the target column; TargetLabelColumn should "
    "not be same as the content column."
    " (AWS docs: TextClassificationJobConfig, SageMaker API reference)",
)
def content_column_differs(ctx: RuleContext) -> None:
    if ctx.problem != pt.TEXT_CLASSIFICATION:
        return
    content = text(ctx.config.get("ContentColumn"))
    if content is not None and content == text(ctx.config.get("TargetLabelColumn")):
        ctx.error(
            ctx.config_loc + ("TargetLabelColumn",),
            "text.content_is_target",
            f"the target label column must differ from the content column ({content!r}).",
        )


@rule(
    "textgen.hyperparameter_key",
    "textgen.hyperparameter_value",
    cite='TextGenerationHyperParameters: "epochCount" an integer 1 to 10; "batchSize" an '
    'integer 1 to 64; "learningRate" a floating-point value 0 to 1; "learningRateWarmupSteps" '
    "an integer 0 to 250, each as a string."
    " (AWS docs: TextGenerationJobConfig, SageMaker API reference)",
)
def text_generation_hyperparameters(ctx: RuleContext) -> None:
    if ctx.problem != pt.TEXT_GENERATION:
        return
    params = mapping(ctx.config.get("TextGenerationHyperParameters"))
    base = ctx.config_loc + ("TextGenerationHyperParameters",)
    known = pt.TEXT_GENERATION_HYPERPARAMETERS
    for raw_key, value in params.items():
        key = str(raw_key)
        spec = known.get(key)
        if spec is None:
            hint = suggest(key, known)
            more = f" Did you mean {hint!r}?" if hint else ""
            ctx.error(
                base + (key,),
                "textgen.hyperparameter_key",
                f"{key!r} is not a text generation hyperparameter.{more} "
                f"Allowed: {', '.join(known)}.",
            )
            continue
        if not isinstance(value, str):
            continue  # a type error, already reported
        kind, low, high = spec
        number: float | None = None
        if kind is int:
            number = int(value) if re.fullmatch(r"[0-9]+", value) else None
        else:
            plain = re.fullmatch(r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?", value)
            number = float(value) if plain else None
        noun = "an integer" if kind is int else "a number"
        if number is None or not low <= number <= high:
            ctx.error(
                base + (key,),
                "textgen.hyperparameter_value",
                f"{key} must be {noun} from {low:g} to {high:g}, written as a string "
                f"(got {describe(value)}).",
            )


@rule(
    "textgen.base_model",
    cite="BaseModelName: the text generation models that support fine-tuning in Autopilot "
    "(AWS docs: Dataset file types and input data format, for LLM fine-tuning); the list "
    "may grow, so an unknown name is a warning.",
)
def known_base_model(ctx: RuleContext) -> None:
    if ctx.problem != pt.TEXT_GENERATION:
        return
    name = text(ctx.config.get("BaseModelName"))
    if name is None or name in pt.TEXT_GENERATION_MODELS:
        return
    hint = suggest(name, pt.TEXT_GENERATION_MODELS)
    more = f" Did you mean {hint!r}?" if hint else ""
    ctx.warn(
        ctx.config_loc + ("BaseModelName",),
        "textgen.base_model",
        f"{name!r} is not a base model we know.{more} Known: "
        f"{', '.join(pt.TEXT_GENERATION_MODELS)}.",
    )


@rule(
    "textgen.accept_eula",
    cite="Llama models require ModelAccessConfig.AcceptEula = true (AWS docs: Supported "
    "large language models for fine-tuning).",
)
def eula_for_llama(ctx: RuleContext) -> None:
    if ctx.problem != pt.TEXT_GENERATION:
        return
    name = text(ctx.config.get("BaseModelName")) or pt.DEFAULT_TEXT_GENERATION_MODEL
    if not name.startswith(pt.EULA_MODEL_PREFIXES):
        return
    accepted = mapping(ctx.config.get("ModelAccessConfig")).get("AcceptEula")
    if accepted is not True:
        ctx.error(
            ctx.config_loc + ("ModelAccessConfig", "AcceptEula"),
            "textgen.accept_eula",
            f"{name} is released under an end-user licence: set ModelAccessConfig.AcceptEula "
            "to true to accept it.",
        )


# --- Tags ------------------------------------------------------------------------------------


@rule(
    "tags.duplicate_key",
    "tags.reserved_prefix",
    cite="Tag keys must be unique per resource (at most 50 tags: the API model's max_items). "
    "Keys starting with aws: are reserved for AWS (AWS tagging rules)."
    " (AWS docs: Tag, SageMaker API reference; Tagging your AWS resources)",
)
def tag_keys(ctx: RuleContext) -> None:
    tags = ctx.request.get("Tags")
    if not isinstance(tags, list):
        return
    seen: set[str] = set()
    for index, tag in enumerate(tags):
        key = text(mapping(tag).get("Key"))
        if key is None:
            continue
        if key in seen:
            ctx.error(
                ("Tags", index, "Key"),
                "tags.duplicate_key",
                f"tag key {key!r} is used more than once; tag keys must be unique.",
            )
        seen.add(key)
        if key.lower().startswith("aws:"):
            ctx.error(
                ("Tags", index, "Key"),
                "tags.reserved_prefix",
                f"tag keys starting with 'aws:' are reserved for AWS ({key!r}).",
            )


def run_rules(ctx: RuleContext) -> None:
    for registered in RULES:
        if registered.check is not None:
            registered.check(ctx)
