"""Security properties of template.yaml that reviewers check: we check them first."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from offline.template import ROOT, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, dict[str, Any]] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


def policy_statements() -> list[tuple[str, dict[str, Any]]]:
    """Every identity-policy statement: of functions, state machines and IAM roles."""
    found = []
    for name, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            documents = [p for p in props.get("Policies", []) if isinstance(p, dict)]
        elif resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        else:
            continue
        for document in documents:
            found.extend((name, statement) for statement in document.get("Statement", []))
    return found


def resource_policy_statements() -> list[tuple[str, dict[str, Any]]]:
    """Every resource-policy statement: bucket, queue and key policies."""
    found = []
    for name, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        document = props.get("PolicyDocument") or props.get("KeyPolicy")
        if document:
            found.extend((name, statement) for statement in document["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Actions that support no resource-level permissions: for these alone AWS requires "*".
RESOURCE_STAR_REQUIRED = {
    "sagemaker:ListAutoMLJobs",
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    # Step Functions log delivery to CloudWatch Logs.
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
# What a service may do with a key of ours: use it, never administer it.
KEY_USE = {
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
}
TEMPLATE_TEXT = (ROOT / "template.yaml").read_text()


def commented(sid: str) -> str:
    """The template text of the statement with this Sid (comments included)."""
    return TEMPLATE_TEXT[TEMPLATE_TEXT.index(f"Sid: {sid}") :].split("- Sid:")[0]


def test_policy_statements_are_found_for_every_kind_of_principal() -> None:
    owners = {RESOURCES[name]["Type"] for name, _ in policy_statements()}
    assert owners >= {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"}
    assert len(policy_statements()) > 30


def test_no_wildcard_actions_in_any_allow_statement() -> None:
    statements = policy_statements() + resource_policy_statements()
    for name, statement in statements:
        if statement["Effect"] != "Allow":
            continue  # a Deny of everything (TLS only) is stricter, not looser
        for action in as_list(statement["Action"]):
            assert "*" not in action, f"{name}: {action}"


def test_resource_star_only_where_aws_requires_it_and_with_a_comment() -> None:
    for name, statement in policy_statements():
        if "*" not in as_list(statement.get("Resource")):
            continue
        actions = set(as_list(statement["Action"]))
        assert actions <= RESOURCE_STAR_REQUIRED, f"{name}: Resource * for {actions}"
        block = commented(statement["Sid"])
        assert "requires" in block and "#" in block, f"{name}/{statement['Sid']}: say why"


def test_cloudwatch_metrics_only_in_the_service_namespace() -> None:
    puts = [(n, s) for n, s in policy_statements() if "cloudwatch:PutMetricData" in s["Action"]]
    assert puts
    for name, statement in puts:
        assert statement["Condition"] == {
            "StringEquals": {"cloudwatch:namespace": "AutopilotFlow"}
        }, name


def test_key_policies_give_services_only_what_they_use_and_say_why_star() -> None:
    for name, key in of_type("AWS::KMS::Key").items():
        props = key["Properties"]
        assert props["EnableKeyRotation"] is True, name
        key_text = TEMPLATE_TEXT[TEMPLATE_TEXT.index(f"  {name}:") :]
        assert 'Resource "*" means this key' in key_text.split("Statement:")[0], name
        for statement in props["KeyPolicy"]["Statement"]:
            if "Service" in statement["Principal"]:
                # A service may use the key, for this account only, and never administer it.
                assert "Condition" in statement, f"{name}/{statement['Sid']}"
                assert set(as_list(statement["Action"])) <= KEY_USE, f"{name}/{statement['Sid']}"


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


def queue_policy_for(queue: str) -> list[dict[str, Any]]:
    (policy,) = [
        p
        for p in of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue} in p["Properties"]["Queues"]
    ]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_s3_may_send_only_from_this_account_to_the_ingest_queue() -> None:
    (statement,) = [s for s in queue_policy_for("IngestQueue") if s["Effect"] == "Allow"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    assert "ArnLike" in statement["Condition"]


def test_only_this_stacks_rules_may_send_to_the_finalize_rule_dlq() -> None:
    statement, approvals = [
        s for s in queue_policy_for("FinalizeRuleDeadLetterQueue") if s["Effect"] == "Allow"
    ]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    source = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source.endswith(":rule/${AWS::StackName}-events/*")
    # The approval rule on the default bus, by the name CloudFormation gives it.
    assert approvals["Principal"] == {"Service": "events.amazonaws.com"}
    source = approvals["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source.endswith(":rule/${AWS::StackName}-ApproveModelPackage*")


@pytest.mark.parametrize("name", sorted(of_type("AWS::SQS::QueuePolicy")))
def test_queue_policies_are_tls_only(name: str) -> None:
    statements = RESOURCES[name]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    ), name


@pytest.mark.parametrize("name", sorted(of_type("AWS::SNS::Topic")))
def test_topics_are_encrypted(name: str) -> None:
    assert RESOURCES[name]["Properties"]["KmsMasterKeyId"], name


def test_alarms_can_publish_to_the_encrypted_ops_topic() -> None:
    # CloudWatch cannot use the AWS managed SNS key: the ops topic needs a key of ours
    # whose policy lets CloudWatch use it.
    key = RESOURCES["OpsAlertsTopic"]["Properties"]["KmsMasterKeyId"]["Ref"]
    services = [
        s["Principal"]["Service"]
        for s in RESOURCES[key]["Properties"]["KeyPolicy"]["Statement"]
        if "Service" in s["Principal"]
    ]
    assert "cloudwatch.amazonaws.com" in services


# --- logs, tracing, failure destinations -------------------------------------------------------


@pytest.mark.parametrize("name", sorted(of_type("AWS::Logs::LogGroup")))
def test_log_groups_are_kept_for_a_while_and_encrypted(name: str) -> None:
    props = RESOURCES[name]["Properties"]
    assert "RetentionInDays" in props, f"{name} keeps logs forever"
    assert props["KmsKeyId"] == {"Fn::GetAtt": ["OpsKey", "Arn"]}, name


@pytest.mark.parametrize("name", sorted(of_type("AWS::Serverless::Function")))
def test_every_function_logs_to_a_log_group_of_the_template(name: str) -> None:
    group = RESOURCES[name]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    retention = RESOURCES[group]["Properties"]["RetentionInDays"]
    assert retention == {"Ref": "LogRetentionDays"}, name


def test_functions_state_machines_and_the_api_are_traced() -> None:
    assert TEMPLATE["Globals"]["Function"]["Tracing"] == "Active"
    for name, function in of_type("AWS::Serverless::Function").items():
        assert function["Properties"].get("Tracing", "Active") == "Active", name
    machines = of_type("AWS::Serverless::StateMachine")
    assert machines
    for name, machine in machines.items():
        assert machine["Properties"]["Tracing"] == {"Enabled": True}, name
        logging = machine["Properties"]["Logging"]
        assert logging["Level"] == "ALL", name
        (destination,) = logging["Destinations"]
        group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup", name


def queue_of(arn: Any) -> str:
    name: str = arn["Fn::GetAtt"][0]
    assert RESOURCES[name]["Type"] == "AWS::SQS::Queue", name
    return name


def async_failure_queues() -> dict[str, str]:
    """Every asynchronous path into a function -> the queue its failures land in."""
    found: dict[str, str] = {}
    for name, function in of_type("AWS::Serverless::Function").items():
        props = function["Properties"]
        for event_name, event in props.get("Events", {}).items():
            path = f"{name}/{event_name}"
            if event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                redrive = RESOURCES[queue]["Properties"]["RedrivePolicy"]
                found[path] = queue_of(redrive["deadLetterTargetArn"])
            elif event["Type"] in ("ScheduleV2", "EventBridgeRule"):
                # Delivery failures (the scheduler or the rule could not invoke) ...
                found[path] = queue_of(event["Properties"]["DeadLetterConfig"]["Arn"])
                # ... and failures of the asynchronous invocation itself.
                destination = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
                found[f"{name}/invocation"] = queue_of(destination["Destination"])
            else:
                assert event["Type"] == "Api", f"{path}: {event['Type']} is not checked"
    return found


def test_every_async_path_has_a_dead_letter_queue_or_on_failure_destination() -> None:
    paths = async_failure_queues()
    assert set(paths) == {
        "IngestManifestFunction/Manifests",
        "WatchJobsFunction/Tick",
        "WatchJobsFunction/invocation",
        "StartFinalizeFunction/JobEnded",
        "StartFinalizeFunction/invocation",
        "ApproveModelPackageFunction/PackageApprovalChanged",
        "ApproveModelPackageFunction/invocation",
    }
    for path, queue in paths.items():
        assert RESOURCES[queue]["Properties"]["SqsManagedSseEnabled"] is True, path


# --- alarms and the dashboard -------------------------------------------------------------------


ALARMS = of_type("AWS::CloudWatch::Alarm")


def alarm_on(namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in ALARMS.values()
        if a["Properties"]["Namespace"] == namespace and a["Properties"]["MetricName"] == metric
    ]


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_every_alarm_notifies_the_ops_topic_and_links_its_runbook(name: str) -> None:
    props = ALARMS[name]["Properties"]
    assert props["AlarmActions"] == [{"Ref": "OpsAlertsTopic"}], name
    assert props["OKActions"] == [{"Ref": "OpsAlertsTopic"}], name
    assert f"docs/operations.md#{name.lower()}" in props["AlarmDescription"], name


def test_every_failure_queue_has_a_depth_alarm() -> None:
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarm_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        if a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold"
    }
    assert set(async_failure_queues().values()) <= watched


def test_ingest_errors_finalize_failures_and_api_5xx_are_alarmed() -> None:
    (ingest,) = alarm_on("AWS/Lambda", "Errors")
    assert ingest["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "IngestManifestFunction"}}
    ]
    (finalize,) = alarm_on("AWS/States", "ExecutionsFailed")
    assert finalize["Dimensions"][0]["Value"] == {"Ref": "FinalizeJobStateMachine"}
    (api,) = alarm_on("AWS/ApiGateway", "5XXError")
    api_name = RESOURCES["JobsApi"]["Properties"]["Name"]
    assert {"Name": "ApiName", "Value": api_name} in api["Dimensions"]
    stage = RESOURCES["JobsApi"]["Properties"]["StageName"]
    assert {"Name": "Stage", "Value": stage} in api["Dimensions"]


def test_a_silent_watcher_raises_the_heartbeat_alarm() -> None:
    (heartbeat,) = alarm_on("AutopilotFlow", "WatcherTicks")
    # No data at all (the function never ran) must count as a missed tick.
    assert heartbeat["TreatMissingData"] == "breaching"
    assert heartbeat["ComparisonOperator"] == "LessThanThreshold"
    assert heartbeat["Dimensions"] == [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}]
    # Every window of the alarm holds at least one tick of the slowest allowed schedule.
    window = heartbeat["Period"] * heartbeat["DatapointsToAlarm"]
    assert window == 900
    pattern = TEMPLATE["Parameters"]["WatchSchedule"]["AllowedPattern"]
    assert re.match(pattern, "rate(10 minutes)") and re.match(pattern, "rate(1 minute)")
    for too_slow in ("rate(11 minutes)", "rate(1 hour)", "rate(20 minutes)", "rate(0 minutes)"):
        assert not re.match(pattern, too_slow), too_slow


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
    openapi = json.loads((ROOT / "openapi.json").read_text())
    documented = {
        (path, method.upper()) for path, ops in openapi["paths"].items() for method in ops
    }
    served = {(props["Path"], props["Method"].upper()) for _, _, props in api_events()}
    assert served == documented


def intrinsic_calls(value: Any, name: str) -> list[Any]:
    found = []
    if isinstance(value, dict):
        for key, argument in value.items():
            if key == name:
                found.append(argument)
            found.extend(intrinsic_calls(argument, name))
    elif isinstance(value, list):
        for item in value:
            found.extend(intrinsic_calls(item, name))
    return found


def test_join_delimiters_are_plain_strings() -> None:
    # CloudFormation rejects a function as the delimiter of Fn::Join; cfn-lint does not see
    # it inside a SAM function's Policies.
    joins = intrinsic_calls(TEMPLATE, "Fn::Join")
    assert len(joins) > 5
    for delimiter, _ in joins:
        assert isinstance(delimiter, str), delimiter


def test_every_checkov_suppression_says_why() -> None:
    skips = [
        (name, skip)
        for name, resource in RESOURCES.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), f"{name}: {skip}"
        assert len(skip.get("comment", "").split()) >= 8, f"{name}/{skip['id']}: say why"


def dashboard_widgets() -> list[dict[str, Any]]:
    """The dashboard body with every ``${...}`` checked against the template and replaced."""
    body = RESOURCES["ServiceDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for token in re.findall(r"\$\{([^}]+)\}", body):
        name = token.split(".")[0]
        assert name.startswith("AWS::") or name in RESOURCES, token
    resolved = re.sub(r"\$\{([^}]+)\}", lambda m: f"<{m.group(1)}>", body)
    widgets: list[dict[str, Any]] = json.loads(resolved)["widgets"]
    return widgets


def test_dashboard_is_valid_json_and_shows_every_alarm() -> None:
    widgets = dashboard_widgets()
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    shown = {
        a.removeprefix("<").removesuffix(".Arn>") for a in alarm_widget["properties"]["alarms"]
    }
    assert shown == set(ALARMS)
    for widget in widgets:
        assert {"x", "y", "width", "height"} <= set(widget), widget
        assert widget["x"] + widget["width"] <= 24, widget["properties"]["title"]


def test_dashboard_uses_the_metric_contract() -> None:
    from autopilot_flow.observability import METRICS, NAMESPACE, MetricName

    shown: set[str] = set()
    for widget in dashboard_widgets():
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], dict):  # a SEARCH expression over one of our metrics
                expression = line[0]["expression"]
                (name,) = re.findall(r'MetricName="(\w+)"', expression)
                dimensions = re.search(r"\{" + NAMESPACE + r",([\w,]+)\}", expression)
                assert dimensions, expression
                spec = METRICS[MetricName(name)]
                assert set(dimensions.group(1).split(",")) == set(spec.dimensions), name
            elif line[0] == NAMESPACE:
                name = line[1]
                spec = METRICS[MetricName(name)]
                assert set(line[2::2]) == set(spec.dimensions), name
            else:
                continue
            shown.add(name)
    # Every metric of the contract is on the dashboard (ColdStart is per function name).
    assert shown == {m.value for m in MetricName} - {"ColdStart"}


def test_kms_use_on_any_key_is_only_through_s3() -> None:
    grants = [
        (n, s)
        for n, s in policy_statements()
        if any(a.startswith("kms:") for a in as_list(s["Action"]))
    ]
    assert grants
    for name, statement in grants:
        assert as_list(statement["Action"]) == ["kms:GenerateDataKey"], name
        assert statement["Condition"] == {
            "StringEquals": {"kms:ViaService": {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}}
        }, name


# --- endpoint ownership: tag-conditioned SageMaker permissions ----------------------------------

STACK_TAG = "autopilot-flow:stack"
ENDPOINT_MUTATIONS = {
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModel",
    "sagemaker:AddTags",
}


def _arn_kinds(statement: dict[str, Any]) -> set[str]:
    """model, endpoint-config, endpoint... of a statement's SageMaker resource ARNs."""
    kinds = set()
    for resource in as_list(statement["Resource"]):
        text = resource.get("Fn::Sub") if isinstance(resource, dict) else resource
        if not isinstance(text, str):
            kinds.add("?")  # a Ref or an If: not a SageMaker ARN pattern of ours
            continue
        kinds.add(text.rsplit(":", 1)[-1].split("/")[0])
    return kinds


