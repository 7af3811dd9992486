"""The CLI's ``approve``, ``endpoints``, ``rollback`` and ``undeploy`` against the real JobsApi
handler, served over loopback HTTP as the offline stack serves it (``offline.http_api``:
the template's routes, API Gateway's proxy events) on moto: what people type, end to end.

Offline there is no SigV4 check: the signed request's access key id is the caller
(``requestContext.identity.caller``), so that is the identity the package records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from autopilot_flow.cli import main
from offline.http_api import LocalRestApi, routes_of
from offline.lambda_runtime import context_for
from tests.integration.jobs_api_harness import ApiHarness
from tests.integration.test_jobs_api_endpoints import (  # noqa: F401 - fixtures
    api,
    create_endpoint,
    live_endpoint_with_history,
    model_registry,
    record_endpoint,
    record_job,
    register_package,
    sim,
    stack,
)


def access_key() -> str:
    """The credentials the CLI signs with (moto's, under mock_aws): offline, the caller."""
    return str(boto3.session.Session().get_credentials().access_key)


@pytest.fixture
def served(api: ApiHarness, tmp_path: Path) -> Iterator[Path]:  # noqa: F811
    """The API on 127.0.0.1 and a stack.json naming it (``--offline --state-dir``)."""
    spec = api.stack.functions["JobsApiFunction"]
    rest = LocalRestApi(routes_of(spec.events), api.handler, context_for(spec))
    url = rest.start()
    (tmp_path / "stack.json").write_text(json.dumps({"api_url": url, "region": "us-east-1"}))
    try:
        yield tmp_path
    finally:
        rest.stop()


def cli(state_dir: Path, *argv: str) -> int:
    return main([*argv, "--offline", "--state-dir", str(state_dir)])


def test_approve_then_a_second_approve_is_refused(
    api: ApiHarness,  # noqa: F811
    served: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    arn = register_package(api, "churn-1")
    record_job(api, "churn-1", arn)
    assert cli(served, "approve", "churn-1", "--note", "looks good") == 0
    out = capsys.readouterr().out
    assert f"approved  churn-1  ({arn})" in out
    package = api.ingest.client("sagemaker").describe_model_package(ModelPackageName=arn)
    assert package["ApprovalDescription"] == f"{access_key()}: looks good"
    assert cli(served, "reject", "churn-1", "--json") == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["answer"]["type"].endswith("/not-pending-approval")
    assert "Traceback" not in captured.err
    assert cli(served, "approve", "nobody") == 2


def test_endpoints_rollback_and_undeploy(
    api: ApiHarness,  # noqa: F811
    served: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live_endpoint_with_history(api)
    assert cli(served, "endpoints") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["churn-classifier", "Live", "churn-2"]

    assert cli(served, "rollback", "churn-classifier", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    execution = api.ingest.client("stepfunctions").describe_execution(
        executionArn=report["answer"]["executionArn"]
    )
    assert json.loads(execution["input"])["requestedBy"] == access_key()

    create_endpoint(api, "someone-elses", tagged=False)
    assert cli(served, "undeploy", "someone-elses", "--yes") == 1
    assert "not created by this stack" in capsys.readouterr().err
    assert cli(served, "undeploy", "churn-classifier", "--yes") == 0
    assert "deleting  churn-classifier  (was InService" in capsys.readouterr().out
    assert cli(served, "rollback", "churn-classifier") == 1
    assert "no longer exists" in capsys.readouterr().err
