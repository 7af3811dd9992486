"""The JSON Schema printed by `autopilot-flow schema` is valid and accepts every example."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest

from autopilot_flow import problem_types as pt
from autopilot_flow.schema import manifest_schema
from autopilot_flow.skeleton import skeleton
from tests.conftest import EXAMPLES, load_example


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = manifest_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_valid_draft_2020_12() -> None:
    schema = manifest_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_schema_accepts_every_example(path: Any, validator: Any) -> None:
    errors = list(validator.iter_errors(load_example(path.name)))
    assert errors == []


@pytest.mark.parametrize("problem", list(pt.CLI_NAMES))
def test_schema_accepts_every_skeleton(problem: str, validator: Any) -> None:
    assert list(validator.iter_errors(skeleton(problem))) == []


def test_schema_flags_what_an_editor_should_flag(validator: Any) -> None:
    document = copy.deepcopy(load_example("churn-tabular.yaml"))
    document["Tagz"] = []
    config = document["AutoMLProblemTypeConfig"]
    config["TabularJobConfig"]["CompletionCriteria"]["MaxCandidates"] = "10"
    config["TextGenerationJobConfig"] = {}
    document["Deployment"]["Serverless"]["MemorySizeInMB"] = 99
    messages = [e.message for e in validator.iter_errors(document)]
    assert any("Tagz" in m for m in messages)
    assert any("'10' is not of type 'integer'" in m for m in messages)
    assert any("has too many properties" in m for m in messages)
    assert any("99 is less than the minimum of 1024" in m for m in messages)


def test_policy_suppliable_fields_are_optional_in_the_schema() -> None:
    required = manifest_schema()["required"]
    assert "RoleArn" not in required
    assert "OutputDataConfig" not in required
    assert "AutoMLJobName" not in required
    assert set(required) == {"AutoMLJobInputDataConfig", "AutoMLProblemTypeConfig"}


def test_schema_documents_registry_and_strategy(validator: Any) -> None:
    properties = manifest_schema()["properties"]
    registry = properties["Registry"]
    assert registry["required"] == ["ModelPackageGroupName"]
    assert registry["properties"]["ModelPackageGroupName"]["maxLength"] == 63
    strategy = properties["Deployment"]["properties"]["Strategy"]["properties"]
    assert strategy["Type"]["enum"] == ["AllAtOnce", "Canary", "Linear"]
    bounds = {
        name: (strategy[name]["minimum"], strategy[name]["maximum"])
        for name in (
            "StepPercent",
            "WaitIntervalInSeconds",
            "TerminationWaitInSeconds",
            "MaximumExecutionTimeoutInSeconds",
        )
    }
    assert bounds == {
        "StepPercent": (1, 50),
        "WaitIntervalInSeconds": (0, 3600),
        "TerminationWaitInSeconds": (0, 3600),
        "MaximumExecutionTimeoutInSeconds": (600, 28800),
    }
    assert strategy["AutoRollbackAlarmNames"]["maxItems"] == 10

    document = copy.deepcopy(load_example("demand-forecast-timeseries.yaml"))
    document["Deployment"]["Strategy"] = {
        "Type": "Cannary",
        "WaitIntervalInSeconds": 3601,
        "AutoRollbackAlarmNames": ["   "],
    }
    document["Registry"] = {"ApprovalRequired": "yes", "ModelPackageGroupName": "bad_name"}
    messages = [e.message for e in validator.iter_errors(document)]
    assert any("'Cannary' is not one of" in m for m in messages)
    assert any("3601 is greater than the maximum of 3600" in m for m in messages)
    assert any("'   ' does not match" in m for m in messages)
    assert any("'yes' is not of type 'boolean'" in m for m in messages)
    assert any("'bad_name' does not match" in m for m in messages)
