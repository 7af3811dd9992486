"""The HTML job report: ``leaderboard.html``, one self-contained page (no external assets).

It shows the leaderboard as a table and a bar chart of every candidate's objective value
(inline SVG), the job's timeline of statuses, links to the best candidate's explainability
and model-insights reports, and the deployment: FinalizeJob's BuildLeaderboard writes it next
to ``leaderboard.md`` before the deployment is decided (so it shows what is known then: the
plan), and ``autopilot-flow report NAME`` writes it locally with the recorded outcome.

Candidate names, metric names, failure reasons and every other value come from the job and
its manifest (user-influenced): each is escaped before it reaches the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from autopilot_flow.vocabulary import ProblemType

HTML_NAME = "leaderboard.html"
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, CHART_WIDTH = 18, 6, 260, 720
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#1d2733}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #dde}
th{text-align:left;background:#f4f6f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#667}.best{font-weight:600}svg text{font:12px system-ui,sans-serif}
"""


def _e(value: Any) -> str:
    """Escaped text of any value (None as a dash)."""
    return "-" if value is None else html.escape(str(value), quote=True)


def _number(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.6g}"
    return "-"


def s3_console_url(uri: str) -> str | None:
    """The S3 console page of an ``s3://bucket/key`` location (a browser cannot open s3://)."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        return None
    return (
        f"https://s3.console.aws.amazon.com/s3/buckets/{quote(bucket, safe='')}"
        f"?prefix={quote(key, safe='')}"
    )


@dataclass
class ReportInputs:
    """What the page shows besides the leaderboard document (``Leaderboard.document()`` or
    the API's ``GET /jobs/{name}/candidates``, which has the same shape)."""

    board: Mapping[str, Any]
    timeline: list[tuple[str, str | None]] = field(default_factory=list)  # (what, when)
    reports: dict[str, str] = field(default_factory=dict)  # title -> s3:// location
    deployment: list[tuple[str, Any]] = field(default_factory=list)  # (label, value)
    deployment_note: str = ""


def timeline_from_description(description: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The statuses a DescribeAutoMLJobV2 answer dates: created, last change, ended."""
    status = description.get("AutoMLJobStatus")
    secondary = description.get("AutoMLJobSecondaryStatus")
    rows: list[tuple[str, str | None]] = [
        ("Created (InProgress)", _iso(description.get("CreationTime")))
    ]
    if description.get("EndTime"):
        rows.append((f"Ended: {status} ({secondary})", _iso(description.get("EndTime"))))
    elif description.get("LastModifiedTime"):
        rows.append((f"{status} ({secondary})", _iso(description.get("LastModifiedTime"))))
    return rows


def reports_from_description(description: Mapping[str, Any]) -> dict[str, str]:
    """The best candidate's explainability and model-insights reports (where SageMaker wrote
    them: ``CandidateArtifactLocations``)."""
    best = description.get("BestCandidate") or {}
    locations = (best.get("CandidateProperties") or {}).get("CandidateArtifactLocations") or {}
    found = {}
    for key, title in (
        ("Explainability", "Explainability report"),
        ("ModelInsights", "Model insights report"),
    ):
        if isinstance(locations.get(key), str):
            found[title] = locations[key]
    return found


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if callable(isoformat) else str(value)


def _value(row: Mapping[str, Any]) -> float | None:
    value = row.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _chart(rows: list[Mapping[str, Any]], metric: str, objective_type: Any) -> str:
    """One horizontal bar per candidate (its objective value); a candidate without a value
    keeps its row, marked "no value"."""
    values = [v for v in (_value(r) for r in rows) if v is not None]
    low = min([0.0, *values])
    high = max([0.0, *values]) if values else 1.0
    span = (high - low) or 1.0
    plot = CHART_WIDTH - LABEL_WIDTH - 90
    zero = LABEL_WIDTH + (0.0 - low) / span * plot
    height = len(rows) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{CHART_WIDTH}" '
        f'height="{height}" viewBox="0 0 {CHART_WIDTH} {height}" aria-label="'
        f'{_e(metric)} of every candidate">'
    ]
    for index, row in enumerate(rows):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        name = _e(row.get("candidateName"))
        value = _value(row)
        best = row.get("rank") == 1
        parts.append(f'<g class="bar" data-candidate="{name}">')
        parts.append(f"<title>{name}: {_e(metric)} {_number(value)}</title>")
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT - 5}" text-anchor="end">{name}</text>'
        )
        if value is not None:
            end = LABEL_WIDTH + (value - low) / span * plot
            x, width = min(zero, end), max(abs(end - zero), 1.0)
            colour = "#2f7d4f" if best else "#4a78b5"
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{colour}"/>'
            )
            parts.append(
                f'<text x="{max(zero, end) + 4:.1f}" y="{y + BAR_HEIGHT - 5}">'
                f"{_number(value)}</text>"
            )
        else:
            parts.append(
                f'<text x="{LABEL_WIDTH + 4}" y="{y + BAR_HEIGHT - 5}" fill="#889">no value</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    direction = {"Maximize": "higher is better", "Minimize": "lower is better"}.get(
        str(objective_type), "direction unknown"
    )
    return f'<p class="muted">{_e(metric)}, {_e(direction)}</p>' + "".join(parts)


def _table(rows: list[Mapping[str, Any]], metric: str) -> str:
    others = sorted({str(k) for r in rows for k in (r.get("otherMetrics") or {})})
    head = ["Rank", "Candidate", "Status", metric, *others]
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        klass = ' class="best"' if row.get("rank") == 1 else ""
        metrics = row.get("otherMetrics") or {}
        cells = [
            f'<td class="num">{_e(row.get("rank"))}</td>',
            f"<td>{_e(row.get('candidateName'))}</td>",
            f"<td>{_e(row.get('status'))}</td>",
            f'<td class="num">{_number(row.get("value"))}</td>',
            *(f'<td class="num">{_number(metrics.get(name))}</td>' for name in others),
        ]
        out.append(f"<tr{klass}>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    failed = [r for r in rows if r.get("failureReason")]
    if failed:
        out.append("<h3>Failed candidates</h3><ul>")
        out += [
            f"<li>{_e(r.get('candidateName'))}: {_e(r.get('failureReason'))}</li>" for r in failed
        ]
        out.append("</ul>")
    return "".join(out)


def _pairs(items: Iterable[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in items)
    return f"<table>{rows}</table>"


def render(inputs: ReportInputs) -> str:
    """The whole page, as text (UTF-8 when stored)."""
    board = inputs.board
    objective = board.get("objective") or {}
    metric = str(objective.get("metricName") or "objective")
    rows = list(board.get("candidates") or [])
    problem = ProblemType.display(board.get("problemType")) or "unknown problem type"
    if board.get("tabularProblemType"):
        problem = f"{problem} ({board['tabularProblemType']})"
    title = f"Autopilot job {board.get('jobName')}"
    body = [
        f"<h1>{_e(title)}</h1>",
        _pairs(
            [
                ("Status", f"{board.get('status')} ({board.get('secondaryStatus')})"),
                ("Problem type", problem),
                ("Objective", metric),
                (
                    "Candidates",
                    f"{board.get('candidateCount', len(rows))}, "
                    f"ranked: {board.get('rankedCount', '-')}",
                ),
                ("Generated", board.get("generatedAt")),
            ]
        ),
        "<h2>Objective of every candidate</h2>",
        _chart(rows, metric, objective.get("type")) if rows else "<p>No candidates.</p>",
        "<h2>Leaderboard</h2>",
        _table(rows, metric) if rows else "<p>No candidates.</p>",
        "<h2>Timeline</h2>",
        _pairs((what, when or "-") for what, when in inputs.timeline)
        if inputs.timeline
        else "<p>No status recorded.</p>",
        "<h2>Reports of the best candidate</h2>",
    ]
    if inputs.reports:
        links = []
        for name, location in inputs.reports.items():
            url = s3_console_url(location)
            target = f'<a href="{_e(url)}">{_e(location)}</a>' if url else _e(location)
            links.append(f"<li>{_e(name)}: {target}</li>")
        body.append("<ul>" + "".join(links) + "</ul>")
    else:
        body.append(
            "<p>None written (SageMaker writes them for a completed job's best candidate).</p>"
        )
    body.append("<h2>Deployment</h2>")
    if inputs.deployment:
        body.append(_pairs(inputs.deployment))
    if inputs.deployment_note:
        body.append(f'<p class="muted">{_e(inputs.deployment_note)}</p>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
