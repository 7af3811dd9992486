"""Registry and Deployment.Strategy, typed: what FinalizeJob's registration and rollout read.

``RolloutStrategy.deployment_config()`` is UpdateEndpoint's ``DeploymentConfig``: each form is
checked by botocore's own parameter validator against the SageMaker service model, so a
request built from a valid manifest is one SageMaker's SDK accepts. The template gives both
submitting doors the approval parameter and the alarm check's permission.
"""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from autopilot_flow.sections import ModelRegistrySection, RolloutStrategy
from autopilot_flow.validate import validate_document
from tests.conftest import load_example
from tests.unit.test_template import (
    RESOURCES,
    TEMPLATE,
    TEMPLATE_TEXT,
    as_list,
    policy_statements,
)

UPDATE_ENDPOINT = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("UpdateEndpoint")
    .input_shape
)
SUBMITTING_DOORS = ("IngestManifestRole", "JobsApiFunction")


def accepted_by_botocore(config: dict[str, Any]) -> None:
    params = {
        "EndpointName": "demand",
        "EndpointConfigName": "demand-2",
        "DeploymentConfig": config,
    }
    report = ParamValidator().validate(params, UPDATE_ENDPOINT)
    assert not report.has_errors(), report.generate_report()


def timeseries(strategy: dict[str, Any] | None, **registry: Any) -> dict[str, Any]:
    document = copy.deepcopy(load_example("demand-forecast-timeseries.yaml"))
    document["Deployment"]["InitialInstanceCount"] = 2
    if strategy is not None:
        document["Deployment"]["Strategy"] = strategy
    if registry:
        document["Registry"] = registry
    return document


# --- RolloutStrategy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        pytest.param(
            {},
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 0,
                    },
                    "TerminationWaitInSeconds": 0,
                }
            },
            id="all-at-once-defaults",
        ),
        pytest.param(
            {"Type": "Canary", "StepPercent": 10},
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "WaitIntervalInSeconds": 300,
                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                    },
                    "TerminationWaitInSeconds": 0,
                }
            },
            id="canary-defaults",
        ),
        pytest.param(
            {
                "Type": "Linear",
                "StepPercent": 25,
                "WaitIntervalInSeconds": 120,
                "TerminationWaitInSeconds": 600,
                "MaximumExecutionTimeoutInSeconds": 3600,
                "AutoRollbackAlarmNames": ["demand-5xx", "demand-latency"],
            },
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "LINEAR",
                        "WaitIntervalInSeconds": 120,
                        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                    },
                    "TerminationWaitInSeconds": 600,
                    "MaximumExecutionTimeoutInSeconds": 3600,
                },
                "AutoRollbackConfiguration": {
                    "Alarms": [{"AlarmName": "demand-5xx"}, {"AlarmName": "demand-latency"}]
                },
            },
            id="linear-everything",
        ),
    ],
)
def test_a_valid_strategy_becomes_update_endpoints_deployment_config(
    strategy: dict[str, Any], expected: dict[str, Any]
) -> None:
    result = validate_document(timeseries(strategy))
    assert result.errors == []
    assert result.rollout is not None
    config = result.rollout.deployment_config()
    assert config == expected
    accepted_by_botocore(config)


def test_no_strategy_means_an_update_as_before() -> None:
    result = validate_document(timeseries(None))
    assert result.valid
    assert result.rollout is None
    assert RolloutStrategy.from_deployment(None) is None
    assert RolloutStrategy.from_deployment({"InstanceType": "ml.m5.large"}) is None


def test_an_invalid_manifest_has_no_typed_sections() -> None:
    result = validate_document(
        timeseries({"Type": "Canary"}, ModelPackageGroupName="demand-models")
    )
    assert not result.valid
    assert result.rollout is None and result.model_registry is None


@pytest.mark.parametrize(
    ("strategy", "shifts", "minimum_wait"),
    [
        ({"Type": "AllAtOnce", "WaitIntervalInSeconds": 60, "TerminationWaitInSeconds": 30}, 1, 90),
        ({"Type": "Canary", "StepPercent": 50}, 2, 600),
        ({"Type": "Linear", "StepPercent": 10}, 10, 3000),
        ({"Type": "Linear", "StepPercent": 30, "WaitIntervalInSeconds": 100}, 4, 400),
        ({"Type": "Linear", "StepPercent": 50, "TerminationWaitInSeconds": 3600}, 2, 4200),
    ],
)
def test_shifts_and_the_least_waiting_time(
    strategy: dict[str, Any], shifts: int, minimum_wait: int
) -> None:
    rollout = RolloutStrategy.from_section(strategy)
    assert rollout.traffic_shifts == shifts
    assert rollout.minimum_wait_seconds == minimum_wait
    accepted_by_botocore(rollout.deployment_config())


# --- ModelRegistrySection ----------------------------------------------------------------------


def test_registry_section_typed_with_its_approval_status() -> None:
    result = validate_document(
        timeseries(None, ModelPackageGroupName="demand-models", ApprovalRequired=True)
    )
    assert result.valid
    assert result.model_registry == ModelRegistrySection("demand-models", True, None)
    assert result.model_registry.approval_status == "PendingManualApproval"
    plain = validate_document(
        timeseries(None, ModelPackageGroupName="demand-models", Description="Daily demand")
    )
    assert plain.model_registry == ModelRegistrySection("demand-models", False, "Daily demand")
    assert plain.model_registry.approval_status == "Approved"
    assert validate_document(timeseries(None)).model_registry is None


def test_the_registry_section_is_stripped_from_the_request() -> None:
    result = validate_document(timeseries(None, ModelPackageGroupName="demand-models"))
    assert result.request is not None
    assert "Registry" not in result.request
    assert result.manifest is not None
    assert result.manifest.registry == {"ModelPackageGroupName": "demand-models"}


# --- The stack: parameter, environment, permission --------------------------------------------


@pytest.mark.parametrize("function", ["IngestManifestFunction", "JobsApiFunction"])
def test_submitting_doors_get_the_endpoints_requiring_approval(function: str) -> None:
    variables = RESOURCES[function]["Properties"]["Environment"]["Variables"]
    assert variables["POLICY_REQUIRE_APPROVAL_FOR_ENDPOINTS"] == {
        "Ref": "RequireApprovalForEndpoints"
    }
    assert TEMPLATE["Parameters"]["RequireApprovalForEndpoints"]["Default"] == ""


@pytest.mark.parametrize("owner", SUBMITTING_DOORS)
def test_submitting_doors_may_describe_this_accounts_alarms_only(owner: str) -> None:
    statements = [s for name, s in policy_statements() if name == owner]
    alarms = [
        s for s in statements if any(a.startswith("cloudwatch:") for a in as_list(s["Action"]))
    ]
    assert len(alarms) == 1
    assert as_list(alarms[0]["Action"]) == ["cloudwatch:DescribeAlarms"]
    assert alarms[0]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    }
    # The comment above the statement says why this scope, and what it cannot see.
    before = TEMPLATE_TEXT[: TEMPLATE_TEXT.index(f"Sid: {alarms[0]['Sid']}")]
    assert "composite alarms" in before.rsplit("- Sid:", 1)[-1]
