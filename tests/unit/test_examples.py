"""Every example manifest and every skeleton is valid, and together they cover all types."""

from __future__ import annotations

from pathlib import Path

import pytest

from autopilot_flow import problem_types as pt
from autopilot_flow.skeleton import skeleton
from autopilot_flow.validate import validate_bytes, validate_document
from tests.conftest import EXAMPLES, load_example


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_is_valid(path: Path) -> None:
    result = validate_bytes(path.read_bytes(), path.name)
    assert result.errors == []
    assert result.request is not None
    assert "Deployment" not in result.request and "Notifications" not in result.request


def test_examples_cover_every_problem_type_in_json_and_yaml() -> None:
    problems = {next(iter(load_example(p.name)["AutoMLProblemTypeConfig"])) for p in EXAMPLES}
    assert problems == set(pt.PROBLEM_CONFIGS)
    tabular_types = {
        load_example(p.name)["AutoMLProblemTypeConfig"]
        .get("TabularJobConfig", {})
        .get("ProblemType")
        for p in EXAMPLES
    }
    assert {"Regression", "BinaryClassification", "MulticlassClassification"} <= tabular_types
    assert {p.suffix for p in EXAMPLES} >= {".json", ".yaml"}


@pytest.mark.parametrize("problem", list(pt.CLI_NAMES))
def test_skeleton_is_valid_and_has_every_section(problem: str) -> None:
    manifest = skeleton(problem)
    result = validate_document(manifest)
    assert result.errors == []
    assert pt.CLI_NAMES[problem] in manifest["AutoMLProblemTypeConfig"]
    assert {"Deployment", "Notifications", "Registry"} <= set(manifest)
    assert result.model_registry is not None
    # A rollout strategy wherever the skeleton deploys to instances (none for serverless).
    on_instances = "InstanceType" in manifest["Deployment"]
    assert ("Strategy" in manifest["Deployment"]) == on_instances
    assert (result.rollout is not None) == on_instances
    # Only the warnings a problem type always gets (no strategy or registry warning).
    assert not [w for w in result.warnings if w.code.startswith(("strategy.", "registry."))]


def test_omitted_job_name_is_derived_from_the_file_name() -> None:
    path = next(p for p in EXAMPLES if p.name == "product-categories-multiclass.yaml")
    result = validate_bytes(path.read_bytes(), f"manifests/{path.name}")
    assert result.valid
    assert result.job_name is not None
    assert result.job_name.startswith("product-categories-mult-")
    assert len(result.job_name) <= 32
