"""Organisation policy: defaults that fill omitted fields, and guardrails that reject.

A policy is a JSON or YAML file (``autopilot-flow validate --policy FILE``) and, on AWS, the
stack's parameters. Its shape::

    Defaults:                      # fill what the manifest omits
      RoleArn: arn:aws:iam::111122223333:role/AutopilotExecution
      OutputDataConfig: {S3OutputPath: s3://ml-output/autopilot/, KmsKeyId: alias/ml}
      SecurityConfig: {VolumeKmsKeyId: alias/ml, VpcConfig: {...}}
      Tags: [{Key: cost-center, Value: ml-platform}]
    Guardrails:                    # reject what breaks the rules
      AllowedRoleArns: [arn:aws:iam::111122223333:role/autopilot-*]
      AllowedS3Prefixes: [s3://ml-data/, s3://ml-output/autopilot/]
      AllowedTopicArns: [arn:aws:sns:eu-west-1:111122223333:ml-*]
      AllowedEndpointNames: [churn-*, demand-forecast]
      RequireApprovalForEndpoints: [churn-*]   # these need Registry.ApprovalRequired: true
      AllowedProblemTypes: [TabularJobConfig, TimeSeriesForecastingJobConfig]
      MaxCandidates: 100
      MaxAutoMLJobRuntimeInSeconds: 86400
      MaxRuntimePerTrainingJobInSeconds: 7200
      RequiredTagKeys: [team, cost-center]
      RequireKmsKey: true
      RequireVpc: true
      RequireInterContainerEncryption: true

Allow-lists: the allowed roles are ``AllowedRoleArns`` plus ``Defaults.RoleArn``, closed as
soon as the policy names any role; the allowed S3 locations are ``AllowedS3Prefixes`` plus
the default output path, closed as soon as ``AllowedS3Prefixes`` is given (an empty list
allows only the default output path); topics are always closed (a manifest may name only
``AllowedTopicArns``). The deployed stack always sets all three, so a manifest there can
never pass a role, read or write a bucket, or notify a topic the policy does not name.
Endpoint names are open unless ``AllowedEndpointNames`` is given (then closed; endpoint names
are compared ignoring case, as SageMaker does). Patterns may use ``*`` (any characters).
A manifest that deploys to an endpoint matching ``RequireApprovalForEndpoints`` must register
its model with ``Registry.ApprovalRequired: true``, so that a person approves it before it
reaches that endpoint; SageMaker's own ``ModelDeployConfig`` cannot wait for an approval and
is refused for such an endpoint.

The S3 check here sees only the URIs written in the request; the data preflight reads the
ManifestFile and AugmentedManifestFile objects and checks the locations inside them against
the same prefixes (``allowed_s3_prefixes``).
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from autopilot_flow import problem_types as pt
from autopilot_flow.api_model import request_model
from autopilot_flow.issues import Issue, Loc
from autopilot_flow.manifest import ManifestError, parse_document
from autopilot_flow.structure import StructureChecker

Node = dict[str, Any]


def _string_list(doc: str, shape: str) -> Node:
    return {
        "type": "list",
        "min": 0,
        "max": 100,
        "doc": doc,
        "member": {"type": "string", "shape": shape, "min": 1, "max": 2048},
    }


def policy_model() -> Node:
    """The policy file's structure, reusing the API model's nodes for the defaults."""
    members = request_model()["members"]
    criteria = members["AutoMLProblemTypeConfig"]["members"]["TabularJobConfig"]["members"][
        "CompletionCriteria"
    ]["members"]
    return {
        "type": "structure",
        "shape": "Policy",
        "required": [],
        "members": {
            "Defaults": {
                "type": "structure",
                "shape": "PolicyDefaults",
                "required": [],
                "members": {
                    "RoleArn": members["RoleArn"],
                    "OutputDataConfig": members["OutputDataConfig"],
                    "SecurityConfig": members["SecurityConfig"],
                    "Tags": members["Tags"],
                },
            },
            "Guardrails": {
                "type": "structure",
                "shape": "PolicyGuardrails",
                "required": [],
                "members": {
                    "AllowedRoleArns": _string_list("Roles a manifest may name.", "RolePattern"),
                    "AllowedS3Prefixes": _string_list(
                        "S3 prefixes a manifest may read or write.", "S3Prefix"
                    ),
                    "AllowedTopicArns": _string_list(
                        "SNS topics a manifest may notify.", "TopicPattern"
                    ),
                    "AllowedEndpointNames": _string_list(
                        "Endpoints a manifest may deploy to (Deployment.EndpointName, "
                        "ModelDeployConfig.EndpointName).",
                        "EndpointPattern",
                    ),
                    "RequireApprovalForEndpoints": _string_list(
                        "Endpoints a manifest may deploy to only with "
                        "Registry.ApprovalRequired: true.",
                        "EndpointPattern",
                    ),
                    "AllowedProblemTypes": {
                        "type": "list",
                        "min": 1,
                        "max": 5,
                        "member": {"type": "string", "enum": list(pt.PROBLEM_CONFIGS)},
                    },
                    "MaxCandidates": criteria["MaxCandidates"],
                    "MaxAutoMLJobRuntimeInSeconds": criteria["MaxAutoMLJobRuntimeInSeconds"],
                    "MaxRuntimePerTrainingJobInSeconds": criteria[
                        "MaxRuntimePerTrainingJobInSeconds"
                    ],
                    "RequiredTagKeys": _string_list("Tag keys every job must carry.", "TagKey"),
                    "RequireKmsKey": {"type": "boolean"},
                    "RequireVpc": {"type": "boolean"},
                    "RequireInterContainerEncryption": {"type": "boolean"},
                },
            },
        },
    }


class PolicyError(Exception):
    """The policy itself is invalid; ``issues`` lists every problem."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i.path or '(policy)'}: {i.message}" for i in issues))
        self.issues = issues


