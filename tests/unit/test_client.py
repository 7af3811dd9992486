"""The CLI's client side: SigV4 signing, stack discovery, the local check, the output."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import botocore.credentials
import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from autopilot_flow import client
from autopilot_flow.cli import main
from autopilot_flow.jobs import ApiProblem, decode_token, encode_token, media_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"


class _Response(io.BytesIO):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(json.dumps(body).encode())
        self.status = status
        self.headers = {"Content-Type": "application/json"}


def test_requests_are_signed_for_execute_api() -> None:
    credentials = botocore.credentials.Credentials("AKIDEXAMPLE", "secret", "token")
    sent: list[Any] = []

    def opener(request: Any, timeout: float) -> _Response:
        sent.append(request)
        return _Response(200, {"jobs": [], "nextToken": None})

    api = client.ApiClient(
        "https://abc.execute-api.eu-west-1.amazonaws.com/v1",
        "eu-west-1",
        credentials,
        opener=opener,
    )
    response = api.jobs(status="CREATED", limit=5)
    assert response.ok and response.body == {"jobs": [], "nextToken": None}
    (request,) = sent
    assert request.full_url.endswith("/v1/jobs?status=CREATED&limit=5")
    headers = {k.lower(): v for k, v in request.header_items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]
    assert headers["x-amz-security-token"] == "token"
    # botocore computes the same signature for the same request: it verifies.
    check = AWSRequest(
        method="GET", url=request.full_url, data=b"", headers={"Accept": "application/json"}
    )
    check.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(credentials, "execute-api", "eu-west-1")
    signer._modify_request_before_signing(check)
    canonical = signer.canonical_request(check)
    signature = signer.signature(signer.string_to_sign(check, canonical), check)
    assert headers["authorization"].endswith(f"Signature={signature}")


def test_offline_stack_json(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text(
        json.dumps(
            {
                "endpoint_url": "http://127.0.0.1:5000",
                "api_url": "http://127.0.0.1:5001",
                "region": "us-east-1",
                "resources": {"ManifestsBucket": "b"},
            }
        )
    )
    endpoints = client.offline_endpoints(tmp_path)
    assert endpoints.api_url == "http://127.0.0.1:5001"
    assert endpoints.bucket == "b"
    assert endpoints.offline
    with pytest.raises(client.CommandError):
        client.offline_endpoints(tmp_path / "missing")


def test_local_check_leaves_policy_fields_to_the_policy() -> None:
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    del document["RoleArn"], document["OutputDataConfig"]
    data = yaml.safe_dump(document).encode()
    assert client.local_check(data, "churn.yaml", None).valid
    broken = data.replace(b"TargetAttributeName", b"TargetAttribute")
    assert not client.local_check(broken, "churn.yaml", None).valid


def test_submit_refuses_an_invalid_manifest_before_sending(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("AutoMLJobName: [\n")
    # No stack is needed: nothing is sent.
    assert main(["submit", str(path), "--offline", "--state-dir", str(tmp_path)]) == 1


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "job", "--offline", "--state-dir", str(tmp_path)]) == 2
    assert "no offline stack" in capsys.readouterr().err
    assert main(["submit", str(tmp_path / "missing.yaml"), "--offline"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["submit"])
    assert exit_info.value.code == 2


def test_media_types() -> None:
    assert client.media_type("x.yml") == "application/yaml"
    assert client.media_type("x.json") == "application/json"
    assert media_of("application/yaml; charset=utf-8") == "yaml"
    assert media_of(None) == "json"
    with pytest.raises(ApiProblem) as problem:
        media_of("text/plain")
    assert problem.value.status == 415


def test_page_tokens_round_trip_and_are_checked() -> None:
    cursor: dict[str, list[str] | None] = {
        "CREATED": ["2026-11-28T09:00:00.000Z", "a"],
        "REJECTED": None,
    }
    assert decode_token(encode_token(cursor), ("CREATED", "REJECTED")) == cursor
    for bad in ("", "%%%", encode_token({"OTHER": None}), "eyJ2IjoyfQ"):
        with pytest.raises(ApiProblem):
            decode_token(bad, ("CREATED", "REJECTED"))


def test_duration() -> None:
    assert client.duration(3725) == "01:02:05"
    assert client.duration(-1) == "00:00:00"


def test_the_stack_is_found_through_its_cloudformation_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "JobsApiUrl": {"Value": "https://abc.execute-api.eu-west-1.amazonaws.com/v1"},
            "ManifestsBucketName": {"Value": "autopilot-flow-111122223333-manifests"},
        },
    }
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-1")
        session.client("cloudformation").create_stack(
            StackName="autopilot-flow", TemplateBody=json.dumps(template)
        )
        endpoints = client.stack_endpoints(session, "autopilot-flow")
        assert endpoints.api_url == "https://abc.execute-api.eu-west-1.amazonaws.com/v1"
        assert endpoints.bucket == "autopilot-flow-111122223333-manifests"
        assert endpoints.region == "eu-west-1"
        assert not endpoints.offline
        with pytest.raises(client.CommandError, match="cannot read the stack"):
            client.stack_endpoints(session, "no-such-stack")
