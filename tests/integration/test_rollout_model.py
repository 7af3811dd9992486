"""Blue/green UpdateEndpoint offline: ``EndpointLifecycle`` with a ``DeploymentConfig``
(``offline.rollouts``), driven by real boto3 clients against moto and a ``ManualClock``.

moto 5.2.5 has no UpdateEndpoint; every rollout here runs as AWS documents it: the green
fleet is provisioned (``describes_until_ready`` DescribeEndpoint calls), traffic shifts in
steps that each bake ``WaitIntervalInSeconds``, a final ``TerminationWaitInSeconds``, and a
rollback alarm in ALARM in moto's CloudWatch (``set_alarm_state``) during any baking period
sends all traffic back: InService on the old config.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from offline.autopilot_simulator import ManualClock
from offline.moto_fixes import EndpointLifecycle

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-sklearn-automl:2.5-1-cpu-py3"
ENDPOINT = "churn-classifier"
ALARM = "churn-classifier-5xx"


@dataclass
class World:
    sagemaker: Any
    cloudwatch: Any
    clock: ManualClock
    life: EndpointLifecycle

    def config(
        self,
        name: str,
        instances: int | None = 4,
        instance_type: str = "ml.m5.xlarge",
        variant: str = "AllTraffic",
    ) -> str:
        self.sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": f"s3://models/{name}.tar.gz"},
        )
        production: dict[str, Any] = {"VariantName": variant, "ModelName": name}
        if instances is None:
            production["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
        else:
            production.update(InstanceType=instance_type, InitialInstanceCount=instances)
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=f"{name}-config", ProductionVariants=[production]
        )
        return f"{name}-config"

    def live(self, config: str) -> None:
        """An InService endpoint on ``config``."""
        self.sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=config)
        assert self.until_settled()["EndpointConfigName"] == config

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = self.sagemaker.describe_endpoint(EndpointName=ENDPOINT)
        return described

    def until_settled(self, limit: int = 10) -> dict[str, Any]:
        """DescribeEndpoint until the endpoint is no longer Creating or Updating (as
        FinalizeJob's wait loop does), without moving the clock."""
        for _ in range(limit):
            described = self.describe()
            if described["EndpointStatus"] not in {"Creating", "Updating"}:
                return described
        raise AssertionError(f"still {described['EndpointStatus']} after {limit} describes")

    def provisioned(self) -> dict[str, Any]:
        """Describe past the green fleet's provisioning: the first baking stage."""
        for _ in range(self.life.describes_until_ready + 1):
            described = self.describe()
        return described

    def alarm(self, name: str = ALARM) -> None:
        self.cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Dimensions=[
                {"Name": "EndpointName", "Value": ENDPOINT},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )

    def trip(self, name: str = ALARM, state: str = "ALARM") -> None:
        self.cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


@pytest.fixture
def world() -> Iterator[World]:
    clock = ManualClock()
    with mock_aws(), EndpointLifecycle(describes_until_ready=2, clock=clock) as life:
        yield World(
            boto3.client("sagemaker", region_name=REGION),
            boto3.client("cloudwatch", region_name=REGION),
            clock,
            life,
        )


def blue_green(
    routing: str = "CANARY",
    *,
    wait: int = 300,
    termination: int = 600,
    size: dict[str, Any] | None = None,
    alarms: tuple[str, ...] = (ALARM,),
    timeout: int | None = 3600,
) -> dict[str, Any]:
    traffic: dict[str, Any] = {"Type": routing, "WaitIntervalInSeconds": wait}
    if routing == "CANARY":
        traffic["CanarySize"] = size or {"Type": "INSTANCE_COUNT", "Value": 1}
    if routing == "LINEAR":
        traffic["LinearStepSize"] = size or {"Type": "CAPACITY_PERCENT", "Value": 25}
    policy: dict[str, Any] = {
        "TrafficRoutingConfiguration": traffic,
        "TerminationWaitInSeconds": termination,
    }
    if timeout is not None:
        policy["MaximumExecutionTimeoutInSeconds"] = timeout
    config: dict[str, Any] = {"BlueGreenUpdatePolicy": policy}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


def stage(described: dict[str, Any]) -> tuple[str, float, int]:
    """(VariantStatus, CurrentWeight, CurrentInstanceCount) of the pending green variant."""
    [variant] = described["PendingDeploymentSummary"]["ProductionVariants"]
    [status] = variant["VariantStatus"]
    return status["Status"], variant["CurrentWeight"], variant["CurrentInstanceCount"]


def refused(world: World, config: str, deployment: dict[str, Any]) -> str:
    with pytest.raises(ClientError) as caught:
        world.sagemaker.update_endpoint(
            EndpointName=ENDPOINT, EndpointConfigName=config, DeploymentConfig=deployment
        )
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    # Refused means untouched: still InService on the old config.
    described = world.describe()
    assert described["EndpointStatus"] == "InService"
    assert "PendingDeploymentSummary" not in described
    return str(error["Message"])


# --- each traffic routing type reaches InService on the new config ----------------------------


def test_a_canary_bakes_its_canary_then_the_full_fleet_then_serves_the_new_config(
    world: World,
) -> None:
    world.alarm()
    world.live(world.config("blue"))
    deployment = blue_green("CANARY", wait=300, termination=600)
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT, EndpointConfigName=world.config("green"), DeploymentConfig=deployment
    )
    described = world.describe()
    assert described["EndpointStatus"] == "Updating"
    assert described["EndpointConfigName"] == "blue-config"  # the old one serves meanwhile
    assert described["PendingDeploymentSummary"]["EndpointConfigName"] == "green-config"
    assert stage(described) == ("Creating", 0.0, 0)
    assert described["LastDeploymentConfig"] == deployment

    assert stage(world.provisioned()) == ("Baking", 0.25, 1)  # the canary: 1 of 4 instances
    world.clock.advance(299)
    assert stage(world.describe()) == ("Baking", 0.25, 1)
    world.clock.advance(1)
    described = world.describe()
    assert stage(described) == ("Baking", 1.0, 4)
    [status] = described["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"]
    assert "WaitIntervalInSeconds" in status["StatusMessage"]
    world.clock.advance(300)
    described = world.describe()
    [status] = described["PendingDeploymentSummary"]["ProductionVariants"][0]["VariantStatus"]
    assert "TerminationWaitInSeconds" in status["StatusMessage"]
    world.clock.advance(599)
    assert world.describe()["EndpointStatus"] == "Updating"
    world.clock.advance(1)
    described = world.describe()
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "green-config"
    assert "PendingDeploymentSummary" not in described
    assert "FailureReason" not in described
    assert described["LastDeploymentConfig"] == deployment
    [rollout] = world.life.rollouts[ENDPOINT]
    assert rollout.outcome == "InService"
    assert rollout.stages == ["Creating", "Baking"]


