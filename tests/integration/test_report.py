"""The HTML job report (issue 14): leaderboard.html, written by FinalizeJob's BuildLeaderboard
(the real state machine under moto) next to leaderboard.md, parsed as HTML: every candidate in
the table and the chart, no external assets, the best candidate's reports linked, the
deployment as known when it is written; and escaping of user-influenced text."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from autopilot_flow import report
from tests.integration import test_finalize as finalize
from tests.integration.test_finalize import FinalizeHarness, churn

# FinalizeJob's world (the real state machine and handlers under moto), as test_finalize uses.
world = finalize.world
harness = finalize.harness


class Page(HTMLParser):
    """What a browser would see: the chart's bars, the table's cells, links and any asset."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.bars: list[str] = []  # data-candidate of each chart bar
        self.bar_labels: list[str] = []  # the first text of each bar
        self.cells: list[str] = []
        self.links: list[str] = []
        self.assets: list[str] = []  # anything fetched from elsewhere
        self.scripts = 0
        self._in: list[str] = []
        self._bar_text: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self._in.append(tag)
        if tag == "g" and attributes.get("class") == "bar":
            self.bars.append(attributes.get("data-candidate") or "")
            self._bar_text = ""
        if tag == "a" and attributes.get("href"):
            self.links.append(str(attributes["href"]))
        if tag in ("img", "link", "iframe") or (tag == "script" and attributes.get("src")):
            self.assets.append(tag)
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()
        if tag == "g" and self._bar_text is not None:
            self._bar_text = None

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "td":
            self.cells.append(data)
        if self._in and self._in[-1] == "text" and self._bar_text == "":
            self._bar_text = data
            self.bar_labels.append(data)


def test_build_leaderboard_writes_a_self_contained_html_report(harness: FinalizeHarness) -> None:
    name = harness.submit(churn("churn-report", "churn-report-endpoint"))
    execution = harness.finish(name)
    assert execution.status == "SUCCEEDED", execution.description

    prefix = execution.output["leaderboard"]["json"].removesuffix("leaderboard.json")
    board = json.loads(harness.read_s3(prefix + "leaderboard.json"))
    page = Page(harness.read_s3(prefix + report.HTML_NAME))
    names = [row["candidateName"] for row in board["candidates"]]
    assert len(names) == board["candidateCount"] > 1
    # Every candidate is a bar of the chart (in leaderboard order) and a row of the table.
    assert page.bars == names
    assert page.bar_labels == names
    assert set(names) <= set(page.cells)
    assert page.assets == [] and page.scripts == 0

    # The best candidate's reports, linked through the S3 console.
    described = harness.client("sagemaker").describe_auto_ml_job_v2(AutoMLJobName=name)
    locations = described["BestCandidate"]["CandidateProperties"]["CandidateArtifactLocations"]
    for location in (locations["Explainability"], locations["ModelInsights"]):
        assert report.s3_console_url(location) in page.links
    # Written before the plan: the candidate FinalizeJob would deploy, and where to look.
    assert names[0] in page.cells
    text = harness.read_s3(prefix + report.HTML_NAME)
    assert "Written before FinalizeJob plans the deployment" in text
    s3 = harness.client("s3")
    bucket, _, key = (prefix + report.HTML_NAME).removeprefix("s3://").partition("/")
    assert s3.head_object(Bucket=bucket, Key=key)["ContentType"] == "text/html; charset=utf-8"


def _board(*rows: dict[str, Any]) -> dict[str, Any]:
    return {
        "jobName": "j",
        "status": "Completed",
        "secondaryStatus": "Completed",
        "objective": {"metricName": "F1<script>", "type": "Maximize"},
        "candidates": list(rows),
    }


def test_user_influenced_text_is_escaped_everywhere() -> None:
    hostile = '<img src=x onerror="alert(1)">&"\''
    rows = [
        {
            "rank": 1,
            "candidateName": hostile,
            "status": "Completed",
            "value": 0.9,
            "otherMetrics": {"<b>AUC</b>": 0.8},
        },
        {
            "rank": None,
            "candidateName": "failed</td><script>x()</script>",
            "status": "Failed",
            "value": None,
            "otherMetrics": {},
            "failureReason": "<iframe src=//evil>",
        },
    ]
    text = report.render(
        report.ReportInputs(
            board=_board(*rows),
            timeline=[("<b>Created</b>", "2026-01-01T00:00:00+00:00")],
            reports={"Explainability report": 's3://b/k"><script>'},
            deployment=[("Endpoint", "<e>")],
        )
    )
    page = Page(text)
    assert page.assets == [] and page.scripts == 0
    # Every value came through as text, unchanged (the parser decodes the escapes).
    assert page.bars == [hostile, "failed</td><script>x()</script>"]
    assert hostile in page.cells
    assert "<iframe" not in text and "<script>" not in text and "<b>" not in text


def test_negative_and_missing_values_still_give_every_candidate_a_bar() -> None:
    rows = [
        {"rank": 1, "candidateName": "a", "value": 2.5, "otherMetrics": {}},
        {"rank": 2, "candidateName": "b", "value": -1.0, "otherMetrics": {}},
        {"rank": None, "candidateName": "c", "value": None, "otherMetrics": {}},
    ]
    page = Page(report.render(report.ReportInputs(board=_board(*rows))))
    assert page.bars == ["a", "b", "c"]
