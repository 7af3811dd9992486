"""The API door refuses what the S3 door refuses (issue 11): someone else's endpoint in
``Deployment``, and data read from outside ``AllowedS3Prefixes`` through a manifest file.

The real JobsApi handler on the stack provisioned from template.yaml in moto; answers are
checked against openapi.json and for leaks (see jobs_api_harness).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from offline.autopilot_simulator import AutopilotSimulator
from tests.integration import test_jobs_api
from tests.integration.ingest_harness import DATA_BUCKET, EXAMPLES, ROLE
from tests.integration.jobs_api_harness import (
    ApiHarness,
    new_request,
    sample,
    set_header,
    with_body,
)

FOREIGN = "fraud-scoring-prod"

# The API door's fixtures, as test_jobs_api defines them.
simulator = test_jobs_api.simulator
api = test_jobs_api.api


def churn(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document.update(changes)
    return document


def submit(api: ApiHarness, document: dict[str, Any], *, dry_run: bool = False) -> Any:
    name = "post-jobs-validate.json" if dry_run else "post-jobs-json.json"
    event = with_body(sample(name), json.dumps(document), "application/json")
    set_header(event, "X-Manifest-Name", None)
    return api.call(new_request(event, "req-guardrails"))


def foreign_endpoint(api: ApiHarness) -> None:
    sagemaker = api.ingest.client("sagemaker")
    sagemaker.create_model(
        ModelName="fraud-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="fraud-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "fraud-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=FOREIGN, EndpointConfigName="fraud-config")


def found(errors: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(e["path"], e["code"]) for e in errors]


def test_a_foreign_endpoint_is_422_and_no_job(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    foreign_endpoint(api)
    answer = submit(api, churn(Deployment={"EndpointName": FOREIGN, "OnlyIfBetter": False}))
    assert answer.status == 422
    assert found(answer.body["errors"]) == [
        ("Deployment.EndpointName", "deployment.endpoint_not_owned")
    ]
    assert simulator.calls["CreateAutoMLJobV2"] == 0


def test_the_dry_run_reports_a_foreign_endpoint(api: ApiHarness) -> None:
    foreign_endpoint(api)
    answer = submit(api, churn(Deployment={"EndpointName": FOREIGN}), dry_run=True)
    assert answer.status == 200
    assert answer.body["valid"] is False
    assert found(answer.body["errors"]) == [
        ("Deployment.EndpointName", "deployment.endpoint_not_owned")
    ]


def test_an_endpoint_check_throttled_past_the_backoff_is_503(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    attempts = api.service.ingestor.jobs.backoff.attempts
    for dry_run in (True, False):
        simulator.throttle_next(attempts, operation="DescribeEndpoint")
        answer = submit(api, churn(), dry_run=dry_run)
        assert answer.status == 503
        assert "Retry-After" in answer.headers
    assert simulator.calls["CreateAutoMLJobV2"] == 0
    simulator.clear_faults()
    assert submit(api, churn()).status == 202


def test_a_manifest_file_pointing_at_another_bucket_is_422(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    s3 = api.ingest.client("s3")
    listing = [{"prefix": "s3://someone-elses-bucket/exfil/"}, "a.csv"]
    s3.put_object(Bucket=DATA_BUCKET, Key="churn/train.manifest", Body=json.dumps(listing))
    channel = {
        "ChannelType": "training",
        "ContentType": "text/csv;header=present",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "ManifestFile",
                "S3Uri": f"s3://{DATA_BUCKET}/churn/train.manifest",
            }
        },
    }
    answer = submit(api, churn(AutoMLJobInputDataConfig=[channel]))
    assert answer.status == 422
    codes = [e["code"] for e in answer.body["errors"]]
    assert "preflight.manifest_location_not_allowed" in codes
    assert simulator.calls["CreateAutoMLJobV2"] == 0
