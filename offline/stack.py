"""The whole service on a laptop: moto in server mode, provisioned from template.yaml, with
the real handlers, the real state machine and the Autopilot simulator.

What AWS would deliver is delivered in-process: SQS messages to the ingest handler (as an
event source mapping: batches, visibility, partial failures, redrive), scheduler ticks to
WatchJobs (the template's rate, scaled by ``speed``), EventBridge rule matches to Lambda
targets (moto delivers only to SQS), and Step Functions' ``lambda:invoke`` to the handlers.
Any AWS CLI or boto3 client pointed at ``endpoint_url`` sees the same resources.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from offline.autopilot_simulator import AutopilotSimulator, ScaledClock
from offline.event_delivery import LambdaTargets
from offline.http_api import LocalRestApi, routes_of
from offline.lambda_runtime import Handler, SqsEventSource, context_for, load_handler
from offline.moto_fixes import (
    EndpointLifecycle,
    install_atomic_dynamodb_writes,
    install_aws_sdk_error_names,
    install_endpoint_instance_types,
    install_s3_notification_versions,
)
from offline.provision import ACCOUNT, REGION, FunctionSpec, Provisioner, Stack

LOGGER = logging.getLogger(__name__)

# Permissive defaults so that people can try their own manifests at once: any bucket of the
# offline account, the stack's default role (and the role the example manifests name).
# `--policy FILE` replaces them.
OFFLINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AutopilotExecution"
EXAMPLES_ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"
PERMISSIVE_PARAMETERS = {
    "DefaultRoleArn": OFFLINE_ROLE,
    "AllowedRoleArns": f"{OFFLINE_ROLE},{EXAMPLES_ROLE}",
    "AllowedS3Prefixes": "s3://",
    "DataBucketNames": "offline-any-bucket",
    "OutputS3Path": "s3://autopilot-flow-offline-output/autopilot/",
    # Real seconds offline: retry quota waits quickly, and never give up on a burst.
    "CapacityRetrySeconds": "1",
    "CapacityRetryMaxSeconds": "3",
    # Endpoints come up in two polls offline (real seconds between polls).
    "EndpointPollSeconds": "1",
    "IngestMaxReceiveCount": "100",
}
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|second|seconds)\)")


def _quiet() -> Callable[[], None]:
    """Keep the terminal for the demo: handlers log warnings only, and metrics (EMF lines on
    stdout, which CloudWatch would collect) are dropped (POWERTOOLS_METRICS_DISABLED, which
    autopilot_flow.observability honours). Powertools' own Metrics prints a full metric set
    even then, so its module-level print is silenced too, until the stack stops (returns the
    undo: the process may go on to print metrics, e.g. in tests)."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf import (  # noqa: PLC0415
        cloudwatch,
    )

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    saved = cloudwatch.__dict__.get("print")
    cloudwatch.print = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto's Step Functions interpreter logs every caught task error (expected ones too).
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)

    def undo() -> None:
        if saved is None:
            cloudwatch.__dict__.pop("print", None)
        else:
            cloudwatch.print = saved  # type: ignore[attr-defined]

    return undo


def rate_seconds(expression: str) -> float:
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise ValueError(f"unsupported schedule expression {expression!r}")
    count, unit = int(match.group(1)), match.group(2)
    return count * {"second": 1, "minute": 60, "hour": 3600}[unit.rstrip("s")]


@dataclass
class OfflineOptions:
    port: int = 0
    speed: float = 600.0
    quota: int | None = None
    throttle_rate: float = 0.0
    fail_rate: float = 0.0
    policy: Path | None = None
    state_dir: Path = Path(".offline")
    seed: int = 0
    parameters: dict[str, str] = field(default_factory=dict)
    quiet: bool = True


