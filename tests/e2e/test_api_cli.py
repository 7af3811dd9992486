"""The CLI and the HTTP API against the whole offline stack (moto server, simulator, real
handlers, the loopback API of offline/http_api.py), as a user would drive them.

One stack for the module (it takes a few seconds to start); each test uses its own
manifests, so the tests do not depend on each other's jobs.
"""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from autopilot_flow.cli import main
from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
OPENAPI = ROOT / "openapi.json"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineStack]:
    state = tmp_path_factory.mktemp("offline")
    options = OfflineOptions(
        state_dir=state,
        speed=600.0,
    )
    with OfflineStack(options) as running:
        upload_example_data(running.client("s3"))
        yield running


@pytest.fixture
def cli(stack: OfflineStack) -> Any:
    state = str(stack.options.state_dir)

    def run(*args: str) -> int:
        return main([*args, "--offline", "--state-dir", state])

    return run


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def write_manifest(tmp_path: Path, example: str, name: str, **changes: Any) -> Path:
    document = yaml.safe_load((EXAMPLES / example).read_text())
    document["AutoMLJobName"] = name
    document.update(changes)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_stack_json_names_the_api(stack: OfflineStack) -> None:
    state = json.loads((stack.options.state_dir / "stack.json").read_text())
    assert state["api_url"].startswith("http://127.0.0.1:")
    assert "JobsApi" in state["not_emulated"]
    status, _, body = http("GET", state["api_url"] + "/jobs?limit=1")
    assert status == 200 and "jobs" in body