@dataclass
class Policy:
    defaults: dict[str, Any] = field(default_factory=dict)
    guardrails: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Policy:
        issues: list[Issue] = []
        StructureChecker().check(document, policy_model(), (), issues)
        if issues:
            raise PolicyError(issues)
        return cls(
            defaults=dict(document.get("Defaults", {})),
            guardrails=dict(document.get("Guardrails", {})),
        )

    @classmethod
    def from_bytes(cls, data: bytes, filename: str | None = None) -> Policy:
        try:
            document = parse_document(data, filename)
        except ManifestError as exc:
            raise PolicyError([exc.issue]) from None
        return cls.from_document(document)

    # --- allow-lists (closed once anything is named) -------------------------------------

    def allowed_roles(self) -> list[str] | None:
        names = list(self.guardrails.get("AllowedRoleArns", []))
        if "RoleArn" in self.defaults:
            names.append(self.defaults["RoleArn"])
        return names or None

    def allowed_s3_prefixes(self) -> list[str] | None:
        if "AllowedS3Prefixes" not in self.guardrails:
            return None
        prefixes = list(self.guardrails["AllowedS3Prefixes"])
        output = self.defaults.get("OutputDataConfig", {}).get("S3OutputPath")
        if output:
            prefixes.append(output)
        return prefixes

    def allowed_topics(self) -> list[str] | None:
        return list(self.guardrails.get("AllowedTopicArns", [])) or None

    def allowed_endpoint_names(self) -> list[str] | None:
        """None: any endpoint name; a list (even empty): only names matching it."""
        if "AllowedEndpointNames" not in self.guardrails:
            return None
        return list(self.guardrails["AllowedEndpointNames"])

    def endpoints_requiring_approval(self) -> list[str]:
        """Endpoint name patterns a manifest may deploy to only through an approval."""
        return list(self.guardrails.get("RequireApprovalForEndpoints", []))


