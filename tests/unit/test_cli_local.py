"""Local commands (issue 14): they never import boto3 or botocore (each checked in a fresh
interpreter: this test process has boto3 loaded already); `validate -` reads stdin, and
findings carry file:line:col."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from autopilot_flow.cli import main
from autopilot_flow.manifest import YAML_LOADERS, use_yaml_loader, yaml_loader

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
        ["completion", "bash"],
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


# --- validate -: stdin, and file:line:col -------------------------------------------------------

BROKEN_YAML = """\
AutoMLJobName: located
AutoMLJobInputDataConfig:
  - ContentType: text/csv
    DataSource: {S3DataSource: {S3DataType: S3Prefix, S3Uri: "s3://amzn-s3-demo-ml-data/x/"}}
OutputDataConfig: {S3OutputPath: "s3://amzn-s3-demo-ml-output/x/"}
AutoMLProblemTypeConfig:
  TimeSeriesForecastingJobConfig:
    ForecastFrequency: 60min
    ForecastHorizon: 14
    TimeSeriesConfig: {TargetAttributeName: demand, TimestampAttributeName: date,
                       ItemIdentifierAttributeName: product_id}
RoleArn: arn:aws:iam::111122223333:role/AutopilotExecution
Tagz: [{Key: team, Value: forecasting}]
"""
EXPECTED = {  # path -> (line, column) in BROKEN_YAML
    "AutoMLJobInputDataConfig[0].ContentType": (3, 5),
    "AutoMLProblemTypeConfig.TimeSeriesForecastingJobConfig.ForecastFrequency": (8, 5),
    "Tagz": (13, 1),
}


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.fixture(params=YAML_LOADERS)
def loader(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both YAML parsers (libyaml's C loader gives marks too)."""
    before = yaml_loader()
    use_yaml_loader(request.param)
    yield request.param
    use_yaml_loader(before)


def test_validate_reads_stdin_and_locates_each_finding(
    loader: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _stdin(monkeypatch, BROKEN_YAML.encode())
    assert main(["validate", "-"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("invalid  <stdin>: 3 errors\n")
    for path, (line, column) in EXPECTED.items():
        assert f"  error  <stdin>:{line}:{column}: {path}: " in out


def test_json_findings_gain_line_and_column(
    loader: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "forecast.yaml"
    broken.write_text(BROKEN_YAML)
    assert main(["validate", "--json", str(broken)]) == 1
    record = json.loads(capsys.readouterr().out)
    located = {e["path"]: (e["line"], e["column"]) for e in record["errors"]}
    assert located == EXPECTED
    for error in record["errors"]:  # the contract's keys are all still there
        assert {"path", "message", "code"} <= set(error)


def test_json_manifests_are_located_too(
    loader: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = yaml.safe_load(BROKEN_YAML)
    broken = tmp_path / "forecast.json"
    broken.write_text(json.dumps(document, indent=2))
    lines = broken.read_text().splitlines()
    assert main(["validate", "--json", str(broken)]) == 1
    record = json.loads(capsys.readouterr().out)
    tagz = next(e for e in record["errors"] if e["path"] == "Tagz")
    assert lines[tagz["line"] - 1][tagz["column"] - 1 :].startswith('"Tagz"')
    frequency = next(e for e in record["errors"] if e["path"].endswith("ForecastFrequency"))
    assert lines[frequency["line"] - 1].strip().startswith('"ForecastFrequency"')


def test_a_missing_field_points_at_its_mapping_and_a_syntax_error_at_its_place(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BROKEN_YAML.replace("    ForecastHorizon: 14\n", "")
    _stdin(monkeypatch, text.encode())
    assert main(["validate", "--json", "-"]) == 1
    record = json.loads(capsys.readouterr().out)
    missing = next(e for e in record["errors"] if e["path"].endswith("ForecastHorizon"))
    assert (missing["line"], missing["column"]) == (7, 3)  # TimeSeriesForecastingJobConfig
    _stdin(monkeypatch, b"AutoMLJobName: x\nRoleArn: {Key: [1, 2}\n")
    assert main(["validate", "-"]) == 1
    out = capsys.readouterr().out
    found = re.search(r"<stdin>:(\d+):(\d+): \(document\): line (\d+), column (\d+): ", out)
    assert found is not None, out
    assert found.group(1, 2) == found.group(3, 4) == ("2", "21")  # at the stray }


# --- rules: every rule, each naming its AWS documentation page ---------------------------------


def test_rules_lists_every_rule_and_names_each_aws_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from autopilot_flow import validate  # noqa: F401 - registers the sections' rules too
    from autopilot_flow.rules import RULES

    assert main(["rules", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["codes"] for r in listed] == [list(r.codes) for r in RULES]
    for row in listed:
        # Documentation pages, never files (of this repository or any other).
        assert not re.search(r"\.(md|py|json|ya?ml)\b", row["cite"]), row
        ours = row["codes"][0].startswith(("deployment.", "target."))  # our own sections
        if not ours:
            assert re.search(r"\(AWS docs: [^)]+\)", row["cite"]), row