def test_submit_via_api_and_watch_until_deployed(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(
        tmp_path,
        "churn-tabular.yaml",
        "e2e-churn-api",
        Deployment={
            "EndpointName": "e2e-churn",
            "Serverless": {"MemorySizeInMB": 2048, "MaxConcurrency": 2},
        },
    )
    assert cli("submit", str(path), "--via", "api", "--wait", "--interval", "0.2") == 0
    out = capsys.readouterr().out
    assert "submitted  e2e-churn-api" in out
    assert "receipts/_api/" in out
    assert "InProgress / TrainingModels" in out
    assert "e2e-churn-api Completed" in out
    assert "best       " in out and "F1=" in out
    assert "endpoint   e2e-churn  DEPLOYED" in out

    assert cli("candidates", "e2e-churn-api", "--top", "3") == 0
    board = capsys.readouterr().out
    lines = board.splitlines()
    assert "ranked by F1 (higher is better)" in lines[0]
    assert lines[1].split()[:4] == ["rank", "candidate", "status", "F1"]
    ranks = [line.split()[0] for line in lines[2:]]
    assert ranks == ["1", "2", "3"]
    values = [float(line.split()[3]) for line in lines[2:]]
    assert values == sorted(values, reverse=True)

    assert cli("status", "e2e-churn-api") == 0
    assert "Completed" in capsys.readouterr().out


def test_submit_via_s3_and_watch(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads((EXAMPLES / "support-tickets-text.json").read_text())
    document["AutoMLJobName"] = "e2e-tickets-s3"
    path = tmp_path / "e2e-tickets.json"
    path.write_text(json.dumps(document))
    assert cli("submit", str(path), "--via", "s3", "--wait", "--interval", "0.2") == 0
    out = capsys.readouterr().out
    assert "uploaded  s3://" in out and "manifests/e2e-tickets.json" in out
    assert "submitted  e2e-tickets-s3" in out
    assert "e2e-tickets-s3 Completed" in out
    assert cli("list", "--status", "Completed", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert "e2e-tickets-s3" in [j["jobName"] for j in listed["jobs"]]


def test_a_rejected_submission_exits_1_with_every_error(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_manifest(
        tmp_path, "churn-tabular.yaml", "e2e-rejected", AutoMLJobObjective={"MetricName": "MSE"}
    )
    # Locally valid in structure, but the objective does not fit the problem type.
    assert cli("submit", str(path), "--via", "api") == 1
    out = capsys.readouterr().out
    assert "objective" in out


def test_stop_a_running_job(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_manifest(tmp_path, "support-assistant-textgen.yaml", "e2e-stop-me")
    assert cli("submit", str(path), "--via", "api") == 0
    assert cli("stop", "e2e-stop-me") == 0
    assert "stopping  e2e-stop-me" in capsys.readouterr().out
    assert cli("watch", "e2e-stop-me", "--interval", "0.2") == 1
    out = capsys.readouterr().out
    assert "e2e-stop-me Stopped" in out
    assert cli("stop", "e2e-stop-me") == 1
    assert "already Stopped" in capsys.readouterr().err


def test_submit_hints_name_the_state_dir_and_work_as_printed(
    cli: Any,
    stack: OfflineStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_manifest(tmp_path, "support-assistant-textgen.yaml", "e2e-hinted")
    assert cli("submit", str(path), "--via", "api") == 0
    hints = [
        line.split(None, 1)[1]
        for line in capsys.readouterr().out.splitlines()
        if line.strip().startswith(("follow", "status"))
    ]
    state = shlex.quote(str(stack.options.state_dir))
    assert f"autopilot-flow status e2e-hinted --offline --state-dir {state}" in hints
    status_hint = next(h for h in hints if h.startswith("autopilot-flow status"))
    # Run as printed, from a directory without .offline/stack.json.
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(status_hint)[1:]) == 0
    assert "e2e-hinted" in capsys.readouterr().out


def test_report_writes_the_html_report_with_the_recorded_deployment(
    cli: Any, stack: OfflineStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from autopilot_flow.report import s3_console_url
    from tests.integration.test_report import Page  # the same parsing as the S3 report's test

    path = write_manifest(
        tmp_path,
        "churn-tabular.yaml",
        "e2e-reported",
        Deployment={"EndpointName": "e2e-reported", "Serverless": {"MemorySizeInMB": 2048}},
    )
    assert cli("submit", str(path), "--via", "api", "--wait", "--interval", "0.2") == 0
    capsys.readouterr()
    target = tmp_path / "report.html"
    assert cli("report", "e2e-reported", "--output", str(target)) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    assert cli("candidates", "e2e-reported", "--top", "100", "--json") == 0
    board = json.loads(capsys.readouterr().out)
    page = Page(target.read_text(encoding="utf-8"))
    names = [row["candidateName"] for row in board["candidates"]]
    assert len(names) > 1 and page.bars == names
    assert page.assets == [] and page.scripts == 0
    # The recorded outcome (not the plan): deployed, to the manifest's endpoint.
    assert "DEPLOYED" in page.cells and "e2e-reported" in page.cells
    # The best candidate's own reports, where SageMaker wrote them, and every state it went
    # through (the API carries both).
    job = http("GET", f"{stack.api_url}/jobs/e2e-reported")[2]
    assert set(job["reports"]) == {"Explainability report", "Model insights report"}
    for location in job["reports"].values():
        assert s3_console_url(location) in page.links
    assert [s["status"] for s in job["stateHistory"]][-1] == "Completed"
    assert cli("report", "no-such-job", "--output", str(tmp_path / "x.html")) == 2
    assert not (tmp_path / "x.html").exists()


def test_idempotency_key_replay_creates_no_second_job(stack: OfflineStack) -> None:
    url = stack.api_url + "/jobs"
    document = yaml.safe_load((EXAMPLES / "product-categories-multiclass.yaml").read_text())
    document["AutoMLJobName"] = "e2e-idempotent"
    body = yaml.safe_dump(document).encode()
    headers = {"Content-Type": "application/yaml", "Idempotency-Key": "e2e-key-1"}
    assert stack.simulator is not None
    before = stack.simulator.calls["CreateAutoMLJobV2"]
    first = http("POST", url, body, headers)
    replay = http("POST", url, body, headers)
    assert first[0] == replay[0] == 202
    assert replay[2] == first[2]
    assert replay[1].get("Idempotent-Replayed") == "true"
    assert stack.simulator.calls["CreateAutoMLJobV2"] == before + 1
    other = http("POST", url, body.replace(b"20", b"25"), headers)
    assert other[0] == 409
    assert other[1]["Content-Type"] == "application/problem+json"
    assert stack.simulator.calls["CreateAutoMLJobV2"] == before + 1


def test_the_loopback_api_answers_like_api_gateway(stack: OfflineStack) -> None:
    # An unknown route is a plain 404 offline (API Gateway's 403 "Missing Authentication
    # Token" is its answer to an unsigned request: misleading where nothing is signed).
    status, headers, body = http("GET", stack.api_url + "/nothing-here")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert body["title"] == "RESOURCE_NOT_FOUND"
    assert "Authentication" not in json.dumps(body)
    # GET on a resource that only has POST: API Gateway does not fall back to /jobs/{name}.
    status, _, body = http("GET", stack.api_url + "/jobs/validate")
    assert (status, body["title"]) == (404, "RESOURCE_NOT_FOUND")
    status, _, body = http("GET", stack.api_url + "/jobs/a%2Fb")
    assert status == 404
    assert body["status"] == 404 and "a/b" not in body["type"]


# --- a bounded schemathesis run against openapi.json ----------------------------------------------

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SCHEMA = schemathesis.openapi.from_path(OPENAPI)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@SCHEMA.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_openapi(case: Any, stack: OfflineStack) -> None:
    """No 5xx and no answer outside the document (status, media type, headers, schema)."""
    case.call_and_validate(base_url=stack.api_url, checks=CHECKS, timeout=30)
