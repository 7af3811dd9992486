"""README.md's examples work as printed (issue 14): its example manifest passes its example
policy, as `autopilot-flow validate --policy` checks it, with no warning either."""

from __future__ import annotations

import re
from pathlib import Path

from autopilot_flow.policy import Policy
from autopilot_flow.validate import validate_bytes

README = Path(__file__).resolve().parents[2] / "README.md"


def _yaml_block_after(heading: str) -> bytes:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"\n{heading}\n") :]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found is not None, heading
    return found.group(1).encode("utf-8")


def test_the_readme_manifest_passes_the_readme_policy() -> None:
    policy = Policy.from_bytes(_yaml_block_after("## Policy"), "README policy")
    result = validate_bytes(_yaml_block_after("## A manifest"), "churn.yaml", policy)
    assert result.errors == [], result.errors
    assert result.warnings == [], result.warnings
    assert result.job_name == "churn-binary-2026-11"


def test_the_readme_manifest_is_valid_without_a_policy() -> None:
    result = validate_bytes(_yaml_block_after("## A manifest"), "churn.yaml")
    assert result.valid, result.errors
