"""Shell completion (issue 14): the script is sourced in a real bash (and zsh, when
installed) and asked what it offers, as the shell would ask on <TAB>."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "autopilot-flow")
ASK = 't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
ASK_END = '_autopilot_flow_complete; echo "${COMPREPLY[*]}"; }\n'
# zsh runs bash completion functions in sh emulation (bashcompinit's _bash_complete).
ZSH_ASK = "t() { emulate -L sh; setopt kshglob noshglob braceexpand; " + ASK[6:]


def _offers(shell: str, asks: list[str], cwd: Path) -> list[str]:
    ask = ZSH_ASK if shell == "zsh" else ASK
    script = f"source <({CLI} completion {shell})\ncomplete -p autopilot-flow\n"
    script += ask + ASK_END + "".join(f"t autopilot-flow {words}\n" for words in asks)
    command = [shell, "-f"] if shell == "zsh" else [shell, "--norc", "--noprofile"]
    done = subprocess.run(
        [*command, "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_bash_completes_commands_options_choices_and_files(tmp_path: Path) -> None:
    (tmp_path / "forecast.yaml").write_text("{}")
    lines = _offers(
        "bash",
        [
            "sk",
            "skeleton --problem-type te",
            "skeleton --y",
            "offline ''",
            "offline up --api",
            "validate fore",
            "completion ''",
            "s",
        ],
        tmp_path,
    )
    assert lines[0] == "complete -F _autopilot_flow_complete autopilot-flow"
    assert lines[1] == "skeleton"
    assert lines[2].split() == ["text-classification", "text-generation"]
    assert lines[3] == "--yaml"
    assert lines[4].split()[:2] == ["up", "demo"]
    assert lines[5] == "--api-port"
    assert lines[6] == "forecast.yaml"
    assert {"bash", "zsh"} <= set(lines[7].split())
    assert {"skeleton", "schema", "submit", "status", "stop", "subscribe"} <= set(lines[8].split())


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_gets_the_same_function_through_bashcompinit(tmp_path: Path) -> None:
    lines = _offers("zsh", ["sk", "skeleton --problem-type ''"], tmp_path)
    assert lines[-3] == "complete -F _autopilot_flow_complete autopilot-flow"
    # zsh's compgen leaves prefix matching to the completion system (compadd): all words.
    assert "skeleton" in lines[-2].split()
    assert lines[-1].split() == [
        "tabular",
        "timeseries",
        "text-classification",
        "image-classification",
        "text-generation",
    ]


def test_bash_completes_the_model_and_endpoint_commands(tmp_path: Path) -> None:
    lines = _offers(
        "bash", ["app", "rej", "ro", "undeploy --y", "approve churn --n", "rollback --j"], tmp_path
    )
    assert lines[1:4] == ["approve", "reject", "rollback"]
    assert lines[4] == "--yes"
    assert lines[5] == "--note"
    assert lines[6] == "--json"
