"""End to end on the offline stack: what AWS would refuse to host is refused first.

An AUTO-mode tabular job whose best candidate turns out to be a three-container inference
pipeline (the simulator's AUTO picks HYPERPARAMETER_TUNING from its data-size limit, lowered
here so that the examples' small data crosses it) asks for a serverless endpoint: FinalizeJob
ends with "AutoML Deployment Skipped" and the table's reason, and creates nothing. The same
manifest with an InstanceType deploys the pipeline. A plain boto3 client against the offline
endpoint meets the same refusals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from botocore.exceptions import ClientError

from autopilot_flow import deploy_targets
from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
SCHEMAS = ROOT / "schemas"
DEPLOYMENT_EVENTS = [
    "AutoML Model Deployed",
    "AutoML Deployment Skipped",
    "AutoML Deployment Failed",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineStack]:
    options = OfflineOptions(
        state_dir=tmp_path_factory.mktemp("state"),
        speed=1200,
    )
    with OfflineStack(options) as running:
        upload_example_data(running.client("s3"))
        yield running


@pytest.fixture(scope="module")
def deployments(stack: OfflineStack) -> str:
    """An SQS queue that receives every deployment event of the stack's bus."""
    sqs, events = stack.client("sqs"), stack.client("events")
    url: str = sqs.create_queue(QueueName="deployment-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    bus = stack.describe()["resources"]["EventBus"].split("/")[-1]
    events.put_rule(
        Name="deployment-events",
        EventBusName=bus,
        EventPattern=json.dumps({"detail-type": DEPLOYMENT_EVENTS}),
    )
    events.put_targets(
        Rule="deployment-events", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}]
    )
    return url


def auto_manifest(name: str, deployment: dict[str, Any]) -> bytes:
    """The churn example in AUTO mode (Mode and what only ENSEMBLING allows removed)."""
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document["AutoMLJobName"] = name
    config = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    for field in ("Mode", "SampleWeightAttributeName", "CandidateGenerationConfig"):
        config.pop(field)
    config["CompletionCriteria"]["MaxCandidates"] = 5
    document["Deployment"] = deployment
    return yaml.safe_dump(document, sort_keys=False).encode()


def final_events(stack: OfflineStack, queue: str, jobs: set[str]) -> dict[str, dict[str, Any]]:
    """The deployment event of each job, waiting until every one has arrived."""
    found: dict[str, dict[str, Any]] = {}
    sqs = stack.client("sqs")

    def arrived() -> bool:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            found[event["detail"]["jobName"]] = event
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return jobs <= set(found)

    assert stack.wait_for(arrived, timeout=120, interval=0.5), sorted(found)
    return found


def validate_event(event: dict[str, Any]) -> None:
    name = event["detail-type"].lower().replace(" ", "-") + ".json"
    jsonschema.validate(event, json.loads((SCHEMAS / name).read_text()))


def test_an_auto_job_that_trained_a_pipeline_is_skipped_serverless_and_deployed_on_instances(
    stack: OfflineStack, deployments: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stack.simulator is not None
    # Any data at all crosses the limit: AUTO trains HYPERPARAMETER_TUNING pipelines, and the
    # data preflight (in the ingest handler, in this process) says so.
    stack.simulator.auto_ensembling_limit_bytes = 1
    monkeypatch.setattr(deploy_targets, "AUTO_ENSEMBLING_LIMIT_BYTES", 1)
    bucket = stack.describe()["resources"]["ManifestsBucket"]
    s3 = stack.client("s3")
    serverless = {"EndpointName": "auto-serverless", "Serverless": {"MemorySizeInMB": 2048}}
    instances = {"EndpointName": "auto-instances", "InstanceType": "ml.m5.large"}
    s3.put_object(
        Bucket=bucket,
        Key="manifests/targets/auto-serverless.yaml",
        Body=auto_manifest("auto-serverless", serverless),
    )
    s3.put_object(
        Bucket=bucket,
        Key="manifests/targets/auto-instances.yaml",
        Body=auto_manifest("auto-instances", instances),
    )
    events = final_events(stack, deployments, {"auto-serverless", "auto-instances"})
    sagemaker = stack.client("sagemaker")
    for name in ("auto-serverless", "auto-instances"):
        assert stack.simulator.job(name).mode == "HYPERPARAMETER_TUNING"
        best = sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name)["BestCandidate"]
        assert len(best["InferenceContainers"]) == 3

    # The submitter was warned: validation (AUTO may choose pipelines) and the preflight
    # (the data's size settles it).
    receipt = json.loads(
        s3.get_object(Bucket=bucket, Key="receipts/targets/auto-serverless.yaml.json")["Body"]
        .read()
        .decode()
    )
    warnings = {(w["path"], w["code"]) for w in receipt["warnings"]}
    assert ("Deployment.Serverless", "target.auto_mode") in warnings
    assert ("AutoMLProblemTypeConfig.TabularJobConfig.Mode", "preflight.auto_mode") in warnings

    skipped = events["auto-serverless"]
    validate_event(skipped)
    assert skipped["detail-type"] == "AutoML Deployment Skipped"
    assert skipped["detail"]["reason"] == "target.pipeline"
    assert "cannot host an inference pipeline (3 containers)" in skipped["detail"]["message"]
    assert "Deployment.InstanceType" in skipped["detail"]["message"]
    # Nothing was created for it: the refusal came before CreateModel.
    assert not [
        m for m in sagemaker.list_models()["Models"] if m["ModelName"].startswith("auto-serverless")
    ]
    endpoints = {e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]}
    assert "auto-serverless" not in endpoints

    deployed = events["auto-instances"]
    validate_event(deployed)
    assert deployed["detail-type"] == "AutoML Model Deployed"
    assert sagemaker.describe_endpoint(EndpointName="auto-instances")["EndpointStatus"] in (
        "Creating",
        "InService",
    )
    model = sagemaker.describe_model(ModelName=deployed["detail"]["modelName"])
    assert len(model["Containers"]) == 3  # the pipeline, as Containers
    assert not model.get("PrimaryContainer")