def test_linear_shifts_in_equal_steps(world: World) -> None:
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("LINEAR", wait=60, termination=0, alarms=()),
    )
    seen = [stage(world.provisioned())]
    for _ in range(3):
        world.clock.advance(60)
        seen.append(stage(world.describe()))
    assert seen == [
        ("Baking", 0.25, 1),
        ("Baking", 0.5, 2),
        ("Baking", 0.75, 3),
        ("Baking", 1.0, 4),
    ]
    world.clock.advance(60)
    described = world.describe()
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "InService",
        "green-config",
    )


def test_linear_in_instances_rounds_the_last_step_to_the_fleet(world: World) -> None:
    world.live(world.config("blue", instances=5))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green", instances=5),
        DeploymentConfig=blue_green(
            "LINEAR", wait=10, termination=0, size={"Type": "INSTANCE_COUNT", "Value": 2}
        ),
    )
    seen = [stage(world.provisioned())[2]]
    for _ in range(2):
        world.clock.advance(10)
        seen.append(stage(world.describe())[2])
    assert seen == [2, 4, 5]


def test_all_at_once_shifts_everything_then_bakes(world: World) -> None:
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("ALL_AT_ONCE", wait=120, termination=120),
    )
    assert stage(world.provisioned()) == ("Baking", 1.0, 4)
    world.clock.advance(239)
    assert world.describe()["EndpointStatus"] == "Updating"
    world.clock.advance(1)
    assert world.describe()["EndpointConfigName"] == "green-config"


def test_no_waits_finish_right_after_provisioning(world: World) -> None:
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("ALL_AT_ONCE", wait=0, termination=0, timeout=None),
    )
    described = world.until_settled()
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "InService",
        "green-config",
    )


def test_a_rollback_configuration_alone_means_all_at_once(world: World) -> None:
    world.live(world.config("blue"))
    deployment = {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": ALARM}]}}
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT, EndpointConfigName=world.config("green"), DeploymentConfig=deployment
    )
    described = world.until_settled()
    assert described["EndpointConfigName"] == "green-config"
    assert described["LastDeploymentConfig"] == deployment


# --- alarms ------------------------------------------------------------------------------------


