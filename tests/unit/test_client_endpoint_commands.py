"""``approve``, ``reject``, ``endpoints``, ``rollback`` and ``undeploy`` (issue 13) as people
and CI use them: the request each sends, what it prints, --json, and the exit codes the CLI
documents (0 done, 1 refused by the stack, 2 usage or no such job/endpoint).

The jobs API is answered over HTTP by the stand-in of test_client_commands (only status,
headers and JSON body matter to the client); the same commands against the real handler
are in tests/integration/shared_stack/test_jobs_api_endpoints.py (the API) and
tests/integration/test_client_endpoints.py (the client through a served API).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from autopilot_flow.cli import main
from tests.unit.test_client_commands import _Api, _serve

PACKAGE = "arn:aws:sagemaker:us-east-1:111122223333:model-package/churn-models/3"
WHO = "arn:aws:sts::111122223333:assumed-role/MLEngineer/ml-engineer"


@pytest.fixture
def api_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stack.json naming the API (answered by the stand-in), and credentials to sign with."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    (tmp_path / "stack.json").write_text(
        json.dumps({"api_url": "http://127.0.0.1:9/v1", "region": "us-east-1"})
    )
    return tmp_path


def run(api_stack: Path, *argv: str) -> int:
    return main([*argv, "--offline", "--state-dir", str(api_stack)])


def review_answer(status: str, note: str | None = None) -> dict[str, Any]:
    return {
        "jobName": "churn",
        "modelPackageArn": PACKAGE,
        "approvalStatus": status,
        "previousStatus": "PendingManualApproval",
        "by": WHO,
        "note": note,
    }


def problem(status: int, kind: str, detail: str) -> dict[str, Any]:
    return {
        "type": f"https://autopilot-flow.dev/problems/{kind}",
        "title": kind,
        "status": status,
        "detail": detail,
    }


# --- approve / reject ------------------------------------------------------------------------


def test_approve_sends_the_note_and_prints_who(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = _Api([(202, {}, review_answer("Approved", "F1 0.91"))])
    _serve(monkeypatch, api)
    assert run(api_stack, "approve", "churn", "--note", "F1 0.91") == 0
    (request,) = api.requests
    assert request.get_method() == "POST"
    assert request.full_url == "http://127.0.0.1:9/v1/jobs/churn/approve"
    assert json.loads(request.data) == {"note": "F1 0.91"}
    assert request.get_header("Content-type") == "application/json"
    assert request.get_header("Authorization", "").startswith("AWS4-HMAC-SHA256")
    out = capsys.readouterr().out
    assert f"approved  churn  ({PACKAGE})" in out
    assert WHO in out and "F1 0.91" in out


def test_reject_without_a_note_sends_no_body(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = _Api([(200, {}, review_answer("Rejected"))])
    _serve(monkeypatch, api)
    assert run(api_stack, "reject", "churn", "--json") == 0
    (request,) = api.requests
    assert request.full_url.endswith("/jobs/churn/reject") and request.data is None
    report = json.loads(capsys.readouterr().out)
    assert report["answer"]["approvalStatus"] == "Rejected" and report["exitCode"] == 0


@pytest.mark.parametrize(
    "refusal",
    [
        (409, "not-pending-approval", 1),
        (409, "no-model-package", 1),
        (403, "model-package-not-owned", 1),
        (503, "service-unavailable", 1),
        (404, "job-not-found", 2),
    ],
)
def test_review_refusals_have_their_exit_codes(
    api_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    refusal: tuple[int, str, int],
) -> None:
    status, kind, exit_code = refusal
    detail = f"the stack said {kind}"
    _serve(monkeypatch, _Api([(status, {}, problem(status, kind, detail))]))
    assert run(api_stack, "approve", "churn", "--json") == exit_code
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["exitCode"] == exit_code and report["answer"]["type"].endswith(kind)
    assert captured.err.count(detail) == 1 and f"HTTP {status}" in captured.err
    assert "Traceback" not in captured.err


# --- endpoints -----------------------------------------------------------------------------------


def row(name: str, **fields: Any) -> dict[str, Any]:
    empty = dict.fromkeys(
        (
            "liveJob",
            "candidateName",
            "modelPackageArn",
            "metricName",
            "value",
            "strategy",
            "lastChange",
            "lastChangeAt",
            "previousLiveJob",
            "pendingJob",
            "endpointArn",
            "undeployedAt",
            "undeployedBy",
        )
    )
    return {"endpointName": name, "state": "Live", **empty, **fields}


def test_endpoints_prints_a_table_with_dashes_for_what_is_not_recorded(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        row(
            "churn-classifier",
            liveJob="churn-2",
            metricName="F1",
            value=0.91,
            strategy="Canary",
            lastChange="approved",
            lastChangeAt="2026-12-05T08:00:00.000Z",
            previousLiveJob="churn-1",
        ),
        row("legacy", liveJob="old-1"),
    ]
    api = _Api([(200, {}, {"endpoints": rows})])
    _serve(monkeypatch, api)
    assert run(api_stack, "endpoints") == 0
    assert api.requests[0].get_method() == "GET"
    assert api.requests[0].full_url.endswith("/v1/endpoints")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "endpoint",
        "state",
        "live",
        "job",
        "score",
        "strategy",
        "last",
        "change",
        "previous",
    ]
    assert lines[1].split() == [
        "churn-classifier",
        "Live",
        "churn-2",
        "F1=0.91",
        "Canary",
        "approved",
        "2026-12-05T08:00:00.000Z",
        "churn-1",
    ]
    assert lines[2].split() == ["legacy", "Live", "old-1", "-", "-", "-", "-"]


def test_endpoints_json_and_none(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [row("churn-classifier")]
    _serve(monkeypatch, _Api([(200, {}, {"endpoints": rows})]))
    assert run(api_stack, "endpoints", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"endpoints": rows}
    _serve(monkeypatch, _Api([(200, {}, {"endpoints": []})]))
    assert run(api_stack, "endpoints") == 0
    assert capsys.readouterr().out == "no endpoints\n"


# --- rollback ----------------------------------------------------------------------------------


def test_rollback_prints_the_execution(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = {
        "endpointName": "churn-classifier",
        "jobName": "churn-1",
        "liveJob": "churn-2",
        "executionName": "churn-1-rollback-0123456789ab",
        "executionArn": "arn:aws:states:us-east-1:111122223333:execution:f:churn-1-rollback-01",
    }
    api = _Api([(202, {}, answer)])
    _serve(monkeypatch, api)
    assert run(api_stack, "rollback", "churn-classifier") == 0
    assert api.requests[0].get_method() == "POST"
    assert api.requests[0].full_url.endswith("/v1/endpoints/churn-classifier/rollback")
    out = capsys.readouterr().out
    assert "rolling back  churn-classifier  to churn-1 (live: churn-2)" in out
    assert answer["executionArn"] in out


@pytest.mark.parametrize(
    "refusal",
    [
        (403, "endpoint-not-owned", 1),
        (409, "no-previous-model", 1),
        (409, "endpoint-busy", 1),
        (409, "endpoint-deleted", 1),
        (404, "endpoint-not-found", 2),
    ],
)
def test_rollback_refusals_have_their_exit_codes(
    api_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    refusal: tuple[int, str, int],
) -> None:
    status, kind, exit_code = refusal
    _serve(monkeypatch, _Api([(status, {}, problem(status, kind, f"refused: {kind}"))]))
    assert run(api_stack, "rollback", "churn-classifier", "--json") == exit_code
    report = json.loads(capsys.readouterr().out)
    assert report["exitCode"] == exit_code and report["endpointName"] == "churn-classifier"


# --- undeploy ----------------------------------------------------------------------------------


def test_undeploy_needs_confirmation_off_a_terminal(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api = _Api([(202, {}, {})])
    _serve(monkeypatch, api)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    assert run(api_stack, "undeploy", "churn-classifier") == 2
    assert "confirm with --yes" in capsys.readouterr().err
    assert api.requests == []


def test_undeploy_asks_on_a_terminal(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    api = _Api([(202, {}, {"endpointName": "e", "status": "Deleting"})])
    _serve(monkeypatch, api)
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert run(api_stack, "undeploy", "e") == 2
    assert "nothing was deleted" in capsys.readouterr().err
    assert api.requests == []
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert run(api_stack, "undeploy", "e") == 0
    assert [r.get_method() for r in api.requests] == ["DELETE"]


def test_undeploy_yes(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = {
        "endpointName": "churn-classifier",
        "status": "Deleting",
        "previousStatus": "InService",
        "liveJob": "churn-2",
    }
    api = _Api([(202, {}, answer)])
    _serve(monkeypatch, api)
    assert run(api_stack, "undeploy", "churn-classifier", "--yes", "--json") == 0
    assert api.requests[0].full_url.endswith("/v1/endpoints/churn-classifier")
    report = json.loads(capsys.readouterr().out)
    assert report["answer"] == answer and report["exitCode"] == 0
    _serve(monkeypatch, _Api([(403, {}, problem(403, "endpoint-not-owned", "not ours"))]))
    assert run(api_stack, "undeploy", "someone-elses", "--yes") == 1
    assert capsys.readouterr().err.count("not ours") == 1


def test_status_shows_the_model_package_and_how_to_review_it(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    job = {
        "jobName": "churn",
        "lifecycle": "CREATED",
        "status": "Completed",
        "registration": {"modelPackageArn": PACKAGE, "approvalStatus": "PendingManualApproval"},
        "approval": None,
        "errors": [],
    }
    _serve(monkeypatch, _Api([(200, {}, job)]))
    assert run(api_stack, "status", "churn") == 0
    out = capsys.readouterr().out
    assert f"model package {PACKAGE} (PendingManualApproval)" in out
    assert "awaiting approval: autopilot-flow approve|reject churn" in out
    reviewed = {**job, "approval": {"status": "Approved", "by": WHO}}
    _serve(monkeypatch, _Api([(200, {}, reviewed)]))
    assert run(api_stack, "status", "churn") == 0
    out = capsys.readouterr().out
    assert f"approval      Approved by {WHO}" in out
    assert "awaiting approval" not in out


def test_watch_ends_with_how_to_review_a_model_awaiting_approval(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    job = {
        "jobName": "churn",
        "lifecycle": "CREATED",
        "status": "Completed",
        "secondaryStatus": "Completed",
        "deploymentRequested": True,
        "endpointName": "churn-classifier",
        "deployment": {"state": "AWAITING_APPROVAL", "reason": "registered, awaiting approval"},
    }
    _serve(monkeypatch, _Api([(200, {}, job)]))
    assert run(api_stack, "watch", "churn", "--interval", "0.01") == 0
    out = capsys.readouterr().out
    assert "  review     autopilot-flow approve|reject churn" in out
