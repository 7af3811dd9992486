"""The jobs API in moto: the stack provisioned from template.yaml, the real handler.

``functions/jobs_api/app.py`` is loaded with the environment the template gives it (as the
ingest harness does for the ingest function) and called with API Gateway proxy events:
the samples in ``events/jobs_api/`` or events built from them. Every answer is checked
against the committed ``openapi.json`` (documented status, media type and schema) and for
leaks (no stack traces, no exception or resource names).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from offline.lambda_runtime import Handler, context_for, load_handler
from tests.integration.ingest_harness import IngestHarness, build_harness

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "events" / "jobs_api"
OPENAPI = json.loads((ROOT / "openapi.json").read_text())
LEAKS = ("Traceback", "botocore", "boto3", "Exception", 'File "', "offline_fn_", "moto")


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return event


def with_body(event: dict[str, Any], body: str, content_type: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["body"] = body
    if content_type is not None:
        set_header(event, "Content-Type", content_type)
    return event


def set_header(event: dict[str, Any], name: str, value: str | None) -> dict[str, Any]:
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field) or {}
        for key in [k for k in headers if k.lower() == name.lower()]:
            del headers[key]
        if value is not None:
            headers[name] = [value] if field == "multiValueHeaders" else value
        event[field] = headers
    return event


def with_query(event: dict[str, Any], **query: str | None) -> dict[str, Any]:
    event = copy.deepcopy(event)
    params = {k: v for k, v in query.items() if v is not None}
    event["queryStringParameters"] = params or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()} or None
    return event


def for_job(event: dict[str, Any], name: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["pathParameters"] = {"name": name}
    event["path"] = event["resource"].replace("{name}", name)
    event["requestContext"]["path"] = "/v1" + event["path"]
    return event


def new_request(event: dict[str, Any], request_id: str) -> dict[str, Any]:
    event = copy.deepcopy(event)
    event["requestContext"]["requestId"] = request_id
    return event


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    raw: str

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def conform(event: dict[str, Any], answer: Answer) -> None:
    """The answer is documented in openapi.json: status, media type and body schema."""
    path = event["resource"]
    operation = OPENAPI["paths"][path][event["httpMethod"].lower()]
    responses = operation["responses"]
    assert str(answer.status) in responses, f"{answer.status} undocumented for {path}"
    content = responses[str(answer.status)]["content"]
    assert answer.content_type in content, (answer.content_type, list(content))
    schema = {**content[answer.content_type]["schema"], "components": OPENAPI["components"]}
    jsonschema.validate(answer.body, schema)


@dataclass
class ApiHarness:
    ingest: IngestHarness
    handler: Handler
    context: Any

    @property
    def stack(self) -> Any:
        return self.ingest.stack

    @property
    def service(self) -> Any:
        return self.handler.module.service  # type: ignore[attr-defined]

    def call(self, event: dict[str, Any]) -> Answer:
        response = self.handler(copy.deepcopy(event), self.context)
        raw = response.get("body") or ""
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(name, ", ".join(values))
        answer = Answer(int(response["statusCode"]), headers, json.loads(raw) if raw else None, raw)
        for leak in (*LEAKS, self.stack.physical("JobsTable"), self.stack.physical("EventBus")):
            assert leak not in raw, f"{leak!r} leaked into {raw[:300]}"
        conform(event, answer)
        return answer


def build_api_harness(extra_parameters: dict[str, str] | None = None) -> ApiHarness:
    ingest = build_harness(extra_parameters)
    spec = ingest.stack.functions["JobsApiFunction"]
    handler = load_handler(spec)
    handler.module.service.backoff.sleep = lambda seconds: None  # type: ignore[attr-defined]
    return ApiHarness(ingest, handler, context_for(spec))
