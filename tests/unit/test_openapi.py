"""openapi.json is generated from the routes and models (autopilot_flow.http_api)."""

from __future__ import annotations

import json
from pathlib import Path

from autopilot_flow.http_api import openapi_document, openapi_text
from autopilot_flow.schema import manifest_schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_openapi_matches_the_code() -> None:
    committed = (ROOT / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_text(), (
        "openapi.json is out of date: run `make openapi` "
        "(python -m autopilot_flow.http_api --write) and commit it"
    )


def test_every_operation_requires_sigv4_and_documents_its_problems() -> None:
    document = openapi_document()
    assert document["security"] == [{"sigv4": []}]
    scheme = document["components"]["securitySchemes"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            errors = {c: r for c, r in operation["responses"].items() if c >= "400"}
            assert "500" in errors, (method, path)
            for code, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (code, path)


def test_the_manifest_body_is_the_manifest_schema() -> None:
    document = openapi_document()
    schema = document["components"]["schemas"]["Manifest"]
    expected = {k: v for k, v in manifest_schema().items() if k not in ("$schema", "$id")}
    assert schema == expected
    body = document["paths"]["/jobs"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/yaml"}
    json.dumps(document)  # plain JSON
