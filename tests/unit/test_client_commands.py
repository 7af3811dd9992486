"""The client commands as a team's CI uses them (issue 14, part A): usage errors exit 2
before anything is called, a timeout has its own exit code, --json everywhere, --wait takes
only the answer to its own upload, Retry-After is honoured, no traceback ever.

S3 is moto's; the jobs API is answered over HTTP by a stand-in for the deployed API (only
its status, headers and JSON body matter to the client).
"""

from __future__ import annotations

import email.message
import io
import json
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from autopilot_flow import client, jobs
from autopilot_flow import problem_types as pt
from autopilot_flow.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
CHURN = ROOT / "examples" / "manifests" / "churn-tabular.yaml"
BUCKET = "autopilot-flow-111122223333-manifests"


# --- usage errors: checked before anything is called, printed once on stderr --------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--status", "finished"], "unknown status 'finished'"),
        (["list", "--problem-type", "tabularish"], "unknown problem type 'tabularish'"),
        (["list", "--limit", "0"], "must be 1-100, not 0"),
        (["list", "--limit", "101"], "must be 1-100, not 101"),
        (["list", "--limit", "ten"], "'ten' is not a whole number"),
        (["candidates", "job", "--top", "0"], "must be 1-100, not 0"),
        (["watch", "job", "--interval", "-5"], "must be more than 0 seconds, not -5"),
        (["watch", "job", "--timeout", "nan"], "must be more than 0 seconds, not nan"),
        (["submit", "x.yaml", "--interval", "0"], "must be more than 0 seconds"),
    ],
)
def test_usage_errors_exit_2_before_any_call(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No stack.json: reaching for the stack would fail differently ("no offline stack").
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--offline", "--state-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count(message) == 1, captured.err
    assert "Traceback" not in captured.err


def test_status_and_problem_type_are_accepted_in_any_spelling() -> None:
    parser = build_parser()
    args = parser.parse_args(["list", "--status", "completed", "--problem-type", "tabular"])
    assert (args.status, args.problem_type) == ("Completed", pt.TABULAR)
    for word in ("Tabular", "TABULARJOBCONFIG", "TabularJobConfig", " tabular "):
        assert client.problem_type(word) == pt.TABULAR
    assert client.problem_type("timeseries") == pt.TIME_SERIES
    assert client.problem_type("TimeSeriesForecasting") == pt.TIME_SERIES
    assert client.job_status("waiting_for_capacity") == "WAITING_FOR_CAPACITY"
    # The client's lists are the API's: one source (autopilot_flow.vocabulary, standard
    # library only, so local commands still need no botocore).
    assert client.LIFECYCLE_STATUSES is jobs.LIFECYCLE_STATUSES
    assert client.JOB_STATUSES is jobs.JOB_STATUSES
    assert client.MAX_PAGE_SIZE == jobs.MAX_PAGE_SIZE and client.MAX_TOP == jobs.MAX_TOP


@pytest.mark.parametrize("file_name", ["churn.txt", "churn", "churn.yaml.bak"])
def test_a_suffix_the_stack_never_reads_is_refused(
    file_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / file_name
    path.write_bytes(CHURN.read_bytes())
    assert main(["submit", str(path), "--offline", "--state-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "reads only manifests ending in .json, .yaml or .yml" in captured.err
    assert "uploaded" not in captured.out


def test_idempotency_key_needs_the_api_door(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["submit", str(CHURN), "--idempotency-key", "k1", "--offline"]
    assert main([*argv, "--state-dir", str(tmp_path)]) == 2
    assert "--idempotency-key needs --via api" in capsys.readouterr().err


# --- the S3 door against moto ---------------------------------------------------------------------


@pytest.fixture
def s3_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A versioned manifests bucket in moto, and a stack.json that names it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        (tmp_path / "stack.json").write_text(
            json.dumps({"region": "us-east-1", "resources": {"ManifestsBucket": BUCKET}})
        )
        yield tmp_path


def _context(argv: list[str], out: io.StringIO | None = None) -> client.Context:
    args = build_parser().parse_args(argv)
    stream = out or io.StringIO()
    ctx = client.Context(args, client.Console(stream, stream))
    # moto (mock_aws) answers in-process: no endpoint_url.
    ctx._endpoints = client.StackEndpoints(api_url=None, bucket=BUCKET, region="us-east-1")
    ctx._session = boto3.session.Session(region_name="us-east-1")
    return ctx


def _receipt(job: str, version: str | None) -> bytes:
    manifest = {"type": "s3", "bucket": BUCKET, "key": "manifests/churn.yaml", "versionId": version}
    return json.dumps({"jobName": job, "jobArn": f"arn:job/{job}", "manifest": manifest}).encode()


def test_submit_wait_takes_only_the_answer_to_its_own_upload(s3_stack: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    # An earlier upload of the same file, answered: its receipt sits at the plain path.
    s3.put_object(Bucket=BUCKET, Key="receipts/churn.yaml.json", Body=_receipt("old-job", "v0"))
    path = s3_stack / "churn.yaml"
    document = yaml.safe_load(CHURN.read_text())
    path.write_text(yaml.safe_dump(document))
    out = io.StringIO()
    ctx = _context(["submit", str(path), "--wait", "--interval", "1", "--timeout", "30"], out)
    now = [0.0]
    ctx.clock = lambda: now[0]
    answered: list[str] = []

    def ingest_answers(seconds: float) -> None:
        """The stack answers the new version after the client's first look."""
        now[0] += seconds
        if not answered:
            versions = s3.list_object_versions(Bucket=BUCKET, Prefix="manifests/churn.yaml")
            (newest,) = [v["VersionId"] for v in versions["Versions"] if v["IsLatest"]]
            body = _receipt(document["AutoMLJobName"], newest)
            s3.put_object(Bucket=BUCKET, Key="receipts/churn.yaml.json", Body=body)
            answered.append(newest)

    ctx.sleep = ingest_answers
    # --wait then watches the job through the API: stop right there (no API here).
    with pytest.raises(client.CommandError, match="no API URL"):
        client.cmd_submit(ctx)
    assert answered, "the stale receipt of the earlier upload was taken"
    assert f"submitted  {document['AutoMLJobName']}" in out.getvalue()
    assert "old-job" not in out.getvalue()


def test_submit_wait_times_out_with_its_own_exit_code(s3_stack: Path) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=BUCKET, Key="receipts/churn.yaml.json", Body=_receipt("old-job", "v0"))
    path = s3_stack / "churn.yaml"
    path.write_bytes(CHURN.read_bytes())
    ctx = _context(["submit", str(path), "--wait", "--interval", "5", "--timeout", "20"])
    now = [0.0]
    ctx.clock = lambda: now[0]
    ctx.sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
    with pytest.raises(client.CommandError) as error:
        client.cmd_submit(ctx)
    assert error.value.exit_code == client.EXIT_TIMEOUT == 3
    assert ctx.report["outcome"] == "timeout"


def test_an_upper_case_suffix_is_uploaded_in_lower_case(
    s3_stack: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = s3_stack / "churn.YAML"
    path.write_bytes(CHURN.read_bytes())
    assert main(["submit", str(path), "--json", "--offline", "--state-dir", str(s3_stack)]) == 0
    s3 = boto3.client("s3", region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == ["manifests/churn.yaml"]
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # stdout is only the JSON outcome
    assert report["outcome"] == "submitted" and report["exitCode"] == 0
    assert report["upload"]["key"] == "manifests/churn.yaml"
    assert "sending churn.YAML as churn.yaml" in captured.err


def test_a_stopped_offline_stack_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    (tmp_path / "stack.json").write_text(
        json.dumps(
            {
                "endpoint_url": "http://127.0.0.1:9",  # discard port: nothing listens
                "api_url": "http://127.0.0.1:9",
                "region": "us-east-1",
                "resources": {"ManifestsBucket": BUCKET},
            }
        )
    )
    for via in ("s3", "api"):
        argv = ["submit", str(CHURN), "--via", via, "--offline", "--state-dir", str(tmp_path)]
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        assert captured.err.count("autopilot-flow: cannot reach") == 1, captured.err


# --- the API door: --json, timeouts, Retry-After -----------------------------------------------


class _Api:
    """Answers the client's HTTP requests in order (status, headers, body) and keeps them."""

    def __init__(self, answers: list[tuple[int, dict[str, str], Any]]) -> None:
        self.answers = answers
        self.requests: list[Any] = []

    def __call__(self, request: Any, timeout: float) -> Any:
        self.requests.append(request)
        status, headers, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        raw = json.dumps(body).encode()
        if status >= 400:
            message = email.message.Message()
            for name, value in headers.items():
                message[name] = value
            raise urllib.error.HTTPError(request.full_url, status, "", message, io.BytesIO(raw))
        response = io.BytesIO(raw)
        response.status = status  # type: ignore[attr-defined]
        response.headers = headers  # type: ignore[attr-defined]
        return response


@pytest.fixture
def api_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    (tmp_path / "stack.json").write_text(
        json.dumps({"api_url": "http://127.0.0.1:9/v1", "region": "us-east-1"})
    )
    return tmp_path


def _serve(monkeypatch: pytest.MonkeyPatch, api: _Api) -> None:
    monkeypatch.setattr("urllib.request.urlopen", api)


def _job(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "jobName": "churn",
        "lifecycle": "CREATED",
        "status": status,
        "secondaryStatus": "Training",
        **extra,
    }


def test_watch_timeout_is_exit_3_and_json_reports_it(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _serve(monkeypatch, _Api([(200, {}, _job("InProgress"))]))
    argv = ["watch", "churn", "--json", "--interval", "0.01", "--timeout", "0.05"]
    assert main([*argv, "--offline", "--state-dir", str(api_stack)]) == 3
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["exitCode"] == 3 and report["job"]["status"] == "InProgress"
    assert "stopped watching" in captured.err


def test_watch_json_ends_with_the_job(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [(200, {}, _job("InProgress")), (200, {}, _job("Failed", failureReason="boom"))]
    _serve(monkeypatch, _Api(answers))
    argv = ["watch", "churn", "--json", "--interval", "0.01", "--offline"]
    assert main([*argv, "--state-dir", str(api_stack)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["job"]["failureReason"] == "boom" and report["exitCode"] == 1


def test_stop_json(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = {"jobName": "churn", "previousStatus": "InProgress", "status": "Stopping"}
    _serve(monkeypatch, _Api([(202, {}, answer)]))
    assert main(["stop", "churn", "--json", "--offline", "--state-dir", str(api_stack)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["answer"] == answer and report["exitCode"] == 0
    problem = {"title": "Job already ended", "detail": "'churn' is already Completed"}
    _serve(monkeypatch, _Api([(409, {}, problem)]))
    assert main(["stop", "churn", "--json", "--offline", "--state-dir", str(api_stack)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["answer"] == problem
    assert captured.err.count("already Completed") == 1


def test_submit_via_api_wait_honours_retry_after(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = {"title": "Waiting for AutoML capacity", "detail": "the quota is full"}
    accepted = {"jobName": "churn", "jobArn": "arn:job/churn", "created": True}
    api = _Api(
        [
            (503, {"Retry-After": "1"}, busy),
            (202, {}, accepted),
            (200, {}, _job("Completed")),
        ]
    )
    _serve(monkeypatch, api)
    argv = ["submit", str(CHURN), "--via", "api", "--wait", "--json", "--interval", "0.01"]
    assert main([*argv, "--idempotency-key", "k1", "--offline", "--state-dir", str(api_stack)]) == 0
    posts = [r for r in api.requests if r.get_method() == "POST"]
    assert len(posts) == 2  # sent again after the 503, same body, same key
    assert posts[0].data == posts[1].data
    assert {r.get_header("Idempotency-key") for r in posts} == {"k1"}
    captured = capsys.readouterr()
    assert "sending again in 1s" in captured.err
    report = json.loads(captured.out)
    assert report["jobName"] == "churn" and report["job"]["status"] == "Completed"


def test_submit_via_api_without_wait_does_not_retry(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = {"title": "Waiting for AutoML capacity", "detail": "the quota is full"}
    api = _Api([(503, {"Retry-After": "1"}, busy)])
    _serve(monkeypatch, api)
    argv = ["submit", str(CHURN), "--via", "api", "--offline", "--state-dir", str(api_stack)]
    assert main(argv) == 1
    assert len(api.requests) == 1
    assert "the quota is full" in capsys.readouterr().out


def test_list_next_token_starts_at_that_page(
    api_stack: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = {"jobs": [], "nextToken": "tok2"}
    api = _Api([(200, {}, page)])
    _serve(monkeypatch, api)
    argv = ["list", "--next-token", "tok1", "--status", "completed", "--problem-type", "tabular"]
    assert main([*argv, "--offline", "--state-dir", str(api_stack)]) == 0
    (request,) = api.requests
    assert "nextToken=tok1" in request.full_url
    assert "status=Completed" in request.full_url
    assert "problemType=TabularJobConfig" in request.full_url


def test_the_default_name_of_a_resubmission() -> None:
    assert client.next_job_name("churn") == "churn-r2"
    assert client.next_job_name("churn-r2") == "churn-r3"
    assert client.next_job_name("churn-run") == "churn-run-r2"
    long = "x" * 32
    assert client.next_job_name(long) == "x" * 29 + "-r2"
    assert len(client.next_job_name(long)) == client.MAX_JOB_NAME


@pytest.mark.parametrize(
    ("answered", "printed"),
    [
        ("TabularJobConfig", "tabular"),
        ("TimeSeriesForecastingJobConfig", "timeseries"),
        ("TextGenerationJobConfig", "text-generation"),
        ("SomeFutureJobConfig", "SomeFutureJobConfig"),  # an unknown word is shown as it is
    ],
)
def test_list_and_status_print_the_word_skeleton_takes(
    answered: str,
    printed: str,
    api_stack: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One word per problem type for people (the API and the table keep the API's name)."""
    job = _job("Completed", problemType=answered)
    _serve(monkeypatch, _Api([(200, {}, {"jobs": [job], "nextToken": None}), (200, {}, job)]))
    assert main(["list", "--offline", "--state-dir", str(api_stack)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[4:6] == ["problem", "type"]
    assert listed[-1].split()[4] == printed
    assert main(["status", "churn", "--offline", "--state-dir", str(api_stack)]) == 0
    shown = capsys.readouterr().out
    assert f"problem type  {printed}\n" in shown
    if printed != answered:
        assert answered not in shown and answered not in "\n".join(listed)
    # What people read, the CLI accepts back.
    if printed != answered:
        assert client.problem_type(printed) == answered
