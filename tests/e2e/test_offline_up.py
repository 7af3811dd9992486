"""`autopilot-flow offline up` as a process: a port in use fails at once (exit 2), SIGINT and
SIGTERM stop it and remove its stack.json, --api-port pins the API, a second stack refuses a
state directory the first still owns, and the default policy accepts any role of the offline
account (issue 14)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "autopilot-flow")
EXAMPLE = ROOT / "examples" / "manifests" / "churn-tabular.yaml"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CLI, "offline", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _wait_for_state(process: subprocess.Popen[str], state: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while not (state / "stack.json").exists():
        if process.poll() is not None:
            pytest.fail(f"offline up ended: {process.communicate()[1]}")
        assert time.monotonic() < deadline, "offline up did not start in 180 s"
        time.sleep(0.2)
    time.sleep(0.2)  # written whole before the next read
    description: dict[str, Any] = json.loads((state / "stack.json").read_text())
    return description


@pytest.mark.parametrize("option", ["--port", "--api-port"])
def test_a_port_in_use_fails_at_once_with_exit_2(tmp_path: Path, option: str) -> None:
    with _busy_port() as port:
        process = _start("up", option, str(port), "--state-dir", str(tmp_path))
        try:
            _, err = process.communicate(timeout=120)  # hung forever before
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 2, err
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "stack.json").exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_offline_up_stops_on_a_signal_and_removes_its_stack_json(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    api_port = _free_port()
    state = tmp_path / "state"
    process = _start("up", "--state-dir", str(state), "--api-port", str(api_port))
    try:
        description = _wait_for_state(process, state)
        assert description["api_url"] == f"http://127.0.0.1:{api_port}"
        assert description["pid"] == process.pid

        # A second stack (the demo, say) refuses the directory this one owns.
        second = _start("demo", "--state-dir", str(state))
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert "belongs to an offline stack still running" in err
        assert json.loads((state / "stack.json").read_text())["pid"] == process.pid

        # IAM is not enforced offline: any role of the offline account is accepted.
        manifest = yaml.safe_load(EXAMPLE.read_text())
        manifest["RoleArn"] = "arn:aws:iam::123456789012:role/MyAutopilotRole"
        request = urllib.request.Request(
            description["api_url"] + "/jobs/validate",
            data=json.dumps(manifest).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, answer = response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, json.loads(exc.read())
        assert status == 200, answer
        assert answer["valid"] is True, answer
    finally:
        process.send_signal(stop_signal)
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("offline up ignored the signal")
    assert process.returncode == 0, err
    assert "Stopping" in out
    # The printed submit command names this state directory, so it works as printed.
    assert f"--offline --state-dir {state} --wait" in out
    # moto's request log (werkzeug's "POST / HTTP/1.1" 200 lines) stays off the terminal.
    assert "HTTP/1.1" not in out + err
    assert not (state / "stack.json").exists()


def test_a_stale_stack_json_does_not_block_but_a_live_owner_does(tmp_path: Path) -> None:
    from offline.stack import OfflineStartError, claim_state_dir

    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    (tmp_path / "stack.json").write_text(json.dumps({"pid": int(ended.stdout)}))
    claim_state_dir(tmp_path)  # a stack that crashed: its file is simply replaced
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            (tmp_path / "stack.json").write_text(json.dumps({"pid": alive.pid}))
            with pytest.raises(OfflineStartError, match=f"pid {alive.pid}"):
                claim_state_dir(tmp_path)
        finally:
            alive.kill()
