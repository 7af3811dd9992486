"""The `autopilot-flow` command: exit codes, human and JSON output, skeleton, schema, rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autopilot_flow import problem_types as pt
from autopilot_flow.cli import main
from autopilot_flow.rules import RULES
from tests.conftest import EXAMPLES

VALID = str(EXAMPLES[0])
NO_ROLE = """
AutoMLJobName: needs-policy
AutoMLJobInputDataConfig:
  - DataSource: {S3DataSource: {S3DataType: S3Prefix, S3Uri: "s3://ml-data/churn/"}}
AutoMLProblemTypeConfig:
  TabularJobConfig: {TargetAttributeName: churned}
"""
POLICY = """
Defaults:
  RoleArn: arn:aws:iam::111122223333:role/AutopilotExecution
  OutputDataConfig: {S3OutputPath: "s3://ml-output/autopilot/"}
Guardrails:
  AllowedS3Prefixes: ["s3://ml-data/"]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    broken = tmp_path / "broken.yaml"
    broken.write_text("AutoMLJobName: x\nAutoMLJobInputDataConfg: []\n")
    unparseable = tmp_path / "unparseable.json"
    unparseable.write_text("{not json")
    no_role = tmp_path / "no-role.yaml"
    no_role.write_text(NO_ROLE)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    bad_policy = tmp_path / "bad-policy.yaml"
    bad_policy.write_text("Guardrails: {MaxCandidate: 5}\n")
    return {
        "broken": str(broken),
        "unparseable": str(unparseable),
        "no_role": str(no_role),
        "policy": str(policy),
        "bad_policy": str(bad_policy),
        "missing": str(tmp_path / "missing.yaml"),
        "dir": str(tmp_path),
    }


def test_all_valid_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert out.count("valid ") == len(EXAMPLES)
    assert "\033[" not in out  # no colour when not on a terminal


def test_invalid_exits_1_and_names_paths(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", VALID, files["broken"]]) == 1
    out = capsys.readouterr().out
    assert "invalid" in out
    assert "AutoMLJobInputDataConfg: unknown field" in out
    assert "Did you mean 'AutoMLJobInputDataConfig'?" in out
    assert "[required]" in out


def test_unparseable_exits_1(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", files["unparseable"]]) == 1
    assert "[parse.invalid_json]" in capsys.readouterr().out


@pytest.mark.parametrize("which", ["missing", "dir"])
def test_unreadable_file_exits_2_even_beside_invalid_ones(
    which: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", files["broken"], files[which]]) == 2
    assert "cannot read" in capsys.readouterr().out


def test_json_output_is_one_object_per_file(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--json", VALID, files["broken"], files["missing"]]) == 2
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["file"] for r in records] == [VALID, files["broken"], files["missing"]]
    assert [r["valid"] for r in records] == [True, False, False]
    for record in records:
        assert set(record) == {"file", "valid", "errors", "warnings"}
        for error in record["errors"]:
            assert (
                {"path", "message", "code"}
                <= set(error)
                <= {"path", "message", "code", "line", "column"}
            )
    assert records[2]["errors"][0]["code"] == "io.unreadable"


def test_policy_fills_defaults_and_guards(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", files["no_role"]]) == 1
    out = capsys.readouterr().out
    assert "RoleArn: RoleArn is required" in out
    assert main(["validate", "--policy", files["policy"], files["no_role"]]) == 0
    # The examples read buckets this policy does not allow.
    assert main(["validate", "--json", "--policy", files["policy"], VALID]) == 1
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {e["code"] for e in record["errors"]} == {"policy.s3_not_allowed"}


@pytest.mark.parametrize("which", ["bad_policy", "missing"])
def test_bad_or_missing_policy_is_a_usage_error(
    which: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--policy", files[which], VALID]) == 2
    err = capsys.readouterr().err
    assert "policy" in err
    if which == "bad_policy":
        assert "Guardrails.MaxCandidate" in err and "Did you mean 'MaxCandidates'?" in err


@pytest.mark.parametrize(
    "argv",
    [[], ["validate"], ["skeleton"], ["skeleton", "--problem-type", "tabularr"], ["nope"]],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


@pytest.mark.parametrize("problem", list(pt.CLI_NAMES))
@pytest.mark.parametrize("as_yaml", [False, True])
def test_skeleton_output_validates(
    problem: str, as_yaml: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["skeleton", "--problem-type", problem, *(["--yaml"] if as_yaml else [])]) == 0
    text = capsys.readouterr().out
    document = yaml.safe_load(text) if as_yaml else json.loads(text)
    assert pt.CLI_NAMES[problem] in document["AutoMLProblemTypeConfig"]
    target = tmp_path / ("m.yaml" if as_yaml else "m.json")
    target.write_text(text)
    assert main(["validate", str(target)]) == 0


def test_schema_and_rules_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert main(["rules", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(RULES)
    assert all(row["cite"] and row["codes"] for row in rows)


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "autopilot-flow"
    done = subprocess.run(
        [str(script), "validate", "--json", VALID], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True
