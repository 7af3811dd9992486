"""What a manifest names beyond its own fields, checked at the S3 door before a job exists.

Issue 11: an endpoint of someone else named in ``Deployment`` (items 1), and data read from
outside ``AllowedS3Prefixes`` through a ManifestFile or AugmentedManifestFile (item 3). The
stack is provisioned from template.yaml in moto and the handler is the real IngestManifest.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from autopilot_flow.finalize import endpoint_key
from autopilot_flow.manifest import OUR_SECTIONS
from offline.autopilot_simulator import AutopilotSimulator
from tests.integration import test_ingest
from tests.integration.ingest_harness import (
    DATA_BUCKET,
    EXAMPLES,
    ROLE,
    IngestHarness,
    build_harness,
)

JOB = "churn-binary-2026-11"
FOREIGN = "fraud-scoring-prod"
OTHER_BUCKET = "someone-elses-bucket"

# The S3 door's fixtures, as test_ingest defines them.
aws_env = test_ingest.aws_env
harness = test_ingest.harness


def churn(**sections: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    for name in OUR_SECTIONS:
        document.pop(name, None)
    document.update(sections)
    return document


def upload(harness: IngestHarness, document: dict[str, Any], key: str = "manifests/x.json") -> str:
    harness.upload(key, json.dumps(document).encode())
    harness.source.drain()
    return key


def rejection(harness: IngestHarness, key: str) -> list[dict[str, str]]:
    assert harness.create_calls == []
    assert harness.keys("receipts/") == []
    report = harness.read_json(key.replace("manifests/", "rejections/", 1) + ".json")
    errors: list[dict[str, str]] = report["errors"]
    return errors


def create_endpoint_outside_the_stack(harness: IngestHarness, name: str = FOREIGN) -> None:
    """Another team's endpoint, made with their own calls: no record in our jobs table."""
    sagemaker = harness.client("sagemaker")
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def fail_describe_endpoint(harness: IngestHarness, code: str, status: int = 400) -> list[str]:
    """Every DescribeEndpoint of the handler's client answers ``code``: botocore turns the
    response into the ClientError AWS would cause (moto enforces no IAM here)."""
    calls: list[str] = []

    def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        calls.append(json.loads(params["body"])["EndpointName"])
        parsed = {"Error": {"Code": code, "Message": f"{code} for DescribeEndpoint"}}
        return AWSResponse("https://sagemaker", status, {}, None), parsed

    client = harness.service.ingestor.jobs.client
    client.meta.events.register("before-call.sagemaker.DescribeEndpoint", answer)
    return calls


# --- Issue 11.1: endpoints this stack did not create ---------------------------------------


def test_a_foreign_endpoint_is_refused_before_the_job_is_created(harness: IngestHarness) -> None:
    create_endpoint_outside_the_stack(harness)
    key = upload(harness, churn(Deployment={"EndpointName": FOREIGN, "OnlyIfBetter": False}))
    errors = rejection(harness, key)
    assert [(e["path"], e["code"]) for e in errors] == [
        ("Deployment.EndpointName", "deployment.endpoint_not_owned")
    ]
    assert (
        f"the endpoint {FOREIGN} exists but was not created by this service"
        in (errors[0]["message"])
    )
    # (SageMaker ignores case in endpoint names, so on AWS another spelling finds the same
    # endpoint; moto 5.2.5 compares them exactly, so that case is not tried here.)


def test_the_default_endpoint_name_is_checked_too(harness: IngestHarness) -> None:
    create_endpoint_outside_the_stack(harness, JOB)  # someone took the job's name
    key = upload(harness, churn(Deployment={"OnlyIfBetter": False}))
    assert [(e["path"], e["code"]) for e in rejection(harness, key)] == [
        ("Deployment.EndpointName", "deployment.endpoint_not_owned")
    ]


def test_sagemakers_own_deployment_to_a_foreign_endpoint_is_refused(
    harness: IngestHarness,
) -> None:
    create_endpoint_outside_the_stack(harness)
    document = churn(ModelDeployConfig={"AutoGenerateEndpointName": False, "EndpointName": FOREIGN})
    errors = rejection(harness, upload(harness, document))
    assert [(e["path"], e["code"]) for e in errors] == [
        ("ModelDeployConfig.EndpointName", "deployment.endpoint_not_owned")
    ]
    assert errors[0]["message"].endswith("Name another endpoint in ModelDeployConfig.EndpointName.")


