"""Where moto differs from AWS in ways the service relies on, and the fix for each.

- DynamoDB: a conditional write is atomic on AWS. moto checks the condition and then writes
  without a lock, so two threads (concurrent Lambda invocations in a test, or the threaded
  moto server offline) can both pass ``attribute_not_exists(...)``. ``atomic_dynamodb_writes``
  serialises moto's write operations, as DynamoDB does per item.
- Step Functions: aws-sdk task errors are named with the lower-case service
  (``sagemaker.sagemakerException``); AWS writes ``SageMaker.SageMakerException``.
  ``aws_sdk_error_names`` binds the services we call to AWS's spelling.
- SageMaker endpoints: InService the moment CreateEndpoint returns, a taken name is silently
  replaced, and UpdateEndpoint is missing. ``EndpointLifecycle`` models AWS: Creating or
  Updating first, then InService, Failed, or (a failed update) rolled back; an UpdateEndpoint
  with a ``DeploymentConfig`` runs a blue/green rollout (canary, linear, all at once) that the
  rollback alarms can undo (``offline.rollouts``). moto also accepts any model on any
  endpoint; ``EndpointLifecycle`` refuses what AWS refuses (a serverless endpoint for an
  inference pipeline or a VPC model, ...: ``autopilot_flow.deploy_targets``).
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import moto.s3.notifications as s3_notifications
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import FakeEndpointConfig

from offline.rollouts import DeploymentConfigRefused, Rollout, Variant, plan_rollout

# Reads too: moto serialises an item while another thread writes it ("dictionary changed
# size during iteration" under the threaded server).
_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "get_item",
    "batch_get_item",
    "query",
    "scan",
)
_LOCK = threading.RLock()


_MISSING = object()


class ClassPatches:
    """Attributes replaced on moto's classes, put back exactly (absent ones removed)."""

    def __init__(self) -> None:
        self.applied: list[tuple[type, str, Any]] = []

    def __bool__(self) -> bool:
        return bool(self.applied)

    def patch(self, owner: type, name: str, replacement: Any) -> None:
        self.applied.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, replacement)

    def restore(self) -> None:
        for owner, name, original in reversed(self.applied):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self.applied.clear()


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    wrapper.__wrapped_by_autopilot_flow__ = True  # type: ignore[attr-defined]
    return wrapper


def install_atomic_dynamodb_writes() -> Callable[[], None]:
    """Patch moto's DynamoDB (backend and request handler); returns the undo function.

    Whole requests are serialised, because moto also reads shared item objects while it
    renders a response, after the backend call returned."""
    targets: list[tuple[Any, str]] = [(DynamoDBBackend, name) for name in _WRITES]
    targets.append((DynamoHandler, "call_action"))
    originals = [(owner, name, getattr(owner, name)) for owner, name in targets]
    for owner, name, method in originals:
        if not getattr(method, "__wrapped_by_autopilot_flow__", False):
            setattr(owner, name, _locked(method))

    def uninstall() -> None:
        for owner, name, method in originals:
            setattr(owner, name, method)

    return uninstall


@contextmanager
def atomic_dynamodb_writes() -> Iterator[None]:
    uninstall = install_atomic_dynamodb_writes()
    try:
        yield
    finally:
        uninstall()


# --------------------------------------------------------------------------------------------
# Step Functions: error names of AWS SDK integrations
# --------------------------------------------------------------------------------------------

# moto deviation: moto's Step Functions interpreter names an aws-sdk task's error after the
# lower-case service of the Resource ARN, and an error that the service model does not
# declare (ThrottlingException, ValidationException: botocore raises a plain ClientError)
# after the service itself: "sagemaker.sagemakerException", "sagemaker.ResourceNotFoundException".
# AWS writes the service name in PascalCase ("SageMaker.ResourceNotFoundException";
# supported-services-awssdk: "Both the service name and error name are in Pascal case"), and
# an undeclared error comes out as the service's base exception, "SageMaker.SageMakerException"
# (the naming LocalStack, whose interpreter moto uses, reproduces for the services it binds).
# Retry and Catch in our definitions use AWS's names, so offline runs bind the services we
# call the AWS way.
AWS_SDK_SERVICE_ERROR_NAMES = {"sagemaker": "SageMaker"}


