"""Local commands stay local: they never import boto3 or botocore (issue 14).

Run in a fresh interpreter each (this test process has boto3 loaded already)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "manifests" / "churn-tabular.yaml"

PROBE = """
import json, sys
from autopilot_flow.cli import main
argv = json.loads(sys.argv[1])
code = 0
if argv is not None:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore", "s3transfer"))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def _probe(argv: list[str] | None) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "argv",
    [
        None,  # import autopilot_flow.cli alone
        ["validate", str(EXAMPLE)],
        ["validate", "--json", str(EXAMPLE)],
        ["schema"],
        ["skeleton", "--problem-type", "tabular", "--yaml"],
        ["rules"],
        ["--version"],
    ],
)
def test_local_commands_never_import_boto3(argv: list[str] | None) -> None:
    result = _probe(argv)
    assert result["code"] == 0
    assert result["loaded"] == []


def test_a_stack_command_still_finds_its_modules() -> None:
    """The split parser: `submit --help` is parsed by the full one (exit 0, not a usage error)."""
    result = _probe(["submit", "--help"])
    assert result["code"] == 0
