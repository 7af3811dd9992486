"""In-process requests to the offline moto server (offline/in_process_http.py) and the two
per-request moto fixes beside it (offline/moto_speedups.py): each keeps the answers moto gave.

The environ an in-process request builds is checked against the one werkzeug's own server,
with moto's request handler, builds for the same request sent over a real socket.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonpath_ng.ext
import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError
from botocore.httpsession import URLLib3Session
from moto.core import responses as moto_responses
from moto.core.utils import method_names_from_class
from moto.dynamodb.responses import DynamoHandler
from moto.events.utils import EventTemplateParser
from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.s3.responses import S3Response
from moto.sagemaker.responses import SageMakerResponse
from moto.sqs.responses import SQSResponse
from werkzeug.serving import make_server

from offline import in_process_http
from offline.moto_speedups import install_events_input_path_cache, install_response_action_lookup
from offline.stack import OfflineOptions, OfflineStack

# What differs between two requests whatever the transport: the socket, the peer's port,
# the server's name for itself, and the body stream object.
_TRANSPORT_KEYS = {
    "wsgi.input",
    "wsgi.errors",
    "werkzeug.socket",
    "werkzeug.request",
    "REMOTE_PORT",
    "SERVER_SOFTWARE",
    "SERVER_NAME",
    "wsgi.input_terminated",
}


class _EchoApp:
    """A WSGI app that records the environ and body of each request it answers."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.seen.append((dict(environ), body))
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("the application failed")
        start_response("201 CREATED", [("Content-Type", "text/plain"), ("X-Echo", "yes")])
        return [b"echo:", body]


@pytest.fixture
def echo_server() -> Iterator[tuple[_EchoApp, str]]:
    app = _EchoApp()
    server = make_server("127.0.0.1", 0, app, True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _send(method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
    request = AWSRequest(method=method, url=url, headers=headers, data=body).prepare()
    return URLLib3Session().send(request)


REQUESTS = [
    pytest.param(
        "PUT",
        "/bucket/some%20dir/key.json?versionId=3&x=a%2Fb",
        {
            "Content-Type": "application/json",
            "x-amz-meta-my_key": "underscored",
            "x-amz-meta-other-key": "dashed",
            "X-Amz-Date": "20261205T000000Z",
        },
        b'{"a": 1}',
        id="put-with-metadata-and-query",
    ),
    pytest.param(
        "POST",
        "/",
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        "Action=ReceiveMessage&QueueUrl=http%3A%2F%2Fq",
        id="form-post",
    ),
    pytest.param("GET", "/bucket?list-type=2&prefix=a%2F", {}, None, id="get"),
    pytest.param("HEAD", "/bucket/key", {"Range": "bytes=0-1"}, None, id="head"),
    pytest.param(
        "PUT", "/bucket/stream", {"Content-Length": "5"}, io.BytesIO(b"12345"), id="file-body"
    ),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), REQUESTS)
def test_in_process_environ_is_the_one_werkzeug_builds(
    echo_server: tuple[_EchoApp, str], method: str, path: str, headers: Any, body: Any
) -> None:
    app, url = echo_server
    over_http = _send(method, url + path, headers, body)
    if hasattr(body, "seek"):
        body.seek(0)
    undo = in_process_http.install(app, url)
    try:
        in_process = _send(method, url + path, headers, body)
    finally:
        undo()
    assert len(app.seen) == 2
    (wire, wire_body), (local, local_body) = app.seen
    assert local_body == wire_body
    for environ in (wire, local):
        for key in _TRANSPORT_KEYS:
            environ.pop(key, None)
    assert local == wire
    assert in_process.status_code == over_http.status_code == 201
    assert in_process.content == over_http.content
    assert in_process.headers["X-Echo"] == over_http.headers["X-Echo"] == "yes"


def test_an_application_error_is_a_500_answer_as_over_http(
    echo_server: tuple[_EchoApp, str],
) -> None:
    app, url = echo_server
    undo = in_process_http.install(app, url)
    try:
        answer = _send("GET", url + "/boom", {})
    finally:
        undo()
    assert answer.status_code == 500


def test_other_addresses_still_use_the_socket_and_the_undo_restores_botocore(
    echo_server: tuple[_EchoApp, str],
) -> None:
    app, url = echo_server
    original = URLLib3Session.send
    other = _EchoApp()
    undo_other = in_process_http.install(other, "http://127.0.0.1:1")  # nothing listens there
    undo = in_process_http.install(app, url)
    try:
        _send("GET", url + "/x", {})
        assert len(app.seen) == 1 and not other.seen
        undo_other()  # one route gone, the other still served in-process
        assert URLLib3Session.send is not original
        _send("GET", url + "/y", {})
        assert len(app.seen) == 2
    finally:
        undo()
    assert URLLib3Session.send is original


def test_a_running_stack_answers_its_own_clients_in_process_and_others_over_http(
    tmp_path: Path,
) -> None:
    """The stack's clients skip the socket; a client the stack does not serve in-process
    (another process, here one with in-process calls switched off) gets the same answers."""
    original = URLLib3Session.send
    options = OfflineOptions(state_dir=tmp_path / "state")
    with OfflineStack(options) as stack:
        assert URLLib3Session.send is not original
        bucket = stack.describe()["resources"]["ManifestsBucket"]
        s3 = stack.client("s3")
        s3.put_object(Bucket=bucket, Key="a/b_c.json", Body=b"{}", Metadata={"my_key": "v"})
        got = s3.get_object(Bucket=bucket, Key="a/b_c.json")
        assert got["Body"].read() == b"{}"
        assert got["Metadata"] == {"my_key": "v"}
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket=bucket, Key="a/none")
        assert missing.value.response["Error"]["Code"] == "NoSuchKey"
        served = list(in_process_http._Routes.served)
        in_process_http._Routes.served = ()  # this process's calls go over HTTP for a moment
        try:
            over_http = boto3.client(
                "s3",
                region_name="us-east-1",
                endpoint_url=stack.endpoint_url,
                aws_access_key_id="x",
                aws_secret_access_key="x",
            ).get_object(Bucket=bucket, Key="a/b_c.json")
        finally:
            in_process_http._Routes.served = tuple(served)
        assert over_http["Metadata"] == got["Metadata"]
        assert over_http["VersionId"] == got["VersionId"]
    assert URLLib3Session.send is original