def test_an_alarm_during_the_canary_bake_rolls_back_to_the_old_config(world: World) -> None:
    world.alarm()
    world.alarm("latency")  # another alarm, not a rollback alarm of this update
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("CANARY"),
    )
    assert stage(world.provisioned())[0] == "Baking"
    world.clock.advance(100)
    world.trip("latency")
    assert world.describe()["EndpointStatus"] == "Updating"  # not one of ours: no rollback
    world.trip()
    world.trip(state="OK")  # it fired during the bake: recovering later changes nothing
    world.clock.advance(10_000)
    described = world.describe()
    # The silent rollback: InService, and the old config, not the one sent.
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "blue-config"
    assert ALARM in described["FailureReason"]
    assert "PendingDeploymentSummary" not in described
    assert described["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert world.life.rollouts[ENDPOINT][-1].outcome == "RolledBack"
    # Still serving blue, and open to the next update.
    world.clock.advance(60)
    assert world.describe()["EndpointConfigName"] == "blue-config"
    world.trip(state="OK")
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName="green-config",
        DeploymentConfig=blue_green("ALL_AT_ONCE", wait=0, termination=0, timeout=None),
    )
    assert world.until_settled()["EndpointConfigName"] == "green-config"


def test_an_alarm_during_the_termination_wait_rolls_back(world: World) -> None:
    world.alarm()
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("LINEAR", wait=60, termination=600),
    )
    world.provisioned()
    world.clock.advance(4 * 60 + 599)  # the last second of the termination wait
    world.trip()
    world.clock.advance(1)
    described = world.describe()
    assert described["EndpointConfigName"] == "blue-config"
    assert described["EndpointStatus"] == "InService"


def test_an_alarm_already_in_alarm_when_the_update_starts_rolls_it_back(world: World) -> None:
    world.alarm()
    world.live(world.config("blue"))
    world.trip()
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("CANARY"),
    )
    described = world.until_settled()
    assert described["EndpointConfigName"] == "blue-config"


def test_an_alarm_after_the_rollout_finished_changes_nothing(world: World) -> None:
    world.alarm()
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("CANARY", wait=300, termination=600),
    )
    world.provisioned()
    world.clock.advance(300 + 300 + 600)  # every baking period is over, not yet observed
    world.trip()
    described = world.describe()
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "InService",
        "green-config",
    )
    assert "FailureReason" not in described
    world.clock.advance(60)
    assert world.describe()["EndpointConfigName"] == "green-config"


def test_an_alarm_that_does_not_exist_never_trips(world: World) -> None:
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("CANARY", alarms=("no-such-alarm",)),
    )
    world.provisioned()
    world.clock.advance(1200)
    assert world.describe()["EndpointConfigName"] == "green-config"


def test_inf1_falls_back_to_all_at_once_without_baking(world: World) -> None:
    world.alarm()
    world.live(world.config("blue", instance_type="ml.inf1.xlarge"))
    world.trip()
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green", instance_type="ml.inf1.xlarge"),
        DeploymentConfig=blue_green("CANARY"),
    )
    # Exclusions: no guardrails on Inf1, so no baking period and no alarm watch.
    assert world.until_settled()["EndpointConfigName"] == "green-config"


def test_an_update_during_a_rollout_is_refused(world: World) -> None:
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("CANARY"),
    )
    world.provisioned()
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        world.sagemaker.update_endpoint(
            EndpointName=ENDPOINT, EndpointConfigName="blue-config", DeploymentConfig=blue_green()
        )


# --- what AWS refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        (
            blue_green(termination=3601),
            "'deploymentConfig.blueGreenUpdatePolicy.terminationWaitInSeconds' failed to satisfy "
            "constraint: Member must have value less than or equal to 3600",
        ),
        (
            blue_green(wait=3601),
            "'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration."
            "waitIntervalInSeconds' failed to satisfy constraint: Member must have value less "
            "than or equal to 3600",
        ),
        (
            blue_green(timeout=28801),
            "maximumExecutionTimeoutInSeconds' failed to satisfy constraint: Member must have "
            "value less than or equal to 28800",
        ),
        (
            blue_green("SOMETIMES"),
            "Member must satisfy enum value set: [ALL_AT_ONCE, CANARY, LINEAR]",
        ),
        (
            blue_green(size={"Type": "HALF", "Value": 1}),
            "Member must satisfy enum value set: [INSTANCE_COUNT, CAPACITY_PERCENT]",
        ),
        (
            blue_green(alarms=tuple(f"alarm-{i}" for i in range(11))),
            "'deploymentConfig.autoRollbackConfiguration.alarms' failed to satisfy constraint: "
            "Member must have length less than or equal to 10",
        ),
        (blue_green(size={"Type": "INSTANCE_COUNT", "Value": 3}), "it must be at most 50%"),
        (blue_green(size={"Type": "CAPACITY_PERCENT", "Value": 51}), "it must be at most 50%"),
        (blue_green("LINEAR", size={"Type": "CAPACITY_PERCENT", "Value": 5}), "it must be 10-50%"),
        (blue_green("LINEAR", size={"Type": "INSTANCE_COUNT", "Value": 3}), "it must be 10-50%"),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 60}
                }
            },
            "CanarySize is required",
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "LINEAR", "WaitIntervalInSeconds": 60}
                }
            },
            "LinearStepSize is required",
        ),
        (
            blue_green(wait=600, termination=1800, timeout=2400),
            "MaximumExecutionTimeoutInSeconds 2400 must be larger than the total waiting time "
            "of the deployment (3000 seconds)",
        ),
        (
            {
                **blue_green(),
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 60,
                },
            },
            "Only one update policy",
        ),
        (
            {
                "RollingUpdatePolicy": {
                    "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
                    "WaitIntervalInSeconds": 60,
                }
            },
            "RollingUpdatePolicy is not modelled",
        ),
    ],
)
def test_invalid_deployment_configs_are_refused(
    world: World, deployment: dict[str, Any], expected: str
) -> None:
    world.live(world.config("blue"))
    message = refused(world, world.config("green"), deployment)
    assert expected in message, message
    assert message.startswith("1 validation error detected: ")
    assert world.life.rollouts == {}


