"""FinalizeJob's CreateModel: one container as the PrimaryContainer, a pipeline as Containers,
each with or without the job's VPC, chosen from the plan's model request (the plan builds it
with ``deploy_targets.container_fields``). The runs themselves are in
tests/e2e/test_deploy_targets_e2e.py and tests/integration/test_finalize.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from autopilot_flow.deploy_targets import container_fields
from offline.template import ROOT

STATES = json.loads((ROOT / "statemachines" / "finalize_job.asl.json").read_text())["States"]
VPC = {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]}


def _present(model: dict[str, Any], variable: str) -> bool:
    return variable.removeprefix("$.plan.model.") in model


def _matches(rule: dict[str, Any], model: dict[str, Any]) -> bool:
    """The two Choice operators the state uses (And, IsPresent on the plan's model)."""
    if "And" in rule:
        return all(_matches(inner, model) for inner in rule["And"])
    assert set(rule) - {"Next"} == {"Variable", "IsPresent"}, rule
    return _present(model, rule["Variable"]) is rule["IsPresent"]


def route(model: dict[str, Any]) -> str:
    choice = STATES["ModelInVpc"]
    for rule in choice["Choices"]:
        if _matches(rule, model):
            return str(rule["Next"])
    return str(choice["Default"])


@pytest.mark.parametrize(
    ("containers", "vpc", "state"),
    [
        (1, False, "CreateModel"),
        (1, True, "CreateModelInVpc"),
        (3, False, "CreatePipelineModel"),
        (3, True, "CreatePipelineModelInVpc"),
        (2, True, "CreatePipelineModelInVpc"),
    ],
)
def test_the_plan_model_goes_to_the_create_model_state_of_its_shape(
    containers: int, vpc: bool, state: str
) -> None:
    model: dict[str, Any] = {
        "ModelName": "m",
        "ExecutionRoleArn": "arn:aws:iam::111122223333:role/R",
        **container_fields([{"Image": f"image-{i}"} for i in range(containers)]),
        "Tags": [{"Key": "autopilot-flow:stack", "Value": "s"}],
    }
    if vpc:
        model["VpcConfig"] = VPC
    assert route(model) == state
    # The state sends exactly the request's fields, each from the plan's model.
    parameters = STATES[state]["Parameters"]
    assert {key.removesuffix(".$") for key in parameters} == set(model)
    for key, path in parameters.items():
        assert path == f"$.plan.model.{key.removesuffix('.$')}", key


def test_the_four_create_model_states_differ_only_in_what_they_send() -> None:
    names = ["CreateModel", "CreateModelInVpc", "CreatePipelineModel", "CreatePipelineModelInVpc"]
    shapes = [
        {k: v for k, v in STATES[name].items() if k not in ("Parameters", "Comment")}
        for name in names
    ]
    assert all(shape == shapes[0] for shape in shapes), "Retry, Catch and Next must match"
