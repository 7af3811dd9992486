"""``autopilot-flow report NAME [--open]``: the HTML job report, written locally.

The same page BuildLeaderboard writes next to ``leaderboard.md`` (autopilot_flow.report), from
the jobs API (``GET /jobs/{name}`` and its candidates), with what the registry recorded since:
the deployment's outcome, when it happened. Exit codes as the other client commands: 0
written, 2 no such job or a usage error, 1 the API failed.
"""

from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path
from typing import Any

from autopilot_flow import client, report

ALL_CANDIDATES = 100  # the API's most candidates per answer (the whole leaderboard's top)


def inputs_from_api(job: dict[str, Any], board: dict[str, Any]) -> report.ReportInputs:
    """The report's inputs from the API's job view and leaderboard."""
    timeline: list[tuple[str, str | None]] = [("Accepted by the stack", job.get("createdAt"))]
    if job.get("creationTime"):
        timeline.append(("Created (InProgress)", job.get("creationTime")))
    # Every state the watcher published; without them (an older record), the end only.
    states = [s for s in job.get("stateHistory") or [] if isinstance(s, dict)]
    for state in states:
        timeline.append(
            (f"{state.get('status')} ({state.get('secondaryStatus')})", state.get("at"))
        )
    if not states and job.get("endTime"):
        timeline.append(
            (f"Ended: {job.get('status')} ({job.get('secondaryStatus')})", job.get("endTime"))
        )
    elif not states and job.get("status"):
        timeline.append((f"{job.get('status')} ({job.get('secondaryStatus')})", None))
    deployment = job.get("deployment") or {}
    if deployment.get("state"):
        timeline.append((f"Deployment {deployment['state']}", job.get("deploymentAt")))

    rows: list[tuple[str, Any]] = [("Requested by the manifest", job.get("deploymentRequested"))]
    labels = {
        "state": "Outcome",
        "endpointName": "Endpoint",
        "reason": "Reason",
        "deployedBy": "Deployed by",
        "modelName": "Model",
    }
    for key, label in labels.items():
        if deployment.get(key) is not None:
            rows.append((label, deployment[key]))
    candidate = deployment.get("candidate")
    if isinstance(candidate, dict) and candidate.get("candidateName"):
        rows.append(("Candidate", candidate["candidateName"]))
    if job.get("endpointName") and not deployment.get("endpointName"):
        rows.append(("Endpoint", job["endpointName"]))
    note = "" if deployment else "No deployment recorded (yet) for this job."

    output = ((job.get("manifest") or {}).get("OutputDataConfig") or {}).get("S3OutputPath")
    reports: dict[str, str] = {
        str(title): str(uri) for title, uri in (job.get("reports") or {}).items()
    }
    if not reports and isinstance(output, str) and output.startswith("s3://"):
        # The API does not list the artefacts; SageMaker writes them under the job's output.
        reports["The job's output (reports under documentation/)"] = (
            f"{output.rstrip('/')}/{job.get('jobName')}/"
        )
    return report.ReportInputs(
        board=board, timeline=timeline, reports=reports, deployment=rows, deployment_note=note
    )


def cmd_report(ctx: client.Context) -> int:
    name = ctx.args.name
    job = ctx.api.job(name)
    client._check_response(job, ctx.console, name)
    board = ctx.api.candidates(name, ALL_CANDIDATES)
    client._check_response(board, ctx.console, name)
    page = report.render(inputs_from_api(job.body, board.body))
    target = Path(ctx.args.output or f"{name}.html")
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise client.CommandError(f"cannot write {target}: {exc.strerror}") from None
    ctx.console.line(f"wrote {target}")
    if ctx.args.open:
        webbrowser.open(target.resolve().as_uri())
    return client.EXIT_OK


def add_commands(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "report",
        help="write a job's HTML report (leaderboard, chart, timeline, deployment)",
        description="The page BuildLeaderboard writes next to leaderboard.md, with the "
        "deployment's recorded outcome. Exit 0 written, 1 the API failed, 2 no such job.",
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--output", metavar="FILE", help="where to write it (default NAME.html)")
    parser.add_argument("--open", action="store_true", help="then open it in a browser")
    client._connection_options(parser)
    parser.set_defaults(run=client._run(cmd_report))
