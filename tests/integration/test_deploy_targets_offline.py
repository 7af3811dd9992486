"""The offline stack refuses what AWS refuses: endpoints a model cannot run on, and AUTO's
choice of mode by the size of the data.

Real boto3 clients against moto with ``EndpointLifecycle`` (the endpoint simulation the
offline stack installs) and the Autopilot simulator: no fakes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from autopilot_flow import deploy_targets
from autopilot_flow.deploy_targets import AUTO_ENSEMBLING_LIMIT_BYTES
from autopilot_flow.preflight import run_preflight
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.moto_fixes import EndpointLifecycle

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-sklearn-automl:2.5-1-cpu-py3"
VPC = {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]}
SERVERLESS = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}


def container(name: str) -> dict[str, Any]:
    return {"Image": IMAGE, "ModelDataUrl": f"s3://models/{name}/model.tar.gz"}


@pytest.fixture
def sagemaker() -> Iterator[Any]:
    with mock_aws(), EndpointLifecycle():
        yield boto3.client("sagemaker", region_name=REGION)


def serverless_variant(model: str, **extra: Any) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "ServerlessConfig": SERVERLESS,
        **extra,
    }


def instance_variant(model: str) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }


def refused(call: Any, **kwargs: Any) -> str:
    """The ValidationException's message of a call that must be refused."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


# --- CreateEndpointConfig, called directly ----------------------------------------------------


def test_a_three_container_pipeline_is_refused_on_a_serverless_endpoint(sagemaker: Any) -> None:
    sagemaker.create_model(
        ModelName="pipeline",
        ExecutionRoleArn=ROLE,
        Containers=[container("dpp"), container("xgboost"), container("inverse")],
    )
    message = refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName="pipeline-serverless",
        ProductionVariants=[serverless_variant("pipeline")],
    )
    assert "not supported" in message
    assert "inference pipeline (3 containers)" in message and "target.pipeline" in message
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    # The same pipeline on instances is what AWS hosts.
    sagemaker.create_endpoint_config(
        EndpointConfigName="pipeline-instances", ProductionVariants=[instance_variant("pipeline")]
    )
    sagemaker.create_endpoint(EndpointName="pipeline", EndpointConfigName="pipeline-instances")


def test_a_vpc_model_is_refused_on_a_serverless_endpoint(sagemaker: Any) -> None:
    sagemaker.create_model(
        ModelName="in-vpc", ExecutionRoleArn=ROLE, PrimaryContainer=container("a"), VpcConfig=VPC
    )
    message = refused(
        sagemaker.create_endpoint_config,
        EndpointConfigName="vpc-serverless",
        ProductionVariants=[serverless_variant("in-vpc")],
    )
    assert "target.vpc" in message and "VPC" in message
    sagemaker.create_endpoint_config(
        EndpointConfigName="vpc-instances", ProductionVariants=[instance_variant("in-vpc")]
    )


def test_a_one_container_model_is_hosted_serverless(sagemaker: Any) -> None:
    sagemaker.create_model(ModelName="one", ExecutionRoleArn=ROLE, PrimaryContainer=container("a"))
    sagemaker.create_endpoint_config(
        EndpointConfigName="one-serverless", ProductionVariants=[serverless_variant("one")]
    )
    sagemaker.create_endpoint(EndpointName="one", EndpointConfigName="one-serverless")
    assert sagemaker.describe_endpoint(EndpointName="one")["EndpointStatus"] == "Creating"


