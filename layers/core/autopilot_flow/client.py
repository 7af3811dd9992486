"""The CLI's client side: submit manifests and follow jobs through the deployed stack.

``autopilot-flow submit|status|list|candidates|stop|watch``, and after a job
``approve|reject`` (its model package) and ``endpoints|rollback|undeploy`` (wired in
``cli.py``). Every command goes through the stack's API, so the stack's own rules (what it
owns, what is pending) and IAM decide, and the caller's identity is the one AWS signed. Where the
stack is comes from CloudFormation (``describe_stacks``: the ``JobsApiUrl`` and
``ManifestsBucketName`` outputs) or, with ``--offline``, from ``.offline/stack.json``
(written by ``autopilot-flow offline up``). API calls are signed with the caller's AWS
credentials (SigV4, ``execute-api``), as the API's IAM auth requires; offline there is no
SigV4 check, but requests are still signed when credentials are at hand.

Exit codes: 0 success (``watch`` / ``submit --wait``: the job Completed), 1 the job
failed, was stopped or rejected, or the API refused the request (e.g. ``approve`` of a
package not pending, ``rollback`` without a previous model, an endpoint this stack does not
own), 2 a usage error (bad arguments, an unreadable file, no stack or cannot reach it, no
such job or endpoint, no credentials, ``undeploy`` unconfirmed), 3 ``--timeout`` ran out
before the job (or the stack's answer) came.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TextIO

from autopilot_flow.vocabulary import (
    JOB_STATUSES,
    LIFECYCLE_STATUSES,
    RELEASED,
    TERMINAL,
    ApprovalStatus,
    DeploymentState,
    IngestOutcome,
    JobStatus,
    Lifecycle,
    ProblemType,
)

if TYPE_CHECKING:
    from autopilot_flow.policy import Policy
    from autopilot_flow.validate import ValidationResult

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT = 0, 1, 2, 3
DEFAULT_STACK = "autopilot-flow"
DEFAULT_STATE_DIR = ".offline"
# Fields the stack's policy may fill in (docs/architecture.md, Contracts): without --policy, a local
# check cannot know them, so their absence is not an error here.
POLICY_SUPPLIED = ("RoleArn", "OutputDataConfig")
SPINNER = "|/-\\"
MAX_PAGE_SIZE = MAX_TOP = 100
# The only suffixes the stack reads (S3's notification filters match them case-sensitively).
MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")


class CommandError(Exception):
    """A problem the CLI reports and exits on (with ``exit_code``)."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --- where the stack is -----------------------------------------------------------------------


@dataclass(frozen=True)
class StackEndpoints:
    api_url: str | None
    bucket: str | None
    region: str
    endpoint_url: str | None = None  # offline: the moto server every AWS call goes to
    offline: bool = False


def offline_endpoints(state_dir: Path) -> StackEndpoints:
    path = state_dir / "stack.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise CommandError(
            f"no offline stack: {path} is missing (start one with `autopilot-flow offline up`)."
        ) from None
    except ValueError:
        raise CommandError(f"{path} is not valid JSON.") from None
    return StackEndpoints(
        api_url=state.get("api_url") or None,
        bucket=(state.get("resources") or {}).get("ManifestsBucket"),
        region=str(state.get("region") or "us-east-1"),
        endpoint_url=state.get("endpoint_url") or None,
        offline=True,
    )


def stack_endpoints(session: Any, stack_name: str) -> StackEndpoints:
    """The stack's API URL and manifests bucket, from its CloudFormation outputs."""
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    from botocore.exceptions import ClientError as AwsError  # noqa: PLC0415

    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except AwsError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise CommandError(f"cannot read the stack {stack_name!r}: {message}") from None
    except BotoCoreError as exc:
        raise CommandError(f"cannot reach CloudFormation: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    return StackEndpoints(
        api_url=outputs.get("JobsApiUrl"),
        bucket=outputs.get("ManifestsBucketName"),
        region=str(session.region_name or "us-east-1"),
    )


def make_session(endpoints: StackEndpoints | None = None, region: str | None = None) -> Any:
    import boto3  # noqa: PLC0415 - validate/skeleton never need it

    if endpoints is not None and endpoints.offline:
        # The offline stack accepts any credentials; use the caller's when there are some.
        session = boto3.session.Session(region_name=endpoints.region)
        if session.get_credentials() is None:
            session = boto3.session.Session(
                aws_access_key_id="offline",
                aws_secret_access_key="offline",  # noqa: S106 - moto's placeholder
                region_name=endpoints.region,
            )
        return session
    return boto3.session.Session(region_name=region)


# --- the API ------------------------------------------------------------------------------------


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problem(self) -> str:
        body = self.body if isinstance(self.body, dict) else {}
        return str(body.get("detail") or body.get("message") or body.get("title") or self.status)


