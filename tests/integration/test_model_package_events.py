"""The Model Registry offline: what moto 5.2.5 does alone (measured), and what
``offline.model_registry.ModelRegistry`` makes of it, as AWS does.

Real boto3 clients against moto; the events are matched by real EventBridge rules (moto's
pattern matching) and delivered to an SQS queue. The "moto alone" tests pin each deviation the
model corrects: when one fails, moto changed and the correction may go.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from offline.model_registry import DETAIL_TYPE, SOURCE, ModelRegistry

REGION = "us-east-1"
GROUP = "churn-models"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-sklearn-automl:2.5-1-cpu-py3"


def spec(environment_entries: int = 3) -> dict[str, Any]:
    return {
        "Containers": [
            {
                "Image": IMAGE,
                "ModelDataUrl": "s3://models/churn/model.tar.gz",
                "Environment": {f"VAR_{i}": str(i) for i in range(environment_entries)},
            }
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }


METRICS = {
    "ModelQuality": {
        "Statistics": {"ContentType": "application/json", "S3Uri": "s3://out/statistics.json"}
    },
    "Explainability": {
        "Report": {"ContentType": "application/json", "S3Uri": "s3://out/explainability.json"}
    },
}


class Bus:
    """A rule on the default bus with an SQS target: what a pattern lets through."""

    def __init__(self, pattern: dict[str, Any], name: str = "approvals") -> None:
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        self.events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        self.events.put_targets(
            Rule=name, Targets=[{"Id": "queue", "Arn": arn["Attributes"]["QueueArn"]}]
        )

    def received(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
            batch = messages.get("Messages", [])
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])


APPROVALS = {
    "source": ["aws.sagemaker"],
    "detail-type": ["SageMaker Model Package State Change"],
    "detail": {"ModelPackageGroupName": [GROUP], "ModelApprovalStatus": ["Approved", "Rejected"]},
}
EVERYTHING = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Model Package State Change"]}


@pytest.fixture
def bare() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def registry() -> Iterator[ModelRegistry]:
    with mock_aws(), ModelRegistry() as model:
        yield model


@pytest.fixture
def sagemaker(registry: ModelRegistry) -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def register(sagemaker: Any, status: str = "PendingManualApproval", **extra: Any) -> str:
    arn: str = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        InferenceSpecification=spec(),
        ModelApprovalStatus=status,
        **extra,
    )["ModelPackageArn"]
    return arn


def refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException", error
    return str(error["Message"])


# --- moto alone (the probe) -------------------------------------------------------------------


def test_moto_alone_publishes_no_model_package_event(bare: Any) -> None:
    bus = Bus(EVERYTHING)
    bare.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(bare)
    bare.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert bus.received() == []


def test_moto_alone_erases_what_an_update_leaves_out(bare: Any) -> None:
    bare.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(bare, CustomerMetadataProperties={"AutoMLJobName": "churn-1"})
    bare.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok: alice"
    )
    assert "CustomerMetadataProperties" not in bare.describe_model_package(ModelPackageName=arn)
    bare.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"live": "yes"})
    described = bare.describe_model_package(ModelPackageName=arn)
    assert "ModelApprovalStatus" not in described
    assert "ApprovalDescription" not in described


def test_moto_alone_accepts_more_than_16_environment_entries(bare: Any) -> None:
    bare.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = bare.create_model_package(ModelPackageGroupName=GROUP, InferenceSpecification=spec(17))
    assert arn["ModelPackageArn"].endswith("/1")


def test_moto_alone_replaces_a_group_of_the_same_name(bare: Any) -> None:
    arn = bare.create_model_package_group(
        ModelPackageGroupName=GROUP, Tags=[{"Key": "autopilot-flow:stack", "Value": "s"}]
    )["ModelPackageGroupArn"]
    bare.create_model_package_group(ModelPackageGroupName=GROUP)
    assert bare.list_tags(ResourceArn=arn)["Tags"] == []


def test_moto_alone_cannot_list_a_model_package_s_tags(bare: Any) -> None:
    bare.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(bare, Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(ValueError, match="too many values to unpack"):
        bare.list_tags(ResourceArn=arn)


# --- the events --------------------------------------------------------------------------------


def test_an_approval_reaches_a_rule_on_the_group_and_the_decision_not_the_creation(
    sagemaker: Any, registry: ModelRegistry
) -> None:
    approvals = Bus(APPROVALS)
    everything = Bus(EVERYTHING, name="everything")
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(sagemaker, ModelMetrics=METRICS)

    assert approvals.received() == []  # created PendingManualApproval: filtered out
    created = everything.received()
    assert [e["detail"]["ModelApprovalStatus"] for e in created] == ["PendingManualApproval"]

    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok: alice"
    )
    [event] = approvals.received()
    assert event["source"] == SOURCE == "aws.sagemaker"
    assert event["detail-type"] == DETAIL_TYPE
    assert event["resources"] == [arn]
    detail = event["detail"]
    assert detail["ModelPackageGroupName"] == GROUP
    assert detail["ModelPackageArn"] == arn
    assert detail["ModelPackageVersion"] == 1
    assert detail["ModelApprovalStatus"] == "Approved"
    assert detail["ModelPackageStatus"] == "Completed"
    assert detail["InferenceSpecification"]["Containers"][0]["Image"] == IMAGE
    assert detail["ModelMetrics"] == METRICS
    # Times as AWS's example writes them.
    assert detail["CreationTime"].endswith("Z") and "T" in detail["CreationTime"]
    assert detail["LastModifiedTime"].endswith("Z")
    assert registry.events[-1]["detail"] == detail


def test_a_rejection_is_published_and_another_group_is_filtered_out(sagemaker: Any) -> None:
    approvals = Bus(APPROVALS)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    sagemaker.create_model_package_group(ModelPackageGroupName="someone-else")
    ours = register(sagemaker)
    theirs = sagemaker.create_model_package(
        ModelPackageGroupName="someone-else",
        InferenceSpecification=spec(),
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=theirs, ModelApprovalStatus="Approved")
    sagemaker.update_model_package(ModelPackageArn=ours, ModelApprovalStatus="Rejected")
    events = approvals.received()
    assert [
        (e["detail"]["ModelPackageArn"], e["detail"]["ModelApprovalStatus"]) for e in events
    ] == [(ours, "Rejected")]


def test_a_package_registered_approved_is_announced_at_once(sagemaker: Any) -> None:
    approvals = Bus(APPROVALS)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(sagemaker, status="Approved")
    [event] = approvals.received()
    assert event["detail"]["ModelPackageArn"] == arn


def test_an_update_that_changes_no_approval_publishes_nothing(sagemaker: Any) -> None:
    everything = Bus(EVERYTHING)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(sagemaker)
    assert len(everything.received()) == 1
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"a": "b"})
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="PendingManualApproval")
    assert everything.received() == []


def test_the_event_carries_the_package_tags(sagemaker: Any) -> None:
    everything = Bus(EVERYTHING)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sagemaker, Tags=[{"Key": "autopilot-flow:stack", "Value": "prod"}])
    [event] = everything.received()
    assert event["detail"]["Tags"] == {"autopilot-flow:stack": "prod"}


# --- the registry --------------------------------------------------------------------------------


def test_an_update_changes_only_what_it_sends(sagemaker: Any) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(
        sagemaker, CustomerMetadataProperties={"AutoMLJobName": "churn-1", "Objective": "F1"}
    )
    sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok: alice"
    )
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"Live": "churn-classifier", "Objective": "AUC"},
        CustomerMetadataPropertiesToRemove=["AutoMLJobName"],
    )
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "ok: alice"
    assert described["CustomerMetadataProperties"] == {
        "Objective": "AUC",
        "Live": "churn-classifier",
    }
    listed = sagemaker.list_model_packages(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved"
    )["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"] for p in listed] == [arn]


def test_versions_count_per_group(sagemaker: Any) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    sagemaker.create_model_package_group(ModelPackageGroupName="other")
    first, second = register(sagemaker), register(sagemaker)
    other = sagemaker.create_model_package(
        ModelPackageGroupName="other", InferenceSpecification=spec()
    )["ModelPackageArn"]
    assert (first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]) == ("1", "2")
    assert other.endswith("model-package/other/1")
    assert sagemaker.describe_model_package(ModelPackageName=second)["ModelPackageVersion"] == 2


def test_a_container_environment_over_16_entries_is_refused(sagemaker: Any) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    assert sagemaker.create_model_package(
        ModelPackageGroupName=GROUP, InferenceSpecification=spec(16)
    )["ModelPackageArn"].endswith("/1")
    message = refused(
        sagemaker.create_model_package,
        ModelPackageGroupName=GROUP,
        InferenceSpecification=spec(17),
    )
    assert "inferenceSpecification.containers.1.member.environment" in message
    assert "less than or equal to 16" in message
    # Nothing was registered, and no version number was spent.
    assert (
        len(sagemaker.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"])
        == 1
    )


def test_more_than_50_metadata_properties_are_refused(sagemaker: Any) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(sagemaker, CustomerMetadataProperties={f"k{i}": "v" for i in range(50)})
    message = refused(
        sagemaker.update_model_package,
        ModelPackageArn=arn,
        CustomerMetadataProperties={"one-more": "v"},
    )
    assert "customerMetadataProperties" in message
    assert (
        len(sagemaker.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"])
        == 50
    )


def test_a_group_name_in_use_is_refused_whatever_its_case(sagemaker: Any) -> None:
    arn = sagemaker.create_model_package_group(
        ModelPackageGroupName=GROUP, Tags=[{"Key": "autopilot-flow:stack", "Value": "s"}]
    )["ModelPackageGroupArn"]
    for name in (GROUP, GROUP.upper()):
        assert "already exists" in refused(
            sagemaker.create_model_package_group, ModelPackageGroupName=name
        )
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "autopilot-flow:stack", "Value": "s"}
    ]


def test_a_model_package_is_tagged_like_any_resource(sagemaker: Any) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(sagemaker, Tags=[{"Key": "autopilot-flow:stack", "Value": "s"}])
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "live", "Value": "yes"}])
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["live"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "autopilot-flow:stack", "Value": "s"}
    ]
    missing = arn.rsplit("/", 1)[0] + "/99"
    assert "Could not find" in refused(sagemaker.list_tags, ResourceArn=missing)


def test_an_unknown_package_or_status_is_refused(sagemaker: Any) -> None:
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = register(sagemaker)
    assert "not found" in refused(
        sagemaker.update_model_package,
        ModelPackageArn=arn.rsplit("/", 1)[0] + "/7",
        ModelApprovalStatus="Approved",
    )
    refused(sagemaker.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Maybe")
    assert (
        sagemaker.describe_model_package(ModelPackageName=arn)["ModelApprovalStatus"]
        == "PendingManualApproval"
    )


def test_uninstall_restores_moto() -> None:
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        everything = Bus(EVERYTHING)
        with ModelRegistry():
            sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
            register(sagemaker)
            assert len(everything.received()) == 1
        # moto's own behaviour again: a duplicate group replaces, no event, more than 16.
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        sagemaker.create_model_package(ModelPackageGroupName=GROUP, InferenceSpecification=spec(20))
        assert everything.received() == []