# --- per-request moto fixes ------------------------------------------------------------------


@pytest.mark.parametrize("response", [DynamoHandler, S3Response, SQSResponse, SageMakerResponse])
def test_action_lookup_agrees_with_moto_for_every_attribute(response: type) -> None:
    undo = install_response_action_lookup()
    try:
        names = moto_responses.method_names_from_class(response)
    finally:
        undo()
    listed = set(method_names_from_class(response))
    assert listed  # the classes do have actions
    for name in set(dir(response)) | {"no_such_action", "get_item", "list_queues"}:
        assert (name in names) == (name in listed), name
    assert moto_responses.method_names_from_class is method_names_from_class


def test_action_lookup_sees_a_method_added_after_the_first_request() -> None:
    class Late(SQSResponse):
        pass

    undo = install_response_action_lookup()
    try:
        assert "late_action" not in moto_responses.method_names_from_class(Late)
        Late.late_action = lambda self: None  # type: ignore[attr-defined]
        assert "late_action" in moto_responses.method_names_from_class(Late)
    finally:
        undo()


def test_events_input_paths_compile_once_and_render_the_same_event() -> None:
    event = {
        "id": "1",
        "time": 1796428800,
        "detail-type": "AutoML Job State Change",
        "source": "autopilot-flow",
        "region": "us-east-1",
        "account": "123456789012",
        "resources": ["arn:x"],
        "detail": {"a": [1, {"b": None}]},
        "ingestion-time": 1,
    }
    # moto's default input template, rendered from the event.
    rendered = {key: event[key] for key in ("id", "time", "detail-type", "source", "region")}
    rendered.update(version="0", resources=event["resources"], detail=event["detail"])
    before = jsonpath_ng.ext.parse  # tests/conftest.py may have installed the cache already
    undo = install_events_input_path_cache()
    try:
        cached = [
            EventTemplateParser.parse(input_template="", input_paths_map={}, event=event)
            for _ in range(3)
        ]
        info = jsonpath_ng.ext.parse.cache_info()  # type: ignore[attr-defined]
    finally:
        undo()
    assert cached == [rendered] * 3
    paths = len(EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP)
    assert info.misses == paths and info.hits == 2 * paths
    assert jsonpath_ng.ext.parse is before