class OfflineStack:
    def __init__(self, options: OfflineOptions | None = None) -> None:
        self.options = options or OfflineOptions()
        self.server: ThreadedMotoServer | None = None
        self.simulator: AutopilotSimulator | None = None
        self.targets: LambdaTargets | None = None
        self.stack: Stack | None = None
        self.handlers: dict[str, Handler] = {}
        self.endpoint_url = ""
        # The HTTP API on loopback (offline/http_api.py; no SigV4 check offline).
        self.api_url = ""
        self.apis: list[LocalRestApi] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._undo: list[Any] = []
        self._saved_environ: dict[str, str] = {}

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        options = self.options
        self._saved_environ = dict(os.environ)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=options.port, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        # moto's backends live in this process: start from nothing, whatever ran before.
        reset = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - our loopback server
        os.environ.update(DUMMY_CREDENTIALS)
        # Every boto3 client in this process (handlers included) talks to the moto server.
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
        os.environ["MOTO_PORT"] = str(port)
        if options.quiet:
            self._undo.append(_quiet())
        # Step Functions runs definitions only when asked to (platform-facts.md).
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        self._undo.append(install_atomic_dynamodb_writes())
        self._undo.append(install_s3_notification_versions())
        self._undo.append(install_endpoint_instance_types())
        self._undo.append(install_aws_sdk_error_names())
        self.endpoints = EndpointLifecycle(describes_until_ready=2).install()
        self._undo.append(self.endpoints.uninstall)
        self.simulator = AutopilotSimulator(
            clock=ScaledClock(speed=options.speed),
            seed=options.seed,
            quota=options.quota,
            fail_rate=options.fail_rate,
            throttle_rate=options.throttle_rate,
        ).install()
        self.targets = LambdaTargets().install()

        session = boto3.session.Session(region_name=REGION)
        parameters = {**PERMISSIVE_PARAMETERS, **options.parameters}
        self.stack = Provisioner(
            session, parameters=parameters, endpoint_url=self.endpoint_url
        ).provision()
        environ: dict[str, str] = {}
        if options.policy is not None:
            environ["POLICY_DOCUMENT"] = options.policy.read_text(encoding="utf-8")
        for logical_id, spec in self.stack.functions.items():
            self.handlers[logical_id] = load_handler(spec, environ)
        self._install_lambda_invoke(session)
        for logical_id, spec in self.stack.functions.items():
            self._wire_events(session, logical_id, spec)
        description = self.describe()
        options.state_dir.mkdir(parents=True, exist_ok=True)
        (options.state_dir / "stack.json").write_text(json.dumps(description, indent=2) + "\n")
        return description

    def stop(self) -> None:
        self._stopping.set()
        for api in self.apis:
            api.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.targets is not None:
            self.targets.uninstall()
        if self.simulator is not None:
            self.simulator.uninstall()
        for undo in reversed(self._undo):
            undo()
        default_user_config["stepfunctions"]["execute_state_machine"] = False
        if self.server is not None:
            self.server.stop()
        os.environ.clear()
        os.environ.update(self._saved_environ)

    def __enter__(self) -> OfflineStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the stack looks like ---------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        assert self.stack is not None
        resources: dict[str, Any] = {}
        for logical_id, attributes in self.stack.resources.items():
            resources[logical_id] = attributes.get("Arn") or attributes["Ref"]
            if attributes["Type"] in ("AWS::S3::Bucket", "AWS::SQS::Queue"):
                resources[logical_id] = attributes["Ref"]
        return {
            "endpoint_url": self.endpoint_url,
            "api_url": self.api_url,
            "region": REGION,
            "resources": resources,
            "not_emulated": self.stack.not_emulated,
        }

    # --- delivery --------------------------------------------------------------------------

    def _install_lambda_invoke(self, session: Any) -> None:
        """Step Functions' lambda:invoke runs the real handlers (if the stack has any)."""
        try:
            from offline import lambda_invoke  # noqa: PLC0415 - optional piece
        except ImportError:
            return
        assert self.stack is not None
        self._undo.append(lambda_invoke.install(session, self.stack, self.handlers))

    def _wire_events(self, session: Any, logical_id: str, spec: FunctionSpec) -> None:
        handler = self.handlers[logical_id]
        context = context_for(spec)
        assert self.stack is not None and self.targets is not None
        for event in spec.events.values():
            kind, props = event["Type"], event.get("Properties", {})
            if kind == "SQS":
                queue_arn = props["Queue"]
                queue = next(a for a in self.stack.resources.values() if a.get("Arn") == queue_arn)
                source = SqsEventSource(
                    sqs=session.client("sqs"),
                    queue_url=queue["Ref"],
                    queue_arn=queue_arn,
                    handler=handler,
                    context=context,
                    batch_size=int(props.get("BatchSize", 10)),
                )
                self._loop(f"sqs-{logical_id}", lambda s=source: s.drain(max_batches=10), 0.05)
            elif kind == "ScheduleV2":
                period = rate_seconds(props["ScheduleExpression"]) / self.options.speed
                self._loop(
                    f"schedule-{logical_id}",
                    lambda h=handler, c=context: h({}, c),
                    max(period, 0.05),
                    always_sleep=True,
                )
            elif kind == "EventBridgeRule":
                arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{spec.name}"
                events = session.client("events")
                rule = f"{spec.name}-{logical_id}"[:64]
                bus = props.get("EventBusName", "default")
                events.put_rule(
                    Name=rule, EventBusName=bus, EventPattern=json.dumps(props["Pattern"])
                )
                events.put_targets(
                    Rule=rule, EventBusName=bus, Targets=[{"Id": "function", "Arn": arn}]
                )
                self.targets.register(arn, lambda e, h=handler, c=context: h(e, c))
        routes = routes_of(spec.events)
        if routes:  # Type: Api events: API Gateway's part, played on loopback
            api = LocalRestApi(routes, handler, context, account_id=ACCOUNT)
            self.api_url = api.start()
            self.apis.append(api)

    def _loop(self, name: str, step: Any, period: float, *, always_sleep: bool = False) -> None:
        def run() -> None:
            while not self._stopping.is_set():
                try:
                    worked = step()
                except Exception:  # a failing invocation must not stop the stack
                    LOGGER.exception("%s failed", name)
                    worked = 0
                if always_sleep or not worked:
                    self._stopping.wait(period)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- helpers for the demo and the tests ---------------------------------------------------

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def wait_for(self, predicate: Any, timeout: float, interval: float = 0.2) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return bool(predicate())