def role_allowed(arn: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


def endpoint_name_allowed(name: str, patterns: list[str]) -> bool:
    """SageMaker endpoint names are case-insensitive: so is the match."""
    return any(fnmatch.fnmatchcase(name.lower(), pattern.lower()) for pattern in patterns)


def s3_allowed(uri: str, prefixes: list[str]) -> bool:
    """``uri`` is at or below one of ``prefixes`` (whole path segments; s3:// URLs only)."""
    if not uri.startswith("s3://"):
        return False
    for prefix in prefixes:
        if "*" in prefix:
            if fnmatch.fnmatchcase(uri, prefix.rstrip("/") + "*"):
                return True
            continue
        base = prefix.rstrip("/")
        if uri == base or uri.startswith(base + "/"):
            return True
    return False


def apply_defaults(request: dict[str, Any], policy: Policy) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``request`` with the policy's defaults filled in, and what was filled.

    Only omitted fields are filled; a manifest's own value is never replaced (the
    guardrails then judge it).
    """
    result = copy.deepcopy(request)
    filled: list[str] = []
    defaults = policy.defaults
    if "RoleArn" in defaults and "RoleArn" not in result:
        result["RoleArn"] = defaults["RoleArn"]
        filled.append("RoleArn")
    for section in ("OutputDataConfig", "SecurityConfig"):
        default = defaults.get(section)
        if not default:
            continue
        current = result.get(section)
        if section not in result:
            result[section] = copy.deepcopy(default)
            filled.append(section)
        elif isinstance(current, dict):
            for key, value in default.items():
                if key not in current:
                    current[key] = copy.deepcopy(value)
                    filled.append(f"{section}.{key}")
    default_tags = defaults.get("Tags")
    if default_tags:
        tags = result.get("Tags")
        if "Tags" not in result:
            result["Tags"] = copy.deepcopy(default_tags)
            filled.append("Tags")
        elif isinstance(tags, list):
            present = {
                t.get("Key") for t in tags if isinstance(t, dict) and isinstance(t.get("Key"), str)
            }
            for tag in default_tags:
                if tag["Key"] not in present:
                    tags.append(dict(tag))
                    filled.append(f"Tags.{tag['Key']}")
    filled.extend(_fill_caps(result, policy))
    return result, filled


def _fill_caps(request: dict[str, Any], policy: Policy) -> list[str]:
    """Where a cap exists and the manifest leaves the limit to SageMaker's (larger) default,
    write the cap in, so that the job cannot run past it."""
    config = request.get("AutoMLProblemTypeConfig")
    if not isinstance(config, dict) or len(config) != 1:
        return []
    ((problem, body),) = config.items()
    if not isinstance(body, dict):
        return []
    filled: list[str] = []
    caps = [
        (name, policy.guardrails[name])
        for name in (
            "MaxCandidates",
            "MaxAutoMLJobRuntimeInSeconds",
            "MaxRuntimePerTrainingJobInSeconds",
        )
        if name in policy.guardrails
    ]
    for name, cap in caps:
        if name == "MaxCandidates" and problem != pt.TABULAR:
            continue  # non-tabular jobs train exactly one candidate
        criteria = body.setdefault("CompletionCriteria", {})
        if isinstance(criteria, dict) and name not in criteria:
            criteria[name] = cap
            filled.append(f"AutoMLProblemTypeConfig.{problem}.CompletionCriteria.{name}")
    return filled


def check_guardrails(
    request: dict[str, Any], sections: dict[str, Any], policy: Policy
) -> list[Issue]:
    """Every way ``request`` (defaults already applied) breaks the policy's guardrails."""
    issues: list[Issue] = []
    guard = policy.guardrails

    roles = policy.allowed_roles()
    if roles is not None:
        role_fields: list[tuple[Loc, Any]] = [(("RoleArn",), request.get("RoleArn"))]
        emr = request.get("AutoMLComputeConfig")
        if isinstance(emr, dict) and isinstance(emr.get("EmrServerlessComputeConfig"), dict):
            role_fields.append(
                (
                    ("AutoMLComputeConfig", "EmrServerlessComputeConfig", "ExecutionRoleARN"),
                    emr["EmrServerlessComputeConfig"].get("ExecutionRoleARN"),
                )
            )
        for loc, arn in role_fields:
            if isinstance(arn, str) and not role_allowed(arn, roles):
                issues.append(
                    Issue(
                        loc,
                        "policy.role_not_allowed",
                        f"the role {arn} is not allowed by the policy; allowed: "
                        f"{', '.join(roles)}.",
                    )
                )

    prefixes = policy.allowed_s3_prefixes()
    if prefixes is not None:
        for loc, uri in _s3_locations(request):
            if not s3_allowed(uri, prefixes):
                issues.append(
                    Issue(
                        loc,
                        "policy.s3_not_allowed",
                        f"{uri} is outside the S3 locations the policy allows "
                        f"({', '.join(prefixes)}).",
                    )
                )

    topics = policy.allowed_topics()
    notifications = sections.get("Notifications")
    topic_list = notifications.get("TopicArns") if isinstance(notifications, dict) else None
    if isinstance(topic_list, list):
        for index, arn in enumerate(topic_list):
            if isinstance(arn, str) and not (topics and role_allowed(arn, topics)):
                issues.append(
                    Issue(
                        ("Notifications", "TopicArns", index),
                        "policy.topic_not_allowed",
                        f"the topic {arn} is not allowed by the policy"
                        + (f"; allowed: {', '.join(topics)}." if topics else " (none is)."),
                    )
                )

    endpoint_patterns = policy.allowed_endpoint_names()
    if endpoint_patterns is not None:
        issues.extend(_endpoint_issues(request, sections, endpoint_patterns))
    approval_patterns = policy.endpoints_requiring_approval()
    if approval_patterns:
        issues.extend(_approval_issues(request, sections, approval_patterns))

    config = request.get("AutoMLProblemTypeConfig")
    problem = next(iter(config)) if isinstance(config, dict) and len(config) == 1 else None
    allowed_problems = guard.get("AllowedProblemTypes")
    if allowed_problems and problem in pt.PROBLEM_CONFIGS and problem not in allowed_problems:
        issues.append(
            Issue(
                ("AutoMLProblemTypeConfig", str(problem)),
                "policy.problem_type_not_allowed",
                f"{problem} jobs are not allowed by the policy; allowed: "
                f"{', '.join(allowed_problems)}.",
            )
        )
    if problem is not None and isinstance(config, dict):
        criteria = (
            config[problem].get("CompletionCriteria") if isinstance(config[problem], dict) else None
        )
        if isinstance(criteria, dict):
            for name in (
                "MaxCandidates",
                "MaxAutoMLJobRuntimeInSeconds",
                "MaxRuntimePerTrainingJobInSeconds",
            ):
                cap, value = guard.get(name), criteria.get(name)
                if (
                    cap is not None
                    and isinstance(value, int)
                    and not isinstance(value, bool)
                    and value > cap
                ):
                    issues.append(
                        Issue(
                            ("AutoMLProblemTypeConfig", problem, "CompletionCriteria", name),
                            "policy.cap_exceeded",
                            f"{value} is above the policy's cap of {cap}.",
                        )
                    )

    required_tags = guard.get("RequiredTagKeys", [])
    tags = request.get("Tags")
    present = (
        {t.get("Key") for t in tags if isinstance(t, dict) and isinstance(t.get("Key"), str)}
        if isinstance(tags, list)
        else set()
    )
    missing = [key for key in required_tags if key not in present]
    if missing:
        issues.append(
            Issue(
                ("Tags",),
                "policy.required_tag",
                f"the policy requires the tag key(s) {', '.join(missing)}.",
            )
        )

    output = request.get("OutputDataConfig")
    security = request.get("SecurityConfig")
    security = security if isinstance(security, dict) else {}
    if guard.get("RequireKmsKey"):
        if not (isinstance(output, dict) and output.get("KmsKeyId")):
            issues.append(
                Issue(
                    ("OutputDataConfig", "KmsKeyId"),
                    "policy.kms_required",
                    "the policy requires a KMS key for the job's output.",
                )
            )
        if not security.get("VolumeKmsKeyId"):
            issues.append(
                Issue(
                    ("SecurityConfig", "VolumeKmsKeyId"),
                    "policy.kms_required",
                    "the policy requires a KMS key for the training volumes.",
                )
            )
    if guard.get("RequireVpc") and not security.get("VpcConfig"):
        issues.append(
            Issue(
                ("SecurityConfig", "VpcConfig"),
                "policy.vpc_required",
                "the policy requires the job to run in a VPC (SecurityConfig.VpcConfig).",
            )
        )
    if (
        guard.get("RequireInterContainerEncryption")
        and security.get("EnableInterContainerTrafficEncryption") is not True
    ):
        issues.append(
            Issue(
                ("SecurityConfig", "EnableInterContainerTrafficEncryption"),
                "policy.encryption_required",
                "the policy requires inter-container traffic encryption (set it to true).",
            )
        )
    return issues


