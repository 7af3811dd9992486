"""Requests from this process to the offline moto server, without the socket.

The offline stack's handlers, pollers, Step Functions tasks and the bench all live in the
process that runs the moto server, and every boto3 call they make went through loopback
HTTP: botocore wrote a request, the kernel carried it, werkzeug parsed it on a thread of its
own (a new thread per connection), moto answered, and the answer went back the same way.
In a burst that transport was about half of the stack's CPU (sampled: 2,459 of 5,017
samples in werkzeug's request threads, 399 in opening connections).

``install`` routes a request addressed to the server's endpoint straight into the same WSGI
application the server runs, on the caller's thread, with the environ werkzeug's request
handler (and moto's, which keeps ``x-amz-meta-`` header names with underscores) would have
built: moto sees the same request and answers the same way; only the bytes never cross a
socket. Requests to any other address, and every request from another process (the AWS CLI,
``autopilot-flow --offline``), still use HTTP.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import botocore.awsrequest
from botocore.httpsession import URLLib3Session
from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)
from urllib3 import _version as urllib3_version

_URLLIB3_USER_AGENT = f"python-urllib3/{urllib3_version.__version__}"  # unless the request has one

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Routes:
    """The endpoints served in-process, and botocore's own ``send`` while any is."""

    lock = threading.Lock()
    # (endpoint prefix "http://127.0.0.1:PORT/", app) pairs: replaced whole, never changed
    # in place, so that a request reads them without the lock.
    served: tuple[tuple[str, WsgiApp], ...] = ()
    original_send: Callable[..., Any] | None = None


class _Body(io.BytesIO):
    """An answer's body as botocore reads it from urllib3: ``read``, ``stream``, ``close``."""

    def stream(self, **_: Any) -> Iterable[bytes]:
        while chunk := self.read(64 * 1024):
            yield chunk


def _wsgi_text(text: str) -> str:
    # PEP 3333: environ strings are bytes decoded as latin-1 (werkzeug's "encoding dance").
    return text.encode().decode("latin1")


def _header_text(value: Any) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


def _request_body(body: Any) -> bytes:
    """What urllib3 would have written: bytes, a string, a file or an iterable of chunks."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        data = body.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return b"".join(c.encode() if isinstance(c, str) else bytes(c) for c in body)


def environ_for(request: Any, body: bytes, server_name: str, server_port: int) -> dict[str, Any]:
    """The environ that werkzeug's request handler, with moto's ``MotoRequestHandler`` on
    top, builds for ``request`` arriving over HTTP/1.1."""
    url = urlsplit(request.url)
    target = url.path + (f"?{url.query}" if url.query else "")
    environ: dict[str, Any] = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "offline-in-process",
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _wsgi_text(unquote(url.path)),
        "QUERY_STRING": _wsgi_text(url.query),
        "REQUEST_URI": _wsgi_text(target),
        "RAW_URI": _wsgi_text(target),
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": 0,
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    # What http.client and urllib3 add to botocore's headers on the wire. The body is
    # whole here, so HTTP's own chunking (Transfer-Encoding) becomes a Content-Length.
    headers: list[tuple[str, str]] = [
        ("Host", url.netloc),
        ("Accept-Encoding", "identity"),
        ("User-Agent", _URLLIB3_USER_AGENT),
    ]
    given = {name.lower() for name in request.headers}
    headers = [(n, v) for n, v in headers if n.lower() not in given]
    for name, value in request.headers.items():
        if name.lower() not in ("transfer-encoding", "content-length"):
            headers.append((name, _header_text(value)))
    if body or "content-length" in given or request.method in ("POST", "PUT", "PATCH"):
        headers.append(("Content-Length", str(len(body))))
    preserved: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    dashed = {environ_key_for_header(n) for n, _ in headers if "_" not in n}
    for name, raw in headers:
        value = raw.replace("\r\n", "")
        key = environ_key_for_header(name)
        if "_" in name:  # werkzeug drops these; moto keeps S3 metadata names
            if should_preserve_original_header_name(name) and key not in dashed:
                preserved.setdefault(key, name)
                values.setdefault(key, []).append(value)
            continue
        if key.startswith("HTTP_") and key in environ:
            value = f"{environ[key]},{value}"
        environ[key] = value
    for key, key_values in values.items():
        environ[key] = ",".join(key_values)
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
    return environ


def _call(app: WsgiApp, request: Any) -> botocore.awsrequest.AWSResponse:
    url = urlsplit(request.url)
    environ = environ_for(request, _request_body(request.body), url.hostname or "", url.port or 80)
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.update(status=status, headers=headers)
        return chunks.append  # the legacy write() callable

    chunks: list[bytes] = []
    try:
        answer = app(environ, start_response)
        try:
            chunks.extend(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()
    except Exception:  # what werkzeug's server answers when the application raises
        started = {"status": "500 INTERNAL SERVER ERROR", "headers": []}
        chunks = [b"Internal Server Error"]
    status = int(started["status"].split(" ", 1)[0])
    body = b"" if request.method == "HEAD" else b"".join(chunks)
    headers = botocore.awsrequest.HeadersDict()
    for name, value in started["headers"]:
        headers[name] = value
    return botocore.awsrequest.AWSResponse(request.url, status, headers, _Body(body))


def _send(session: URLLib3Session, request: Any) -> Any:
    for prefix, app in _Routes.served:  # one entry per running stack
        if request.url.startswith(prefix):
            response = _call(app, request)
            if not request.stream_output:
                response.content  # noqa: B018 - read now, as URLLib3Session.send does
            return response
    assert _Routes.original_send is not None
    return _Routes.original_send(session, request)


def served() -> tuple[tuple[str, WsgiApp], ...]:
    """The (endpoint prefix, app) pairs served in-process now."""
    return _Routes.served


def install(app: WsgiApp, endpoint_url: str) -> Callable[[], None]:
    """Serve requests for ``endpoint_url`` (``http://host:port``) from ``app`` in-process, for
    every botocore client of this process, existing or future. Returns the undo."""
    prefix = endpoint_url.rstrip("/") + "/"
    route = (prefix, app)
    with _Routes.lock:
        if _Routes.original_send is None:
            _Routes.original_send = URLLib3Session.send
            URLLib3Session.send = _send
        _Routes.served = (*(r for r in _Routes.served if r[0] != prefix), route)

    def uninstall() -> None:
        with _Routes.lock:
            _Routes.served = tuple(r for r in _Routes.served if r is not route)
            if not _Routes.served and _Routes.original_send is not None:
                URLLib3Session.send = _Routes.original_send
                _Routes.original_send = None

    return uninstall
