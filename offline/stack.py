"""The whole service on a laptop: moto in server mode, provisioned from template.yaml, with
the real handlers, the real state machine and the Autopilot simulator.

What AWS would deliver is delivered in-process: SQS messages to the ingest handler (as an
event source mapping: batches, visibility, partial failures, redrive), scheduler ticks to
WatchJobs (the template's rate, scaled by ``speed``), EventBridge rule matches to Lambda
targets (moto delivers only to SQS), and Step Functions' ``lambda:invoke`` to the handlers.
Any AWS CLI or boto3 client pointed at ``endpoint_url`` sees the same resources.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import functools
import importlib
import inspect
import json
import logging
import math
import os
import re
import socket
import sys
import threading
import time
import types
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.auth as botocore_auth
import moto.core.responses as moto_responses
import moto.settings as moto_settings
from botocore.auth import SIGV4_TIMESTAMP, S3SigV4Auth, SigV4Auth
from botocore.loaders import JSONFileLoader, Loader
from moto.core.base_backend import BaseBackend
from moto.core.config import default_user_config
from moto.core.models import botocore_stubber
from moto.core.utils import unix_time
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.s3.models import S3Backend
from moto.server import ThreadedMotoServer
from moto.settings import enable_iso_regions, get_s3_custom_endpoints, moto_server_port
from moto.sqs.models import Queue, SQSBackend
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import boto_client, json_path

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
)
from offline.provision import ACCOUNT, REGION, FunctionSpec, Provisioner, Stack

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


# Step Functions definitions parsed in this process (install_step_functions_caches): kept for
# its life, as the tests and an offline stack provision the same few definitions again.
_PROGRAMS: dict[str, Any] = {}
_PROGRAMS_LOCK = threading.RLock()


def install_step_functions_caches() -> Callable[[], None]:
    """Stop moto's Step Functions redoing work whose result never changes.

    moto parses a whole definition with its ANTLR grammar (pure Python: a quarter of a second
    for FinalizeJob's when warm, two and a half seconds for the first of a process) when
    CreateStateMachine validates it and again when each execution starts; it compiles a
    JSONPath (a fresh yacc parser) each time one is evaluated, and creates a boto3 client
    for every task it runs. In a burst that was most of the offline stack's CPU. A parsed
    program is immutable (its components hold declarations; an execution's state lives in
    its own Environment), compiled JSONPaths too, and boto3 clients are thread-safe: so each
    is made once and shared. Parsed definitions are kept for the process (``_PROGRAMS``): a
    definition that does not parse raises as before and is not kept. Returns the undo."""
    lock = threading.RLock()
    clients: dict[tuple[Any, ...], Any] = {}
    make_client = boto_client.boto_client_for
    parse = AmazonStateLanguageParser.parse

    # Under the lock: a burst starts dozens of executions at once, and each would otherwise
    # parse (or create) the same thing in parallel.
    def parse_once(definition: str) -> Any:
        with _PROGRAMS_LOCK:
            if definition not in _PROGRAMS:
                _PROGRAMS[definition] = parse(definition)
            return _PROGRAMS[definition]

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # moto ignores state_credentials (every client signs as a dummy); the endpoint
        # depends on the server's port and on whether mock_aws intercepts calls.
        key = (region, service, moto_server_port(), botocore_stubber.enabled)
        with lock:
            if key not in clients:
                clients[key] = make_client(region, service, state_credentials)
            return clients[key]

    replaced: list[tuple[Any, str, Any]] = [
        (AmazonStateLanguageParser, "parse", staticmethod(parse_once)),
        (json_path, "parse", functools.lru_cache(maxsize=4096)(json_path.parse)),
        (result_path, "parse", functools.lru_cache(maxsize=4096)(result_path.parse)),
    ]
    # Task modules bound boto_client_for at import: replace every such binding.
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.") and (
            getattr(module, "boto_client_for", None) is make_client
        ):
            replaced.append((module, "boto_client_for", boto_client_for))
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in replaced]
    for owner, name, replacement in replaced:
        setattr(owner, name, replacement)

    def uninstall() -> None:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)

    return uninstall


def install_step_functions_clock(speed: float) -> Callable[[], None]:
    """Step Functions' Wait states and Retry intervals run ``speed`` times faster than real time.

    moto's interpreter sleeps them in real seconds, while everything else offline runs on a
    scaled clock: an Autopilot job, a blue/green baking period and the WatchJobs schedule
    move ``speed`` times faster. With real-second waits, FinalizeJob polled an endpoint a few
    times per simulated hour of baking and spent most of a deployment asleep. Scaled, the
    execution keeps AWS's proportions: a 30 s poll during a 10 minute canary bake is 20 polls
    at any speed. What an execution does (its states, their order, how many attempts a Retry
    makes) does not change; only how long the interpreter sleeps does. Waits still end early
    when the execution is stopped. Replaces any earlier install; returns the undo."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    saved_wait = WaitFunction.__dict__["_wait_interval"]
    saved_time = retrier_decl.time

    def _wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        deadline = time.monotonic() + max(0.0, float(wait_seconds)) / speed
        while env.is_running():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if env.program_state_event.wait(left) and env.is_running():
                # Set for another reason than a stop (moto's own re-wait case): keep waiting,
                # without spinning on an event that stays set.
                time.sleep(min(left, 0.01))

    def scaled_sleep(seconds: float) -> None:
        time.sleep(max(0.0, float(seconds)) / speed)

    WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
    # The retrier's only use of ``time`` is the sleep between attempts.
    retrier_decl.time = types.SimpleNamespace(sleep=scaled_sleep)  # type: ignore[assignment]

    def uninstall() -> None:
        WaitFunction._wait_interval = saved_wait  # type: ignore[method-assign]
        retrier_decl.time = saved_time  # type: ignore[assignment]

    return uninstall


class _FunctionNames:
    """``name in names``: whether ``name`` is a plain function of the class, as
    ``inspect.getmembers(clazz, inspect.isfunction)`` would list it, asked of that name alone."""

    def __init__(self, clazz: type) -> None:
        self._clazz = clazz

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self._clazz, name, None))