def test_the_minima_are_botocore_s_own_check(world: World) -> None:
    from botocore.exceptions import ParamValidationError

    world.live(world.config("blue"))
    with pytest.raises(ParamValidationError, match="valid min value: 600"):
        world.sagemaker.update_endpoint(
            EndpointName=ENDPOINT,
            EndpointConfigName=world.config("green"),
            DeploymentConfig=blue_green(timeout=599),
        )


def test_a_new_variant_name_is_refused(world: World) -> None:
    world.live(world.config("blue"))
    message = refused(world, world.config("green", variant="Green"), blue_green())
    assert "same variant names" in message


def test_a_canary_on_a_serverless_variant_is_refused(world: World) -> None:
    world.live(world.config("blue", instances=None))
    message = refused(world, world.config("green", instances=None), blue_green())
    assert "serverless" in message
    # All at once is a plain blue/green update: accepted.
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName="green-config",
        DeploymentConfig=blue_green("ALL_AT_ONCE", wait=0, termination=0, timeout=None),
    )
    assert world.until_settled()["EndpointConfigName"] == "green-config"


def test_a_canary_on_one_instance_is_refused(world: World) -> None:
    # One instance: a canary of one is the whole fleet (100% > 50%).
    world.live(world.config("blue", instances=1))
    assert "at most 50%" in refused(world, world.config("green", instances=1), blue_green())


# --- without a DeploymentConfig, and uninstall ---------------------------------------------------


def test_an_update_without_deployment_config_keeps_the_plain_life_cycle(world: World) -> None:
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(EndpointName=ENDPOINT, EndpointConfigName=world.config("green"))
    described = world.describe()
    assert described["EndpointStatus"] == "Updating"
    assert "PendingDeploymentSummary" not in described
    assert "LastDeploymentConfig" not in described
    assert world.until_settled()["EndpointConfigName"] == "green-config"
    assert world.life.rollouts == {}


def test_uninstall_restores_moto() -> None:
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.sagemaker.models import SageMakerModelBackend

    set_alarm_state = CloudWatchBackend.set_alarm_state
    clock = ManualClock()
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        life = EndpointLifecycle(clock=clock).install()
        assert CloudWatchBackend.set_alarm_state is not set_alarm_state
        world = World(sagemaker, cloudwatch, clock, life)
        world.alarm()
        world.live(world.config("blue"))
        life.uninstall()
        assert CloudWatchBackend.set_alarm_state is set_alarm_state
        assert not hasattr(SageMakerModelBackend, "update_endpoint")
        # moto's own answer again: no UpdateEndpoint at all.
        with pytest.raises(NotImplementedError, match="update_endpoint action has not been"):
            sagemaker.update_endpoint(
                EndpointName=ENDPOINT,
                EndpointConfigName=world.config("green"),
                DeploymentConfig=blue_green(),
            )
        world.trip()  # plain moto: nothing listens
        assert life.rollouts == {}


def test_a_rollout_ends_with_its_endpoint(world: World) -> None:
    world.alarm()
    world.live(world.config("blue"))
    world.sagemaker.update_endpoint(
        EndpointName=ENDPOINT,
        EndpointConfigName=world.config("green"),
        DeploymentConfig=blue_green("CANARY"),
    )
    world.provisioned()
    world.sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    world.sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="blue-config")
    world.trip()  # the old rollout's alarm: nothing to roll back any more
    described = world.until_settled()
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
        "InService",
        "blue-config",
    )
    assert "PendingDeploymentSummary" not in described
    assert "FailureReason" not in described
