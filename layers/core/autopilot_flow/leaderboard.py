"""The leaderboard of a finished AutoML job: every candidate, best first.

FinalizeJob writes it next to the job's own output, where SageMaker puts its artefacts
(``<S3OutputPath>/<job name>/``):

- ``leaderboard.json``: the job (name, status, problem type, objective) and every candidate
  with its rank, status, objective value and other metrics;
- ``leaderboard.md``: the same as a Markdown table, for people;
- ``leaderboard.html``: a self-contained page (autopilot_flow.report): the table, a bar chart
  of every candidate's objective, the job's timeline, its reports' links and what is known
  of the deployment when it is written (before FinalizeJob plans it).

Ranking follows the objective's direction (``Maximize``: higher is better; ``Minimize``:
lower is better). Candidates without an objective value (failed, stopped, still running when
the job ended) are listed after the ranked ones, without a rank.
``ListCandidatesForAutoMLJob`` is paginated (at most 100 per page) and read to the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from autopilot_flow import report
from autopilot_flow.problem_types import objective_type
from autopilot_flow.sagemaker import THROTTLING_CODES, Backoff, SageMakerThrottled, error_code
from autopilot_flow.vocabulary import ProblemType

JSON_NAME = "leaderboard.json"
MARKDOWN_NAME = "leaderboard.md"
TOP = 5


class LeaderboardError(Exception):
    """The leaderboard cannot be written (e.g. the job has no S3 output path)."""


def better(value: float, than: float, objective: str) -> bool:
    """Strictly better by the objective's direction (a tie is not better)."""
    return value > than if objective == "Maximize" else value < than


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    return value if isinstance(value, str) else None


def s3_output_root(description: dict[str, Any]) -> tuple[str, str]:
    """(bucket, key prefix) of ``<S3OutputPath>/<job name>/``."""
    path = str((description.get("OutputDataConfig") or {}).get("S3OutputPath") or "")
    if not path.startswith("s3://") or len(path) <= len("s3://"):
        raise LeaderboardError(f"the job has no usable S3OutputPath ({path!r})")
    bucket, _, prefix = path[len("s3://") :].partition("/")
    prefix = prefix.strip("/")
    key = (
        f"{prefix}/{description['AutoMLJobName']}/"
        if prefix
        else f"{description['AutoMLJobName']}/"
    )
    return bucket, key