def _endpoint_issues(
    request: dict[str, Any], sections: dict[str, Any], patterns: list[str]
) -> list[Issue]:
    """The endpoints a job may create or update that ``AllowedEndpointNames`` does not allow:
    FinalizeJob's (``Deployment``; its endpoint defaults to the job name) and SageMaker's own
    (``ModelDeployConfig``)."""
    allowed = ", ".join(patterns) if patterns else "none"
    issues: list[Issue] = []
    named: list[tuple[Loc, Any, str]] = []
    deployment = sections.get("Deployment")
    if isinstance(deployment, dict):
        if "EndpointName" in deployment:
            named.append((("Deployment", "EndpointName"), deployment["EndpointName"], ""))
        else:
            named.append(
                (
                    ("Deployment", "EndpointName"),
                    request.get("AutoMLJobName"),
                    " (the default: the job name; set Deployment.EndpointName)",
                )
            )
    model_deploy = request.get("ModelDeployConfig")
    if isinstance(model_deploy, dict):
        if model_deploy.get("AutoGenerateEndpointName") is True:
            issues.append(
                Issue(
                    ("ModelDeployConfig", "AutoGenerateEndpointName"),
                    "policy.endpoint_not_allowed",
                    "the policy limits endpoint names (allowed: "
                    f"{allowed}); a generated name cannot be checked: set "
                    "AutoGenerateEndpointName to false and name the endpoint in EndpointName.",
                )
            )
        named.append((("ModelDeployConfig", "EndpointName"), model_deploy.get("EndpointName"), ""))
    for loc, name, note in named:
        if isinstance(name, str) and not endpoint_name_allowed(name, patterns):
            issues.append(
                Issue(
                    loc,
                    "policy.endpoint_not_allowed",
                    f"the endpoint {name}{note} is not allowed by the policy; allowed: {allowed}.",
                )
            )
    return issues


