"""The shipped request model must be exactly what botocore says, and its patterns must work."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

import pytest

from autopilot_flow.api_model import build_from_botocore, request_model
from autopilot_flow.structure import compiled


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("members", {}).values():
        found.extend(_nodes(child))
    for key in ("member", "key", "value"):
        if key in node:
            found.extend(_nodes(node[key]))
    return found


def test_shipped_model_matches_installed_botocore() -> None:
    shipped = dict(request_model())
    fresh = build_from_botocore()
    # The version may differ while the model does not; the model itself must be identical.
    shipped.pop("botocore_version")
    fresh.pop("botocore_version")
    assert shipped == fresh, "run `make api-model` to regenerate the shipped model"


def test_model_covers_every_problem_type_and_top_level_field() -> None:
    model = request_model()
    assert set(model["members"]) == {
        "AutoMLJobName",
        "AutoMLJobInputDataConfig",
        "OutputDataConfig",
        "AutoMLProblemTypeConfig",
        "RoleArn",
        "Tags",
        "SecurityConfig",
        "AutoMLJobObjective",
        "ModelDeployConfig",
        "DataSplitConfig",
        "AutoMLComputeConfig",
    }
    problems = model["members"]["AutoMLProblemTypeConfig"]
    assert problems.get("union") is True
    assert set(problems["members"]) == {
        "TabularJobConfig",
        "TimeSeriesForecastingJobConfig",
        "TextClassificationJobConfig",
        "ImageClassificationJobConfig",
        "TextGenerationJobConfig",
    }


@pytest.mark.parametrize(
    "pattern", sorted({n["pattern"] for n in _nodes(request_model()) if "pattern" in n})
)
def test_every_model_pattern_compiles(pattern: str) -> None:
    assert isinstance(compiled(pattern), re.Pattern)


def test_unicode_class_translation_matches_unicode_categories() -> None:
    """AWS's [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@] (tag keys) must mean the same in Python's re."""
    tag_key = request_model()["members"]["Tags"]["member"]["members"]["Key"]["pattern"]
    regex = compiled(tag_key)
    mismatches = []
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        category = unicodedata.category(char)
        expected = category[0] in "LZN" or char in "_.:/=+-@"
        if (regex.fullmatch(char) is not None) != expected:
            mismatches.append(f"U+{point:04X} {category}")
    assert mismatches == []
