"""Function settings from the environment, modelled and validated once at start.

A function with a missing or malformed setting fails at initialisation with every problem
named, instead of failing on the first message it handles. The policy arrives as ``POLICY_*``
variables (the stack parameters) and is validated exactly like a ``--policy`` file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from autopilot_flow.policy import Policy, PolicyError


class SettingsError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid function settings: " + "; ".join(problems))
        self.problems = problems


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def required(self, name: str) -> str:
        value = self.env.get(name, "").strip()
        if not value:
            self.problems.append(f"{name} is required")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.env.get(name, "").strip().lower()
        if not value:
            return default
        if value not in ("true", "false"):
            self.problems.append(f"{name} must be true or false, not {value!r}")
            return default
        return value == "true"

    def integer(self, name: str, default: int, low: int = 0) -> int:
        value = self.env.get(name, "").strip()
        if not value:
            return default
        if not value.isdigit() or int(value) < low:
            self.problems.append(f"{name} must be a whole number >= {low}, not {value!r}")
            return default
        return int(value)


def policy_from_environment(env: Mapping[str, str]) -> Policy:
    """Build the policy from ``POLICY_DOCUMENT`` (a whole policy file's JSON or YAML, as the
    offline stack's ``--policy`` passes it) or else from the ``POLICY_*`` variables that the
    stack parameters fill (empty means "not set")."""
    document = env.get("POLICY_DOCUMENT", "").strip()
    if document:
        try:
            return Policy.from_bytes(document.encode("utf-8"))
        except PolicyError as exc:
            raise SettingsError(
                [f"POLICY_DOCUMENT {i.path or '(policy)'}: {i.message}" for i in exc.issues]
            ) from None
    reader = _Reader(env)
    defaults: dict[str, Any] = {}
    guardrails: dict[str, Any] = {}

    def value(name: str) -> str:
        return env.get(name, "").strip()

    if value("POLICY_DEFAULT_ROLE_ARN"):
        defaults["RoleArn"] = value("POLICY_DEFAULT_ROLE_ARN")
    kms = value("POLICY_KMS_KEY_ID")
    if value("POLICY_OUTPUT_S3_PATH"):
        defaults["OutputDataConfig"] = {"S3OutputPath": value("POLICY_OUTPUT_S3_PATH")}
        if kms:
            defaults["OutputDataConfig"]["KmsKeyId"] = kms
    security: dict[str, Any] = {}
    if kms:
        security["VolumeKmsKeyId"] = kms
    subnets, groups = (
        _items(value("POLICY_VPC_SUBNET_IDS")),
        _items(value("POLICY_VPC_SECURITY_GROUP_IDS")),
    )
    if subnets or groups:
        security["VpcConfig"] = {"Subnets": subnets, "SecurityGroupIds": groups}
    if reader.boolean("POLICY_REQUIRE_INTER_CONTAINER_ENCRYPTION", False):
        security["EnableInterContainerTrafficEncryption"] = True
        guardrails["RequireInterContainerEncryption"] = True
    if security:
        defaults["SecurityConfig"] = security
    tags = []
    for pair in _items(value("POLICY_DEFAULT_TAGS")):
        key, sep, tag_value = pair.partition("=")
        if not sep or not key.strip():
            reader.problems.append(f"POLICY_DEFAULT_TAGS: {pair!r} is not key=value")
            continue
        tags.append({"Key": key.strip(), "Value": tag_value.strip()})
    if tags:
        defaults["Tags"] = tags

    for env_name, field_name in (
        ("POLICY_ALLOWED_ROLE_ARNS", "AllowedRoleArns"),
        ("POLICY_ALLOWED_S3_PREFIXES", "AllowedS3Prefixes"),
        ("POLICY_ALLOWED_TOPIC_ARNS", "AllowedTopicArns"),
        ("POLICY_ALLOWED_PROBLEM_TYPES", "AllowedProblemTypes"),
        ("POLICY_REQUIRED_TAG_KEYS", "RequiredTagKeys"),
    ):
        if env_name in env:
            guardrails[field_name] = _items(env[env_name])
    if not guardrails.get("AllowedProblemTypes"):
        guardrails.pop("AllowedProblemTypes", None)
    # An empty parameter means "any endpoint name" (foreign endpoints are refused regardless).
    endpoint_names = _items(value("POLICY_ALLOWED_ENDPOINT_NAMES"))
    if endpoint_names:
        guardrails["AllowedEndpointNames"] = endpoint_names
    # Empty: no endpoint needs an approval.
    approval_names = _items(value("POLICY_REQUIRE_APPROVAL_FOR_ENDPOINTS"))
    if approval_names:
        guardrails["RequireApprovalForEndpoints"] = approval_names
    for env_name, field_name in (
        ("POLICY_MAX_CANDIDATES", "MaxCandidates"),
        ("POLICY_MAX_JOB_RUNTIME_SECONDS", "MaxAutoMLJobRuntimeInSeconds"),
        ("POLICY_MAX_CANDIDATE_RUNTIME_SECONDS", "MaxRuntimePerTrainingJobInSeconds"),
    ):
        number = reader.integer(env_name, 0)
        if number:
            guardrails[field_name] = number
    if reader.boolean("POLICY_REQUIRE_KMS_KEY", False):
        guardrails["RequireKmsKey"] = True
    if reader.boolean("POLICY_REQUIRE_VPC", False):
        guardrails["RequireVpc"] = True
    if reader.problems:
        raise SettingsError(reader.problems)
    try:
        return Policy.from_document({"Defaults": defaults, "Guardrails": guardrails})
    except PolicyError as exc:
        raise SettingsError([f"policy {i.path}: {i.message}" for i in exc.issues]) from None


def _policy_checked_with(reader: _Reader, env: Mapping[str, str]) -> Policy:
    """The policy from the environment; raises with its problems and the reader's together,
    so that a function's start names every problem at once."""
    problems = list(reader.problems)
    policy = Policy()
    try:
        policy = policy_from_environment(env)
    except SettingsError as exc:
        problems.extend(exc.problems)
    if problems:
        raise SettingsError(problems)
    return policy


@dataclass(frozen=True)
class IngestSettings:
    jobs_table: str
    idempotency_table: str
    event_bus: str
    queue_url: str
    preflight_enabled: bool
    max_receive_count: int
    capacity_retry_seconds: int
    capacity_retry_max_seconds: int
    policy: Policy

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IngestSettings:
        reader = _Reader(env)
        jobs_table = reader.required("JOBS_TABLE_NAME")
        idempotency_table = reader.required("IDEMPOTENCY_TABLE_NAME")
        event_bus = reader.required("EVENT_BUS_NAME")
        queue_url = reader.required("INGEST_QUEUE_URL")
        preflight_enabled = reader.boolean("PREFLIGHT_ENABLED", True)
        max_receive_count = reader.integer("MAX_RECEIVE_COUNT", 24, low=1)
        capacity_retry_seconds = reader.integer("CAPACITY_RETRY_SECONDS", 60, low=1)
        capacity_retry_max_seconds = reader.integer("CAPACITY_RETRY_MAX_SECONDS", 900, low=1)
        policy = _policy_checked_with(reader, env)
        return cls(
            jobs_table=jobs_table,
            idempotency_table=idempotency_table,
            event_bus=event_bus,
            queue_url=queue_url,
            preflight_enabled=preflight_enabled,
            max_receive_count=max_receive_count,
            capacity_retry_seconds=capacity_retry_seconds,
            capacity_retry_max_seconds=capacity_retry_max_seconds,
            policy=policy,
        )


@dataclass(frozen=True)
class WatchSettings:
    jobs_table: str
    event_bus: str
    overlap_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WatchSettings:
        reader = _Reader(env)
        jobs_table = reader.required("JOBS_TABLE_NAME")
        event_bus = reader.required("EVENT_BUS_NAME")
        overlap_seconds = reader.integer("WATCH_OVERLAP_SECONDS", 300, low=0)
        if reader.problems:
            raise SettingsError(reader.problems)
        return cls(jobs_table=jobs_table, event_bus=event_bus, overlap_seconds=overlap_seconds)


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API (JobsApi): the ingest pipeline's settings plus where answers are filed."""

    jobs_table: str
    idempotency_table: str
    event_bus: str
    manifests_bucket: str
    preflight_enabled: bool
    capacity_retry_seconds: int
    policy: Policy
    # What this stack owns carries the tag autopilot-flow:stack = stack_name; a rollback
    # starts FinalizeJob (finalize_state_machine_arn) in deploy mode.
    stack_name: str = ""
    finalize_state_machine_arn: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiSettings:
        reader = _Reader(env)
        jobs_table = reader.required("JOBS_TABLE_NAME")
        idempotency_table = reader.required("IDEMPOTENCY_TABLE_NAME")
        event_bus = reader.required("EVENT_BUS_NAME")
        manifests_bucket = reader.required("MANIFESTS_BUCKET_NAME")
        preflight_enabled = reader.boolean("PREFLIGHT_ENABLED", True)
        capacity_retry_seconds = reader.integer("CAPACITY_RETRY_SECONDS", 60, low=1)
        stack_name = reader.required("STACK_NAME")
        finalize_state_machine_arn = reader.required("FINALIZE_STATE_MACHINE_ARN")
        policy = _policy_checked_with(reader, env)
        return cls(
            jobs_table=jobs_table,
            idempotency_table=idempotency_table,
            event_bus=event_bus,
            manifests_bucket=manifests_bucket,
            preflight_enabled=preflight_enabled,
            capacity_retry_seconds=capacity_retry_seconds,
            policy=policy,
            stack_name=stack_name,
            finalize_state_machine_arn=finalize_state_machine_arn,
        )
