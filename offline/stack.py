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
import math
import os
import re
import socket
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

from offline import in_process_http
from offline.autopilot_simulator import AutopilotSimulator, ScaledClock
from offline.event_delivery import LambdaTargets
from offline.http_api import LocalRestApi, routes_of
from offline.lambda_runtime import (
    Handler,
    SqsEventSource,
    context_for,
    load_handler,
    sqs_concurrency,
    unload_handler,
)
from offline.model_registry import ModelRegistry
from offline.moto_fixes import (
    EndpointLifecycle,
    install_atomic_dynamodb_writes,
    install_aws_sdk_error_names,
    install_endpoint_instance_types,
    install_s3_notification_versions,
    install_sqs_message_move_tasks,
)
from offline.moto_speedups import install_moto_speedups, install_server_dispatch_cache
from offline.provision import ACCOUNT, REGION, FunctionSpec, Provisioner, Stack
from offline.roomy_stack import call_with_room

LOGGER = logging.getLogger(__name__)

# Permissive defaults so that people can try their own manifests at once: any bucket of the
# offline account, any role of the offline account (IAM is not enforced offline) and the role
# the example manifests name. `--policy FILE` replaces them.
OFFLINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AutopilotExecution"
ANY_OFFLINE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/*"
EXAMPLES_ROLE = "arn:aws:iam::111122223333:role/AutopilotExecution"
PERMISSIVE_PARAMETERS = {
    "DefaultRoleArn": OFFLINE_ROLE,
    "AllowedRoleArns": f"{OFFLINE_ROLE},{ANY_OFFLINE_ROLE},{EXAMPLES_ROLE}",
    "AllowedS3Prefixes": "s3://",
    "DataBucketNames": "offline-any-bucket",
    "OutputS3Path": "s3://autopilot-flow-offline-output/autopilot/",
    # Real seconds offline: retry quota waits quickly, and never give up on a burst.
    "CapacityRetrySeconds": "1",
    "CapacityRetryMaxSeconds": "3",
    # EndpointPollSeconds keeps the template's 30 s: Step Functions waits on the stack's
    # clock (install_step_functions_clock), so at speed 600 a poll is 50 ms apart.
    "IngestMaxReceiveCount": "100",
}
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "offline",
    "AWS_SECRET_ACCESS_KEY": "offline",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}

# An idle SQS poller asks again after 50 ms, then less often, up to every half second
# (Lambda's own batching window for the ingest queue is 2 s, so this adds no delay AWS lacks).
SQS_IDLE_WAIT = 0.05
SQS_IDLE_MAX_WAIT = 0.5

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


def scale_watch_overlap(environment: dict[str, str], speed: float) -> None:
    """The watcher's overlap (``WATCH_OVERLAP_SECONDS``) at the pace of its schedule, which
    runs ``speed`` times faster offline: on AWS five minutes are five ticks, and each tick
    lists the jobs changed since the watermark minus the overlap and reads their registry
    items. Unscaled, an offline tick (every 0.1 s at speed 600) re-read every job of the last
    five real minutes, three thousand ticks' worth, ten times a second. At least a second:
    the watermark is a millisecond time and listing is strictly after it."""
    value = environment.get("WATCH_OVERLAP_SECONDS")
    if value is not None:
        environment["WATCH_OVERLAP_SECONDS"] = str(max(1, math.ceil(int(value) / speed)))


def rate_seconds(expression: str) -> float:
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise ValueError(f"unsupported schedule expression {expression!r}")
    count, unit = int(match.group(1)), match.group(2)
    return count * {"second": 1, "minute": 60, "hour": 3600}[unit.rstrip("s")]


class OfflineStartError(Exception):
    """The stack cannot start (a port in use, a state directory another stack owns): a plain
    message for the person who started it."""


def _bind_error(host: str, port: int) -> OSError | None:
    """Why ``port`` cannot be listened on now (None: it can)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc
    return None


class _MotoServer(ThreadedMotoServer):
    """moto's threaded server, but a port in use fails ``start`` at once: moto's own waits
    forever for a server that never came up (its thread died on the bind)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bind_error: OSError | None = None

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except (OSError, SystemExit) as exc:  # werkzeug exits (SystemExit) on a port in use
            self.bind_error = exc if isinstance(exc, OSError) else OSError("address in use")
            self._server_ready_event.set()

    def start(self) -> None:
        if self._port:  # ask first: werkzeug would print its own advice on stderr
            self.bind_error = _bind_error(self._ip_address, self._port)
        if self.bind_error is None:
            super().start()
        if self.bind_error is not None:
            raise OfflineStartError(
                f"cannot listen on 127.0.0.1:{self._port}: "
                f"{self.bind_error.strerror or self.bind_error} (is another offline stack "
                "running? pick another --port, or 0 for any free one)"
            )


def _api_port_error(port: int, exc: OSError) -> OfflineStartError:
    return OfflineStartError(
        f"cannot listen on 127.0.0.1:{port} for the jobs API: "
        f"{exc.strerror or exc} (pick another --api-port, or 0 for any free one)"
    )


def _refuse_a_busy_api_port(port: int) -> None:
    """A pinned API port in use fails at once, before seconds of provisioning (the API
    listens last)."""
    error = _bind_error("127.0.0.1", port) if port else None
    if error is not None:
        raise _api_port_error(port, error)


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_state_dir(state_dir: Path) -> None:
    """Refuse a state directory whose stack.json belongs to a stack still running (another
    process): overwriting it would point every ``--offline`` command at this stack, and break
    them once it stops."""
    try:
        owner = json.loads((state_dir / "stack.json").read_text()).get("pid")
    except (OSError, ValueError, AttributeError):
        return
    if owner != os.getpid() and _pid_alive(owner):
        raise OfflineStartError(
            f"{state_dir / 'stack.json'} belongs to an offline stack still running (pid {owner}); "
            "stop it, or pass another --state-dir"
        )


@dataclass
class OfflineOptions:
    port: int = 0
    api_port: int = 0  # the jobs API's port (0: any free one)
    speed: float = 600.0
    quota: int | None = None
    throttle_rate: float = 0.0
    fail_rate: float = 0.0
    policy: Path | None = None
    state_dir: Path = Path(".offline")
    seed: int = 0
    parameters: dict[str, str] = field(default_factory=dict)
    quiet: bool = True
    # boto3 calls from this process reach moto without loopback HTTP (offline/in_process_http.py);
    # other processes always use HTTP. False sends this process's calls over HTTP too.
    in_process_calls: bool = True


class OfflineStack:
    def __init__(self, options: OfflineOptions | None = None) -> None:
        self.options = options or OfflineOptions()
        self.server: _MotoServer | None = None
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
        self._environ: dict[str, str] = {}  # what every handler sees besides its own
        self._loaded: list[Handler] = []  # every handler module, unloaded at stop
        self.event_sources: list[SqsEventSource] = []  # one per concurrent SQS poller
        self._wrote_state = False

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        options = self.options
        self._saved_environ = dict(os.environ)
        claim_state_dir(options.state_dir)
        _refuse_a_busy_api_port(options.api_port)
        if options.quiet:  # before the first request: moto's request log stays off the terminal
            self._undo.append(_quiet())
        self.server = _MotoServer(ip_address="127.0.0.1", port=options.port, verbose=False)
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
        if options.in_process_calls:  # this process's clients skip the socket
            assert self.server._server is not None
            app = self.server._server.app
            self._undo.append(in_process_http.install(app, self.endpoint_url))
            # moto's Step Functions sends its aws-sdk tasks to localhost, not 127.0.0.1.
            self._undo.append(in_process_http.install(app, f"http://localhost:{port}"))
        # Step Functions runs definitions only when asked to (moto's stepfunctions config).
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        self._undo.append(install_atomic_dynamodb_writes())
        self._undo.append(install_s3_notification_versions())
        self._undo.append(install_endpoint_instance_types())
        self._undo.append(install_aws_sdk_error_names())
        self._undo.append(install_moto_speedups(options.speed))
        self._undo.append(install_server_dispatch_cache())
        self._undo.append(install_sqs_message_move_tasks())
        # One clock for training and for blue/green baking periods: a canary's wait runs at
        # the same --speed as a job (SageMaker's own waits are minutes).
        clock = ScaledClock(speed=options.speed)
        self.endpoints = EndpointLifecycle(describes_until_ready=2, clock=clock).install()
        self._undo.append(self.endpoints.uninstall)
        # moto publishes no SageMaker events: approvals reach the stack's rule through this.
        self.model_registry = ModelRegistry().install()
        self._undo.append(self.model_registry.uninstall)
        self.simulator = AutopilotSimulator(
            clock=clock,
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
        if options.policy is not None:
            self._environ["POLICY_DOCUMENT"] = options.policy.read_text(encoding="utf-8")
        for logical_id, spec in self.stack.functions.items():
            scale_watch_overlap(spec.environment, options.speed)
            self.handlers[logical_id] = self._load(spec)
        self._install_lambda_invoke(session)
        for logical_id, spec in self.stack.functions.items():
            self._wire_events(session, logical_id, spec)
        description = self.describe()
        options.state_dir.mkdir(parents=True, exist_ok=True)
        owned = {**description, "pid": os.getpid()}  # who to ask before reusing the directory
        (options.state_dir / "stack.json").write_text(json.dumps(owned, indent=2) + "\n")
        self._wrote_state = True
        return description

    def stop(self) -> None:
        self._stopping.set()
        if self._wrote_state:  # a stopped stack answers nothing: no stack.json points at it
            (self.options.state_dir / "stack.json").unlink(missing_ok=True)
            self._wrote_state = False
        for api in self.apis:
            api.stop()
        # One deadline for all of them, not five seconds each: a poller busy in a handler
        # (a backoff, a slow call) must not add up to a stop that outlasts its caller's
        # patience. They are daemon threads; one still busy ends with the process.
        deadline = time.monotonic() + 5.0
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.targets is not None:
            self.targets.uninstall()
        if self.simulator is not None:
            self.simulator.uninstall()
        for undo in reversed(self._undo):
            undo()
        default_user_config["stepfunctions"]["execute_state_machine"] = False
        if self.server is not None and self.server.bind_error is None:
            self.server.stop()
        for handler in self._loaded:
            unload_handler(handler)
        self._loaded.clear()
        self.handlers.clear()
        self.event_sources.clear()
        os.environ.clear()
        os.environ.update(self._saved_environ)

    def __enter__(self) -> OfflineStack:
        try:
            self.start()
        except BaseException:
            self.stop()  # what started stops (a port in use after moto came up...)
            raise
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

    def _load(self, spec: FunctionSpec) -> Handler:
        handler = load_handler(spec, self._environ)
        self._loaded.append(handler)
        return handler

    def _wire_events(self, session: Any, logical_id: str, spec: FunctionSpec) -> None:
        handler = self.handlers[logical_id]
        context = context_for(spec)
        assert self.stack is not None and self.targets is not None
        for event in spec.events.values():
            kind, props = event["Type"], event.get("Properties", {})
            if kind == "SQS":
                queue_arn = props["Queue"]
                queue = next(a for a in self.stack.resources.values() if a.get("Arn") == queue_arn)
                # Concurrent batches, as Lambda polls: each runs in an execution environment
                # of its own (a handler loaded afresh), never two at once in one.
                for index in range(sqs_concurrency(props)):
                    source = SqsEventSource(
                        sqs=session.client("sqs"),
                        queue_url=queue["Ref"],
                        queue_arn=queue_arn,
                        handler=handler if index == 0 else self._load(spec),
                        context=context,
                        batch_size=int(props.get("BatchSize", 10)),
                    )
                    self.event_sources.append(source)
                    self._loop(
                        f"sqs-{logical_id}-{index}",
                        lambda s=source: s.drain(max_batches=10),
                        SQS_IDLE_WAIT,
                        idle_max=SQS_IDLE_MAX_WAIT,
                    )
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
            api = LocalRestApi(
                routes, handler, context, account_id=ACCOUNT, port=self.options.api_port
            )
            try:
                self.api_url = api.start()
            except OSError as exc:  # taken since start() asked
                raise _api_port_error(self.options.api_port, exc) from None
            self.apis.append(api)

    def _loop(
        self,
        name: str,
        step: Any,
        period: float,
        *,
        always_sleep: bool = False,
        idle_max: float | None = None,
    ) -> None:
        """Run ``step`` until the stack stops: again at once while it works, else after
        ``period`` (doubling while idle, up to ``idle_max``), or always after ``period``."""

        def run() -> None:
            wait = period
            while not self._stopping.is_set():
                try:
                    worked = step()
                except Exception as exc:  # a failing invocation must not stop the stack
                    # One line on the terminal (a burst with throttling fails many ticks);
                    # the traceback at debug level.
                    LOGGER.warning("%s failed: %s: %s", name, type(exc).__name__, exc)
                    LOGGER.debug("%s failed", name, exc_info=True)
                    worked = 0
                if worked and not always_sleep:
                    wait = period
                    continue
                self._stopping.wait(wait)
                if idle_max is not None:
                    wait = min(wait * 2, idle_max)

        # In a frame-stack chunk of its own (offline/roomy_stack.py), as every loop thread.
        thread = threading.Thread(target=call_with_room, args=(run,), name=name, daemon=True)
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