def test_an_endpoint_this_stack_recorded_may_be_deployed_again(harness: IngestHarness) -> None:
    create_endpoint_outside_the_stack(harness, "churn-classifier")
    # What FinalizeJob's ClaimEndpoint/RecordLiveEndpoint leave in the jobs table.
    harness.client("dynamodb").put_item(
        TableName=harness.stack.physical("JobsTable"),
        Item={
            "jobKey": {"S": endpoint_key("churn-classifier")},
            "endpointName": {"S": "churn-classifier"},
            "liveJob": {"S": "churn-binary-2026-10"},
        },
    )
    calls = fail_describe_endpoint(harness, "AccessDeniedException")
    upload(harness, churn(Deployment={"EndpointName": "churn-classifier"}))
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]
    assert calls == []  # the record answers: SageMaker is not asked


def test_an_endpoint_that_does_not_exist_yet_is_free(harness: IngestHarness) -> None:
    upload(harness, churn(Deployment={"EndpointName": "churn-classifier"}))
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]


def test_access_denied_on_describe_endpoint_refuses_the_manifest(
    harness: IngestHarness,
) -> None:
    calls = fail_describe_endpoint(harness, "AccessDeniedException")
    key = upload(harness, churn(Deployment={"EndpointName": "churn-classifier"}))
    errors = rejection(harness, key)
    assert calls == ["churn-classifier"]
    assert [(e["path"], e["code"]) for e in errors] == [
        ("Deployment.EndpointName", "deployment.endpoint_unverified")
    ]
    assert "AccessDenied" not in errors[0]["message"]  # the raw name stays in the logs
    assert "could not be checked" in errors[0]["message"]


def test_throttled_describe_endpoint_is_retried_with_backoff(
    harness: IngestHarness, aws_env: AutopilotSimulator
) -> None:
    slept: list[float] = []  # a recording sleep, injected (the backoff keeps no record)
    harness.service.ingestor.jobs.backoff.sleep = slept.append
    aws_env.throttle_next(2, operation="DescribeEndpoint")
    upload(harness, churn(Deployment={"EndpointName": "churn-classifier"}))
    assert aws_env.throttled["DescribeEndpoint"] == 2
    assert len(slept) == 2
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]


def test_throttling_that_outlasts_the_backoff_keeps_the_manifest_queued(
    harness: IngestHarness, aws_env: AutopilotSimulator
) -> None:
    attempts = harness.service.ingestor.jobs.backoff.attempts
    aws_env.throttle_next(attempts, operation="DescribeEndpoint")
    harness.upload("manifests/x.json", json.dumps(churn(Deployment={})).encode())
    received = harness.source.receive()
    harness.source.deliver([m for m in received if "s3:TestEvent" in m["Body"]])
    messages = [m for m in received if "s3:TestEvent" not in m["Body"]]
    response = harness.source.deliver(messages)
    # Neither let through nor refused: the message comes back for another try.
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        messages[0]["MessageId"]
    ]
    assert aws_env.throttled["DescribeEndpoint"] == attempts
    assert harness.create_calls == []
    assert harness.keys("rejections/") == []
    assert harness.queue_depth("IngestQueue") == 1
    # The visibility timeout passes; SageMaker answers now: the job is created.
    harness.client("sqs").change_message_visibility(
        QueueUrl=harness.stack.physical("IngestQueue"),
        ReceiptHandle=messages[0]["ReceiptHandle"],
        VisibilityTimeout=0,
    )
    harness.source.drain()
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]


def test_sagemaker_out_of_reach_keeps_the_manifest_queued(harness: IngestHarness) -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com")

    client = harness.service.ingestor.jobs.client
    client.meta.events.register("before-send.sagemaker.DescribeEndpoint", unreachable)
    harness.upload("manifests/x.json", json.dumps(churn(Deployment={})).encode())
    received = harness.source.receive()
    harness.source.deliver([m for m in received if "s3:TestEvent" in m["Body"]])
    messages = [m for m in received if "s3:TestEvent" not in m["Body"]]
    response = harness.source.deliver(messages)
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        messages[0]["MessageId"]
    ]
    assert harness.create_calls == []
    assert harness.keys("rejections/") == []