@dataclass
class ApiClient:
    """Calls the jobs API, signed with SigV4 (``execute-api``) when credentials exist."""

    base_url: str
    region: str
    credentials: Any = None  # botocore credentials, or None (offline only)
    timeout: float = 30.0
    opener: Callable[..., Any] | None = None  # urllib.request.urlopen

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
    ) -> ApiResponse:
        # Imported here: http.client and ssl cost local commands (validate...) more than
        # the whole of their own work.
        import urllib.error  # noqa: PLC0415
        import urllib.request  # noqa: PLC0415

        url = self.base_url.rstrip("/") + path
        params = {k: str(v) for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params)
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"the API URL {self.base_url!r} is not an http(s) URL")
        all_headers = {"Accept": "application/json", **(headers or {})}
        all_headers = self.sign(method, url, body, all_headers)
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            url, data=body, method=method, headers=all_headers
        )
        try:
            opener = self.opener or urllib.request.urlopen
            with opener(request, timeout=self.timeout) as response:
                return _response(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return _response(exc.code, dict(exc.headers or {}), exc.read())
        except (urllib.error.URLError, OSError) as exc:
            raise CommandError(f"cannot reach the API at {self.base_url}: {exc}") from None

    def sign(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> dict[str, str]:
        if self.credentials is None:
            return headers
        from botocore.auth import SigV4Auth  # noqa: PLC0415
        from botocore.awsrequest import AWSRequest  # noqa: PLC0415

        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        frozen = self.credentials.get_frozen_credentials()
        SigV4Auth(frozen, "execute-api", self.region).add_auth(request)
        return {str(k): str(v) for k, v in request.headers.items()}

    # --- operations --------------------------------------------------------------------------

    def submit(
        self, data: bytes, file_name: str, idempotency_key: str | None = None
    ) -> ApiResponse:
        headers = {"Content-Type": media_type(file_name), "X-Manifest-Name": Path(file_name).name}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return self.request("POST", "/jobs", body=data, headers=headers)

    def dry_run(self, data: bytes, file_name: str) -> ApiResponse:
        headers = {"Content-Type": media_type(file_name), "X-Manifest-Name": Path(file_name).name}
        return self.request("POST", "/jobs/validate", body=data, headers=headers)

    def policy(self) -> ApiResponse:
        return self.request("GET", "/policy")

    def job(self, name: str) -> ApiResponse:
        return self.request("GET", f"/jobs/{_quote(name)}")

    def jobs(self, **query: Any) -> ApiResponse:
        return self.request("GET", "/jobs", query=query)

    def candidates(self, name: str, top: int) -> ApiResponse:
        return self.request("GET", f"/jobs/{_quote(name)}/candidates", query={"top": top})

    def stop(self, name: str) -> ApiResponse:
        return self.request("POST", f"/jobs/{_quote(name)}/stop")

    def review(self, name: str, decision: str, note: str | None) -> ApiResponse:
        """``decision``: approve or reject."""
        body = json.dumps({"note": note}).encode() if note else None
        headers = {"Content-Type": "application/json"} if body else None
        return self.request("POST", f"/jobs/{_quote(name)}/{decision}", body=body, headers=headers)

    def endpoints(self) -> ApiResponse:
        return self.request("GET", "/endpoints")

    def rollback(self, endpoint: str) -> ApiResponse:
        return self.request("POST", f"/endpoints/{_quote(endpoint)}/rollback")

    def undeploy(self, endpoint: str) -> ApiResponse:
        return self.request("DELETE", f"/endpoints/{_quote(endpoint)}")


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def _response(status: int, headers: dict[str, str], raw: bytes) -> ApiResponse:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return ApiResponse(status, headers, body)


def media_type(file_name: str) -> str:
    suffix = PurePosixPath(file_name).suffix.lower()
    return "application/yaml" if suffix in (".yaml", ".yml") else "application/json"


# --- output ---------------------------------------------------------------------------------------


@dataclass
class Console:
    out: TextIO
    err: TextIO
    live: bool = False  # redraw one status line (a terminal) instead of printing changes

    def line(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        self.err.write(f"autopilot-flow: {text}\n")
        self.err.flush()

    def issues(self, label: str, issues: list[dict[str, Any]]) -> None:
        for issue in issues:
            path = issue.get("path") or "(document)"
            self.line(f"  {label}  {path}: {issue.get('message')} [{issue.get('code')}]")


def table(rows: list[list[str]], out: Console) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.line("  ".join(cells).rstrip())


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- commands -----------------------------------------------------------------------------------


@dataclass
class Context:
    """What every client command needs, built lazily from the arguments."""

    args: argparse.Namespace
    console: Console
    _endpoints: StackEndpoints | None = None
    _session: Any = None
    _api: ApiClient | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    report: dict[str, Any] = field(default_factory=dict)  # the --json outcome

    @property
    def endpoints(self) -> StackEndpoints:
        if self._endpoints is None:
            if self.args.offline:
                self._endpoints = offline_endpoints(Path(self.args.state_dir))
            else:
                self._endpoints = stack_endpoints(
                    make_session(region=self.args.region), self.args.stack_name
                )
        return self._endpoints

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = make_session(self.endpoints, self.args.region)
        return self._session

    def aws(self, service: str) -> Any:
        kwargs: dict[str, Any] = {}
        if self.endpoints.endpoint_url:
            kwargs["endpoint_url"] = self.endpoints.endpoint_url
        return self.session.client(service, region_name=self.endpoints.region, **kwargs)

    @property
    def api(self) -> ApiClient:
        if self._api is None:
            url = self.endpoints.api_url
            if not url:
                where = "stack.json" if self.endpoints.offline else "the stack's outputs"
                raise CommandError(f"no API URL in {where} (JobsApiUrl / api_url).")
            credentials = self.session.get_credentials()
            if credentials is None and not self.endpoints.offline:
                raise CommandError(
                    "no AWS credentials: the API needs SigV4-signed requests (configure a "
                    "profile or set AWS_PROFILE)."
                )
            self._api = ApiClient(url, self.endpoints.region, credentials)
        return self._api


def _check_response(response: ApiResponse, console: Console, what: str) -> None:
    if response.ok:
        return
    console.error(f"{what}: {response.problem()} (HTTP {response.status})")
    body = response.body if isinstance(response.body, dict) else {}
    console.issues("error", body.get("errors") or [])
    raise CommandError("", EXIT_USAGE if response.status == 404 else EXIT_FAILED)


def local_check(data: bytes, name: str, policy: Policy | None) -> ValidationResult:
    """``validate`` before sending; without a policy, fields a policy supplies may be absent."""
    # Imported here: `autopilot-flow --help` builds this module's parsers, never validates.
    from autopilot_flow.validate import validate_bytes  # noqa: PLC0415

    result = validate_bytes(data, name, policy)
    if policy is None:
        result.errors = [
            e for e in result.errors if not (e.code == "required" and e.path in POLICY_SUPPLIED)
        ]
    return result


def _read_policy(path: str | None) -> Policy | None:
    from autopilot_flow.policy import Policy, PolicyError  # noqa: PLC0415

    if path is None:
        return None
    try:
        return Policy.from_bytes(Path(path).read_bytes(), path)
    except OSError as exc:
        raise CommandError(f"cannot read the policy {path}: {exc.strerror}") from None
    except PolicyError as exc:
        details = "; ".join(f"{i.path or '(policy)'}: {i.message}" for i in exc.issues)
        raise CommandError(f"the policy {path} is invalid: {details}") from None


def upload_name(file_name: str) -> str:
    """The name the manifest goes under: ``.YAML`` becomes ``.yaml`` (the stack reads lower
    case suffixes only); any other suffix is refused, since the stack would never read it."""
    path = PurePosixPath(Path(file_name).name)
    suffix = path.suffix
    if suffix.lower() not in MANIFEST_SUFFIXES:
        raise CommandError(
            f"{file_name}: the stack reads only manifests ending in .json, .yaml or .yml "
            "(it would never see this file); rename it."
        )
    return path.stem + suffix.lower()


def cmd_submit(ctx: Context) -> int:
    args, console = ctx.args, ctx.console
    ctx.report.update(file=args.file, via=args.via, outcome="usage-error")
    if args.idempotency_key is not None and args.via != "api":
        raise CommandError("--idempotency-key needs --via api (the S3 door keys on the upload).")
    name = upload_name(args.file)
    if name != Path(args.file).name:
        console.line(
            f"sending {Path(args.file).name} as {name} (the stack reads lower-case suffixes)"
        )
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
    # Imported here: ingest loads botocore, which local commands never need.
    from autopilot_flow.ingest import MANIFEST_PREFIX  # noqa: PLC0415

    key = f"{MANIFEST_PREFIX}{name}"
    result = local_check(data, key if args.via == "s3" else name, _read_policy(args.policy))
    ctx.report.update(
        jobName=result.job_name,
        errors=[e.to_dict() for e in result.errors],
        warnings=[w.to_dict() for w in result.warnings],
    )
    if not result.valid:
        ctx.report["outcome"] = "invalid"
        console.line(f"invalid  {args.file}: {len(result.errors)} error(s); nothing was sent")
        console.issues("error", [e.to_dict() for e in result.errors])
        return EXIT_FAILED
    if args.dry_run:
        return _dry_run(ctx, data, name)
    console.issues("warning", [w.to_dict() for w in result.warnings])
    if args.via == "api":
        job_name = _submit_api(ctx, data, name)
    else:
        job_name = _submit_s3(ctx, data, key, result)
    if job_name is None:
        ctx.report["outcome"] = IngestOutcome.REJECTED
        return EXIT_FAILED
    ctx.report.update(outcome="submitted", jobName=job_name)
    if not args.wait:
        return EXIT_OK
    return watch(ctx, job_name)


def _submit_api(ctx: Context, data: bytes, name: str) -> str | None:
    console = ctx.console
    deadline = ctx.clock() + ctx.args.timeout
    while True:
        response = ctx.api.submit(data, name, ctx.args.idempotency_key)
        wait = _retry_after(response)
        if not ctx.args.wait or wait is None:
            break
        # With --wait, a 503 (quota full, throttled) is a "send it again later": do so.
        if ctx.clock() + wait > deadline:
            console.error(f"{response.problem()} (HTTP 503); --timeout ran out before a retry")
            ctx.report["outcome"] = "timeout"
            raise CommandError("", EXIT_TIMEOUT)
        console.line(f"busy  {response.problem()} (HTTP 503); sending again in {wait:.0f}s")
        ctx.sleep(wait)
    body = response.body if isinstance(response.body, dict) else {}
    ctx.report["answer"] = body
    if response.ok:
        job = str(body["jobName"])
        verb = "submitted" if body.get("created", True) else "already submitted"
        console.line(f"{verb}  {job}  ({body.get('jobArn')})")
        console.issues("warning", body.get("warnings") or [])
        if body.get("receipt"):
            console.line(f"  receipt    {body['receipt']}")
        _where_to_look(ctx, job)
        return job
    console.line(f"rejected  {name}: {response.problem()} (HTTP {response.status})")
    console.issues("error", body.get("errors") or [])
    if body.get("report"):
        console.line(f"  report     {body['report']}")
    if response.status in (401, 403):
        console.line("  (the API needs SigV4-signed requests from an allowed IAM principal)")
    return None


def _dry_run(ctx: Context, data: bytes, name: str) -> int:
    """The stack's own check (POST /jobs/validate: its policy, the data preflight, a job name
    already taken), printed as ``validate`` prints; creates nothing."""
    response = ctx.api.dry_run(data, name)
    if not response.ok or not isinstance(response.body, dict):
        ctx.report["answer"] = response.body
        _check_response(response, ctx.console, f"cannot check {name}")
    body: dict[str, Any] = response.body
    valid = bool(body.get("valid"))
    ctx.report.update(body, outcome="valid" if valid else "invalid")
    file_name = ctx.args.file
    if valid:
        job = f" (job {body['jobName']})" if body.get("jobName") else ""
        ctx.console.line(f"valid    {file_name}{job}")
    else:
        count = len(body.get("errors") or [])
        ctx.console.line(f"invalid  {file_name}: {count} error{'' if count == 1 else 's'}")
    ctx.console.issues("error", body.get("errors") or [])
    ctx.console.issues("warning", body.get("warnings") or [])
    existing = body.get("existingJob") or {}
    if existing and not valid:
        ctx.console.line(
            f"  existing job  {existing.get('jobName')} "
            f"({existing.get('lifecycle') or existing.get('status')})"
        )
    return EXIT_OK if valid else EXIT_FAILED


def _retry_after(response: ApiResponse) -> float | None:
    """Seconds to wait before sending a 503'd request again (its Retry-After, else 5)."""
    if response.status != 503:
        return None
    headers = {k.lower(): v for k, v in response.headers.items()}
    try:
        return max(1.0, min(float(headers.get("retry-after", "5")), 300.0))
    except ValueError:
        return 5.0


def _submit_s3(ctx: Context, data: bytes, key: str, result: ValidationResult) -> str | None:
    console = ctx.console
    bucket = ctx.endpoints.bucket
    if not bucket:
        raise CommandError("no manifests bucket in the stack's outputs (ManifestsBucketName).")
    s3 = ctx.aws("s3")
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    from botocore.exceptions import ClientError as AwsError  # noqa: PLC0415

    from autopilot_flow.ingest import RECEIPTS_PREFIX, REJECTIONS_PREFIX, answer_key  # noqa: PLC0415

    try:
        uploaded = s3.put_object(Bucket=bucket, Key=key, Body=data)
    except AwsError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise CommandError(
            f"cannot upload to s3://{bucket}/{key}: {message}", EXIT_FAILED
        ) from None
    except BotoCoreError as exc:
        stopped = " (is `autopilot-flow offline up` running?)" if ctx.endpoints.offline else ""
        raise CommandError(
            f"cannot reach S3 to upload s3://{bucket}/{key}: {exc}{stopped}"
        ) from None
    version = uploaded.get("VersionId") if isinstance(uploaded, dict) else None
    ctx.report["upload"] = {"bucket": bucket, "key": key, "versionId": version}
    job = result.job_name or "?"
    receipt = answer_key(RECEIPTS_PREFIX, key)
    rejection = answer_key(REJECTIONS_PREFIX, key)
    console.line(f"uploaded  s3://{bucket}/{key}  (job {job})")
    console.line(f"  receipt    s3://{bucket}/{receipt}")
    console.line(f"  rejection  s3://{bucket}/{rejection}  (if the stack refuses it)")
    if not ctx.args.wait:
        _where_to_look(ctx, job)
        return job
    answer = _wait_for_answer(ctx, s3, bucket, key, version)
    if answer is None:
        console.error(f"no receipt or rejection after {ctx.args.timeout:.0f}s")
        ctx.report["outcome"] = "timeout"
        raise CommandError("", EXIT_TIMEOUT)
    kind, document = answer
    ctx.report["answer"] = document
    if kind == "rejection":
        console.line(f"rejected  {job}")
        console.issues("error", document.get("errors") or [])
        return None
    job = str(document.get("jobName") or job)
    console.line(f"submitted  {job}  ({document.get('jobArn')})")
    return job


def _wait_for_answer(
    ctx: Context, s3: Any, bucket: str, key: str, version: str | None
) -> tuple[str, dict[str, Any]] | None:
    """The ingest function's answer to the uploaded version: a receipt or a rejection.

    ``receipts/<key>.json`` / ``rejections/<key>.json`` answer the key's newest version (check
    the ``versionId`` inside); once a newer version is answered, this one's answer is at
    ``.versions/<versionId>.json`` instead."""
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415
    from botocore.exceptions import ClientError as AwsError  # noqa: PLC0415

    from autopilot_flow.ingest import RECEIPTS_PREFIX, REJECTIONS_PREFIX, answer_key  # noqa: PLC0415

    places = [("receipt", RECEIPTS_PREFIX), ("rejection", REJECTIONS_PREFIX)]
    paths = [(kind, answer_key(prefix, key)) for kind, prefix in places]
    if version:
        paths += [(kind, answer_key(prefix, key, version)) for kind, prefix in places]
    deadline = ctx.clock() + ctx.args.timeout
    while ctx.clock() < deadline:
        for kind, path in paths:
            try:
                body = s3.get_object(Bucket=bucket, Key=path)["Body"].read()
            except AwsError:
                continue
            except BotoCoreError as exc:
                raise CommandError(f"cannot reach S3 for the answer: {exc}") from None
            document = json.loads(body)
            if not isinstance(document, dict):
                continue
            answered = (document.get("manifest") or {}).get("versionId")
            if version and answered != version:
                continue  # another (earlier) upload's answer
            return kind, document
        ctx.sleep(ctx.args.interval)
    return None


def _where_to_look(ctx: Context, job: str) -> None:
    offline = " --offline" if ctx.endpoints.offline else ""
    state_dir = getattr(ctx.args, "state_dir", DEFAULT_STATE_DIR)
    if offline and state_dir != DEFAULT_STATE_DIR:  # the hint must work as printed
        offline += f" --state-dir {shlex.quote(str(state_dir))}"
    ctx.console.line(f"  follow     autopilot-flow watch {job}{offline}")
    ctx.console.line(f"  status     autopilot-flow status {job}{offline}")


def cmd_status(ctx: Context) -> int:
    response = ctx.api.job(ctx.args.name)
    _check_response(response, ctx.console, ctx.args.name)
    job = response.body
    if ctx.args.json:
        ctx.console.line(json.dumps(job, ensure_ascii=False))
        return EXIT_OK
    console = ctx.console
    console.line(f"{job['jobName']}")
    rows = [
        ("lifecycle", job.get("lifecycle")),
        ("status", job.get("status")),
        ("secondary", job.get("secondaryStatus")),
        ("problem type", ProblemType.display(job.get("problemType"))),
        ("created", job.get("creationTime") or job.get("createdAt")),
        ("ended", job.get("endTime")),
        ("failure", job.get("failureReason")),
        ("arn", job.get("jobArn")),
        ("endpoint", job.get("endpointName")),
    ]
    best = job.get("bestCandidate")
    if best:
        rows.append(
            (
                "best",
                f"{best.get('candidateName')} {best.get('metricName')}={_fmt(best.get('value'))}",
            )
        )
    registration = job.get("registration") or {}
    if registration.get("modelPackageArn"):
        rows.append(
            (
                "model package",
                f"{registration['modelPackageArn']} ({registration.get('approvalStatus')})",
            )
        )
    approval = job.get("approval") or {}
    if approval.get("status"):
        rows.append(("approval", f"{approval['status']} by {_fmt(approval.get('by'))}"))
    for label, value in rows:
        if value is not None:
            console.line(f"  {label:13} {value}")
    if registration.get("approvalStatus") == ApprovalStatus.PENDING and not approval:
        console.line(f"  awaiting approval: autopilot-flow approve|reject {job['jobName']}")
    console.issues("error", job.get("errors") or [])
    return EXIT_OK


def cmd_list(ctx: Context) -> int:
    args = ctx.args
    query: dict[str, Any] = {
        "status": args.status,
        "problemType": args.problem_type,
        "limit": args.limit,
    }
    jobs: list[dict[str, Any]] = []
    token = args.next_token
    while True:
        response = ctx.api.jobs(**query, nextToken=token)
        _check_response(response, ctx.console, "list")
        jobs.extend(response.body["jobs"])
        token = response.body.get("nextToken")
        if not token or not args.all:
            break
    if args.json:
        ctx.console.line(json.dumps({"jobs": jobs, "nextToken": token}, ensure_ascii=False))
        return EXIT_OK
    if not jobs:
        ctx.console.line("no jobs")
        return EXIT_OK
    rows = [["job", "lifecycle", "status", "secondary", "problem type", "updated", "best"]]
    for job in jobs:
        best = job.get("bestCandidate") or {}
        metric = (
            f"{best.get('metricName')}={_fmt(best.get('value'))}" if best.get("metricName") else "-"
        )
        rows.append(
            [
                job["jobName"],
                _fmt(job.get("lifecycle")),
                _fmt(job.get("status")),
                _fmt(job.get("secondaryStatus")),
                _fmt(ProblemType.display(job.get("problemType"))),
                _fmt(job.get("updatedAt")),
                metric,
            ]
        )
    table(rows, ctx.console)
    if token:
        ctx.console.line(f"(more: --all, or --next-token {token})")
    return EXIT_OK


def cmd_candidates(ctx: Context) -> int:
    response = ctx.api.candidates(ctx.args.name, ctx.args.top)
    _check_response(response, ctx.console, ctx.args.name)
    board = response.body
    if ctx.args.json:
        ctx.console.line(json.dumps(board, ensure_ascii=False))
        return EXIT_OK
    objective = board.get("objective") or {}
    metric = objective.get("metricName") or "objective"
    direction = {"Maximize": "higher is better", "Minimize": "lower is better"}.get(
        str(objective.get("type")), "direction unknown"
    )
    console = ctx.console
    console.line(
        f"{board['jobName']}: {board.get('status')} ({board.get('secondaryStatus')}); "
        f"{board.get('rankedCount')} of {board.get('candidateCount')} candidates ranked by "
        f"{metric} ({direction})"
    )
    if not board["candidates"]:
        console.line("no candidates yet")
        return EXIT_OK
    others = sorted({k for row in board["candidates"] for k in row.get("otherMetrics") or {}})
    rows = [["rank", "candidate", "status", metric, *others]]
    for row in board["candidates"]:
        rows.append(
            [
                _fmt(row.get("rank")),
                _fmt(row.get("candidateName")),
                _fmt(row.get("status")),
                _fmt(row.get("value")),
                *(_fmt((row.get("otherMetrics") or {}).get(name)) for name in others),
            ]
        )
    table(rows, console)
    return EXIT_OK


def cmd_policy(ctx: Context) -> int:
    """The stack's policy, as the policy document ``validate --policy`` reads."""
    response = ctx.api.policy()
    _check_response(response, ctx.console, "policy")
    body = response.body
    document = {"Defaults": body.get("defaults") or {}, "Guardrails": body.get("guardrails") or {}}
    if ctx.args.json:
        ctx.console.line(json.dumps(document, ensure_ascii=False))
        return EXIT_OK
    import yaml  # noqa: PLC0415

    ctx.console.out.write(yaml.safe_dump(document, sort_keys=False, width=100))
    return EXIT_OK


# AutoML job names: 1-32 characters (CreateAutoMLJobV2).
MAX_JOB_NAME = 32
RESUBMITTABLE = (JobStatus.STOPPED, JobStatus.FAILED)


def next_job_name(name: str) -> str:
    """``churn`` -> ``churn-r2`` -> ``churn-r3``: the default name of a resubmission."""
    stem, dash, number = name.rpartition("-r")
    if dash and number.isdigit():
        base, count = stem, int(number) + 1
    else:
        base, count = name, 2
    suffix = f"-r{count}"
    return base[: MAX_JOB_NAME - len(suffix)] + suffix


def cmd_resubmit(ctx: Context) -> int:
    """A stopped or failed job's manifest, as the stack sent it, again under a new name."""
    args = ctx.args
    ctx.report.update(resubmitted=args.name, outcome="usage-error")
    response = ctx.api.job(args.name)
    _check_response(response, ctx.console, args.name)
    job = response.body
    manifest = job.get("manifest")
    if not manifest:
        raise CommandError(f"{args.name} was not created by this stack: no manifest to run again")
    if job.get("status") not in RESUBMITTABLE:
        ctx.report["outcome"] = "refused"
        raise CommandError(
            f"{args.name} is {job.get('status') or job.get('lifecycle')}; only a stopped or "
            "failed job is run again",
            EXIT_FAILED,
        )
    new_name = args.new_name or next_job_name(args.name)
    manifest = {**manifest, "AutoMLJobName": new_name}
    ctx.console.line(f"running {args.name}'s manifest again as {new_name}")
    data = json.dumps(manifest, indent=2).encode()
    job_name = _submit_api(ctx, data, f"{new_name}.json")
    if job_name is None:
        ctx.report["outcome"] = IngestOutcome.REJECTED
        return EXIT_FAILED
    ctx.report.update(outcome="submitted", jobName=job_name)
    return watch(ctx, job_name) if args.wait else EXIT_OK


def timeline(job: dict[str, Any]) -> list[dict[str, Any]]:
    """One job's moments, in order, from what GET /jobs/{name} carries: the registry's
    record (received, its lifecycle, every state change the watcher published, FinalizeJob's
    deployment) and SageMaker's own times."""
    lifecycle = job.get("lifecycle")
    source = job.get("source") or {}
    where = (
        f"s3://{source.get('bucket')}/{source.get('key')}"
        if source.get("type") == "s3"
        else f"API request {source.get('requestId')}"
    )
    rows: list[tuple[Any, str, str]] = []
    if job.get("createdAt"):
        rows.append((job["createdAt"], "received", where if source else ""))
    if lifecycle in (*RELEASED, Lifecycle.WAITING_FOR_CAPACITY):
        codes = ", ".join(str(e.get("code")) for e in job.get("errors") or [])
        reason = codes or job.get("failureReason") or ""
        rows.append((job.get("updatedAt"), lifecycle.lower().replace("_", " "), reason))
    if job.get("creationTime"):
        rows.append((job["creationTime"], "created", str(job.get("jobArn") or "")))
    # Each state change the service published (AutoML Job State Change), as the watcher saw it.
    states = [s for s in job.get("stateHistory") or [] if isinstance(s, dict)]
    for state in states:
        detail = str(state.get("secondaryStatus") or "")
        if state.get("status") in (JobStatus.FAILED, JobStatus.STOPPED) and job.get(
            "failureReason"
        ):
            detail = f"{detail}: {job['failureReason']}"
        rows.append((state.get("at"), f"state {state.get('status')}", detail))
    if job.get("endTime") and not states:
        detail = job.get("failureReason") or job.get("secondaryStatus") or ""
        rows.append((job["endTime"], str(job.get("status")), str(detail)))
    deployment = job.get("deployment") or {}
    if deployment:
        detail = deployment.get("endpointName") or job.get("endpointName") or ""
        reason = deployment.get("reason")
        rows.append(
            (
                job.get("deploymentAt"),
                f"deployment {deployment.get('state')}",
                f"{detail} {reason}".strip() if reason else str(detail),
            )
        )
    # In the order they happen (each step needs the one before), not sorted by time: SageMaker's
    # times and the registry's come from different machines' clocks.
    return [{"time": when, "what": what, "detail": detail} for when, what, detail in rows]


def cmd_events(ctx: Context) -> int:
    response = ctx.api.job(ctx.args.name)
    _check_response(response, ctx.console, ctx.args.name)
    rows = timeline(response.body)
    if ctx.args.json:
        ctx.console.line(json.dumps({"jobName": ctx.args.name, "events": rows}))
        return EXIT_OK
    table(
        [["time", "what", "detail"]]
        + [[_fmt(row["time"]), row["what"], row["detail"]] for row in rows],
        ctx.console,
    )
    return EXIT_OK


def cmd_stop(ctx: Context) -> int:
    response = ctx.api.stop(ctx.args.name)
    ctx.report.update(jobName=ctx.args.name, answer=response.body)
    _check_response(response, ctx.console, f"cannot stop {ctx.args.name}")
    body = response.body
    verb = str(body.get("status") or JobStatus.STOPPING).lower()
    ctx.console.line(f"{verb}  {body['jobName']}  (was {body.get('previousStatus')})")
    return EXIT_OK


def _review(ctx: Context, decision: str) -> int:
    name = ctx.args.name
    response = ctx.api.review(name, decision, ctx.args.note)
    ctx.report.update(jobName=name, answer=response.body)
    _check_response(response, ctx.console, f"cannot {decision} the model of {name}")
    body = response.body
    ctx.console.line(
        f"{str(body.get('approvalStatus')).lower()}  {body.get('jobName')}  "
        f"({body.get('modelPackageArn')})"
    )
    ctx.console.line(f"  by         {body.get('by')}")
    if body.get("note"):
        ctx.console.line(f"  note       {body['note']}")
    if decision == "approve":
        ctx.console.line("  the deployment follows: autopilot-flow status / endpoints show it")
    return EXIT_OK


def cmd_approve(ctx: Context) -> int:
    return _review(ctx, "approve")


def cmd_reject(ctx: Context) -> int:
    return _review(ctx, "reject")


ENDPOINT_COLUMNS = ("endpoint", "state", "live job", "score", "strategy", "last change", "previous")


def cmd_endpoints(ctx: Context) -> int:
    response = ctx.api.endpoints()
    _check_response(response, ctx.console, "endpoints")
    rows_in: list[dict[str, Any]] = response.body.get("endpoints") or []
    if ctx.args.json:
        ctx.console.line(json.dumps({"endpoints": rows_in}, ensure_ascii=False))
        return EXIT_OK
    if not rows_in:
        ctx.console.line("no endpoints")
        return EXIT_OK
    rows = [list(ENDPOINT_COLUMNS)]
    for row in rows_in:
        score = (
            f"{row.get('metricName')}={_fmt(row.get('value'))}" if row.get("metricName") else "-"
        )
        change = " ".join(
            str(part) for part in (row.get("lastChange"), row.get("lastChangeAt")) if part
        )
        rows.append(
            [
                _fmt(row.get("endpointName")),
                _fmt(row.get("state")),
                _fmt(row.get("liveJob")),
                score,
                _fmt(row.get("strategy")),
                change or "-",
                _fmt(row.get("previousLiveJob")),
            ]
        )
    table(rows, ctx.console)
    return EXIT_OK


def cmd_rollback(ctx: Context) -> int:
    name = ctx.args.endpoint
    response = ctx.api.rollback(name)
    ctx.report.update(endpointName=name, answer=response.body)
    _check_response(response, ctx.console, f"cannot roll {name} back")
    body = response.body
    ctx.console.line(
        f"rolling back  {body.get('endpointName')}  to {body.get('jobName')} "
        f"(live: {_fmt(body.get('liveJob'))})"
    )
    ctx.console.line(f"  execution  {body.get('executionArn') or body.get('executionName')}")
    ctx.console.line("  follow     autopilot-flow endpoints (the live job changes when it is done)")
    return EXIT_OK


def cmd_undeploy(ctx: Context) -> int:
    name = ctx.args.endpoint
    ctx.report["endpointName"] = name
    if not ctx.args.yes:
        if not sys.stdin.isatty():
            raise CommandError(f"undeploy deletes endpoint {name}: confirm with --yes.")
        ctx.console.out.write(f"delete endpoint {name} (it stops serving)? [y/N] ")
        ctx.console.out.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise CommandError("not confirmed; nothing was deleted.")
    response = ctx.api.undeploy(name)
    ctx.report["answer"] = response.body
    _check_response(response, ctx.console, f"cannot undeploy {name}")
    body = response.body
    ctx.console.line(
        f"{str(body.get('status')).lower()}  {body.get('endpointName')}  "
        f"(was {_fmt(body.get('previousStatus'))}; live job {_fmt(body.get('liveJob'))})"
    )
    return EXIT_OK


def cmd_watch(ctx: Context) -> int:
    ctx.report["jobName"] = ctx.args.name
    return watch(ctx, ctx.args.name)


def _states(ctx: Context, name: str) -> Iterator[dict[str, Any]]:
    while True:
        response = ctx.api.job(name)
        if response.status == 404:
            ctx.console.error(f"no job named {name!r}")
            raise CommandError("", EXIT_USAGE)
        if response.ok:
            yield response.body
        elif response.status < 500 and response.status != 429:
            _check_response(response, ctx.console, name)
        ctx.sleep(ctx.args.interval)


def watch(ctx: Context, name: str) -> int:
    """Follow a job until it ends: status, secondary status, elapsed time, a spinner."""
    console = ctx.console
    started = ctx.clock()
    deadline = started + ctx.args.timeout
    spinner = itertools.cycle(SPINNER)
    last = None
    job: dict[str, Any] = {}
    for job in _states(ctx, name):
        ctx.report["job"] = job
        lifecycle = job.get("lifecycle")
        status = job.get("status") or lifecycle or "?"
        secondary = job.get("secondaryStatus") or "-"
        elapsed = duration(ctx.clock() - started)
        text = f"{job['jobName']}  {status} / {secondary}  {elapsed}"
        if console.live:
            console.out.write(f"\r\033[K{next(spinner)} {text}")
            console.out.flush()
        elif (status, secondary) != last:
            console.line(text)
        last = (status, secondary)
        if lifecycle in RELEASED:
            _end_line(console)
            console.line(f"{job['jobName']} was not created ({lifecycle})")
            console.issues("error", job.get("errors") or [])
            return EXIT_FAILED
        if status in TERMINAL:
            break
        if ctx.clock() > deadline:
            _end_line(console)
            console.error(f"still {status} after {ctx.args.timeout:.0f}s; stopped watching")
            return EXIT_TIMEOUT
    _end_line(console)
    job = _await_deployment(ctx, name, job, deadline)
    ctx.report["job"] = job
    _summary(job, console)
    return EXIT_OK if job.get("status") == JobStatus.COMPLETED else EXIT_FAILED


def _await_deployment(
    ctx: Context, name: str, job: dict[str, Any], deadline: float
) -> dict[str, Any]:
    """FinalizeJob deploys after the job completes: wait (within the timeout) for its word."""
    if job.get("status") != JobStatus.COMPLETED or not job.get("deploymentRequested"):
        return job
    if job.get("deployment"):
        return job
    ctx.console.line("waiting for the deployment ...")
    latest = job
    for latest in _states(ctx, name):
        if latest.get("deployment") or ctx.clock() > deadline:
            break
    return latest


def _summary(job: dict[str, Any], console: Console) -> None:
    status = job.get("status")
    start, end = _time(job.get("creationTime")), _time(job.get("endTime"))
    runtime = f" after {duration((end - start).total_seconds())}" if start and end else ""
    console.line(f"{job['jobName']} {status} ({job.get('secondaryStatus')}){runtime}")
    if job.get("failureReason"):
        console.line(f"  failure    {job['failureReason']}")
    best = job.get("bestCandidate")
    if best:
        console.line(
            f"  best       {best.get('candidateName')}  "
            f"{best.get('metricName')}={_fmt(best.get('value'))}"
        )
    elif status == JobStatus.COMPLETED:
        console.line("  best       (no candidate)")
    deployment = job.get("deployment") or {}
    endpoint = job.get("endpointName") or deployment.get("endpointName")
    if deployment:
        console.line(
            f"  endpoint   {endpoint or '-'}  {deployment.get('state', '')} "
            f"{deployment.get('reason') or ''}".rstrip()
        )
        if deployment.get("state") == DeploymentState.AWAITING_APPROVAL:
            console.line(f"  review     autopilot-flow approve|reject {job['jobName']}")
    elif endpoint:
        console.line(f"  endpoint   {endpoint}")
    elif job.get("deploymentRequested") and status == JobStatus.COMPLETED:
        console.line("  endpoint   (deployment not finished yet: see status later)")


def _end_line(console: Console) -> None:
    if console.live:
        console.out.write("\n")
        console.out.flush()


# --- wiring into the CLI -----------------------------------------------------------------------


def _count(maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be 1-{maximum}, not {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def job_status(text: str) -> str:
    """A lifecycle or AutoMLJobStatus, any case, as the API spells it."""
    for status in (*LIFECYCLE_STATUSES, *JOB_STATUSES):
        if text.strip().lower() == status.lower():
            return status
    raise argparse.ArgumentTypeError(
        f"unknown status {text!r}; use one of {', '.join((*LIFECYCLE_STATUSES, *JOB_STATUSES))}"
    )


def problem_type(text: str) -> str:
    """``tabular`` (the word ``skeleton``, ``list`` and ``status`` use), ``Tabular`` or
    ``TabularJobConfig`` (the API's), any case: the API's name."""
    member = ProblemType.parse(text)
    if member is None:
        raise argparse.ArgumentTypeError(
            f"unknown problem type {text!r}; use one of {', '.join(m.word for m in ProblemType)} "
            f"(or the API's {', '.join(ProblemType)})"
        )
    return member.value


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name",
        default=DEFAULT_STACK,
        help=f"CloudFormation stack (default {DEFAULT_STACK})",
    )
    parser.add_argument("--region", help="AWS region of the stack (default: your profile's)")
    parser.add_argument(
        "--offline", action="store_true", help="use the offline stack (.offline/stack.json)"
    )
    parser.add_argument(
        "--state-dir", default=DEFAULT_STATE_DIR, help="where the offline stack wrote stack.json"
    )


def _watch_options(parser: argparse.ArgumentParser, timeout: float) -> None:
    parser.add_argument("--interval", type=_seconds, default=5.0, help="seconds between polls")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=timeout,
        help=f"give up after this many seconds (exit {EXIT_TIMEOUT})",
    )


def add_commands(commands: Any) -> None:
    """Add the client commands to the CLI's subparsers."""
    submit = commands.add_parser(
        "submit",
        help="validate a manifest locally, then submit it (S3 upload or signed API call)",
        description="Exit 0 when submitted (with --wait: when the job Completed), 1 when "
        f"rejected, failed or stopped, 2 for a usage error, {EXIT_TIMEOUT} when --timeout ran "
        "out. The file must end in .json, .yaml or .yml.",
    )
    submit.add_argument("file", metavar="FILE")
    submit.add_argument("--via", choices=["s3", "api"], default="s3")
    submit.add_argument("--wait", action="store_true", help="then watch the job until it ends")
    submit.add_argument(
        "--dry-run",
        action="store_true",
        help="only the stack's check through the API (POST /jobs/validate: its policy, the "
        "data preflight, a job name already taken), printed as validate prints; exit 0 "
        "valid, 1 invalid, 2 usage; creates nothing",
    )
    submit.add_argument("--policy", metavar="POLICY", help="check against this policy first")
    submit.add_argument("--idempotency-key", help="with --via api: replay-safe submissions")
    submit.add_argument(
        "--json",
        action="store_true",
        help="one JSON object on stdout (the outcome); progress goes to stderr",
    )
    _watch_options(submit, 24 * 3600)
    _connection_options(submit)
    submit.set_defaults(run=_run(cmd_submit, json_report=True))

    status = commands.add_parser("status", help="a job's record and live status")
    status.add_argument("name", metavar="NAME")
    status.add_argument("--json", action="store_true")
    _connection_options(status)
    status.set_defaults(run=_run(cmd_status))

    listing = commands.add_parser("list", help="jobs, newest first")
    listing.add_argument(
        "--status",
        type=job_status,
        help="CREATED, REJECTED, ... or InProgress, Completed, ... (any case)",
    )
    listing.add_argument(
        "--problem-type", type=problem_type, help="tabular, Tabular or TabularJobConfig, ..."
    )
    listing.add_argument("--limit", type=_count(MAX_PAGE_SIZE), default=20, help="1-100")
    listing.add_argument("--all", action="store_true", help="follow every page")
    listing.add_argument("--next-token", help="start at this page (a nextToken list printed)")
    listing.add_argument("--json", action="store_true")
    _connection_options(listing)
    listing.set_defaults(run=_run(cmd_list))

    candidates = commands.add_parser("candidates", help="the leaderboard of a job")
    candidates.add_argument("name", metavar="NAME")
    candidates.add_argument("--top", type=_count(MAX_TOP), default=10, help="1-100")
    candidates.add_argument("--json", action="store_true")
    _connection_options(candidates)
    candidates.set_defaults(run=_run(cmd_candidates))

    stop = commands.add_parser("stop", help="stop a running job")
    stop.add_argument("name", metavar="NAME")
    stop.add_argument("--json", action="store_true", help="the API's answer as JSON")
    _connection_options(stop)
    stop.set_defaults(run=_run(cmd_stop, json_report=True))

    policy = commands.add_parser(
        "policy",
        help="the policy the stack applies (YAML; save it for validate --policy)",
        description="GET /policy: the defaults the stack fills in and the guardrails it "
        "enforces, as the policy document validate --policy reads.",
    )
    policy.add_argument("--json", action="store_true")
    _connection_options(policy)
    policy.set_defaults(run=_run(cmd_policy))

    resubmit = commands.add_parser(
        "resubmit",
        help="run a stopped or failed job's manifest again under a new name (via the API)",
        description="The manifest as the stack sent it (the registry keeps it: policy "
        "applied, with its Deployment and Notifications) under --name, or NAME-r2, -r3... "
        "Exit codes as submit.",
    )
    resubmit.add_argument("name", metavar="NAME")
    resubmit.add_argument("--name", dest="new_name", metavar="NEW", help="the new job's name")
    resubmit.add_argument("--wait", action="store_true", help="then watch the job until it ends")
    resubmit.add_argument("--json", action="store_true", help="one JSON object on stdout")
    _watch_options(resubmit, 24 * 3600)
    _connection_options(resubmit)
    resubmit.set_defaults(run=_run(cmd_resubmit, json_report=True), idempotency_key=None)

    events = commands.add_parser(
        "events",
        help="one job's timeline: received, created, ended, deployed (with times)",
        description="Built through GET /jobs/{name} from the job's registry record (when the "
        "stack received the manifest; rejected, waiting for capacity or submission failed; "
        "FinalizeJob's deployment and when) and SageMaker's own times (created: the AutoML "
        "Job Submitted event; ended: the last AutoML Job State Change). Intermediate "
        "state changes are not recorded there: the bus's archive has every event (replay).",
    )
    events.add_argument("name", metavar="NAME")
    events.add_argument("--json", action="store_true")
    _connection_options(events)
    events.set_defaults(run=_run(cmd_events))

    for decision, verb in (("approve", "deploy"), ("reject", "never deploy")):
        review = commands.add_parser(
            decision,
            help=f"{decision} a job's model package pending approval (then {verb} it)",
            description=f"POST /jobs/NAME/{decision}: the job's registered model package, "
            "while PendingManualApproval; the package's ApprovalDescription records who "
            "(your IAM identity) and the note. Exit 0 done, 1 refused (no package, not "
            "pending, not this stack's), 2 usage (no such job).",
        )
        review.add_argument("name", metavar="NAME")
        review.add_argument("--note", metavar="TEXT", help="why (at most 500 characters)")
        review.add_argument("--json", action="store_true", help="the API's answer as JSON")
        _connection_options(review)
        run = cmd_approve if decision == "approve" else cmd_reject
        review.set_defaults(run=_run(run, json_report=True))

    endpoints = commands.add_parser(
        "endpoints",
        help="the endpoints this stack manages: live job, score, strategy, last change",
        description="GET /endpoints, from the records FinalizeJob keeps ('-': not recorded).",
    )
    endpoints.add_argument("--json", action="store_true")
    _connection_options(endpoints)
    endpoints.set_defaults(run=_run(cmd_endpoints))

    rollback = commands.add_parser(
        "rollback",
        help="put an endpoint's previous live model back (the same rollout machinery)",
        description="POST /endpoints/ENDPOINT/rollback: FinalizeJob deploys the endpoint's "
        "previous live job. Exit 0 started, 1 refused (not this stack's, no previous "
        "model, busy, not in service, deleted), 2 usage (no such endpoint).",
    )
    rollback.add_argument("endpoint", metavar="ENDPOINT")
    rollback.add_argument("--json", action="store_true", help="the API's answer as JSON")
    _connection_options(rollback)
    rollback.set_defaults(run=_run(cmd_rollback, json_report=True))

    undeploy = commands.add_parser(
        "undeploy",
        help="delete an endpoint this stack created (never another), to stop paying for it",
        description="DELETE /endpoints/ENDPOINT. Asks first on a terminal; elsewhere needs "
        "--yes. Exit 0 deleting or deleted, 1 refused (not this stack's, busy), 2 usage (no "
        "such endpoint, not confirmed).",
    )
    undeploy.add_argument("endpoint", metavar="ENDPOINT")
    undeploy.add_argument("--yes", action="store_true", help="do not ask")
    undeploy.add_argument("--json", action="store_true", help="the API's answer as JSON")
    _connection_options(undeploy)
    undeploy.set_defaults(run=_run(cmd_undeploy, json_report=True))

    watch_cmd = commands.add_parser(
        "watch",
        help="follow a job live until it ends",
        description="Exit 0 when the job Completed, 1 when it failed or was stopped, 2 for "
        f"a usage error (e.g. no such job), {EXIT_TIMEOUT} when --timeout ran out first.",
    )
    watch_cmd.add_argument("name", metavar="NAME")
    watch_cmd.add_argument(
        "--json",
        action="store_true",
        help="the job's final record as one JSON object on stdout; progress goes to stderr",
    )
    _watch_options(watch_cmd, 24 * 3600)
    _connection_options(watch_cmd)
    watch_cmd.set_defaults(run=_run(cmd_watch, json_report=True))


def _run(
    command: Callable[[Context], int], json_report: bool = False
) -> Callable[[argparse.Namespace, TextIO, TextIO], int]:
    """``json_report``: with --json, what the command puts in ``ctx.report`` is the one JSON
    object on stdout (with ``exitCode``, and ``error`` when it stopped on one); its progress
    lines go to stderr, so a pipeline can parse stdout."""

    def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        as_json = json_report and getattr(args, "json", False)
        live = (
            not as_json
            and out.isatty()
            and "NO_COLOR" not in os.environ
            and os.environ.get("TERM") != "dumb"
        )
        ctx = Context(args, Console(err if as_json else out, err, live=live))
        error = ""
        try:
            code = command(ctx)
        except CommandError as exc:
            error = str(exc)
            code = exc.exit_code
        except KeyboardInterrupt:
            _end_line(ctx.console)
            return 130
        except Exception as exc:  # one line for anything, never a traceback
            if os.environ.get("AUTOPILOT_FLOW_DEBUG"):
                raise
            if _is_aws_error(exc):
                error, code = f"AWS call failed: {exc}", EXIT_USAGE
            else:
                error = (
                    f"unexpected error ({type(exc).__name__}: {exc}); this is a bug: run "
                    "again with AUTOPILOT_FLOW_DEBUG=1 for the details and report it"
                )
                code = EXIT_FAILED
        if error:
            ctx.console.error(error)
        if as_json:
            report = {**ctx.report, "exitCode": code}
            if error:
                report["error"] = error
            out.write(json.dumps(report, ensure_ascii=False, default=str) + "\n")
            out.flush()
        return code

    return run


def _is_aws_error(exc: Exception) -> bool:
    """botocore's errors: no endpoint, connection refused, no credentials..."""
    return type(exc).__module__.startswith("botocore")
