"""Provision the stack's resources in moto from ``template.yaml`` itself.

moto's CloudFormation ignores bucket notifications and state-machine substitutions and
fails on API Gateway (moto 5.2.5), so resources are created with plain boto3 calls
driven by the template: same names, same properties, same wiring. A resource type this
module cannot emulate is listed in ``Stack.not_emulated`` with the reason, never skipped
silently (``tests/integration/test_provision.py`` keeps it that way).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline.template import (
    ROOT,
    TEMPLATE,
    Resolver,
    UnresolvableError,
    load_template,
    parameter_values,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"

# Parameters the template requires (no default) and that offline mode fills with
# permissive values for the offline account.
OFFLINE_PARAMETERS = {
    "AllowedRoleArns": f"arn:aws:iam::{ACCOUNT}:role/AutopilotExecution",
    "AllowedS3Prefixes": "s3://autopilot-flow-data/",
    "DataBucketNames": "autopilot-flow-data",
    "DefaultRoleArn": f"arn:aws:iam::{ACCOUNT}:role/AutopilotExecution",
    "OutputS3Path": "s3://autopilot-flow-data/output/",
}

# Types that have no runtime effect offline, with the reason they need none.
NOT_EMULATED = {
    "AWS::Serverless::LayerVersion": "the core library is imported from layers/core directly",
    # moto evaluates bucket policies but treats every request as not using TLS, so the
    # TLS-only statement would deny everything; offline mode does not enforce IAM anyway.
    "AWS::S3::BucketPolicy": "moto sees no TLS, so a TLS-only policy would deny every request",
    # The HTTP API: moto's API Gateway cannot proxy to in-process handlers, so
    # offline/http_api.py serves the same routes on 127.0.0.1 (without SigV4 checks).
    "AWS::Serverless::Api": "served on loopback by offline/http_api.py (no SigV4 check offline)",
    "AWS::Logs::LogGroup": "handlers log to the terminal; offline/http_api.py logs requests",
    # Operations resources: nothing evaluates alarms or draws dashboards offline, and moto's
    # SNS does not deliver e-mail. Encryption at rest is not observable offline.
    "AWS::KMS::Key": "encryption at rest (of the ops topic and log groups) is not observable",
    "AWS::CloudWatch::Alarm": "nothing evaluates alarms offline (the metrics go to moto)",
    "AWS::CloudWatch::Dashboard": "a console page; nothing to draw offline",
    "AWS::SNS::Subscription": "the ops e-mail subscription; moto's SNS sends no e-mail",
    "AWS::IAM::Role": "IAM is not enforced offline",
    "AWS::ApiGateway::Account": "an account-wide API Gateway setting; nothing to set offline",
    # moto 5.2.5 has no EventSchemas service; scripts/event_schemas.py and its tests check
    # the schema resources against schemas/ instead.
    "AWS::EventSchemas::Registry": "moto has no EventSchemas (Schema Registry) service",
    "AWS::EventSchemas::Schema": "moto has no EventSchemas (Schema Registry) service",
}


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    events: dict[str, Any]
    timeout: int


@dataclass
class StateMachineSpec:
    logical_id: str
    name: str
    arn: str
    definition: dict[str, Any]


@dataclass
class Stack:
    name: str
    parameters: dict[str, Any]
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    state_machines: dict[str, StateMachineSpec] = field(default_factory=dict)
    not_emulated: dict[str, str] = field(default_factory=dict)

    def physical(self, logical_id: str) -> Any:
        return self.resources[logical_id]["Ref"]

    def attribute(self, logical_id: str, name: str) -> Any:
        return self.resources[logical_id][name]


_PARSED: dict[tuple[int, int], dict[str, Any]] = {}
_PARSED_LOCK = threading.Lock()


def current_template() -> dict[str, Any]:
    """A fresh copy of ``template.yaml`` as it is on disk now. Parsing the YAML costs more
    than a deep copy by two orders of magnitude, and tests provision a stack per test, so
    the parse is kept per file version (modification time and size); each caller gets
    its own copy to change as it likes."""
    status = TEMPLATE.stat()
    version = (status.st_mtime_ns, status.st_size)
    with _PARSED_LOCK:
        if version not in _PARSED:
            _PARSED.clear()
            _PARSED[version] = load_template()
        parsed = _PARSED[version]
    return copy.deepcopy(parsed)


class Provisioner:
    def __init__(
        self,
        session: Any,
        *,
        stack_name: str = "autopilot-flow",
        parameters: Mapping[str, str] | None = None,
        endpoint_url: str | None = None,
        template: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.template = template or current_template()
        values = parameter_values(self.template, {**OFFLINE_PARAMETERS, **(parameters or {})})
        self.resolver = Resolver(
            self.template,
            values,
            {
                "AWS::StackName": stack_name,
                "AWS::AccountId": ACCOUNT,
                "AWS::Region": REGION,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::NoValue": "",
            },
        )
        self.stack = Stack(stack_name, values)
        self._clients: dict[str, Any] = {}
        self.handlers: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "AWS::SQS::Queue": self._queue,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::S3::Bucket": self._bucket,
            "AWS::DynamoDB::Table": self._table,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::EventBusPolicy": self._event_bus_policy,
            "AWS::Events::Archive": self._archive,
            "AWS::Serverless::Function": self._function,
            "AWS::SNS::Topic": self._topic,
            "AWS::Serverless::StateMachine": self._state_machine,
        }

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=REGION, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    def provision(self) -> Stack:
        pending = dict(self.template["Resources"])
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                kind = resource["Type"]
                if kind in NOT_EMULATED:
                    self.stack.not_emulated[logical_id] = f"{kind}: {NOT_EMULATED[kind]}"
                    self.resolver.resources[logical_id] = _Placeholder(logical_id)
                    del pending[logical_id]
                    progressed = True
                    continue
                handler = self.handlers.get(kind)
                if handler is None:
                    self.stack.not_emulated[logical_id] = f"{kind}: not supported offline yet"
                    del pending[logical_id]
                    progressed = True
                    continue
                if any(dep in pending for dep in _depends_on(resource)):
                    continue
                try:
                    properties = self.resolver.resolve(resource.get("Properties", {}))
                except UnresolvableError:
                    continue  # depends on a resource not provisioned yet
                attributes = handler(logical_id, properties)
                self.resolver.resources[logical_id] = attributes
                self.stack.resources[logical_id] = {"Type": kind, **attributes}
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise UnresolvableError(f"cannot provision: {', '.join(pending)}")
        return self.stack

    def _name(self, logical_id: str) -> str:
        return f"{self.stack.name}-{logical_id}"

    # --- resource types ------------------------------------------------------------------

    def _queue(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        name = props.get("QueueName") or self._name(logical_id)
        attributes = {
            key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled")
            if key in props
        }
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": props["RedrivePolicy"]["deadLetterTargetArn"],
                    "maxReceiveCount": str(props["RedrivePolicy"]["maxReceiveCount"]),
                }
            )
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _queue_policy(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        for url in props["Queues"]:
            self.client("sqs").set_queue_attributes(
                QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])}
            )
        return {"Ref": logical_id}

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        s3 = self.client("s3")
        name = props.get("BucketName") or self._name(logical_id).lower()
        s3.create_bucket(Bucket=name)
        if props.get("VersioningConfiguration"):
            s3.put_bucket_versioning(
                Bucket=name,
                VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]},
            )
        if props.get("BucketEncryption"):
            # CloudFormation's ServerSideEncryptionByDefault is the API's Apply... member.
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **(
                        {"BucketKeyEnabled": rule["BucketKeyEnabled"]}
                        if "BucketKeyEnabled" in rule
                        else {}
                    ),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules}
            )
        if props.get("PublicAccessBlockConfiguration"):
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"],
            )
        notifications = props.get("NotificationConfiguration", {})
        queues = [
            {
                "QueueArn": entry["Queue"],
                "Events": [entry["Event"]],
                "Filter": {
                    "Key": {
                        "FilterRules": [
                            {"Name": rule["Name"], "Value": rule["Value"]}
                            for rule in entry["Filter"]["S3Key"]["Rules"]
                        ]
                    }
                },
            }
            for entry in notifications.get("QueueConfigurations", [])
        ]
        if queues:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"QueueConfigurations": queues}
            )
        return {"Ref": name, "Arn": f"arn:aws:s3:::{name}", "BucketName": name}

    def _table(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        dynamodb = self.client("dynamodb")
        name = props.get("TableName") or self._name(logical_id)
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("SSESpecification"):
            request["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
        dynamodb.create_table(**request)
        if props.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"]
            )
        arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        return {"Ref": name, "Arn": arn}

    def _event_bus(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        name = props["Name"]
        arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
        return {"Ref": name, "Arn": arn, "Name": name}

    def _event_bus_policy(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        condition = self.template["Resources"][logical_id].get("Condition")
        if condition and not self.resolver.conditions[condition]:
            return {"Ref": logical_id}  # as CloudFormation: a false Condition creates nothing
        statement = {"Sid": props["StatementId"], **props["Statement"]}
        self.client("events").put_permission(
            EventBusName=props["EventBusName"],
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        return {"Ref": logical_id}

    def _archive(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        name = (props.get("ArchiveName") or self._name(logical_id))[:48]
        request: dict[str, Any] = {"ArchiveName": name, "EventSourceArn": props["SourceArn"]}
        if "EventPattern" in props:
            request["EventPattern"] = json.dumps(props["EventPattern"])
        if "RetentionDays" in props:
            request["RetentionDays"] = int(props["RetentionDays"])
        arn = self.client("events").create_archive(**request)["ArchiveArn"]
        return {"Ref": name, "Arn": arn, "ArchiveName": name}

    def _function(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        globals_ = self.resolver.resolve(self.template.get("Globals", {}).get("Function", {}))
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        name = props.get("FunctionName") or self._name(logical_id)
        self.stack.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            code_dir=ROOT / props["CodeUri"],
            handler=props["Handler"],
            environment={k: str(v) for k, v in environment.items()},
            events=props.get("Events", {}),
            timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
        )
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        return {"Ref": name, "Arn": arn}

    def _topic(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        name = props.get("TopicName") or self._name(logical_id)
        attributes = {
            key: str(props[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in props
        }
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return {"Ref": arn, "TopicArn": arn, "TopicName": name}

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> dict[str, Any]:
        """The definition file with its ``${...}`` DefinitionSubstitutions applied, as SAM
        does at deploy time (moto's CloudFormation ignores them). IAM is not enforced
        offline, so the role is a placeholder."""
        name = props.get("Name") or self._name(logical_id)
        definition = state_machine_definition(
            ROOT / props["DefinitionUri"], props.get("DefinitionSubstitutions", {})
        )
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}-role",
            type=props.get("Type", "STANDARD"),
        )["stateMachineArn"]
        self.stack.state_machines[logical_id] = StateMachineSpec(
            logical_id=logical_id, name=name, arn=arn, definition=json.loads(definition)
        )
        return {"Ref": arn, "Arn": arn, "Name": name}


def state_machine_definition(path: Path, substitutions: Mapping[str, Any]) -> str:
    """The ASL text with every ``${Name}`` replaced; an unknown placeholder is an error (as
    for CloudFormation, which would leave it in and break the definition)."""
    text = path.read_text(encoding="utf-8")

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            raise UnresolvableError(f"{path.name}: no DefinitionSubstitutions entry for ${{{key}}}")
        return str(substitutions[key])

    return re.sub(r"\$\{([A-Za-z0-9_]+)\}", replace, text)


class _Placeholder(dict[str, str]):
    """What a resource that is not emulated resolves to: ``offline:<id>`` for its Ref and
    ``offline:<id>.<Attribute>`` for any GetAtt (a log group's Arn, a key's Arn)."""

    def __init__(self, logical_id: str) -> None:
        super().__init__(Ref=f"offline:{logical_id}")
        self.logical_id = logical_id

    def __contains__(self, attribute: object) -> bool:
        return isinstance(attribute, str)

    def __missing__(self, attribute: str) -> str:
        return f"offline:{self.logical_id}.{attribute}"


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    depends = resource.get("DependsOn", [])
    return [depends] if isinstance(depends, str) else list(depends)