def test_every_other_serverless_exclusion_is_refused(sagemaker: Any) -> None:
    sagemaker.create_model(ModelName="one", ExecutionRoleArn=ROLE, PrimaryContainer=container("a"))
    sagemaker.create_model(
        ModelName="isolated",
        ExecutionRoleArn=ROLE,
        PrimaryContainer=container("a"),
        EnableNetworkIsolation=True,
    )
    cases = {
        "target.network_isolation": {"ProductionVariants": [serverless_variant("isolated")]},
        "target.kms_key": {
            "ProductionVariants": [serverless_variant("one")],
            "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd",
        },
        "target.multiple_variants": {
            "ProductionVariants": [
                serverless_variant("one"),
                {**serverless_variant("one"), "VariantName": "Second"},
            ]
        },
        "target.data_capture": {
            "ProductionVariants": [serverless_variant("one")],
            "DataCaptureConfig": {
                "InitialSamplingPercentage": 100,
                "DestinationS3Uri": "s3://capture/",
                "CaptureOptions": [{"CaptureMode": "Input"}],
            },
        },
    }
    for index, (code, request) in enumerate(cases.items()):
        message = refused(
            sagemaker.create_endpoint_config, EndpointConfigName=f"config-{index}", **request
        )
        assert code in message, (code, message)
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_an_instance_endpoint_is_never_updated_to_serverless(sagemaker: Any) -> None:
    sagemaker.create_model(ModelName="one", ExecutionRoleArn=ROLE, PrimaryContainer=container("a"))
    sagemaker.create_endpoint_config(
        EndpointConfigName="instances", ProductionVariants=[instance_variant("one")]
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="instances-2", ProductionVariants=[instance_variant("one")]
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="serverless", ProductionVariants=[serverless_variant("one")]
    )
    sagemaker.create_endpoint(EndpointName="on-instances", EndpointConfigName="instances")
    sagemaker.create_endpoint(EndpointName="on-serverless", EndpointConfigName="serverless")
    for name in ("on-instances", "on-serverless"):
        # EndpointLifecycle: Creating at the first describe, InService at the second.
        statuses = [sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] for _ in "ab"]
        assert statuses == ["Creating", "InService"]
    message = refused(
        sagemaker.update_endpoint, EndpointName="on-instances", EndpointConfigName="serverless"
    )
    assert "target.serverless_update" in message
    described = sagemaker.describe_endpoint(EndpointName="on-instances")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "instances"
    # Instances to instances, and serverless to instances, are ordinary updates.
    sagemaker.update_endpoint(EndpointName="on-instances", EndpointConfigName="instances-2")
    sagemaker.update_endpoint(EndpointName="on-serverless", EndpointConfigName="instances")


def test_a_config_made_before_the_rules_is_refused_at_create_endpoint() -> None:
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model(
            ModelName="pipeline",
            ExecutionRoleArn=ROLE,
            Containers=[container("dpp"), container("xgboost"), container("inverse")],
        )
        # moto alone accepts it (the deviation the lifecycle fixes).
        sagemaker.create_endpoint_config(
            EndpointConfigName="early", ProductionVariants=[serverless_variant("pipeline")]
        )
        with EndpointLifecycle():
            message = refused(
                sagemaker.create_endpoint, EndpointName="late", EndpointConfigName="early"
            )
            assert "target.pipeline" in message
            assert sagemaker.list_endpoints()["Endpoints"] == []


def test_uninstall_gives_moto_back() -> None:
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        sagemaker.create_model(
            ModelName="in-vpc",
            ExecutionRoleArn=ROLE,
            PrimaryContainer=container("a"),
            VpcConfig=VPC,
        )
        with EndpointLifecycle():
            refused(
                sagemaker.create_endpoint_config,
                EndpointConfigName="c1",
                ProductionVariants=[serverless_variant("in-vpc")],
            )
        sagemaker.create_endpoint_config(
            EndpointConfigName="c1", ProductionVariants=[serverless_variant("in-vpc")]
        )


# --- AUTO mode: the simulator decides by the size of the data ---------------------------------


def auto_request(
    name: str, uri: str = "s3://data/train/", data_type: str = "S3Prefix"
) -> dict[str, Any]:
    return {
        "AutoMLJobName": name,
        "AutoMLJobInputDataConfig": [
            {
                "ChannelType": "training",
                "ContentType": "text/csv;header=present",
                "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": uri}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/out/"},
        "AutoMLProblemTypeConfig": {
            "TabularJobConfig": {"TargetAttributeName": "y", "ProblemType": "BinaryClassification"}
        },
        "AutoMLJobObjective": {"MetricName": "F1"},
        "RoleArn": ROLE,
    }


@pytest.fixture
def world() -> Iterator[tuple[AutopilotSimulator, Any, Any]]:
    with mock_aws(), AutopilotSimulator(clock=ManualClock(), seed=3) as sim:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="train/part-1.csv", Body=b"a,y\n" + b"1,0\n" * 2000)
        s3.put_object(Bucket="data", Key="train/part-2.csv", Body=b"a,y\n" + b"2,1\n" * 2000)
        s3.put_object(Bucket="data", Key="other/big.csv", Body=b"x" * 50_000)
        yield sim, boto3.client("sagemaker", region_name=REGION), s3


