"""The SageMaker Model Registry as AWS runs it, where moto differs and the flow depends on it.

Measured against moto 5.2.5 (``tests/integration/test_model_package_events.py`` keeps the
probe: each deviation below has a test that fails on moto alone):

- moto publishes no SageMaker events. AWS puts ``SageMaker Model Package State Change``
  (source ``aws.sagemaker``) on the account's default bus when a model package changes
  state ("Events that Amazon SageMaker AI sends to Amazon EventBridge", "Model package state
  change", and "Get event notifications for ModelLifeCycle"): here when a versioned package is
  created and whenever UpdateModelPackage changes its ``ModelApprovalStatus``, with the
  detail of AWS's example (ModelPackageGroupName, ModelPackageVersion, ModelPackageArn,
  CreationTime, InferenceSpecification, ModelPackageStatus, ModelPackageStatusDetails,
  CertifyForMarketplace, ModelApprovalStatus, MetadataProperties, ModelMetrics,
  LastModifiedTime) plus ModelPackageDescription and Tags, which the event's registry schema
  lists. The event goes through moto's EventBridge backend, so rules match it as any event.
- UpdateModelPackage in moto overwrites what the request leaves out: an update that only
  approves erases ``CustomerMetadataProperties``; one that only changes metadata erases
  ``ModelApprovalStatus`` and ``ApprovalDescription``. AWS changes only the fields sent, and
  ``CustomerMetadataProperties`` adds or replaces keys (``CustomerMetadataPropertiesToRemove``
  removes them).
- A container's ``Environment`` in a model package holds at most 16 entries
  (ModelPackageContainerDefinition: "We support up to 16 entries in the map"); botocore's
  model shares the 100-entry ``EnvironmentMap`` with CreateModel and moto accepts any number.
  ``CustomerMetadataProperties`` holds at most 50 (botocore checks no maximum client-side).
- CreateModelPackageGroup with a name in use silently replaces the group in moto (its tags and
  description lost); AWS refuses it with a ValidationException (AWS does not document the
  wording).
- ListTags / AddTags / DeleteTags on a model package ARN (``model-package/group/1``) crash
  inside moto (it splits the ARN on "/" into two parts); AWS tags packages like any resource.

Not modelled: moto's ARNs keep the group name's case in ``model-package-group/Name`` and lower
it in ``model-package/name/1``; AWS's example shows a lower-case name in both, and the flow
compares ARNs only with what SageMaker returned.

``ModelRegistry().install()`` / ``uninstall()``; ``events`` keeps every event published.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from offline.moto_fixes import ClassPatches

SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Model Package State Change"
ENVIRONMENT_LIMIT = 16
METADATA_LIMIT = 50

# The detail fields of AWS's example event, in its order, from DescribeModelPackage's names.
_DETAIL_FIELDS = (
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageDescription",
    "CreationTime",
    "InferenceSpecification",
    "ModelPackageStatus",
    "ModelPackageStatusDetails",
    "CertifyForMarketplace",
    "ModelApprovalStatus",
    "MetadataProperties",
    "ModelMetrics",
    "LastModifiedTime",
)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _environment_violations(spec: Any, path: str) -> list[str]:
    problems = []
    for index, container in enumerate((spec or {}).get("Containers") or []):
        environment = container.get("Environment") or {}
        if len(environment) > ENVIRONMENT_LIMIT:
            problems.append(
                f"Value '{environment}' at '{path}.containers.{index + 1}.member.environment' "
                "failed to satisfy constraint: Member must have length less than or equal to "
                f"{ENVIRONMENT_LIMIT}"
            )
    return problems


def _metadata_violations(metadata: Any, path: str) -> list[str]:
    if metadata and len(metadata) > METADATA_LIMIT:
        return [
            f"Value '{metadata}' at '{path}' failed to satisfy constraint: Member must have "
            f"length less than or equal to {METADATA_LIMIT}"
        ]
    return []


def _refuse(problems: list[str]) -> None:
    if problems:
        from moto.sagemaker.exceptions import ValidationError  # noqa: PLC0415

        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise ValidationError(message=f"{count} validation {noun} detected: " + "; ".join(problems))


class ModelRegistry:
    """Model package groups and packages as AWS keeps them, and their state-change events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._patches = ClassPatches()
        self._lock = threading.RLock()

    def install(self) -> ModelRegistry:
        if self._patches:
            return self
        from moto.sagemaker.exceptions import ValidationError  # noqa: PLC0415 - moto is heavy
        from moto.sagemaker.models import SageMakerModelBackend  # noqa: PLC0415

        registry = self
        original_group = SageMakerModelBackend.create_model_package_group
        original_create = SageMakerModelBackend.create_model_package
        original_resource = SageMakerModelBackend._get_resource_from_arn

        def create_model_package_group(
            backend: Any, model_package_group_name: str, *args: Any, **kwargs: Any
        ) -> str:
            with registry._lock:
                for name, group in backend.model_package_groups.items():
                    if name.lower() == model_package_group_name.lower():
                        raise ValidationError(
                            message=f"Model Package Group already exists: {group.arn}"
                        )
                arn: str = original_group(backend, model_package_group_name, *args, **kwargs)
                return arn

        def create_model_package(backend: Any, *args: Any, **kwargs: Any) -> str:
            _refuse(
                _environment_violations(
                    kwargs.get("inference_specification"), "inferenceSpecification"
                )
                + [
                    problem
                    for index, spec in enumerate(
                        kwargs.get("additional_inference_specifications") or []
                    )
                    for problem in _environment_violations(
                        spec, f"additionalInferenceSpecifications.{index + 1}.member"
                    )
                ]
                + _metadata_violations(
                    kwargs.get("customer_metadata_properties"), "customerMetadataProperties"
                )
            )
            with registry._lock:
                arn: str = original_create(backend, *args, **kwargs)
                package = backend.model_packages[arn]
                if package.model_package_group_name is not None:
                    registry._publish(backend, package)
                return arn

        def update_model_package(
            backend: Any,
            *,
            model_package_arn: str,
            model_approval_status: str | None,
            approval_description: str | None,
            customer_metadata_properties: dict[str, str] | None,
            customer_metadata_properties_to_remove: list[str] | None,
            additional_inference_specifications_to_add: list[Any] | None,
        ) -> str:
            with registry._lock:
                mapped = backend.model_package_name_mapping.get(
                    model_package_arn, model_package_arn
                )
                package = backend.model_packages.get(mapped)
                if package is None:
                    raise ValidationError(message=f"Model package {model_package_arn} not found")
                merged = dict(package.customer_metadata_properties or {})
                merged.update(customer_metadata_properties or {})
                for key in customer_metadata_properties_to_remove or []:
                    merged.pop(key, None)
                _refuse(
                    _metadata_violations(merged, "customerMetadataProperties")
                    + [
                        problem
                        for index, spec in enumerate(
                            additional_inference_specifications_to_add or []
                        )
                        for problem in _environment_violations(
                            spec, f"additionalInferenceSpecificationsToAdd.{index + 1}.member"
                        )
                    ]
                )
                before = package.model_approval_status
                if model_approval_status is not None:
                    package.set_model_approval_status(model_approval_status)
                if approval_description is not None:
                    package.approval_description = approval_description
                if customer_metadata_properties or customer_metadata_properties_to_remove:
                    package.customer_metadata_properties = merged or None
                if additional_inference_specifications_to_add:
                    package.add_additional_inference_specifications(
                        additional_inference_specifications_to_add
                    )
                package.modifications_done()
                changed = package.model_approval_status != before
                if changed and package.model_package_group_name is not None:
                    registry._publish(backend, package)
                arn: str = package.arn
                return arn

        def get_resource_from_arn(backend: Any, arn: str) -> Any:
            if ":model-package/" in arn:
                package = backend.model_packages.get(
                    backend.model_package_name_mapping.get(arn, arn)
                )
                if package is None:
                    raise ValidationError(message=f"Could not find model-package with ARN {arn}")
                if package.tags is None:
                    package.tags = []
                return package
            return original_resource(backend, arn)

        patches = self._patches
        patches.patch(
            SageMakerModelBackend, "create_model_package_group", create_model_package_group
        )
        patches.patch(SageMakerModelBackend, "create_model_package", create_model_package)
        patches.patch(SageMakerModelBackend, "update_model_package", update_model_package)
        patches.patch(SageMakerModelBackend, "_get_resource_from_arn", get_resource_from_arn)
        return self

    def uninstall(self) -> None:
        self._patches.restore()

    def __enter__(self) -> ModelRegistry:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    # --- the event ---------------------------------------------------------------------------

    @staticmethod
    def detail(package: Any) -> dict[str, Any]:
        """The event's detail, as AWS's example shows it, from the package's describe."""
        described = package.gen_response_object()
        described["ModelPackageArn"] = package.arn
        described.setdefault("ModelPackageGroupName", package.model_package_group_name)
        detail = {
            name: described[name] for name in _DETAIL_FIELDS if described.get(name) is not None
        }
        detail.setdefault("LastModifiedTime", described.get("CreationTime"))
        detail["Tags"] = {tag["Key"]: tag["Value"] for tag in package.tags or []}
        # A JSON round trip: datetimes as AWS's events write them ("2021-02-24T17:00:14Z").
        loaded: dict[str, Any] = json.loads(json.dumps(detail, default=_iso))
        return loaded

    def _publish(self, backend: Any, package: Any) -> None:
        from moto.events.models import events_backends  # noqa: PLC0415

        detail = self.detail(package)
        entry = {
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(detail),
            "Resources": [package.arn],
            # No "Time": AWS writes "2021-02-24T17:00:14Z", but moto's rule delivery puts the
            # time unquoted into its input template, so only its own epoch number survives.
            "EventBusName": "default",
        }
        self.events.append({"source": SOURCE, "detail-type": DETAIL_TYPE, "detail": detail})
        # SageMaker is the publisher: moto's backend directly (a customer's PutEvents with an
        # aws.* source is refused on AWS).
        events_backends[backend.account_id][backend.region_name].put_events([entry])
