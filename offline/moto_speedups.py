"""Speed-ups for moto's own repeated work: each changes how moto computes, never what it
answers (tests/integration/test_offline_runtime.py and test_in_process_http.py compare
every one with moto as it comes). The offline stack installs them all
(``install_moto_speedups``), and so does every test module (tests/conftest.py).
"""

from __future__ import annotations

import copy
import datetime
import decimal
import functools
import importlib
import inspect
import math
import pickle
import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

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


# (file loader class, search paths, data path) -> the file that a loader reads for it.
_FOUND_FILES: dict[tuple[Any, ...], str | None] = {}


def _found_file(loader: Loader, paths: tuple[str, ...], name: Any) -> str | None:
    """The file ``loader.load_data_with_path(name)`` reads: the first of its search paths
    that holds it, as botocore looks (None: none does, or the file loader cannot say)."""
    lookup = (type(loader.file_loader), paths, name)
    if lookup not in _FOUND_FILES:
        exists = getattr(loader.file_loader, "exists", None)
        found = None
        if exists is not None and isinstance(name, str):
            found = next((p for p in loader._potential_locations(name) if exists(p)), None)
        _FOUND_FILES[lookup] = found
    return _FOUND_FILES[lookup]


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
        paths = tuple(loader.search_paths)
        if key[:1] == ("load_data_with_path",) and len(key) == 2:
            # A data file, under the file found: loaders whose search paths differ but find
            # the same file share one parse (boto3 appends a path that botocore's sessions
            # lack; each parse of the SageMaker model is tens of megabytes in memory).
            found = _found_file(loader, paths, key[1])
            if found is not None:
                paths = ("found", found)
        return (type(loader), type(loader.file_loader), paths, tuple(loader._extras_types), key)

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


# --- DynamoDB: an update expression is parsed and checked once ------------------------------

# The parsed form of each update expression seen (pickled: every use gets a tree of its own,
# since moto's validators rewrite the tree they are given). The few expressions a service
# writes come again and again; a bound keeps a stream of distinct ones from growing it.
_PARSED_UPDATES: dict[tuple[type, str], bytes] = {}
# (expression, its attribute names, the table's key) whose expression-only checks passed.
_CHECKED_UPDATES: set[tuple[Any, ...]] = set()
UPDATE_CACHE_LIMIT = 1024
# The source text of a tree ``make`` returned, kept on its root (copies keep it too).
_SOURCE = "_autopilot_flow_source"
# A traverser's handlers, kept on the traverser (one per validation).
_HANDLERS = "_autopilot_flow_handlers"


def _static_update_checks() -> tuple[type, ...]:
    """moto's checks of an update expression that read nothing but the expression, its
    ExpressionAttributeNames and the table's key attributes (not the item, not the values):
    too many clauses of a kind, overlapping paths, a key attribute updated."""
    from moto.dynamodb.parsing import validators  # noqa: PLC0415

    return (
        validators.ActionCountValidator,
        validators.OverlappingPathsValidator,
        validators.UpdateHashRangeKeyValidator,
    )


def _copy_tree(tree: Any) -> Any:
    """A deep copy of an unvalidated expression tree (plain objects, strings and lists)
    through pickle: about three times faster than ``copy.deepcopy``'s generic walk."""
    return pickle.loads(pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes


def install_dynamodb_update_expression_cache() -> Callable[[], None]:
    """moto parses an UpdateItem's expression twice per request (the response layer and the
    backend), deep-copies the tree for each validation, and runs ten checks over it; one of
    them (the count of clauses) walks the whole tree again at every node. A thousand-job
    watcher tick spent most of its time there. So: each expression is parsed once (every
    use gets its own copy, by pickle rather than deepcopy), and the three checks that read
    only the expression, its attribute names and the table's key are skipped once they have
    passed for that combination. A failing check is never remembered: it fails every time,
    as in moto; every other check runs as before. Returns the undo."""
    from moto.dynamodb.parsing import ast_nodes, expressions, validators  # noqa: PLC0415

    parser = expressions.UpdateExpressionParser
    validator = validators.UpdateExpressionValidator
    original_make = parser.__dict__["make"]
    original_deepcopy = validators.deepcopy
    had_validate = "validate" in validator.__dict__
    original_validate = validator.validate
    static = _static_update_checks()

    def make(cls: type, expression_str: str) -> Any:
        key = (cls, expression_str)
        pickled = _PARSED_UPDATES.get(key)
        if pickled is None:
            tree = original_make.__func__(cls, expression_str)  # a syntax error: raised
            pickled = pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
            if len(_PARSED_UPDATES) >= UPDATE_CACHE_LIMIT:
                _PARSED_UPDATES.clear()
            _PARSED_UPDATES[key] = pickled
        tree = pickle.loads(pickled)  # noqa: S301 - bytes this process pickled
        setattr(tree, _SOURCE, expression_str)
        return tree

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if memo is None and isinstance(value, ast_nodes.Node):
            return _copy_tree(value)
        return original_deepcopy(value, memo)

    def validate(self: Any) -> Any:
        tree = self.node_to_validate
        source = getattr(tree, _SOURCE, None)
        names = self.expression_attribute_names or {}
        try:
            key = (source, frozenset(names.items()), tuple(self.table.table_key_attrs))
        except TypeError:  # a name that is not a string: moto's own checks answer it
            source = None
        if source is None:
            return original_validate(self)
        processors = list(self.processors)
        if key in _CHECKED_UPDATES:
            processors = [p for p in processors if not isinstance(p, static)]
        left = sum(isinstance(p, static) for p in processors)
        for processor in processors:
            tree = processor.traverse(tree)
            if isinstance(processor, static):
                left -= 1
                if left == 0:  # every expression-only check has passed
                    if len(_CHECKED_UPDATES) >= UPDATE_CACHE_LIMIT:
                        _CHECKED_UPDATES.clear()
                    _CHECKED_UPDATES.add(key)
        return tree

    # Every node visited asks its traverser for the node types it handles, and every node
    # handled for the handler: moto rebuilds the map (a dict of bound methods) each time. Its
    # keys are fixed per class, its methods per traverser: each is built once.
    traverser = ast_nodes.DepthFirstTraverser
    original_types, original_process = traverser.nodes_to_be_processed, traverser.process
    types_of: dict[type, tuple[type, ...]] = {}

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        handled = types_of.get(type(self))
        if handled is None:
            handled = types_of[type(self)] = tuple(self._processing_map())
        return handled

    def process(self: Any, node: Any) -> Any:
        handlers = self.__dict__.get(_HANDLERS)
        if handlers is None:
            handlers = self.__dict__[_HANDLERS] = tuple(self._processing_map().items())
        for class_key, processor in handlers:
            if isinstance(node, class_key):
                return processor(node)
        return None

    parser.make = classmethod(make)  # type: ignore[method-assign,assignment]
    validators.deepcopy = deepcopy  # type: ignore[assignment]
    validator.validate = validate  # type: ignore[method-assign]
    traverser.nodes_to_be_processed = nodes_to_be_processed  # type: ignore[method-assign]
    traverser.process = process  # type: ignore[method-assign]

    def uninstall() -> None:
        traverser.nodes_to_be_processed = original_types  # type: ignore[method-assign]
        traverser.process = original_process  # type: ignore[method-assign]
        parser.make = original_make  # type: ignore[method-assign]
        validators.deepcopy = original_deepcopy
        if had_validate:
            validator.validate = original_validate  # type: ignore[method-assign]
        else:
            del validator.validate

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
        install_dynamodb_update_expression_cache(),
    ]

    def uninstall() -> None:
        for step in reversed(undo):
            step()

    return uninstall