def best_containers(sim: AutopilotSimulator, sagemaker: Any, name: str) -> list[dict[str, Any]]:
    sim.run_until_idle()
    job = sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name)
    assert job["AutoMLJobStatus"] == "Completed"
    containers: list[dict[str, Any]] = job["BestCandidate"]["InferenceContainers"]
    return containers


def test_auto_with_data_under_the_limit_trains_one_container_models(
    world: tuple[AutopilotSimulator, Any, Any],
) -> None:
    sim, sagemaker, _ = world
    assert sim.auto_ensembling_limit_bytes == AUTO_ENSEMBLING_LIMIT_BYTES  # AWS's 100 MB
    sagemaker.create_auto_ml_job_v2(**auto_request("small"))
    job = sim.job("small")
    assert job.data_bytes == 2 * (4 + 2000 * 4)  # both objects under the prefix, no other
    assert job.mode == "ENSEMBLING"
    assert len(best_containers(sim, sagemaker, "small")) == 1


def test_auto_with_data_from_the_limit_trains_three_container_pipelines(
    world: tuple[AutopilotSimulator, Any, Any],
) -> None:
    sim, sagemaker, _ = world
    sim.auto_ensembling_limit_bytes = 16_008  # exactly the data: "from" the limit
    sagemaker.create_auto_ml_job_v2(**auto_request("large"))
    assert sim.job("large").mode == "HYPERPARAMETER_TUNING"
    containers = best_containers(sim, sagemaker, "large")
    modes = [c.get("Environment", {}).get("AUTOML_TRANSFORM_MODE") for c in containers]
    assert modes == ["feature-transform", None, "inverse-label-transform"]


def test_an_explicit_mode_or_a_manifest_file_ignores_the_size(
    world: tuple[AutopilotSimulator, Any, Any],
) -> None:
    sim, sagemaker, _ = world
    sim.auto_ensembling_limit_bytes = 1
    request = auto_request("explicit")
    request["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] = "ENSEMBLING"
    sagemaker.create_auto_ml_job_v2(**request)
    assert sim.job("explicit").mode == "ENSEMBLING"
    assert sim.job("explicit").data_bytes == 0  # not even listed
    sagemaker.create_auto_ml_job_v2(
        **auto_request("listed", "s3://data/train.manifest", "ManifestFile")
    )
    assert sim.job("listed").mode == "ENSEMBLING"
    sagemaker.create_auto_ml_job_v2(**auto_request("missing", "s3://no-such-bucket/train/"))
    assert sim.job("missing").mode == "ENSEMBLING"


# --- the data preflight says which mode AUTO will pick ------------------------------------------


@pytest.fixture
def s3_data() -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="train/part-1.csv", Body=b"a,y\n" + b"1,0\n" * 300)
        s3.put_object(Bucket="data", Key="train/part-2.csv", Body=b"a,y\n" + b"2,1\n" * 300)
        yield s3


def auto_mode_warnings(s3: Any, request: dict[str, Any]) -> list[tuple[str, str, str]]:
    result = run_preflight(s3, request)
    assert result.errors == []
    return [(w.path, w.code, w.message) for w in result.warnings if w.code == "preflight.auto_mode"]


def test_the_preflight_warns_when_the_data_size_makes_auto_train_pipelines(
    s3_data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 x 1,204 bytes listed; a limit below that stands in for AWS's 100 MB.
    monkeypatch.setattr(deploy_targets, "AUTO_ENSEMBLING_LIMIT_BYTES", 2408)
    ((path, code, message),) = auto_mode_warnings(s3_data, auto_request("big"))
    assert path == "AutoMLProblemTypeConfig.TabularJobConfig.Mode"
    assert code == "preflight.auto_mode"
    assert "HYPERPARAMETER_TUNING" in message and "Deployment.InstanceType" in message


def test_the_preflight_stays_quiet_below_the_limit_or_with_an_explicit_mode(
    s3_data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy_targets, "AUTO_ENSEMBLING_LIMIT_BYTES", 2409)
    assert auto_mode_warnings(s3_data, auto_request("small")) == []  # ENSEMBLING: one container
    monkeypatch.setattr(deploy_targets, "AUTO_ENSEMBLING_LIMIT_BYTES", 1)
    explicit = auto_request("explicit")
    explicit["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] = "ENSEMBLING"
    assert auto_mode_warnings(s3_data, explicit) == []
    assert auto_mode_warnings(s3_data, auto_request("auto")) != []
