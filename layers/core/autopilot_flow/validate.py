"""Manifest in, verdict out: parse -> split -> policy defaults -> structure -> rules -> policy.

Every problem is reported in one pass, in document order, as ``{"path", "message", "code"}``
(docs/architecture.md, Contracts). The result carries the request exactly as it would be sent
and, for a valid manifest, our ``Registry`` and ``Deployment.Strategy`` sections typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autopilot_flow import sections as our_sections
from autopilot_flow.api_model import request_model
from autopilot_flow.issues import Issue, sort_in_document_order
from autopilot_flow.manifest import (
    OUR_SECTIONS,
    Manifest,
    ManifestError,
    derive_job_name,
    parse_document,
)
from autopilot_flow.policy import Policy, apply_defaults, check_guardrails
from autopilot_flow.rules import STRUCTURAL_CHECKS, RuleContext, run_rules
from autopilot_flow.structure import SUGGESTIONS_UP_TO, StructureChecker, suggest

_CHECKER = StructureChecker({**STRUCTURAL_CHECKS, **our_sections.STRUCTURAL_CHECKS})


@dataclass
class ValidationResult:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # The CreateAutoMLJobV2 request as it would be sent (policy applied, name derived);
    # None when the document could not be read at all.
    request: dict[str, Any] | None = None
    manifest: Manifest | None = None
    defaults_applied: list[str] = field(default_factory=list)
    # Our Registry and Deployment.Strategy sections, typed, when the manifest is valid (None
    # when it has none): what FinalizeJob's registration and rollout read.
    model_registry: our_sections.ModelRegistrySection | None = None
    rollout: our_sections.RolloutStrategy | None = None

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def job_name(self) -> str | None:
        name = (self.request or {}).get("AutoMLJobName")
        return name if isinstance(name, str) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
        }


def validate_bytes(
    data: bytes, source_name: str | None = None, policy: Policy | None = None
) -> ValidationResult:
    """Parse and validate manifest bytes; an unreadable document is one error, not a crash."""
    try:
        document = parse_document(data, source_name)
    except ManifestError as exc:
        return ValidationResult(errors=[exc.issue])
    default_name = derive_job_name(source_name, data)
    return validate_document(document, policy=policy, default_job_name=default_name)


def validate_document(
    document: Any,
    policy: Policy | None = None,
    default_job_name: str | None = None,
) -> ValidationResult:
    """Validate a parsed manifest. ``default_job_name`` fills an omitted AutoMLJobName."""
    if not isinstance(document, dict):
        issue = Issue((), "parse.not_a_mapping", "a manifest must be a mapping of fields.")
        return ValidationResult(errors=[issue])
    manifest = Manifest.from_document(document)
    request = manifest.request
    filled: list[str] = []
    if policy is not None:
        request, filled = apply_defaults(request, policy)
    if "AutoMLJobName" not in request and default_job_name is not None:
        request = {"AutoMLJobName": default_job_name, **request}
        filled.insert(0, "AutoMLJobName")

    errors: list[Issue] = []
    _CHECKER.check(request, request_model(), (), errors)
    sections = {name: document[name] for name in OUR_SECTIONS if name in document}
    for name, value in sections.items():
        _CHECKER.check(value, our_sections.SECTION_NODES[name], (name,), errors)
    _explain_unknown_top_level(errors)

    requires_vpc = policy is not None and policy.guardrails.get("RequireVpc") is True
    ctx = RuleContext(request=request, sections=sections, policy_requires_vpc=requires_vpc)
    run_rules(ctx)
    if policy is not None:
        ctx.errors.extend(check_guardrails(request, sections, policy))
    # One error per place: where the structure is already wrong, a rule about the same
    # field would only repeat it.
    structural = {issue.loc for issue in errors}
    errors.extend(issue for issue in ctx.errors if issue.loc not in structural)

    valid = not errors
    return ValidationResult(
        errors=sort_in_document_order(errors, document),
        warnings=sort_in_document_order(ctx.warnings, document),
        request=request,
        manifest=manifest,
        defaults_applied=filled,
        model_registry=(
            our_sections.ModelRegistrySection.from_section(manifest.registry) if valid else None
        ),
        rollout=our_sections.RolloutStrategy.from_deployment(manifest.deployment)
        if valid
        else None,
    )


def _explain_unknown_top_level(errors: list[Issue]) -> None:
    """At the top level our own sections are allowed too: say so in the suggestion."""
    top_level = [*request_model()["members"], *OUR_SECTIONS]
    for index, issue in enumerate(errors):
        if issue.code == "unknown_field" and len(issue.loc) == 1:
            name = str(issue.loc[0])
            # As in the structural walk: past the first problems, a document is noise.
            hint = suggest(name, top_level) if index < SUGGESTIONS_UP_TO else None
            more = f" Did you mean {hint!r}?" if hint else ""
            errors[index] = Issue(
                issue.loc,
                issue.code,
                f"unknown field {name!r}.{more} Allowed at the top level: {', '.join(top_level)}.",
            )