def test_endpoint_names_outside_the_parameter_are_refused(aws_env: AutopilotSimulator) -> None:
    harness = build_harness({"AllowedEndpointNames": "churn-*,demand-forecast"})
    key = upload(harness, churn(Deployment={"EndpointName": "prod-api"}))
    errors = rejection(harness, key)
    assert [(e["path"], e["code"]) for e in errors] == [
        ("Deployment.EndpointName", "policy.endpoint_not_allowed")
    ]
    assert "allowed: churn-*, demand-forecast" in errors[0]["message"]
    upload(harness, churn(Deployment={"EndpointName": "churn-classifier"}), "manifests/ok.json")
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]


# --- Issue 11.3: locations inside manifest files ---------------------------------------------


def manifest_file_channels(uri: str, data_type: str = "ManifestFile") -> list[dict[str, Any]]:
    return [
        {
            "ChannelType": "training",
            "ContentType": "text/csv;header=present",
            "DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": uri}},
        }
    ]


def test_a_manifest_file_pointing_at_another_bucket_is_refused(harness: IngestHarness) -> None:
    s3 = harness.client("s3")
    s3.create_bucket(Bucket=OTHER_BUCKET)
    header = b"customer_id,tenure,plan,monthly_charge,account_weight,churned\n1,2,a,3,1,0\n"
    s3.put_object(Bucket=OTHER_BUCKET, Key="exfil/a.csv", Body=header)
    listing = [{"prefix": f"s3://{OTHER_BUCKET}/exfil/"}, "a.csv"]
    s3.put_object(Bucket=DATA_BUCKET, Key="churn/train.manifest", Body=json.dumps(listing))
    uri = f"s3://{DATA_BUCKET}/churn/train.manifest"  # under an allowed prefix itself
    key = upload(harness, churn(AutoMLJobInputDataConfig=manifest_file_channels(uri)))
    errors = rejection(harness, key)
    assert [(e["path"], e["code"]) for e in errors] == [
        (
            "AutoMLJobInputDataConfig[0].DataSource.S3DataSource.S3Uri",
            "preflight.manifest_location_not_allowed",
        )
    ]
    assert f"s3://{OTHER_BUCKET}/exfil/a.csv" in errors[0]["message"]


def test_an_augmented_manifest_referring_to_another_bucket_is_refused(
    harness: IngestHarness,
) -> None:
    s3 = harness.client("s3")
    key = "inspection/labels/output.manifest"  # the example's data, as offline up writes it
    lines = s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read().decode().splitlines()
    lines.append(json.dumps({"source-ref": f"s3://{OTHER_BUCKET}/private/1.jpg", "label": 1}))
    s3.put_object(Bucket=DATA_BUCKET, Key=key, Body="\n".join(lines).encode())
    harness.upload_example("defect-images.yaml")
    harness.source.drain()
    errors = rejection(harness, "manifests/defect-images.yaml")
    assert [e["code"] for e in errors] == ["preflight.manifest_location_not_allowed"]
    assert (
        f's3://{OTHER_BUCKET}/private/1.jpg (line {len(lines)} "source-ref")'
        in (errors[0]["message"])
    )


def test_with_the_preflight_off_a_manifest_file_is_refused(aws_env: AutopilotSimulator) -> None:
    harness = build_harness({"PreflightEnabled": "false"})
    uri = f"s3://{DATA_BUCKET}/churn/train.manifest"
    key = upload(harness, churn(AutoMLJobInputDataConfig=manifest_file_channels(uri)))
    errors = rejection(harness, key)
    assert [e["code"] for e in errors] == ["preflight.manifest_locations_not_checked"]
    assert "the data preflight is off" in errors[0]["message"]
    # S3Prefix channels need no reading: they still pass with the preflight off.
    upload(harness, churn(), "manifests/prefix.json")
    assert [c["AutoMLJobName"] for c in harness.create_calls] == [JOB]
