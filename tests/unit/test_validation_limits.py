"""The structural walker's work stays bounded on noisy documents, and still reports everything.

A suggestion ("did you mean") costs a fuzzy match against every allowed name: only the first
problems of a document get one; every problem is still reported, with its path and code.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from autopilot_flow.manifest import MAX_VALUES
from autopilot_flow.structure import SUGGESTIONS_UP_TO
from autopilot_flow.validate import validate_bytes, validate_document
from tests.cpu import cpu_seconds

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "examples" / "manifests" / "house-prices-regression.json").read_text())
CRITERIA = ("AutoMLProblemTypeConfig", "TabularJobConfig", "CompletionCriteria")
CRITERIA_PATH = ".".join(CRITERIA)


def _with_criteria(extra: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(EXAMPLE)
    criteria = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"]
    criteria.update(extra)
    return document


def test_only_the_first_problems_get_a_suggestion_but_all_are_reported() -> None:
    count = SUGGESTIONS_UP_TO + 50
    misspelt = {f"MaxCandidate{i:03d}": 1 for i in range(count)}  # close to MaxCandidates
    result = validate_document(_with_criteria(misspelt))
    unknown = [e for e in result.errors if e.code == "unknown_field"]
    assert [e.path for e in unknown] == [f"{CRITERIA_PATH}.{name}" for name in misspelt]
    suggested = [e for e in unknown if "Did you mean 'MaxCandidates'?" in e.message]
    assert len(suggested) == SUGGESTIONS_UP_TO
    assert suggested == unknown[:SUGGESTIONS_UP_TO]
    for error in unknown[SUGGESTIONS_UP_TO:]:
        assert error.message.startswith(f"unknown field {error.path.rsplit('.', 1)[1]!r}. ")
        assert "Allowed here: MaxCandidates" in error.message


def test_unknown_top_level_fields_past_the_cap_get_no_suggestion() -> None:
    document = copy.deepcopy(EXAMPLE)
    misspelt = [f"AutoMLJobNam{i:04d}" for i in range(SUGGESTIONS_UP_TO + 50)]
    document.update(dict.fromkeys(misspelt, 1))
    result = validate_document(document)
    unknown = [e for e in result.errors if e.code == "unknown_field"]
    assert [e.path for e in unknown] == misspelt
    suggested = [e for e in unknown if "Did you mean" in e.message]
    assert suggested == unknown[:SUGGESTIONS_UP_TO]
    assert all("Allowed at the top level: " in e.message for e in unknown)


def test_wrong_enum_values_past_the_cap_still_say_what_is_allowed() -> None:
    document = copy.deepcopy(EXAMPLE)
    wrong = [f"xgbost{i}" for i in range(SUGGESTIONS_UP_TO + 20)]
    config = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    config["CandidateGenerationConfig"] = {"AlgorithmsConfig": [{"AutoMLAlgorithms": wrong}]}
    result = validate_document(document)
    enums = [e for e in result.errors if e.code == "enum"]
    assert len(enums) == len(wrong)
    assert sum("Did you mean 'xgboost'?" in e.message for e in enums) < SUGGESTIONS_UP_TO
    assert all("Allowed: xgboost" in e.message for e in enums)


def test_a_map_key_problem_counts_toward_the_cap() -> None:
    # Keys are checked into the same list as values: a thousand wrong filling types (an
    # enum of keys) get no more suggestions than a thousand wrong values would.
    document = json.loads(
        (ROOT / "examples" / "manifests" / "house-prices-regression.json").read_text()
    )
    document["AutoMLProblemTypeConfig"] = {
        "TimeSeriesForecastingJobConfig": {
            "ForecastFrequency": "1D",
            "ForecastHorizon": 1,
            "TimeSeriesConfig": {
                "TargetAttributeName": "y",
                "TimestampAttributeName": "t",
                "ItemIdentifierAttributeName": "i",
            },
            "Transformations": {"Filling": {"y": {f"midlefill{i}": "zero" for i in range(300)}}},
        }
    }
    result = validate_document(document)
    keys = [e for e in result.errors if e.message.startswith("key ")]
    assert len(keys) == 300
    assert sum("Did you mean" in e.message for e in keys) <= SUGGESTIONS_UP_TO


def test_noise_just_under_the_value_limit_costs_little_cpu() -> None:
    # 2,400 misspelt fields (the most the value limit lets through) against a normal
    # manifest's validation: a ratio of CPU times, so a slow machine cannot fail it.
    noise = {f"MaxCandidate{i:04d}": 1 for i in range((MAX_VALUES - 200) // 2)}
    noisy = json.dumps(_with_criteria(noise)).encode()
    normal = json.dumps(EXAMPLE).encode()
    validate_bytes(normal, "m.json")

    reference = cpu_seconds(lambda: validate_bytes(normal, "m.json"), repeat=50)
    noisy_cpu = cpu_seconds(lambda: validate_bytes(noisy, "m.json"))
    assert len(validate_bytes(noisy, "m.json").errors) == len(noise)
    assert noisy_cpu < 300 * reference, (noisy_cpu, reference)