def install_aws_sdk_error_names() -> Callable[[], None]:
    """Name aws-sdk task errors as AWS does for the services above; returns the undo."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    names: dict[str, str] = aws_sdk._SERVICE_ERROR_NAMES
    saved = dict(names)
    names.update(AWS_SDK_SERVICE_ERROR_NAMES)

    def uninstall() -> None:
        names.clear()
        names.update(saved)

    return uninstall


@contextmanager
def aws_sdk_error_names() -> Iterator[None]:
    uninstall = install_aws_sdk_error_names()
    try:
        yield
    finally:
        uninstall()


# --------------------------------------------------------------------------------------------
# SageMaker endpoints: a life cycle, and UpdateEndpoint
# --------------------------------------------------------------------------------------------


@dataclass
class _EndpointProgress:
    outcome: str  # "InService" or "Failed"
    config: str  # the endpoint config live once the operation ends
    previous_config: str | None  # an update's rollback target
    failure_reason: str | None
    describes_left: int


class EndpointLifecycle:
    """SageMaker endpoints as AWS runs them.

    moto deviations: CreateEndpoint returns an endpoint that is InService at once, silently
    replaces an endpoint of the same name, and UpdateEndpoint does not exist
    (moto 5.2.5, measured). On AWS:

    - CreateEndpoint refuses a name in use ("Cannot create already existing endpoint"), and
      the endpoint is ``Creating`` for minutes, then ``InService`` or ``Failed`` (with a
      ``FailureReason``, e.g. the container failed its ping health check);
    - UpdateEndpoint needs an ``InService`` endpoint ("Cannot update in-progress endpoint"),
      moves it to ``Updating`` and then serves the new config (``InService``); when the new
      config cannot be deployed, SageMaker rolls back: the endpoint is ``InService`` on its
      previous config, with a ``FailureReason``;
    - CreateEndpointConfig and CreateEndpoint refuse, with a ValidationException, a model the
      target cannot host (``autopilot_flow.deploy_targets``, the table validation and
      FinalizeJob's planner read too): see ``_install_hosting_rules``.

    Here an operation ends after ``describes_until_ready`` DescribeEndpoint calls (Step
    Functions polls in real time, so a count keeps tests fast and deterministic).
    UpdateEndpoint with a ``DeploymentConfig`` (moto has no UpdateEndpoint, so none either) is
    validated and run as ``offline.rollouts`` describes: the green fleet is provisioned after
    ``describes_until_ready`` describes, then each traffic step bakes on ``clock`` (anything
    with ``time()``: a ``ManualClock`` in tests; wall time by default), and a rollback alarm
    in ALARM in moto's CloudWatch during a baking period (``set_alarm_state``) rolls the
    update back: InService on the old config. ``rollouts`` keeps every rollout, finished or
    not, per endpoint name (lower case), for tests to inspect.
    ``fail_next(name, reason)`` makes the next create or update of that endpoint fail.
    ``after_change`` callbacks get ``(operation, endpoint name)`` once a CreateEndpoint or
    UpdateEndpoint was accepted (a test can, say, throttle the polls that follow).
    Tags given to CreateEndpoint are kept (moto stores them: ListTags shows them).
    ``owner_tag`` (key, value) models FinalizeJob's IAM condition on UpdateEndpoint (IAM is
    not emulated offline): an update is refused as AWS refuses it, AccessDenied, unless the
    endpoint and the new endpoint config both carry that tag. Creation is not checked: a
    test's own setup creates "foreign" endpoints, and moto sees no caller to tell apart.
    Patches ``SageMakerModelBackend.create_endpoint / describe_endpoint``, adds
    ``update_endpoint`` (backend and response) and wraps ``CloudWatchBackend.set_alarm_state``;
    ``uninstall`` restores them.
    """

    def __init__(self, describes_until_ready: int = 1, clock: Any = None) -> None:
        self.describes_until_ready = describes_until_ready
        self.clock = clock if clock is not None else _WallClock()
        self.progress: dict[tuple[str, str, str], _EndpointProgress] = {}
        self.active: dict[tuple[str, str, str], Rollout] = {}
        self.rollouts: dict[str, list[Rollout]] = {}
        self.failures: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.after_change: list[Callable[[str, str], None]] = []
        self.owner_tag: tuple[str, str] | None = None
        self._patches = ClassPatches()
        self._lock = threading.RLock()

    def fail_next(self, endpoint_name: str, reason: str) -> None:
        with self._lock:
            self.failures[endpoint_name.lower()] = reason

    # --- installation ------------------------------------------------------------------------

    def install(self) -> EndpointLifecycle:
        if self._patches:
            return self
        from moto.core.responses import ActionResult  # noqa: PLC0415 - moto is heavy
        from moto.sagemaker.exceptions import ValidationError  # noqa: PLC0415
        from moto.sagemaker.models import FakeEndpoint, SageMakerModelBackend  # noqa: PLC0415
        from moto.sagemaker.responses import SageMakerResponse  # noqa: PLC0415

        life = self
        original_create = SageMakerModelBackend.create_endpoint
        original_describe = SageMakerModelBackend.describe_endpoint

        def key(backend: Any, name: str) -> tuple[str, str, str]:
            return (backend.account_id, backend.region_name, name.lower())

        def find(backend: Any, name: str) -> Any:
            for existing, endpoint in backend.endpoints.items():
                if existing.lower() == name.lower():  # endpoint names are case-insensitive
                    return endpoint
            return None

        def create_endpoint(
            backend: Any, endpoint_name: str, endpoint_config_name: str, tags: Any
        ) -> Any:
            with life._lock:
                life.calls["CreateEndpoint"] += 1
                if find(backend, endpoint_name) is not None:
                    arn = FakeEndpoint.arn_formatter(
                        endpoint_name.lower(), backend.account_id, backend.region_name
                    )
                    raise ValidationError(
                        message=f'Cannot create already existing endpoint "{arn}".'
                    )
                endpoint = original_create(backend, endpoint_name, endpoint_config_name, tags)
                # A rollout of a deleted endpoint of this name is over.
                life.active.pop(key(backend, endpoint_name), None)
                endpoint.endpoint_status = "Creating"
                reason = life.failures.pop(endpoint_name.lower(), None)
                life.progress[key(backend, endpoint_name)] = _EndpointProgress(
                    outcome="Failed" if reason else "InService",
                    config=endpoint_config_name,
                    previous_config=None,
                    failure_reason=reason,
                    describes_left=life.describes_until_ready,
                )
                life._changed("CreateEndpoint", endpoint_name)
                return endpoint

        def describe_endpoint(backend: Any, endpoint_name: str) -> dict[str, Any]:
            with life._lock:
                life.calls["DescribeEndpoint"] += 1
                endpoint = find(backend, endpoint_name)
                progress = life.progress.get(key(backend, endpoint_name))
                rollout = life.active.get(key(backend, endpoint_name))
                if endpoint is not None and rollout is not None:
                    life._advance(backend, endpoint, rollout)
                    if rollout.outcome is not None:
                        del life.active[key(backend, endpoint_name)]
                if endpoint is not None and progress is not None:
                    if progress.describes_left > 0:
                        progress.describes_left -= 1
                    else:
                        life._finish(backend, endpoint, progress)
                        del life.progress[key(backend, endpoint_name)]
                name = endpoint.endpoint_name if endpoint is not None else endpoint_name
                response: dict[str, Any] = original_describe(backend, name)
                return response

        def update_endpoint(
            backend: Any,
            endpoint_name: str,
            endpoint_config_name: str,
            deployment_config: dict[str, Any] | None = None,
        ) -> Any:
            with life._lock:
                life.calls["UpdateEndpoint"] += 1
                endpoint = find(backend, endpoint_name)
                if endpoint is None:
                    arn = FakeEndpoint.arn_formatter(
                        endpoint_name.lower(), backend.account_id, backend.region_name
                    )
                    raise ValidationError(message=f"Could not find endpoint '{arn}'.")
                if endpoint.endpoint_status != "InService":
                    raise ValidationError(
                        message=f'Cannot update in-progress endpoint "{endpoint.arn}".'
                    )
                backend.describe_endpoint_config(endpoint_config_name)  # must exist
                life._authorize_update(backend, endpoint, endpoint_config_name)
                rollout = None
                if deployment_config is not None:
                    rollout = life._plan(backend, endpoint, endpoint_config_name, deployment_config)
                reason = life.failures.pop(endpoint_name.lower(), None)
                endpoint.endpoint_status = "Updating"
                endpoint.failure_reason = None
                endpoint.last_modified_time = _utcnow()
                if deployment_config is not None:
                    # DescribeEndpoint's LastDeploymentConfig: "The most recent deployment
                    # configuration for the endpoint."
                    endpoint.last_deployment_config = deployment_config
                if rollout is not None and reason is None:
                    life.active[key(backend, endpoint_name)] = rollout
                    life.rollouts.setdefault(endpoint_name.lower(), []).append(rollout)
                    endpoint.pending_deployment_summary = rollout.pending_summary(life.clock.time())
                    life._changed("UpdateEndpoint", endpoint_name)
                    return endpoint
                life.progress[key(backend, endpoint_name)] = _EndpointProgress(
                    outcome="InService",
                    config=endpoint_config_name,
                    previous_config=endpoint.endpoint_config_name,
                    failure_reason=reason,
                    describes_left=life.describes_until_ready,
                )
                life._changed("UpdateEndpoint", endpoint_name)
                return endpoint

        def response_update_endpoint(response: Any) -> Any:
            endpoint = response.sagemaker_backend.update_endpoint(
                endpoint_name=response._get_param("EndpointName"),
                endpoint_config_name=response._get_param("EndpointConfigName"),
                deployment_config=response._get_param("DeploymentConfig"),
            )
            return ActionResult({"EndpointArn": endpoint.arn})

        self._patch(SageMakerModelBackend, "create_endpoint", create_endpoint)
        self._patch(SageMakerModelBackend, "describe_endpoint", describe_endpoint)
        self._patch(SageMakerModelBackend, "update_endpoint", update_endpoint)
        self._patch(SageMakerResponse, "update_endpoint", response_update_endpoint)
        self._install_hosting_rules()
        self._install_alarm_watch()
        return self

    # --- blue/green rollouts (offline.rollouts) ----------------------------------------------

    def _plan(
        self, backend: Any, endpoint: Any, config_name: str, deployment_config: dict[str, Any]
    ) -> Rollout:
        new = backend.endpoint_configs[config_name]
        old = backend.endpoint_configs.get(endpoint.endpoint_config_name)
        old_names = [v["VariantName"] for v in (old.production_variants if old else [])]
        variants = [
            Variant(
                name=v["VariantName"],
                instance_type=v.get("InstanceType"),
                instance_count=None if v.get("ServerlessConfig") else v.get("InitialInstanceCount"),
            )
            for v in new.production_variants
        ]
        try:
            plan = plan_rollout(deployment_config, old_names, variants)
        except DeploymentConfigRefused as refused:
            raise ValidationError(message=str(refused)) from None
        now = self.clock.time()
        rollout = Rollout(
            plan=plan,
            new_config=config_name,
            old_config=endpoint.endpoint_config_name,
            variant=variants[0],
            started=now,
            describes_until_provisioned=self.describes_until_ready,
        )
        for alarm in self._alarms_in_alarm(backend):  # already tripped when the update starts
            rollout.note_alarm(alarm, now)
        return rollout

    @staticmethod
    def _alarms_in_alarm(backend: Any) -> list[str]:
        from moto.cloudwatch.models import cloudwatch_backends  # noqa: PLC0415

        alarms = cloudwatch_backends[backend.account_id][backend.region_name].alarms
        return [name for name, alarm in list(alarms.items()) if alarm.state_value == "ALARM"]

    def _advance(self, backend: Any, endpoint: Any, rollout: Rollout) -> None:
        now = self.clock.time()
        rollout.advance(now, lambda: self._alarms_in_alarm(backend))
        if rollout.outcome is None:
            endpoint.pending_deployment_summary = rollout.pending_summary(now)
            return
        endpoint.pending_deployment_summary = None
        endpoint.last_modified_time = _utcnow()
        endpoint.endpoint_status = "InService"
        if rollout.outcome == "RolledBack":
            # The silent rollback: InService, old config, a FailureReason.
            endpoint.failure_reason = rollout.failure_reason()
            return
        config = backend.describe_endpoint_config(rollout.new_config)
        endpoint.endpoint_config_name = rollout.new_config
        endpoint.production_variants = endpoint._process_production_variants(
            config["ProductionVariants"]
        )
        endpoint.failure_reason = None

    def _install_alarm_watch(self) -> None:
        """A rollback alarm set to ALARM (moto's ``set_alarm_state``) trips the rollouts of its
        account and region at that simulated moment."""
        from moto.cloudwatch.models import CloudWatchBackend  # noqa: PLC0415

        life = self
        original = CloudWatchBackend.set_alarm_state

        def set_alarm_state(
            backend: Any, alarm_name: str, reason: str, reason_data: str, state_value: str
        ) -> None:
            original(backend, alarm_name, reason, reason_data, state_value)
            if state_value != "ALARM":
                return
            with life._lock:
                now = life.clock.time()
                for (account, region, _), rollout in life.active.items():
                    if (account, region) == (backend.account_id, backend.region_name):
                        rollout.note_alarm(alarm_name, now)

        self._patch(CloudWatchBackend, "set_alarm_state", set_alarm_state)

    def _authorize_update(self, backend: Any, endpoint: Any, config_name: str) -> None:
        if self.owner_tag is None:
            return
        from moto.core.exceptions import JsonRESTError  # noqa: PLC0415

        key, value = self.owner_tag
        config = backend.endpoint_configs[config_name]
        for arn, tags in ((endpoint.arn, endpoint.tags), (config.arn, config.tags)):
            if {"Key": key, "Value": value} not in (tags or []):
                # What IAM answers when the role's aws:ResourceTag condition does not hold.
                raise JsonRESTError(
                    "AccessDeniedException",
                    f"User: arn:aws:sts::{backend.account_id}:assumed-role/FinalizeJob is not "
                    f"authorized to perform: sagemaker:UpdateEndpoint on resource: {arn} "
                    "because no identity-based policy allows the sagemaker:UpdateEndpoint action",
                )

    def _changed(self, operation: str, endpoint_name: str) -> None:
        for callback in list(self.after_change):
            callback(operation, endpoint_name)

    def _finish(self, backend: Any, endpoint: Any, progress: _EndpointProgress) -> None:
        endpoint.last_modified_time = _utcnow()
        if progress.failure_reason and progress.previous_config is not None:
            # A failed update rolls back: the previous config keeps serving.
            endpoint.endpoint_status = "InService"
            endpoint.failure_reason = progress.failure_reason
            return
        if progress.failure_reason:
            endpoint.endpoint_status = "Failed"
            endpoint.failure_reason = progress.failure_reason
            return
        config = backend.describe_endpoint_config(progress.config)
        endpoint.endpoint_config_name = progress.config
        endpoint.production_variants = endpoint._process_production_variants(
            config["ProductionVariants"]
        )
        endpoint.endpoint_status = "InService"
        endpoint.failure_reason = None

    def _patch(self, owner: type, name: str, replacement: Any) -> None:
        self._patches.patch(owner, name, replacement)

    def uninstall(self) -> None:
        self._patches.restore()

    def _install_hosting_rules(self) -> None:
        """moto deviation: moto hosts any model on any endpoint, and drops CreateModel's
        EnableNetworkIsolation. AWS refuses, at CreateEndpointConfig (and so never reaches
        CreateEndpoint with it), every exclusion of ``deploy_targets``, each from an AWS page:

        - target.pipeline: "Deploy models with Amazon SageMaker Serverless Inference", feature
          exclusions (inference pipelines); "Inference pipelines in Amazon SageMaker AI" (2 to
          15 containers on an instance endpoint);
        - target.vpc, target.kms_key, target.network_isolation, target.multiple_variants,
          target.data_capture: the same serverless page (VPC configuration, KMS keys, network
          isolation, multiple production variants, data capture);
        - target.serverless_update, at UpdateEndpoint: the same page (an instance-based
          endpoint cannot be converted to a serverless one).

        GPUs (also excluded there) are not checked: nothing in a request says a container
        needs one. AWS does not document its wording per exclusion; the message starts with
        the sentence it answers for endpoint features it does not support together."""
        from moto.sagemaker.exceptions import ValidationError  # noqa: PLC0415
        from moto.sagemaker.models import SageMakerModelBackend  # noqa: PLC0415
        from moto.sagemaker.responses import SageMakerResponse  # noqa: PLC0415

        from autopilot_flow.deploy_targets import (  # noqa: PLC0415
            endpoint_config_refusals,
            runs_on_instances,
        )

        original_config = SageMakerModelBackend.create_endpoint_config
        original_update = SageMakerModelBackend.update_endpoint
        original_model = SageMakerResponse.create_model
        original_endpoint = SageMakerResponse.create_endpoint

        def refuse(
            backend: Any, variants: list[dict[str, Any]], kms_key: Any, capture: Any
        ) -> None:
            models = {
                name: {
                    "Containers": model.containers,
                    "PrimaryContainer": model.primary_container,
                    "VpcConfig": model.vpc_config,
                    "EnableNetworkIsolation": model.enable_network_isolation,
                }
                for name, model in backend._models.items()
            }
            refusals = endpoint_config_refusals(
                variants or [],
                models,
                kms_key=bool(kms_key),
                data_capture=bool(capture) and capture.get("EnableCapture") is not False,
            )
            if refusals:
                detail = " ".join(f"{r.message} ({r.code})" for r in refusals)
                raise ValidationError(
                    message="One or more endpoint features are not supported using this "
                    f"configuration: {detail}"
                )

        def create_endpoint_config(backend: Any, *args: Any, **kwargs: Any) -> Any:
            refuse(
                backend,
                kwargs.get("production_variants") or [],
                kwargs.get("kms_key_id"),
                kwargs.get("data_capture_config"),
            )
            return original_config(backend, *args, **kwargs)

        def response_create_model(response: Any) -> Any:
            result = original_model(response)
            model = response.sagemaker_backend._models[response._get_param("ModelName")]
            model.enable_network_isolation = response._get_param("EnableNetworkIsolation") is True
            return result

        def response_create_endpoint(response: Any) -> Any:
            # A config created before these rules were installed is checked here.
            configs = response.sagemaker_backend.endpoint_configs
            config = configs.get(response._get_param("EndpointConfigName"))
            if config is not None:
                refuse(
                    response.sagemaker_backend,
                    config.production_variants,
                    config.kms_key_id,
                    config.data_capture_config,
                )
            return original_endpoint(response)

        def update_endpoint(
            backend: Any, endpoint_name: str, endpoint_config_name: str, **kwargs: Any
        ) -> Any:
            endpoint = next(
                (e for n, e in backend.endpoints.items() if n.lower() == endpoint_name.lower()),
                None,
            )
            new = backend.endpoint_configs.get(endpoint_config_name)
            if endpoint is not None and new is not None:
                old = backend.endpoint_configs.get(endpoint.endpoint_config_name)
                serving = old.production_variants if old is not None else []
                if runs_on_instances(serving) and not runs_on_instances(new.production_variants):
                    raise ValidationError(
                        message="One or more endpoint features are not supported using this "
                        f"configuration: endpoint {endpoint_name} runs on instances and cannot "
                        "be converted to a serverless endpoint (target.serverless_update)"
                    )
            return original_update(backend, endpoint_name, endpoint_config_name, **kwargs)

        self._patch(SageMakerModelBackend, "create_endpoint_config", create_endpoint_config)
        self._patch(SageMakerModelBackend, "update_endpoint", update_endpoint)
        self._patch(SageMakerResponse, "create_model", response_create_model)
        self._patch(SageMakerResponse, "create_endpoint", response_create_endpoint)

    def __enter__(self) -> EndpointLifecycle:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


class _WallClock:
    def time(self) -> float:
        return time.time()


def _utcnow() -> Any:
    from moto.core.utils import utcnow  # noqa: PLC0415

    return utcnow()


_SEQUENCE = itertools.count(1)


def install_s3_notification_versions() -> Callable[[], None]:
    """Patch moto's S3 notifications; returns the function that removes the patch."""
    original = s3_notifications._get_s3_event
    if getattr(original, "__wrapped_by_autopilot_flow__", False):
        return lambda: None

    @functools.wraps(original)
    def with_versions(event_name: Any, bucket: Any, key: Any, notification_id: str) -> Any:
        event = original(event_name, bucket, key, notification_id)
        sequencer = f"{time.time_ns():016X}{next(_SEQUENCE):06X}"
        for record in event.get("Records", []):
            obj = record["s3"]["object"]
            obj["sequencer"] = sequencer
            version = getattr(key, "version_id", None)
            if version and version != "null":
                obj["versionId"] = version
        return event

    with_versions.__wrapped_by_autopilot_flow__ = True  # type: ignore[attr-defined]
    s3_notifications._get_s3_event = with_versions

    def uninstall() -> None:
        s3_notifications._get_s3_event = original

    return uninstall


@contextmanager
def s3_notification_versions() -> Iterator[None]:
    uninstall = install_s3_notification_versions()
    try:
        yield
    finally:
        uninstall()


def install_endpoint_instance_types() -> Callable[[], None]:
    """Patch moto's endpoint-config validation; returns the function that removes it."""
    import botocore.session  # noqa: PLC0415 - only the offline stack and tests need it

    original = FakeEndpointConfig.validate_instance_type
    valid = set(
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .shape_for("ProductionVariantInstanceType")
        .enum
    )

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if instance_type not in valid:
            raise ValidationError(
                message=f"Value '{instance_type}' at 'instanceType' failed to satisfy "
                "constraint: Member must satisfy enum value set"
            )

    FakeEndpointConfig.validate_instance_type = validate_instance_type  # type: ignore[method-assign]

    def uninstall() -> None:
        FakeEndpointConfig.validate_instance_type = original  # type: ignore[method-assign]

    return uninstall


@contextmanager
def moto_as_aws() -> Iterator[None]:
    """Every fix above at once: use it beside ``mock_aws()``."""
    undo = [
        install_atomic_dynamodb_writes(),
        install_s3_notification_versions(),
        install_endpoint_instance_types(),
        install_aws_sdk_error_names(),
    ]
    try:
        yield
    finally:
        for step in reversed(undo):
            step()


def install_sqs_message_move_tasks() -> Callable[[], None]:
    """StartMessageMoveTask and ListMessageMoveTasks, which moto does not implement (its
    server answers 500), so that operations.md's redrive works offline. AWS moves a DLQ's
    messages back to the queues that sent them (or to DestinationArn) asynchronously, at up to
    MaxNumberOfMessagesPerSecond; offline every visible message moves at once and the task is
    COMPLETED when listed. Returns the undo."""
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.sqs.responses import SQSResponse  # noqa: PLC0415

    tasks: list[dict[str, Any]] = []
    lock = threading.Lock()

    def start_message_move_task(response: Any) -> Any:
        backend = response.sqs_backend
        source_arn = str(response._get_param("SourceArn"))
        destination_arn = response._get_param("DestinationArn")
        dead_letters = backend.get_queue(source_arn.rsplit(":", 1)[-1])
        if destination_arn:
            targets = [backend.get_queue(str(destination_arn).rsplit(":", 1)[-1])]
        else:
            targets = backend.list_dead_letter_source_queues(dead_letters.name)
        moved = 0
        with lock:
            for message in list(dead_letters.messages):
                for target in targets[:1]:  # AWS: back to the queue that sent it
                    backend.send_message(
                        target.name, message.body, message_attributes=message.message_attributes
                    )
                dead_letters._messages.remove(message)
                moved += 1
            handle = f"offline-move-{len(tasks) + 1}"
            tasks.append(
                {
                    "TaskHandle": handle,
                    "Status": "COMPLETED",
                    "SourceArn": source_arn,
                    "DestinationArn": destination_arn
                    or (targets[0].queue_arn if targets else None),
                    "ApproximateNumberOfMessagesMoved": moved,
                    "ApproximateNumberOfMessagesToMove": moved,
                    "StartedTimestamp": int(time.time() * 1000),
                }
            )
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(response: Any) -> Any:
        source_arn = response._get_param("SourceArn")
        with lock:
            found = [dict(t) for t in tasks if t["SourceArn"] == source_arn]
        return ActionResult({"Results": list(reversed(found))})

    added = {
        "start_message_move_task": start_message_move_task,
        "list_message_move_tasks": list_message_move_tasks,
    }
    saved = {name: SQSResponse.__dict__.get(name) for name in added}
    for name, method in added.items():
        setattr(SQSResponse, name, method)

    def uninstall() -> None:
        for name, original in saved.items():
            if original is None:
                delattr(SQSResponse, name)
            else:
                setattr(SQSResponse, name, original)

    return uninstall