def job_objective(description: dict[str, Any], candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """The objective metric and its direction: from the candidates (the API says), else the
    job's (requested or resolved) objective, else unknown."""
    for candidate in candidates:
        metric = candidate.get("FinalAutoMLJobObjectiveMetric") or {}
        if metric.get("MetricName"):
            metric_name = str(metric["MetricName"])
            kind = str(metric.get("Type") or objective_type(metric_name))
            return {"metricName": metric_name, "type": kind}
    requested = (description.get("AutoMLJobObjective") or {}).get("MetricName")
    resolved = ((description.get("ResolvedAttributes") or {}).get("AutoMLJobObjective") or {}).get(
        "MetricName"
    )
    name = requested or resolved
    return {"metricName": name, "type": objective_type(name) if name else None}


def _metric_value(candidate: dict[str, Any]) -> float | None:
    value = (candidate.get("FinalAutoMLJobObjectiveMetric") or {}).get("Value")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _row(candidate: dict[str, Any], rank: int | None) -> dict[str, Any]:
    metric = candidate.get("FinalAutoMLJobObjectiveMetric") or {}
    properties = candidate.get("CandidateProperties") or {}
    others = {
        str(m["MetricName"]): m.get("Value")
        for m in properties.get("CandidateMetrics") or []
        if m.get("MetricName") and m.get("MetricName") != metric.get("MetricName")
    }
    row: dict[str, Any] = {
        "rank": rank,
        "candidateName": candidate.get("CandidateName"),
        "status": candidate.get("CandidateStatus"),
        "objectiveStatus": candidate.get("ObjectiveStatus"),
        "metricName": metric.get("MetricName"),
        "value": _metric_value(candidate),
        "otherMetrics": others,
        "creationTime": _iso(candidate.get("CreationTime")),
        "endTime": _iso(candidate.get("EndTime")),
    }
    if candidate.get("FailureReason"):
        row["failureReason"] = candidate["FailureReason"]
    return row


def rank_candidates(
    candidates: list[dict[str, Any]], objective: str | None
) -> list[dict[str, Any]]:
    """Rows best first: scored candidates by value in the objective's direction (ties by
    name), then the unscored ones by name."""
    scored = [c for c in candidates if _metric_value(c) is not None]
    unscored = [c for c in candidates if _metric_value(c) is None]
    sign = -1.0 if objective == "Maximize" else 1.0
    scored.sort(key=lambda c: (sign * (_metric_value(c) or 0.0), str(c.get("CandidateName"))))
    unscored.sort(key=lambda c: str(c.get("CandidateName")))
    rows = [_row(c, rank) for rank, c in enumerate(scored, start=1)]
    return rows + [_row(c, None) for c in unscored]


def _problem(description: dict[str, Any]) -> dict[str, Any]:
    config = description.get("AutoMLProblemTypeConfig") or {}
    name = next(iter(config), None) if isinstance(config, dict) else None
    resolved = (description.get("ResolvedAttributes") or {}).get(
        "AutoMLProblemTypeResolvedAttributes"
    ) or {}
    tabular = (resolved.get("TabularResolvedAttributes") or {}).get("ProblemType")
    given = ((config or {}).get(ProblemType.TABULAR) or {}).get("ProblemType") if name else None
    return {"problemType": name, "tabularProblemType": given or tabular}


@dataclass
class Leaderboard:
    job_name: str
    job_arn: str
    status: str
    secondary_status: str
    problem: dict[str, Any]
    objective: dict[str, Any]
    rows: list[dict[str, Any]]
    generated_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    @property
    def best(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows and self.rows[0]["rank"] == 1 else None

    @property
    def top(self) -> list[dict[str, Any]]:
        return [
            {"rank": r["rank"], "candidateName": r["candidateName"], "value": r["value"]}
            for r in self.rows[:TOP]
            if r["rank"] is not None
        ]

    def document(self) -> dict[str, Any]:
        return {
            "jobName": self.job_name,
            "jobArn": self.job_arn,
            "status": self.status,
            "secondaryStatus": self.secondary_status,
            **self.problem,
            "objective": self.objective,
            "generatedAt": self.generated_at,
            "candidateCount": len(self.rows),
            "rankedCount": sum(1 for r in self.rows if r["rank"] is not None),
            "candidates": self.rows,
        }

    def markdown(self) -> str:
        metric = self.objective.get("metricName") or "objective"
        direction = {"Maximize": "higher is better", "Minimize": "lower is better"}.get(
            str(self.objective.get("type")), "direction unknown"
        )
        problem = ProblemType.display(self.problem.get("problemType")) or "unknown problem type"
        if self.problem.get("tabularProblemType"):
            problem += f" ({self.problem['tabularProblemType']})"
        lines = [
            f"# Leaderboard: {self.job_name}",
            "",
            f"- Status: {self.status} ({self.secondary_status})",
            f"- Problem type: {problem}",
            f"- Objective: {metric} ({direction})",
            f"- Candidates: {len(self.rows)}, ranked: {sum(1 for r in self.rows if r['rank'])}",
            f"- Generated: {self.generated_at}",
            "",
        ]
        if not self.rows:
            lines.append("No candidates.")
            return "\n".join(lines) + "\n"
        others = sorted({k for r in self.rows for k in r["otherMetrics"]})
        header = ["Rank", "Candidate", "Status", metric, *others]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join(["---:", "---", "---", "---:"] + ["---:"] * len(others)) + "|")
        for row in self.rows:
            cells = [
                str(row["rank"]) if row["rank"] is not None else "-",
                _md(str(row["candidateName"])),
                _md(str(row["status"])),
                _number(row["value"]),
                *(_number(row["otherMetrics"].get(name)) for name in others),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        failed = [r for r in self.rows if r.get("failureReason")]
        if failed:
            lines += ["", "## Failed candidates", ""]
            lines += [
                f"- {_md(str(r['candidateName']))}: {_md(r['failureReason'])}" for r in failed
            ]
        return "\n".join(lines) + "\n"


def _number(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.6g}"
    return "-"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def build(description: dict[str, Any], candidates: list[dict[str, Any]]) -> Leaderboard:
    objective = job_objective(description, candidates)
    return Leaderboard(
        job_name=str(description["AutoMLJobName"]),
        job_arn=str(description["AutoMLJobArn"]),
        status=str(description.get("AutoMLJobStatus")),
        secondary_status=str(description.get("AutoMLJobSecondaryStatus")),
        problem=_problem(description),
        objective=objective,
        rows=rank_candidates(candidates, objective.get("type")),
    )


@dataclass
class LeaderboardWriter:
    """Reads every candidate, ranks them and writes both files. Takes boto3 clients."""

    sagemaker: Any
    s3: Any
    backoff: Backoff = field(default_factory=Backoff)
    page_size: int = 100

    def candidates(self, job_name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"AutoMLJobName": job_name, "MaxResults": self.page_size}
            if token:
                kwargs["NextToken"] = token
            page = self._page(kwargs)
            found.extend(page.get("Candidates", []))
            token = page.get("NextToken")
            if not token:
                return found

    def _page(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            page: dict[str, Any] = self.backoff.call(
                lambda: self.sagemaker.list_candidates_for_auto_ml_job(**kwargs)
            )
        except ClientError as exc:
            # Past our backoff the state machine retries the whole step, for longer.
            if error_code(exc) in THROTTLING_CODES:
                raise SageMakerThrottled(str(exc)) from exc
            raise
        return page

    def write(self, description: dict[str, Any]) -> dict[str, Any]:
        """Build and store the leaderboard; returns its summary for the state machine."""
        bucket, prefix = s3_output_root(description)
        board = build(description, self.candidates(str(description["AutoMLJobName"])))
        # Encrypt like the job's own output when the job names a KMS key.
        extra: dict[str, Any] = {}
        kms_key = (description.get("OutputDataConfig") or {}).get("KmsKeyId")
        if kms_key:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key}
        json_key, markdown_key = prefix + JSON_NAME, prefix + MARKDOWN_NAME
        self.s3.put_object(
            Bucket=bucket,
            Key=json_key,
            Body=json.dumps(board.document(), indent=2, ensure_ascii=False).encode("utf-8"),
            ContentType="application/json",
            **extra,
        )
        self.s3.put_object(
            Bucket=bucket,
            Key=markdown_key,
            Body=board.markdown().encode("utf-8"),
            ContentType="text/markdown; charset=utf-8",
            **extra,
        )
        self.s3.put_object(
            Bucket=bucket,
            Key=prefix + report.HTML_NAME,
            Body=report.render(report_inputs(board, description)).encode("utf-8"),
            ContentType="text/html; charset=utf-8",
            **extra,
        )
        return {
            "json": f"s3://{bucket}/{json_key}",
            "markdown": f"s3://{bucket}/{markdown_key}",
            "count": len(board.rows),
            "ranked": sum(1 for r in board.rows if r["rank"] is not None),
            "objective": board.objective,
            "best": board.best
            and {
                "candidateName": board.best["candidateName"],
                "metricName": board.best["metricName"],
                "value": board.best["value"],
            },
            "top": board.top,
        }


def report_inputs(board: Leaderboard, description: dict[str, Any]) -> report.ReportInputs:
    """The HTML report as BuildLeaderboard can write it: the deployment is not planned yet,
    so it shows the plan's inputs (the best candidate, SageMaker's own deployment)."""
    best = board.best
    own = description.get("ModelDeployConfig") or {}
    return report.ReportInputs(
        board=board.document(),
        timeline=report.timeline_from_description(description),
        reports=report.reports_from_description(description),
        deployment=[
            ("Best candidate (what FinalizeJob would deploy)", best and best["candidateName"]),
            (
                "SageMaker deploys it itself (ModelDeployConfig)",
                "yes" if own.get("AutoGenerateEndpointName") or own.get("EndpointName") else "no",
            ),
        ],
        deployment_note="Written before FinalizeJob plans the deployment: its outcome is in the "
        "AutoML Model Deployed, Deployment Skipped or Deployment Failed event, and in the "
        "report `autopilot-flow report NAME` writes.",
    )


def build_writer(session: Any = None) -> LeaderboardWriter:
    import boto3  # noqa: PLC0415 - the CLI never needs it

    from autopilot_flow.sagemaker import sagemaker_client  # noqa: PLC0415

    session = session or boto3.session.Session()
    return LeaderboardWriter(
        sagemaker=sagemaker_client(session),
        s3=session.client("s3"),
    )