def _approval_issues(
    request: dict[str, Any], sections: dict[str, Any], patterns: list[str]
) -> list[Issue]:
    """Deployments to an endpoint that ``RequireApprovalForEndpoints`` names, without the
    approval gate: FinalizeJob's (``Deployment``, its endpoint defaulting to the job name) needs
    ``Registry.ApprovalRequired: true``; SageMaker's own (``ModelDeployConfig``) never waits for
    an approval, so it is refused for such an endpoint (and when its name is generated)."""
    listed = ", ".join(patterns)
    issues: list[Issue] = []
    deployment = sections.get("Deployment")
    if isinstance(deployment, dict):
        name = deployment.get("EndpointName", request.get("AutoMLJobName"))
        registry = sections.get("Registry")
        approved = isinstance(registry, dict) and registry.get("ApprovalRequired") is True
        if isinstance(name, str) and endpoint_name_allowed(name, patterns) and not approved:
            issues.append(
                Issue(
                    ("Registry", "ApprovalRequired"),
                    "policy.approval_required",
                    f"the policy requires an approval before a model reaches endpoint {name} "
                    f"(it matches {listed}): add a Registry section with "
                    "ApprovalRequired: true.",
                )
            )
    model_deploy = request.get("ModelDeployConfig")
    if isinstance(model_deploy, dict):
        name = model_deploy.get("EndpointName")
        generated = model_deploy.get("AutoGenerateEndpointName") is True
        if generated or (isinstance(name, str) and endpoint_name_allowed(name, patterns)):
            what = "a generated endpoint name" if generated else f"endpoint {name}"
            issues.append(
                Issue(
                    (
                        "ModelDeployConfig",
                        "AutoGenerateEndpointName" if generated else "EndpointName",
                    ),
                    "policy.approval_required",
                    f"the policy requires an approval before a model reaches {listed}; "
                    f"ModelDeployConfig deploys to {what} at once, without one. Remove "
                    "ModelDeployConfig and deploy with Deployment and Registry.ApprovalRequired: "
                    "true.",
                )
            )
    return issues


def _s3_locations(request: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Every S3 location a request reads or writes, with where it stands."""
    found: list[tuple[Loc, str]] = []
    channels = request.get("AutoMLJobInputDataConfig")
    if isinstance(channels, list):
        for index, channel in enumerate(channels):
            source = channel.get("DataSource") if isinstance(channel, dict) else None
            s3 = source.get("S3DataSource") if isinstance(source, dict) else None
            uri = s3.get("S3Uri") if isinstance(s3, dict) else None
            if isinstance(uri, str):
                found.append(
                    (
                        ("AutoMLJobInputDataConfig", index, "DataSource", "S3DataSource", "S3Uri"),
                        uri,
                    )
                )
    config = request.get("AutoMLProblemTypeConfig")
    if isinstance(config, dict):
        for problem, body in config.items():
            if isinstance(body, dict) and isinstance(body.get("FeatureSpecificationS3Uri"), str):
                found.append(
                    (
                        ("AutoMLProblemTypeConfig", str(problem), "FeatureSpecificationS3Uri"),
                        body["FeatureSpecificationS3Uri"],
                    )
                )
    output = request.get("OutputDataConfig")
    if isinstance(output, dict) and isinstance(output.get("S3OutputPath"), str):
        found.append((("OutputDataConfig", "S3OutputPath"), output["S3OutputPath"]))
    return found