def test_endpoints_are_created_and_changed_only_with_the_stack_tag() -> None:
    """Whoever may create, tag, update or delete a model, endpoint config or endpoint: only
    with this stack's tag in the request (creating) or on the resource (updating, deleting).
    Only the API's undeploy may delete, and only an endpoint. UpdateEndpoint is authorized on
    the endpoint and on the config it switches to, so both carry the condition; tags are
    added only by the Create* calls themselves."""
    stack = {"Ref": "AWS::StackName"}
    found: dict[str, dict[str, Any]] = {}
    for name, statement in policy_statements():
        actions = set(as_list(statement["Action"])) & ENDPOINT_MUTATIONS
        if not actions or statement["Effect"] != "Allow":
            continue
        if not _arn_kinds(statement) & {"model", "endpoint-config", "endpoint", "*"}:
            continue  # e.g. tagging AutoML jobs
        if name == "JobsApiFunction":  # undeploy: an endpoint of this stack, nothing else
            assert actions == {"sagemaker:DeleteEndpoint"}, statement["Sid"]
            assert _arn_kinds(statement) == {"endpoint"}
            assert statement["Condition"] == {
                "StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack}
            }
            continue
        assert name == "FinalizeJobStateMachine", f"{name} may change endpoints: {actions}"
        assert not {a for a in actions if ":Delete" in a}, statement["Sid"]
        for action in actions:
            found[action] = statement
    assert set(found) == {
        "sagemaker:CreateModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:CreateEndpoint",
        "sagemaker:UpdateEndpoint",
        "sagemaker:AddTags",
    }
    tag_keys = ["autopilot-flow:stack", "autopilot-flow:job", "autopilot-flow:candidate"]
    for action in ("sagemaker:CreateModel", "sagemaker:CreateEndpointConfig"):
        condition = found[action]["Condition"]
        assert condition["StringEquals"][f"aws:RequestTag/{STACK_TAG}"] == stack, action
        assert condition["ForAllValues:StringEquals"]["aws:TagKeys"] == tag_keys, action
    create = found["sagemaker:CreateEndpoint"]
    assert _arn_kinds(create) >= {"endpoint", "endpoint-config"}
    assert create["Condition"]["StringEquals"][f"aws:RequestTag/{STACK_TAG}"] == stack
    tagging = found["sagemaker:AddTags"]
    assert tagging["Condition"]["StringEquals"]["sagemaker:TaggingAction"] == [
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
    ]
    assert tagging["Condition"]["StringEquals"][f"aws:RequestTag/{STACK_TAG}"] == stack
    update = found["sagemaker:UpdateEndpoint"]
    assert as_list(update["Action"]) == ["sagemaker:UpdateEndpoint"]
    assert _arn_kinds(update) == {"endpoint", "endpoint-config"}
    assert update["Condition"] == {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack}}
    # The tag the conditions name is the one the machine puts on what it creates.
    substitutions = RESOURCES["FinalizeJobStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert (substitutions["StackTagKey"], substitutions["StackTagValue"]) == (STACK_TAG, stack)


def test_plan_finalize_may_read_endpoint_tags() -> None:
    """Ownership needs the endpoint's tags (ListTags), read-only."""
    (live,) = [
        s
        for n, s in policy_statements()
        if n == "PlanFinalizeFunction" and s["Sid"] == "LiveEndpoint"
    ]
    assert set(as_list(live["Action"])) == {"sagemaker:DescribeEndpoint", "sagemaker:ListTags"}
    assert _arn_kinds(live) == {"endpoint"}


SUBMITTING_DOORS = ("IngestManifestRole", "JobsApiFunction")
ENDPOINTS_OF_THIS_ACCOUNT = {
    "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/*"
}


@pytest.mark.parametrize("owner", SUBMITTING_DOORS)
def test_submitting_doors_may_describe_endpoints_and_change_none(owner: str) -> None:
    """Both doors check that a Deployment's endpoint is not someone else's (DescribeEndpoint on
    this account's and region's endpoints) and never create or update one; the API deletes
    only this stack's (undeploy, checked in test_endpoints_are_created_and_changed_only_...)."""
    statements = [s for name, s in policy_statements() if name == owner]
    describe = [s for s in statements if "sagemaker:DescribeEndpoint" in as_list(s["Action"])]
    assert len(describe) == 1
    assert as_list(describe[0]["Action"]) == ["sagemaker:DescribeEndpoint"]
    assert describe[0]["Resource"] == ENDPOINTS_OF_THIS_ACCOUNT
    actions = {a for s in statements for a in as_list(s["Action"])}
    changes = {a for a in actions if re.match(r"sagemaker:(Create|Update|Delete)Endpoint", a)}
    assert changes == ({"sagemaker:DeleteEndpoint"} if owner == "JobsApiFunction" else set())


@pytest.mark.parametrize("function", ["IngestManifestFunction", "JobsApiFunction"])
def test_submitting_doors_get_the_allowed_endpoint_names(function: str) -> None:
    variables = RESOURCES[function]["Properties"]["Environment"]["Variables"]
    assert variables["POLICY_ALLOWED_ENDPOINT_NAMES"] == {"Ref": "AllowedEndpointNames"}
    assert TEMPLATE["Parameters"]["AllowedEndpointNames"]["Default"] == ""


def test_the_template_reads_the_same_with_libyaml_as_with_pure_python() -> None:
    """load_template parses with libyaml when PyYAML has it: the same document as PyYAML's
    own parser gives, short tags included."""
    import yaml

    from offline import template

    class PurePython(yaml.SafeLoader):
        pass

    PurePython.add_multi_constructor("!", template._construct_tag)
    expected = yaml.load(template.TEMPLATE.read_text(encoding="utf-8"), Loader=PurePython)
    assert template.load_template() == expected
    text = json.dumps(expected)
    assert '{"Fn::Sub": ' in text and '{"Ref": ' in text  # the short tags, in JSON form