def install_response_action_lookup() -> Callable[[], None]:
    """moto finds the method of every request's action by listing every function of its
    response class (``inspect.getmembers`` over a few hundred attributes) and looking the
    action up in that list: about a tenth of a small request's time in moto. The lookup asks
    the class for that one name instead; methods that patches add or remove later are seen
    (nothing is cached). Returns the undo."""
    original = moto_responses.method_names_from_class
    moto_responses.method_names_from_class = _FunctionNames  # type: ignore[assignment]

    def uninstall() -> None:
        moto_responses.method_names_from_class = original

    return uninstall


def install_backend_url_cache() -> Callable[[], None]:
    """moto answers each in-process request by rebuilding its service's whole URL table
    (``BaseBackend.urls``: every path pattern formatted against every base, with the China
    and ISO variants), and S3's by first reloading ``moto.s3.urls`` from disk: about a tenth
    of an S3 request's time. The table depends only on the backend's class and the two
    settings moto reads while building it (``MOTO_ENABLE_ISO_REGIONS``,
    ``MOTO_S3_CUSTOM_ENDPOINTS``), so it is built once per class and settings. Returns the
    undo."""
    original = BaseBackend.__dict__["urls"]
    tables: dict[tuple[Any, ...], dict[str, Any]] = {}
    lock = threading.Lock()

    def urls(backend: Any) -> dict[str, Any]:
        key = (type(backend), enable_iso_regions(), tuple(get_s3_custom_endpoints()))
        table = tables.get(key)
        if table is None:
            built = original.fget(backend)
            with lock:
                table = tables.setdefault(key, built)
        return table

    BaseBackend.urls = property(urls)  # type: ignore[assignment,method-assign]

    def uninstall() -> None:
        BaseBackend.urls = original  # type: ignore[method-assign]

    return uninstall


