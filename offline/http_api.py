"""The HTTP API offline: HTTP requests on loopback become API Gateway (REST) proxy events.

moto cannot put its API Gateway in front of an in-process handler, so this small adapter
plays API Gateway for the stack's ``Type: Api`` function events: a ``ThreadingHTTPServer``
on ``127.0.0.1`` (port 0: any free port) matches the request against the template's routes,
builds the same proxy event API Gateway would (``resource``, ``path``, ``pathParameters``,
single- and multi-value headers and query strings, ``requestContext`` with a request id,
``isBase64Encoded`` for a body that is not UTF-8) and answers with the handler's response.

Differences from AWS, on purpose and in plain sight:

- **No SigV4 check.** Any ``Authorization`` header (or none) is accepted. When it is a SigV4
  header, its access key id becomes ``requestContext.identity.caller`` so that two
  "callers" can still be told apart; nothing is verified.
- No stage throttling, no access-log group (each request is logged with ``logging``).
- Like one Lambda execution environment, the handler serves one request at a time.

- An unknown path, or a method a resource does not have, gets 404 (a problem document). API
  Gateway answers 403 ``Missing Authentication Token`` there, its answer to an unsigned
  request, which offline (no signing needed) would only mislead.

What matches AWS: a body over 10 MB gets 413 (as the stack's gateway responses: a problem
document).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
STAGE = "offline"
_SIGV4_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class ApiRoute:
    path: str  # the template's resource path, e.g. /jobs/{name}
    method: str  # GET, POST, ... or ANY

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for segment in self.path.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("+}"):
                regex += f"/(?P<{segment[1:-2]}>.+)"
            elif segment.startswith("{") and segment.endswith("}"):
                regex += f"/(?P<{segment[1:-1]}>[^/]+)"
            elif segment:
                regex += "/" + re.escape(segment)
        return re.compile(f"^{regex or '/'}$")

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers literal segments over parameters."""
        segments = self.path.strip("/").split("/")
        return (sum(1 for s in segments if s.startswith("{")), -len(segments))


def routes_of(events: dict[str, Any]) -> list[ApiRoute]:
    """The ``Type: Api`` events of a function (as the template gives them)."""
    found = []
    for event in events.values():
        if event.get("Type") == "Api":
            props = event.get("Properties", {})
            found.append(ApiRoute(str(props["Path"]), str(props["Method"]).upper()))
    return found


def _gateway_problem(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """An answer of API Gateway itself, shaped like the stack's gateway responses."""
    body = {
        "type": "https://autopilot-flow.dev/problems/gateway",
        "title": kind,
        "detail": message,
    }
    return status, {"Content-Type": "application/problem+json"}, json.dumps(body).encode()


class LocalRestApi:
    """API Gateway (REST, proxy integration) for one handler, on 127.0.0.1."""

    def __init__(
        self,
        routes: Iterable[ApiRoute],
        handler: Handler,
        context: Any = None,
        *,
        account_id: str = "123456789012",
        port: int = 0,
    ) -> None:
        self.routes = sorted(routes, key=lambda r: r.specificity)
        self.handler = handler
        self.context = context
        self.account_id = account_id
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._invoke_lock = threading.Lock()  # one execution environment
        self.requests = 0

    @property
    def url(self) -> str:
        assert self.server is not None, "not started"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "autopilot-flow-offline-api"

            def log_message(self, format: str, *args: Any) -> None:
                LOGGER.info("%s %s", self.address_string(), format % args)

            def _serve(self) -> None:
                length = self.headers.get("Content-Length")
                size = int(length) if length and length.isdigit() else None
                if size is not None and size > MAX_BODY_BYTES:
                    self.close_connection = True  # the body is never read
                    status, headers, body = _gateway_problem(
                        413, "REQUEST_TOO_LARGE", "Request Too Long"
                    )
                elif size is None and (
                    length or "chunked" in self.headers.get("Transfer-Encoding", "")
                ):
                    self.close_connection = True
                    status, headers, body = _gateway_problem(
                        411, "BAD_REQUEST_BODY", "a Content-Length is required"
                    )
                else:
                    request = self.rfile.read(size) if size else b""
                    status, headers, body = api.dispatch(
                        self.command, self.path, self.headers.items(), request
                    )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def __getattr__(self, name: str) -> Any:
                # Every method reaches the router (TRACE, PURGE...): API Gateway answers
                # those itself (403), never http.server's 501.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), RequestHandler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="offline-http-api", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.server = None

    # --- API Gateway's part ----------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[ApiRoute | None, dict[str, str]]:
        """The most specific resource whose path matches; then its method (or none).
        ``path`` is still percent-encoded: an encoded ``/`` stays inside its segment."""
        for route in self.routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            same_resource = [r for r in self.routes if r.path == route.path]
            for candidate in same_resource:
                if candidate.method in (method, "ANY"):
                    return candidate, {k: unquote(v) for k, v in found.groupdict().items()}
            return None, {}
        return None, {}

    def dispatch(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests += 1
        parts = urlsplit(target)
        route, parameters = self.match(method, parts.path or "/")
        path = unquote(parts.path) or "/"
        if route is None:
            return _gateway_problem(
                404, "RESOURCE_NOT_FOUND", f"no route for {method} {parts.path or '/'}"
            )
        event = self.event(
            method, path, parts.query, list(headers), body=body, matched=(route, parameters)
        )
        with self._invoke_lock:
            try:
                response = self.handler(event, self.context) or {}
            except Exception:
                LOGGER.exception("the API handler failed")
                return _gateway_problem(502, "INTEGRATION_FAILURE", "Internal server error")
        return self._http_response(response)

    def event(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        *,
        body: bytes,
        matched: tuple[ApiRoute, dict[str, str]],
    ) -> dict[str, Any]:
        route, parameters = matched
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        for name, value in headers:
            single[name] = value
            multi.setdefault(name, []).append(value)
        pairs = parse_qsl(query, keep_blank_values=True)
        query_single = dict(pairs)
        query_multi: dict[str, list[str]] = {}
        for key, value in pairs:
            query_multi.setdefault(key, []).append(value)
        try:
            text: str | None = body.decode("utf-8") if body else None
            encoded = False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
        authorization = next((v for k, v in headers if k.lower() == "authorization"), "")
        credential = _SIGV4_CREDENTIAL.search(authorization)
        caller = credential.group(1) if credential else None
        source_ip = next((v for k, v in headers if k.lower() == "x-forwarded-for"), "127.0.0.1")
        now = time.time()
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query_single or None,
            "multiValueQueryStringParameters": query_multi or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "offline",
                "resourcePath": route.path,
                "httpMethod": method,
                "path": path,  # served at the root: no stage prefix in links offline
                "stage": STAGE,
                "requestId": str(uuid.uuid4()),
                "extendedRequestId": uuid.uuid4().hex[:16],
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "accountId": self.account_id,
                "apiId": "offline",
                "protocol": "HTTP/1.1",
                "domainName": "127.0.0.1",
                "identity": {
                    "sourceIp": source_ip.split(",")[0].strip(),
                    "caller": caller,
                    "accessKey": caller,
                    "accountId": self.account_id if caller else None,
                    "userArn": None,
                    "user": caller,
                    "userAgent": next((v for k, v in headers if k.lower() == "user-agent"), None),
                },
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    @staticmethod
    def _http_response(response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            if values:
                headers[str(name)] = ", ".join(str(v) for v in values)
        raw = response.get("body") or ""
        body = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode()
        headers.pop("Content-Length", None)
        return int(response.get("statusCode", 200)), headers, body
