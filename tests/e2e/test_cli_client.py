"""The client commands against the whole offline stack (issue 14, part A): the stack's dry
run from the terminal, a second upload of the same file answered as itself, an upper-case
suffix the stack reads after all, --json outcomes.
"""

from __future__ import annotations

import json
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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineStack]:
    # 1200: a tabular job runs 1-3 s. Nothing here watches for a window of a job's life (the
    # stop in test_resubmit follows the submit at once), so only the waits get shorter.
    options = OfflineOptions(state_dir=tmp_path_factory.mktemp("offline"), speed=1200.0)
    with OfflineStack(options) as running:
        upload_example_data(running.client("s3"))
        yield running


@pytest.fixture
def cli(stack: OfflineStack) -> Any:
    state = str(stack.options.state_dir)

    def run(*args: str) -> int:
        return main([*args, "--offline", "--state-dir", state])

    return run


def manifest(tmp_path: Path, name: str, file_name: str | None = None, **changes: Any) -> Path:
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document["AutoMLJobName"] = name
    document.update(changes)
    path = tmp_path / (file_name or f"{name}.yaml")
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_the_stacks_dry_run_from_the_terminal(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = manifest(tmp_path, "e2e-dry-run")
    assert cli("submit", str(path), "--dry-run") == 0
    assert capsys.readouterr().out.startswith(f"valid    {path} (job e2e-dry-run)")
    # Taken once submitted: the dry run says so, with the job that holds the name.
    assert cli("submit", str(path), "--via", "api") == 0
    capsys.readouterr()
    other = manifest(tmp_path, "e2e-dry-run", "other.yaml", Tags=[{"Key": "k", "Value": "v"}])
    assert cli("submit", str(other), "--dry-run") == 1
    out = capsys.readouterr().out
    assert out.startswith(f"invalid  {other}: 1 error")
    assert "AutoMLJobName: the job name 'e2e-dry-run' is already used" in out
    assert "[job_name.taken]" in out
    assert "existing job  e2e-dry-run (CREATED)" in out
    assert cli("submit", str(other), "--dry-run", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["existingJob"]["jobName"] == "e2e-dry-run"
    assert report["exitCode"] == 1


def test_a_second_upload_of_the_same_file_waits_for_its_own_answer(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = manifest(tmp_path, "e2e-again-1", "e2e-again.yaml")
    argv = ["submit", str(path), "--wait", "--json", "--interval", "0.2", "--timeout", "120"]
    assert cli(*argv) in (0, 1)  # the job's own outcome; the answer is what matters here
    first = json.loads(capsys.readouterr().out)
    assert first["jobName"] == "e2e-again-1"
    # Same file name, another job: the first upload's receipt is at the plain path already.
    manifest(tmp_path, "e2e-again-2", "e2e-again.yaml")
    assert cli(*argv) in (0, 1)
    second = json.loads(capsys.readouterr().out)
    assert second["answer"]["jobName"] == second["jobName"] == "e2e-again-2"
    assert second["answer"]["manifest"]["versionId"] == second["upload"]["versionId"]
    assert second["upload"]["versionId"] != first["upload"]["versionId"]


def test_an_upper_case_suffix_is_read_by_the_stack(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = manifest(tmp_path, "e2e-upper", "e2e-upper.YAML")
    argv = ["submit", str(path), "--json", "--wait", "--interval", "0.2", "--timeout", "120"]
    cli(*argv)
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["upload"]["key"] == "manifests/e2e-upper.yaml"
    assert report["answer"]["jobName"] == "e2e-upper"
    assert "sending e2e-upper.YAML as e2e-upper.yaml" in captured.err


def test_policy_prints_the_document_validate_reads(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("policy") == 0
    policy = tmp_path / "policy.yaml"
    policy.write_text(capsys.readouterr().out)
    document = yaml.safe_load(policy.read_text())
    assert set(document) == {"Defaults", "Guardrails"}
    assert document["Defaults"]["RoleArn"].startswith("arn:aws:iam::")
    # What the stack applies is what validate --policy applies locally.
    no_role = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    del no_role["RoleArn"]
    path = tmp_path / "no-role.yaml"
    path.write_text(yaml.safe_dump(no_role))
    assert main(["validate", str(path), "--policy", str(policy)]) == 0
    assert cli("policy", "--json") == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == document


def test_resubmit_runs_a_stopped_jobs_manifest_again(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = manifest(tmp_path, "e2e-resub")
    assert cli("submit", str(path), "--via", "api") == 0
    assert cli("stop", "e2e-resub") == 0
    assert cli("watch", "e2e-resub", "--interval", "0.2", "--timeout", "120") == 1
    capsys.readouterr()
    # A job that is not stopped or failed is not run again.
    assert cli("resubmit", "no-such-job-here") == 2
    assert "no-such-job-here" in capsys.readouterr().err
    argv = ["resubmit", "e2e-resub", "--wait", "--json", "--interval", "0.2", "--timeout", "120"]
    assert cli(*argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["jobName"] == "e2e-resub-r2" and report["job"]["status"] == "Completed"
    assert report["answer"]["created"] is True
    assert cli("status", "e2e-resub-r2", "--json") == 0
    again = json.loads(capsys.readouterr().out)
    first = yaml.safe_load(path.read_text())
    # The request as the stack sent it: the manifest's fields, its sections, the policy's.
    assert again["manifest"]["AutoMLProblemTypeConfig"] == first["AutoMLProblemTypeConfig"]
    assert again["manifest"]["Deployment"] == first["Deployment"]
    assert again["manifest"]["Notifications"] == first["Notifications"]
    assert again["manifest"]["RoleArn"].startswith("arn:aws:iam::")
    assert cli("resubmit", "e2e-resub-r2", "--name", "e2e-resub-x") == 1
    assert "e2e-resub-r2 is Completed; only a stopped or failed job" in capsys.readouterr().err


def test_events_is_the_jobs_timeline_in_order(
    cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    # Its own endpoint: OnlyIfBetter would skip a deployment over another test's model.
    deployment = {**document["Deployment"], "EndpointName": "e2e-timeline"}
    path = manifest(tmp_path, "e2e-timeline", Deployment=deployment)
    argv = ["submit", str(path), "--via", "api", "--wait", "--interval", "0.2", "--timeout", "120"]
    assert cli(*argv) == 0
    capsys.readouterr()
    assert cli("events", "e2e-timeline", "--json") == 0
    rows = json.loads(capsys.readouterr().out)["events"]
    what = [row["what"] for row in rows]
    assert what[:2] == ["received", "created"]
    assert what[-2:] == ["state Completed", "deployment DEPLOYED"]
    # Every state change the watcher published in between, at SageMaker's (real) times.
    states = rows[2:-1]
    assert states and all(row["what"].startswith("state ") for row in states)
    assert [row["time"] for row in states] == sorted(row["time"] for row in states)
    assert rows[1]["time"] <= states[0]["time"]
    assert all(row["time"] for row in rows)
    assert rows[0]["detail"].startswith("API request ")
    assert cli("events", "e2e-timeline") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["time", "what", "detail"] and len(lines) == 1 + len(rows)
    # A manifest the stack refuses (its data has no such column): received, then rejected.
    broken = yaml.safe_load(path.read_text())
    broken["AutoMLJobName"] = "e2e-timeline-bad"
    broken["AutoMLProblemTypeConfig"]["TabularJobConfig"]["TargetAttributeName"] = "nope"
    bad = tmp_path / "e2e-timeline-bad.yaml"
    bad.write_text(yaml.safe_dump(broken))
    assert cli("submit", str(bad), "--wait", "--interval", "0.2", "--timeout", "120") == 1
    capsys.readouterr()
    assert cli("events", "e2e-timeline-bad", "--json") == 0
    rows = json.loads(capsys.readouterr().out)["events"]
    assert [row["what"] for row in rows] == ["received", "rejected"]
    assert (
        rows[0]["detail"] == "s3://" + rows[0]["detail"][5:] and "manifests/" in rows[0]["detail"]
    )
    assert "preflight" in rows[1]["detail"] or rows[1]["detail"]
