"""The data the example manifests point at, for the offline demo and the tests.

Small CSV, Parquet, gzip, JSON Lines and image objects whose headers name exactly the
columns the examples use, so that the data preflight passes for every example, and the
CloudWatch alarms their rollout strategies name (the preflight checks that they exist).
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import boto3

DATA_BUCKET = "amzn-s3-demo-ml-data"
OUTPUT_BUCKET = "amzn-s3-demo-ml-output"

DATA: dict[str, bytes] = {
    "churn/train/part-0.csv": b"customer_id,tenure,plan,monthly_charges,account_weight,churned\n"
    b"c1,12,basic,30.5,1.0,0\n",
    "churn/validation/part-0.csv": b"customer_id,tenure,plan,monthly_charges,account_weight,"
    b"churned\nc9,3,pro,80.0,1.0,1\n",
    "housing/train/part-0.parquet": b"PAR1" + b"\x00" * 64 + b"PAR1",
    "catalog/products.csv.gz": gzip.compress(b"sku,title,price,category\nA1,Mug,4.5,kitchen\n"),
    "retail/demand/2026.csv": b"date,product_id,store_id,demand,price\n2026-01-01,p1,s1,4,2.5\n",
    "support/tickets/train/part-0.csv": b"ticket_text,queue\nCannot log in,auth\n",
    "support/tickets/validation/part-0.csv": b"ticket_text,queue\nRefund please,billing\n",
    "inspection/labels/output.manifest": json.dumps(
        {
            "source-ref": f"s3://{DATA_BUCKET}/inspection/images/1.jpg",
            "label": 0,
            "label-metadata": {"class-name": "ok"},
        }
    ).encode()
    + b"\n",
    "inspection/images/1.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 32,
    "support/qa-pairs/pairs.csv": b"input,output\nHow do I reset?,Use the portal.\n",
}


# The alarms the examples' Deployment.Strategy.AutoRollbackAlarmNames name: a 5xx alarm on
# the endpoint's variant, as a team would have it. Created in OK state (moto's default for
# a new alarm is INSUFFICIENT_DATA; SageMaker rolls back only on ALARM either way).
ALARMS: dict[str, str] = {"demand-forecast-5xx": "demand-forecast"}


def upload_example_data(s3: Any, cloudwatch: Any | None = None) -> None:
    """Create the examples' data and output buckets, fill the data bucket, and create the
    examples' rollback alarms (with ``cloudwatch``, else a client like ``s3``: the same
    region, endpoint and credentials)."""
    for bucket in (DATA_BUCKET, OUTPUT_BUCKET):
        s3.create_bucket(Bucket=bucket)
    for key, body in DATA.items():
        s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body)
    create_example_alarms(cloudwatch or _cloudwatch_like(s3))


def create_example_alarms(cloudwatch: Any) -> None:
    """The examples' rollback alarms, each in OK state."""
    for name, endpoint in ALARMS.items():
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            AlarmDescription=f"5xx answers of {endpoint}: rolls a blue/green update back",
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Dimensions=[
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
        )
        cloudwatch.set_alarm_state(
            AlarmName=name, StateValue="OK", StateReason="No 5xx answers (example data)"
        )


def _cloudwatch_like(s3: Any) -> Any:
    """A CloudWatch client for the account and place ``s3`` talks to: the offline stack's
    endpoint, or AWS's (under moto's mock) when ``s3`` uses the default one."""
    endpoint = s3.meta.endpoint_url
    credentials = s3._request_signer._credentials  # the S3 client's own identity
    return boto3.client(
        "cloudwatch",
        region_name=s3.meta.region_name,
        endpoint_url=None if endpoint.endswith(".amazonaws.com") else endpoint,
        aws_access_key_id=credentials.access_key if credentials else None,
        aws_secret_access_key=credentials.secret_key if credentials else None,
        aws_session_token=credentials.token if credentials else None,
    )