def install_events_input_path_cache() -> Callable[[], None]:
    """moto's EventBridge renders every matched event for every target through eight JSONPath
    expressions (its default input paths), compiling each with a fresh ``jsonpath_ng`` yacc
    parser: in a burst the service's own PutEvents (each delivered to the archive as well)
    spent more time there than anywhere else in moto. A compiled expression is immutable
    (``find`` only reads it), so each is compiled once. Returns the undo."""
    # moto's events module imports ``parse`` from here at every call.
    module: Any = importlib.import_module("jsonpath_ng.ext")
    original = module.parse
    module.parse = functools.lru_cache(maxsize=1024)(original)

    def uninstall() -> None:
        module.parse = original

    return uninstall


# Immutable values: a copy may share them. SDK task results bring timestamps and decimals
# (botocore parses them) into an execution's JSON, and copying each through deepcopy's
# reduce protocol cost more than the rest of the copy.
_IMMUTABLE = frozenset(
    {str, int, float, bool, type(None), bytes, datetime.datetime, datetime.date, decimal.Decimal}
)


def copy_json(value: Any) -> Any:
    """``copy.deepcopy`` for JSON values, several times faster: dicts and lists are rebuilt,
    strings, numbers, booleans, None, timestamps and decimals are immutable; anything else
    goes to deepcopy."""
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


STEP_FUNCTIONS_INTERPRETER = "moto.stepfunctions.parser.asl."


def install_step_functions_json_copies() -> Callable[[], None]:
    """moto's Step Functions interpreter deep-copies a state's input and output several
    times per state (they are JSON values: the definition's data). ``copy.deepcopy``'s
    generic machinery was the largest single cost left in a burst, so the interpreter's
    modules get ``copy_json`` instead (their only use of ``copy``). Returns the undo."""

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        # A memo means a caller steering the copy (moto shares or skips some objects).
        return copy_json(value) if memo is None else copy.deepcopy(value, memo)

    shim = types.SimpleNamespace(deepcopy=deepcopy)
    patched = [  # the interpreter (asl) only: the backend copies state machines, not JSON
        module
        for name, module in list(sys.modules.items())
        if name.startswith(STEP_FUNCTIONS_INTERPRETER) and getattr(module, "copy", None) is copy
    ]
    for module in patched:
        module.copy = shim  # type: ignore[attr-defined]

    def uninstall() -> None:
        for module in patched:
            module.copy = copy  # type: ignore[attr-defined]

    return uninstall


def install_server_dispatch_cache() -> Callable[[], None]:
    """moto's server finds the backend of every request by host under one lock, and for
    each one lists moto's package directory (an ``isdir`` per service) and tries hundreds of
    URL patterns. The answer depends on the host alone, so it is remembered. Returns the undo."""
    original = DomainDispatcherApplication.get_backend_for_host
    backends: dict[str | None, Any] = {}

    def get_backend_for_host(app: Any, host: str | None) -> Any:
        if host not in backends:
            backends[host] = original(app, host)
        return backends[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]

    def uninstall() -> None:
        DomainDispatcherApplication.get_backend_for_host = original  # type: ignore[method-assign]

    return uninstall


class _KeysUnder:
    """A bucket's key store as ``list_object_versions`` reads it, holding only the keys under
    a prefix (the only ones it can return)."""

    def __init__(self, keys: Any, prefix: str) -> None:
        self._keys, self._prefix = keys, prefix

    def iterlists(self) -> Any:
        return ((k, v) for k, v in self._keys.iterlists() if k.startswith(self._prefix))


class _BucketUnder:
    def __init__(self, bucket: Any, prefix: str) -> None:
        self._bucket = bucket
        self.keys = _KeysUnder(bucket.keys, prefix)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)


class _BackendWithBucket:
    def __init__(self, backend: Any, bucket: Any) -> None:
        self._backend, self._bucket = backend, bucket

    def get_bucket(self, bucket_name: str) -> Any:
        return self._bucket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)