def test_plain_boto3_against_the_offline_endpoint_is_refused_as_on_aws(
    stack: OfflineStack,
) -> None:
    sagemaker = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=stack.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    image = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-sklearn-automl:2.5-1-cpu-py3"
    role = "arn:aws:iam::123456789012:role/Outside"
    sagemaker.create_model(
        ModelName="outside-pipeline",
        ExecutionRoleArn=role,
        Containers=[{"Image": image}, {"Image": image}, {"Image": image}],
    )
    sagemaker.create_model(
        ModelName="outside-vpc",
        ExecutionRoleArn=role,
        PrimaryContainer={"Image": image},
        VpcConfig={"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]},
    )
    for model, code in (("outside-pipeline", "target.pipeline"), ("outside-vpc", "target.vpc")):
        with pytest.raises(ClientError) as caught:
            sagemaker.create_endpoint_config(
                EndpointConfigName=f"{model}-config",
                ProductionVariants=[
                    {
                        "VariantName": "AllTraffic",
                        "ModelName": model,
                        "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1},
                    }
                ],
            )
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert code in caught.value.response["Error"]["Message"]


def test_models_in_a_vpc_deploy_on_instances_one_container_or_a_pipeline(
    stack: OfflineStack, deployments: str
) -> None:
    """The four CreateModel shapes: here the two in a VPC (the churn example's ENSEMBLING
    model as a PrimaryContainer, an AUTO pipeline as Containers), both with the VpcConfig."""
    assert stack.simulator is not None
    stack.simulator.auto_ensembling_limit_bytes = 1
    bucket = stack.describe()["resources"]["ManifestsBucket"]
    vpc = {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]}
    pipeline = yaml.safe_load(
        auto_manifest(
            "vpc-pipeline", {"EndpointName": "vpc-pipeline", "InstanceType": "ml.m5.large"}
        )
    )
    one = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    one["AutoMLJobName"] = "vpc-one"
    one["Deployment"] = {"EndpointName": "vpc-one", "InstanceType": "ml.m5.large"}
    s3 = stack.client("s3")
    for document in (pipeline, one):
        document["SecurityConfig"] = {"VpcConfig": vpc}
        s3.put_object(
            Bucket=bucket,
            Key=f"manifests/targets/{document['AutoMLJobName']}.yaml",
            Body=yaml.safe_dump(document).encode(),
        )
    events = final_events(stack, deployments, {"vpc-pipeline", "vpc-one"})
    sagemaker = stack.client("sagemaker")
    for name, containers in (("vpc-pipeline", 3), ("vpc-one", 1)):
        event = events[name]
        validate_event(event)
        assert event["detail-type"] == "AutoML Model Deployed", event["detail"]
        model = sagemaker.describe_model(ModelName=event["detail"]["modelName"])
        assert model["VpcConfig"] == vpc
        if containers == 1:
            assert model["PrimaryContainer"]["Image"]
            assert not model.get("Containers")  # moto describes an empty list
        else:
            assert len(model["Containers"]) == containers
            assert not model.get("PrimaryContainer")


def test_an_endpoint_on_instances_is_not_turned_serverless(
    stack: OfflineStack, deployments: str
) -> None:
    """SageMaker cannot convert an instance-based endpoint to serverless (UpdateEndpoint
    refuses it): FinalizeJob skips with the table's reason and the live model stays."""
    bucket = stack.describe()["resources"]["ManifestsBucket"]
    s3, sagemaker = stack.client("s3"), stack.client("sagemaker")

    def upload(name: str, deployment: dict[str, Any]) -> None:
        document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
        document["AutoMLJobName"] = name
        document["Deployment"] = {"EndpointName": "convert-me", **deployment}
        s3.put_object(
            Bucket=bucket,
            Key=f"manifests/targets/{name}.yaml",
            Body=yaml.safe_dump(document).encode(),
        )

    upload("convert-first", {"InstanceType": "ml.m5.large"})
    first = final_events(stack, deployments, {"convert-first"})["convert-first"]
    assert first["detail-type"] == "AutoML Model Deployed", first["detail"]
    live_config = sagemaker.describe_endpoint(EndpointName="convert-me")["EndpointConfigName"]

    upload("convert-then", {"Serverless": {"MemorySizeInMB": 2048}, "OnlyIfBetter": False})
    skipped = final_events(stack, deployments, {"convert-then"})["convert-then"]
    validate_event(skipped)
    assert skipped["detail-type"] == "AutoML Deployment Skipped", skipped["detail"]
    assert skipped["detail"]["reason"] == "target.serverless_update"
    assert "runs on instances" in skipped["detail"]["message"]
    endpoint = sagemaker.describe_endpoint(EndpointName="convert-me")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == live_config
