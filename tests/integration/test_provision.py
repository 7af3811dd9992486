"""Every resource of template.yaml is provisioned offline, or listed with a reason."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from offline.lambda_runtime import lambda_environment
from offline.provision import NOT_EMULATED, Provisioner
from offline.template import load_template


@pytest.fixture
def session() -> Iterator[boto3.session.Session]:
    with lambda_environment(), mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def test_every_template_resource_is_provisioned_or_explained(
    session: boto3.session.Session,
) -> None:
    stack = Provisioner(session).provision()
    template = load_template()
    for logical_id, resource in template["Resources"].items():
        if logical_id in stack.not_emulated:
            reason = stack.not_emulated[logical_id]
            assert resource["Type"] in NOT_EMULATED, f"{logical_id} is ignored offline: {reason}"
        else:
            assert logical_id in stack.resources, logical_id


def test_provisioned_resources_carry_the_template_properties(
    session: boto3.session.Session,
) -> None:
    stack = Provisioner(session).provision()
    sqs = session.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.physical("IngestQueue"), AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "360"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.attribute("IngestDeadLetterQueue", "Arn")
    assert int(redrive["maxReceiveCount"]) == 24

    s3 = session.client("s3")
    bucket = stack.physical("ManifestsBucket")
    assert bucket == "autopilot-flow-123456789012-manifests"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert len(notifications["QueueConfigurations"]) == 3

    table = session.client("dynamodb").describe_table(TableName=stack.physical("JobsTable"))
    assert [i["IndexName"] for i in table["Table"]["GlobalSecondaryIndexes"]] == ["ByStatus"]

    function = stack.functions["IngestManifestFunction"]
    assert function.environment["JOBS_TABLE_NAME"] == stack.physical("JobsTable")
    assert function.environment["POWERTOOLS_SERVICE_NAME"] == "autopilot-flow"  # Globals
    assert function.timeout == 60