def install_s3_prefixed_version_listing() -> Callable[[], None]:
    """moto's ListObjectVersions deep-copies every version of every key of the bucket before
    it filters by prefix: the ingest handler lists one manifest's versions, so a burst cost
    O(bucket) per manifest. Keys outside the prefix never reach the answer (the paging and
    "is latest" logic work per key name), so they are left out before the copy. Returns the
    undo."""
    original = S3Backend.list_object_versions

    def list_object_versions(backend: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        prefix = kwargs.get("prefix") or ""  # moto's response passes it by name
        view = backend
        if prefix and not args:
            bucket = _BucketUnder(backend.get_bucket(bucket_name), prefix)
            view = _BackendWithBucket(backend, bucket)
        return original(view, bucket_name, *args, **kwargs)

    S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]

    def uninstall() -> None:
        S3Backend.list_object_versions = original  # type: ignore[method-assign]

    return uninstall


# Everything botocore's loaders of this process parsed, under what each answer depends on.
_PARSED: dict[tuple[Any, ...], Any] = {}


class _SharedLoaderCache:
    """A botocore ``Loader``'s cache (``instance_cache`` keeps each parsed file and merged
    model there), kept for every loader of the process in one dictionary, under what a
    loader's answer depends on: its class (moto's reads other extras), its file loader's
    class, its search paths (boto3 appends one after creating it: read at each lookup) and
    its extras types. Each loader answers as its own cache would; only the parsing is
    done once."""

    __slots__ = ("_loader",)

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def _key(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        loader = self._loader
        return (
            type(loader),
            type(loader.file_loader),
            tuple(loader.search_paths),
            tuple(loader._extras_types),
            key,
        )

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        return self._key(key) in _PARSED

    def __getitem__(self, key: tuple[Any, ...]) -> Any:
        return _PARSED[self._key(key)]

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        _PARSED[self._key(key)] = value


def install_shared_botocore_models() -> Callable[[], None]:
    """Every botocore session reads and parses the service models' JSON again (each
    session has a loader of its own): on AWS a process makes a handful, but a test or an
    offline stack makes one per handler cold start, per provisioned stack and per Step
    Functions task. Parsing SageMaker's model alone costs tens of milliseconds, and each
    copy keeps a few hundred thousand objects alive for the collector to walk (measured:
    4,300 parses, 37 s, in the integration and unit tests). Loaders created from now on
    that read botocore's JSON files share what they parsed (``_SharedLoaderCache``);
    botocore already shares a loaded model between the clients of one session and never
    changes it. Returns the undo (loaders created meanwhile keep sharing)."""
    original = Loader.__init__

    def __init__(loader: Loader, *args: Any, **kwargs: Any) -> None:
        original(loader, *args, **kwargs)
        if type(loader.file_loader) is JSONFileLoader:  # reads files, keeps no state
            loader._cache = _SharedLoaderCache(loader)

    Loader.__init__ = __init__  # type: ignore[method-assign]

    def uninstall() -> None:
        Loader.__init__ = original  # type: ignore[method-assign]

    return uninstall


# What an unchecked request carries where SigV4's HMAC would be: hex, as long as a real one.
UNCHECKED_SIGNATURE = "0" * 64


def _answered_in_this_process(url: str) -> bool:
    """moto answers ``url`` on the caller's thread: the URL is an offline stack's endpoint
    served in-process (``in_process_http``), or ``mock_aws`` is active, passes nothing
    through and the URL is AWS's (moto answers every ``amazonaws.com`` URL it is asked,
    with a 404 at worst; any other host goes out over HTTP)."""
    if any(url.startswith(prefix) for prefix, _ in in_process_http.served()):
        return True
    if not botocore_stubber.enabled:
        return False
    passthrough = default_user_config.get("core", {}).get("passthrough", {})
    if passthrough.get("urls") or passthrough.get("services"):
        return False
    host = urlsplit(url).hostname or ""
    return host.endswith(".amazonaws.com")


def install_unchecked_signatures() -> Callable[[], None]:
    """botocore signs every request with SigV4: a canonical request (every header and the
    query, normalised), a string to sign and five HMACs, about a tenth of a small call's
    time in-process. moto reads the Authorization header for the access key (the account)
    and the region only; it checks the signature only while IAM enforcement is on
    (``set_initial_no_auth_action_count``, or the moto API's switch). So a request that moto
    answers in this process while enforcement is off gets every header it would have had
    (the date, the session token, the payload hash, the Credential scope and SignedHeaders)
    and a placeholder signature. Every other request is signed as before: enforcement on,
    any other endpoint, and presigned URLs and POSTs (other signers). Returns the undo."""
    original = SigV4Auth.add_auth

    def add_auth(auth: SigV4Auth, request: Any) -> None:
        if (
            type(auth) not in (SigV4Auth, S3SigV4Auth)
            or auth.credentials is None
            or math.isfinite(moto_settings.INITIAL_NO_AUTH_ACTION_COUNT)  # checked
            or not _answered_in_this_process(request.url)
        ):
            original(auth, request)
            return
        request.context["timestamp"] = botocore_auth.get_current_datetime().strftime(
            SIGV4_TIMESTAMP
        )
        auth._modify_request_before_signing(request)
        auth._inject_signature_to_request(request, UNCHECKED_SIGNATURE)

    SigV4Auth.add_auth = add_auth  # type: ignore[method-assign]

    def uninstall() -> None:
        SigV4Auth.add_auth = original  # type: ignore[method-assign]

    return uninstall


def install_sqs_retention_check() -> Callable[[], None]:
    """moto's ReceiveMessage checks each message's retention period by computing every
    attribute of the queue, the approximate counts included (each a pass over all its
    messages), so receiving from a deep queue cost O(depth) per message. The check needs
    the retention period alone. Returns the undo."""
    original = SQSBackend.is_message_valid_based_on_retention_period

    def is_message_valid_based_on_retention_period(
        backend: Any, queue_name: str, message: Any
    ) -> bool:
        retention = backend.get_queue(queue_name).message_retention_period
        return bool(int(retention) + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )

    def uninstall() -> None:
        SQSBackend.is_message_valid_based_on_retention_period = original  # type: ignore[method-assign]

    return uninstall


def install_sqs_send_without_counting() -> Callable[[], None]:
    """moto's SendMessage reads one attribute of the queue, ContentBasedDeduplication, from
    its whole attribute map, whose approximate counts are each a pass over every message:
    sending to a deep queue cost O(depth) per message (a thousand events to a subscriber's
    queue, a million passes). While moto sends, the queue's map holds what sending reads:
    that attribute, which only a FIFO queue's map has. Returns the undo."""
    original_attributes = Queue.__dict__["attributes"]
    original_send = SQSBackend.send_message
    sending = threading.local()

    def attributes(queue: Any) -> dict[str, Any]:
        if getattr(sending, "queue", None) is not queue:
            return original_attributes.fget(queue)  # type: ignore[no-any-return]
        if not queue.fifo_queue:
            return {}
        return {"ContentBasedDeduplication": str(queue.content_based_deduplication).lower()}

    def send_message(backend: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        outer = getattr(sending, "queue", None)
        sending.queue = backend.get_queue(queue_name)
        try:
            return original_send(backend, queue_name, *args, **kwargs)
        finally:
            sending.queue = outer

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]

    def uninstall() -> None:
        Queue.attributes = original_attributes  # type: ignore[method-assign]
        SQSBackend.send_message = original_send  # type: ignore[method-assign]

    return uninstall


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


def install_moto_speedups(speed: float) -> Callable[[], None]:
    """Every change above to how moto computes (never to what it answers), and the Step
    Functions clock at ``speed``: what the offline stack runs on and every test module
    installs (tests/conftest.py). The server's dispatch cache is the stack's alone (tests
    call moto in-process). Returns the undo of all of them."""
    undo = [
        install_step_functions_clock(speed),
        install_step_functions_caches(),
        install_step_functions_json_copies(),
        install_events_input_path_cache(),
        install_response_action_lookup(),
        install_backend_url_cache(),
        install_unchecked_signatures(),
        install_shared_botocore_models(),
        install_s3_prefixed_version_listing(),
        install_sqs_retention_check(),
        install_sqs_send_without_counting(),
    ]

    def uninstall() -> None:
        for step in reversed(undo):
            step()

    return uninstall


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
