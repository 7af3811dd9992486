"""docs/operations.md stays true: what it names exists in template.yaml, the Makefile and
the code, and everything an operator meets in the template is described there."""

from __future__ import annotations

import re

from offline.template import ROOT, load_template

DOC = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
TEMPLATE = load_template()


def section(heading: str) -> str:
    start = DOC.index(f"\n## {heading}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end != -1 else len(DOC)]


def test_every_parameter_is_documented_and_every_documented_one_exists() -> None:
    rows = re.findall(r"^\| `(\w+)` \|", section("Parameters"), flags=re.MULTILINE)
    assert len(rows) == len(set(rows)), "a parameter is documented twice"
    assert set(rows) == set(TEMPLATE["Parameters"])


def test_documented_defaults_match_the_template() -> None:
    for name, default in re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOC, flags=re.MULTILINE):
        spec = TEMPLATE["Parameters"][name]
        expected = "required" if "Default" not in spec else str(spec["Default"]) or "empty"
        assert default.strip() == expected, name


def test_every_alarm_has_a_runbook_section_and_every_section_an_alarm() -> None:
    alarms = {
        name for name, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    headings = set(re.findall(r"^### (\w+)$", section("Alarms"), flags=re.MULTILINE))
    assert headings == alarms
    for name in alarms:
        # The alarm's description links its section (GitHub anchors are lower case).
        description = TEMPLATE["Resources"][name]["Properties"]["AlarmDescription"]
        assert f"docs/operations.md#{name.lower()}" in description, name
        body = section("Alarms").split(f"### {name}\n")[1].split("\n### ")[0]
        assert "**Means:**" in body and "**Do:**" in body, name


def test_named_outputs_and_make_targets_exist() -> None:
    outputs = set(re.findall(r"`(\w+(?:Arn|Url|Name))` output", DOC))
    outputs |= set(re.findall(r"`(\w+)`", DOC.split("- Outputs:")[1].split("\n- ")[0]))
    assert outputs, "the doc names no outputs"
    assert outputs <= set(TEMPLATE["Outputs"]), outputs - set(TEMPLATE["Outputs"])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in set(re.findall(r"^make ([\w-]+)", DOC, flags=re.MULTILINE)):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target


def test_named_resources_exist() -> None:
    names = {"OpsKey", "WatchJobsFunctionTick"} & set(re.findall(r"`(\w+)`", DOC))
    assert names == {"OpsKey", "WatchJobsFunctionTick"}
    assert "OpsKey" in TEMPLATE["Resources"]
    # SAM names the schedule after the function and its event.
    assert "Tick" in TEMPLATE["Resources"]["WatchJobsFunction"]["Properties"]["Events"]
