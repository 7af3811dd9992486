"""Security properties of template.yaml that reviewers check: we check them first."""

from __future__ import annotations

from typing import Any

import pytest

from offline.template import ROOT, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


def policy_statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in of_type("AWS::Serverless::Function").items():
        for policy in resource["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                found.extend((name, statement) for statement in policy["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Actions that support no resource-level permissions: for these alone AWS requires "*".
RESOURCE_STAR_REQUIRED = {"sagemaker:ListAutoMLJobs"}


def test_no_wildcard_actions_in_any_function_policy() -> None:
    for name, statement in policy_statements():
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{name}: {action}"


def test_resource_star_only_where_aws_requires_it_and_with_a_comment() -> None:
    text = (ROOT / "template.yaml").read_text()
    for name, statement in policy_statements():
        if statement.get("Resource") != "*":
            continue
        actions = set(as_list(statement["Action"]))
        assert actions <= RESOURCE_STAR_REQUIRED, f"{name}: Resource * for {actions}"
        sid = statement["Sid"]
        block = text[text.index(f"Sid: {sid}") :].split("- Sid:")[0]
        assert "requires" in block and "#" in block, f"{name}/{sid}: say why * is needed"


def test_pass_role_only_to_allowed_roles_and_only_to_sagemaker() -> None:
    passes = [(n, s) for n, s in policy_statements() if "iam:PassRole" in as_list(s["Action"])]
    assert passes
    for name, statement in passes:
        assert statement["Resource"] == {"Ref": "AllowedRoleArns"}, name
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
        }, name
        assert as_list(statement["Action"]) == ["iam:PassRole"], name


@pytest.mark.parametrize("name", sorted(of_type("AWS::S3::Bucket")))
def test_buckets_are_encrypted_private_and_tls_only(name: str) -> None:
    props = RESOURCES[name]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": name}
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for statements in policies
        for s in statements
    ), f"{name} has no TLS-only policy"


@pytest.mark.parametrize("name", sorted(of_type("AWS::SQS::Queue")))
def test_queues_are_encrypted(name: str) -> None:
    props = RESOURCES[name]["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props


@pytest.mark.parametrize("name", sorted(of_type("AWS::DynamoDB::Table")))
def test_tables_are_encrypted_and_recoverable(name: str) -> None:
    props = RESOURCES[name]["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def sqs_event_sources() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for name, function in of_type("AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                found.append((name, function["Properties"], event["Properties"]))
    return found


def test_every_queue_consumer_reports_batch_item_failures() -> None:
    assert sqs_event_sources()
    for name, _, event in sqs_event_sources():
        assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"], name


def test_every_consumed_queue_has_a_dead_letter_queue_and_a_long_visibility() -> None:
    global_timeout = TEMPLATE["Globals"]["Function"]["Timeout"]
    for name, function, event in sqs_event_sources():
        queue = event["Queue"]["Fn::GetAtt"][0]
        props = RESOURCES[queue]["Properties"]
        dlq = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert RESOURCES[dlq]["Type"] == "AWS::SQS::Queue", queue
        timeout = function.get("Timeout", global_timeout)
        assert props["VisibilityTimeout"] >= 6 * timeout, f"{queue} vs {name}"


def test_s3_may_send_only_from_this_account_to_the_ingest_queue() -> None:
    (policy,) = of_type("AWS::SQS::QueuePolicy").values()
    allow = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    (statement,) = allow
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    assert "ArnLike" in statement["Condition"]


def test_manifests_bucket_notifies_only_manifest_files() -> None:
    bucket = RESOURCES["ManifestsBucket"]["Properties"]
    suffixes = set()
    for entry in bucket["NotificationConfiguration"]["QueueConfigurations"]:
        rules = {r["Name"]: r["Value"] for r in entry["Filter"]["S3Key"]["Rules"]}
        assert rules["prefix"] == "manifests/"
        suffixes.add(rules["suffix"])
    assert suffixes == {".json", ".yaml", ".yml"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


# --- the HTTP API --------------------------------------------------------------------------------


def api_events() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, function in of_type("AWS::Serverless::Function").items():
        for event_name, event in function["Properties"].get("Events", {}).items():
            if event["Type"] == "Api":
                found.append((name, event_name, event["Properties"]))
    return found


def test_every_api_method_requires_iam_auth() -> None:
    apis = of_type("AWS::Serverless::Api")
    assert apis
    for name, api in apis.items():
        assert api["Properties"]["Auth"]["DefaultAuthorizer"] == "AWS_IAM", name
    assert api_events()
    for function, event, props in api_events():
        # On an API of the template (an implicit API would have no authorizer) ...
        assert props["RestApiId"]["Ref"] in apis, f"{function}/{event}"
        # ... and never opted out of the default authorizer.
        assert props.get("Auth", {}).get("Authorizer", "AWS_IAM") == "AWS_IAM", event
    # No hand-written API Gateway method without auth either.
    for name, method in of_type("AWS::ApiGateway::Method").items():
        assert method["Properties"].get("AuthorizationType") == "AWS_IAM", name


def test_api_stage_is_throttled_access_logged_and_traced() -> None:
    for name, api in of_type("AWS::Serverless::Api").items():
        props = api["Properties"]
        everything = [
            s
            for s in props["MethodSettings"]
            if s["ResourcePath"] == "/*" and s["HttpMethod"] == "*"
        ]
        assert everything, f"{name}: no stage-wide method settings"
        assert "ThrottlingRateLimit" in everything[0] and "ThrottlingBurstLimit" in everything[0]
        destination = props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][0]
        log_group = RESOURCES[destination]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert "RetentionInDays" in log_group["Properties"], "access logs are kept forever"
        assert "$context.requestId" in props["AccessLogSetting"]["Format"]
        assert props["TracingEnabled"] is True


def test_the_template_serves_exactly_the_documented_routes() -> None:
    import json

    openapi = json.loads((ROOT / "openapi.json").read_text())
    documented = {
        (path, method.upper()) for path, ops in openapi["paths"].items() for method in ops
    }
    served = {(props["Path"], props["Method"].upper()) for _, _, props in api_events()}
    assert served == documented
