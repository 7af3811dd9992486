"""The HTTP API's routes (Powertools ``APIGatewayRestResolver`` with validation).

Only requests and responses live here: each route reads its parameters, calls one
``JobsService`` method and returns its answer. Errors are RFC 9457 problems
(``application/problem+json``); nothing internal (exception names, stack traces, resource
names) ever reaches a response. The OpenAPI document (``openapi.json`` at the repository
root) is generated from these routes and models: ``python -m autopilot_flow.http_api
--write`` (``make openapi``); a test fails when the committed file drifts.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from autopilot_flow import __version__
from autopilot_flow.jobs import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_TOP,
    MAX_PAGE_SIZE,
    MAX_TOP,
    PROBLEM_JSON,
    ApiAnswer,
    ApiProblem,
    Caller,
    JobsService,
    media_of,
)
from autopilot_flow.schema import manifest_schema
from autopilot_flow.vocabulary import (
    JOB_STATUSES,
    LIFECYCLE_STATUSES,
    PROBLEM_TYPES,
    ApprovalStatus,
)

LOGGER = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]
OPENAPI_FILE = ROOT / "openapi.json"

# The query filters' enums (OpenAPI), built from autopilot_flow.vocabulary's words (plain
# strings: the OpenAPI document lists values, not Python enums).
if TYPE_CHECKING:
    StatusFilter = str
    ProblemTypeFilter = str
else:
    StatusFilter = Literal[tuple(s.value for s in (*LIFECYCLE_STATUSES, *JOB_STATUSES))]
    ProblemTypeFilter = Literal[tuple(p.value for p in PROBLEM_TYPES)]


# --- response models (for the OpenAPI document) -------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class IssueModel(_Model):
    """One validation finding: where, what and a stable code."""

    path: str = Field(description="Dotted path, [i] for list items; empty for the document.")
    message: str
    code: str = Field(description="A stable identifier, e.g. input.content_type_mismatch.")


class LinksModel(_Model):
    self_: str = Field(alias="self")
    candidates: str
    stop: str


class SourceModel(_Model):
    type: Literal["s3", "api"]
    requestId: str | None = None
    bucket: str | None = None
    key: str | None = None
    versionId: str | None = None


class BestCandidateModel(_Model):
    candidateName: str | None
    metricName: str | None
    value: float | None


class SubmitAccepted(_Model):
    """The job was created (or had been created by the same manifest before)."""

    jobName: str
    jobArn: str | None
    created: bool = Field(description="false when this manifest had already become the job")
    source: SourceModel
    receipt: str | None = Field(description="s3:// URI of the stored receipt")
    defaultsApplied: list[str]
    warnings: list[IssueModel]
    links: LinksModel


class ExistingJobModel(_Model):
    """The job that already holds the manifest's job name."""

    jobName: str
    lifecycle: str | None = Field(description="Registry status; null for a job not recorded")
    status: str | None = Field(description="AutoMLJobStatus as last observed")
    createdAt: str | None
    links: LinksModel


class DryRunResult(_Model):
    valid: bool
    errors: list[IssueModel]
    warnings: list[IssueModel]
    jobName: str | None
    defaultsApplied: list[str]
    request: dict[str, Any] | None = Field(
        description="The CreateAutoMLJobV2 request exactly as it would be sent (policy applied)"
    )
    existingJob: ExistingJobModel | None = Field(
        default=None,
        description="The job already holding this job name (error job_name.taken, or the "
        "warning job_name.submitted when this manifest became that job)",
    )


class PolicyModel(_Model):
    """The policy the stack applies: what it fills in and what it refuses."""

    defaults: dict[str, Any] = Field(
        description="Fields set when a manifest leaves them out (e.g. RoleArn)"
    )
    guardrails: dict[str, Any] = Field(
        description="Limits a manifest must stay within (e.g. AllowedS3Prefixes)"
    )


class JobSummary(_Model):
    jobName: str
    lifecycle: str | None = Field(description="Registry status, e.g. CREATED or REJECTED")
    managed: bool
    status: str | None = Field(description="AutoMLJobStatus as last observed")
    secondaryStatus: str | None
    problemType: str | None
    createdAt: str | None
    updatedAt: str | None
    bestCandidate: BestCandidateModel | None
    links: LinksModel


class JobList(_Model):
    jobs: list[JobSummary]
    nextToken: str | None = Field(description="Pass as nextToken for the next page")


class JobDetail(_Model):
    jobName: str
    jobArn: str | None
    managed: bool
    lifecycle: str | None
    status: str | None = Field(description="AutoMLJobStatus, live from DescribeAutoMLJobV2")
    secondaryStatus: str | None
    failureReason: str | None
    problemType: str | None
    source: SourceModel | None
    createdAt: str | None
    updatedAt: str | None
    creationTime: str | None
    lastModifiedTime: str | None
    endTime: str | None
    bestCandidate: BestCandidateModel | None
    endpointName: str | None
    deploymentRequested: bool = Field(description="the manifest has a Deployment section")
    deployment: dict[str, Any] | None = Field(description="FinalizeJob's outcome, once known")
    deploymentAt: str | None = Field(default=None, description="When FinalizeJob recorded it")
    registration: dict[str, Any] | None = Field(
        default=None,
        description="The best candidate's model package (manifest Registry): modelPackageArn, "
        "modelPackageGroupName, approvalStatus as registered",
    )
    approval: dict[str, Any] | None = Field(
        default=None,
        description="What happened to a package awaiting approval: status, by, note, at",
    )
    reports: dict[str, str] = Field(
        default_factory=dict,
        description="The best candidate's explainability and model-insights reports (title: S3 "
        "URI), from SageMaker's CandidateArtifactLocations",
    )
    stateHistory: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Every AutoML state the watcher observed, in order: status, "
        "secondaryStatus and when SageMaker reached it (at)",
    )
    errors: list[IssueModel]
    warnings: list[IssueModel]
    defaultsApplied: list[str]
    manifest: dict[str, Any] | None = Field(
        default=None,
        description="The manifest as the stack sent it on: the CreateAutoMLJobV2 request "
        "(policy applied) with its Deployment and Notifications sections; null for a job "
        "this stack did not create",
    )
    links: LinksModel


class CandidateRow(_Model):
    rank: int | None = Field(description="1 = best; null for candidates without a value")
    candidateName: str | None
    status: str | None
    objectiveStatus: str | None
    metricName: str | None
    value: float | None
    otherMetrics: dict[str, float | None]
    creationTime: str | None
    endTime: str | None
    failureReason: str | None = None


class ObjectiveModel(_Model):
    metricName: str | None
    type: Literal["Maximize", "Minimize"] | None


class LeaderboardModel(_Model):
    jobName: str
    jobArn: str
    status: str
    secondaryStatus: str
    problemType: str | None
    tabularProblemType: str | None
    objective: ObjectiveModel
    generatedAt: str
    candidateCount: int
    rankedCount: int
    candidates: list[CandidateRow] = Field(description="Best first, at most `top`")
    best: CandidateRow | None


class StopAccepted(_Model):
    jobName: str
    jobArn: str | None
    status: Literal["Stopping", "Cancelling"] = Field(
        description="Cancelling: the submission was still waiting for capacity; its manifest "
        "is answered with the error code cancelled and no job is created"
    )
    previousStatus: str
    links: LinksModel


class ReviewAnswer(_Model):
    """The job's model package was approved (its deployment follows) or rejected."""

    jobName: str
    modelPackageArn: str
    approvalStatus: Literal["Approved", "Rejected"]
    previousStatus: str = Field(description="PendingManualApproval")
    by: str = Field(description="Who asked: the caller's IAM identity")
    note: str | None
    approvalDescription: str = Field(
        description="What the package's ApprovalDescription now says: '<by>: <note>'"
    )
    links: LinksModel


class EndpointLinks(_Model):
    self_: str = Field(alias="self")
    rollback: str


class EndpointRow(_Model):
    """An endpoint this stack manages, as its registry record holds it (null: not recorded)."""

    endpointName: str | None
    state: Literal["Live", "Deploying", "Deleted"]
    liveJob: str | None = Field(description="The job whose best candidate serves")
    candidateName: str | None
    modelPackageArn: str | None
    metricName: str | None
    value: float | None = Field(description="The live candidate's objective value (its score)")
    strategy: str | None = Field(description="The last rollout's type (AllAtOnce, Canary, Linear)")
    lastChange: str | None = Field(description="Why the live model went live, e.g. rollback")
    lastChangeAt: str | None
    previousLiveJob: str | None = Field(description="What a rollback puts back")
    pendingJob: str | None = Field(description="A job being deployed there now")
    endpointArn: str | None
    undeployedAt: str | None
    undeployedBy: str | None
    links: EndpointLinks


class EndpointList(_Model):
    endpoints: list[EndpointRow]


class RollbackAccepted(_Model):
    """FinalizeJob started in deploy mode: the previous live job goes back on the endpoint."""

    endpointName: str
    jobName: str = Field(description="The job put back (the endpoint's previous live job)")
    liveJob: str | None = Field(description="The job live until the rollback")
    modelPackageArn: str | None
    requestedBy: str
    executionName: str
    executionArn: str | None
    startDate: str | None
    links: dict[str, str]


class UndeployAnswer(_Model):
    endpointName: str
    status: Literal["Deleting", "Deleted"]
    previousStatus: str | None = Field(description="The endpoint's status before; null: gone")
    liveJob: str | None
    undeployedBy: str | None
    undeployedAt: str | None
    links: EndpointLinks


class Problem(_Model):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[IssueModel] | None = None
    warnings: list[IssueModel] | None = None
    jobName: str | None = None


class GatewayProblem(_Model):
    """A problem answered by API Gateway itself (the stack's gateway responses)."""

    type: str
    title: str = Field(description="API Gateway's error type, e.g. ACCESS_DENIED")
    detail: str


# --- OpenAPI pieces ---------------------------------------------------------------------------

SIGV4 = "sigv4"
_TITLES = {
    400: "Bad request (parameters, headers or page token)",
    403: "Not signed, or not allowed (API Gateway's IAM auth)",
    404: "No such job (or endpoint)",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests (API Gateway's stage throttling)",
    422: "Invalid manifest (every error, or the first 64 KB of a very long list)",
    500: "Unexpected error",
    503: "Try again later (see Retry-After)",
}


def _problems(*codes: int, owned: bool = False) -> dict[int, Any]:
    """Our problems, plus what API Gateway answers on every route (403, 429). ``owned``: the
    route also answers 403 itself, for a resource this stack does not own (a Problem, whose
    fields include GatewayProblem's)."""
    answers: dict[int, Any] = {
        code: {"description": _TITLES[code], "content": {PROBLEM_JSON: {"model": Problem}}}
        for code in (*codes, 500)
    }
    for code in (403, 429):
        answers[code] = {
            "description": _TITLES[code],
            "content": {PROBLEM_JSON: {"model": GatewayProblem}},
        }
    if owned:
        answers[403]["description"] += (
            "; or not this stack's (endpoint-not-owned, model-package-not-owned)"
        )
    return dict(sorted(answers.items()))


def _ok(code: int, model: type[BaseModel], description: str) -> dict[int, Any]:
    return {code: {"description": description, "content": {"application/json": {"model": model}}}}


def manifest_request_body() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": "A manifest: the CreateAutoMLJobV2 request plus our optional "
            "Deployment and Notifications sections, as JSON or YAML (at most 1 MiB).",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Manifest"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    }


def review_request_body() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": False,
            "description": "Optional: a note recorded with the decision (at most 500 "
            "characters), in the package's ApprovalDescription as '<who>: <note>'.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"note": {"type": "string", "maxLength": 500}},
                        "additionalProperties": False,
                    }
                }
            },
        }
    }


MANIFEST_NAME_DOC = (
    "The manifest's file name (e.g. churn.yaml); a derived job name starts from it "
    "when the manifest has no AutoMLJobName."
)


# --- the resolver ------------------------------------------------------------------------------


def _issue_path(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc[1:]) or str(loc[0] if loc else "")


def _problem_response(problem: ApiProblem) -> Response[str]:
    return respond(problem.answer())


def respond(answer: ApiAnswer) -> Response[str]:
    return Response(
        status_code=answer.status,
        content_type=answer.content_type,
        body=json.dumps(answer.body, ensure_ascii=False, default=str),
        headers=answer.headers or None,
    )


def build_resolver(
    service: JobsService | Callable[[], JobsService] | None,
) -> APIGatewayRestResolver:
    """The API. ``service`` may be None (e.g. to generate the OpenAPI document) or a
    zero-argument callable returning the service."""

    def jobs() -> JobsService:
        if isinstance(service, JobsService):
            return service
        if service is None:
            raise RuntimeError("the API has no service")
        return service()

    app = APIGatewayRestResolver(enable_validation=True)

    def caller() -> Caller:
        event = app.current_event
        context = event.get("requestContext") or {}
        identity = context.get("identity") or {}
        principal = identity.get("userArn") or identity.get("caller") or "anonymous"
        full = str(context.get("path") or "")
        path = str(event.get("path") or "")
        base = full[: -len(path)] if path and full.endswith(path) else ""
        return Caller(
            request_id=str(context.get("requestId") or "unknown"),
            principal=str(principal),
            base_path=base.rstrip("/"),
        )

    def body() -> bytes:
        event = app.current_event
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise ApiProblem(
                    400, "bad-request", "Bad request", "the body is not valid base64."
                ) from None
        return str(raw).encode("utf-8", "surrogatepass")

    def content_type() -> str | None:
        value = app.current_event.headers.get("content-type")
        if value is None:
            for key, item in (app.current_event.get("headers") or {}).items():
                if key.lower() == "content-type":
                    return str(item)
        return value

    def on_problem(exc: ApiProblem) -> Response[str]:
        return _problem_response(exc)

    def on_invalid_request(exc: RequestValidationError) -> Response[str]:
        errors = [
            {
                "path": _issue_path(error.get("loc") or ()),
                "message": str(error.get("msg") or "invalid"),
                "code": f"request.{error.get('type') or 'invalid'}",
            }
            for error in exc.errors()
        ]
        return _problem_response(
            ApiProblem(
                400,
                "bad-request",
                "Bad request",
                "; ".join(f"{e['path']}: {e['message']}" for e in errors) or "invalid request",
                extra={"errors": errors},
            )
        )

    def on_unsupported(exc: RequestUnsupportedContentType) -> Response[str]:
        return _problem_response(
            ApiProblem(415, "unsupported-media-type", "Unsupported media type", str(exc))
        )

    def on_not_found(exc: NotFoundError) -> Response[str]:
        return _problem_response(
            ApiProblem(404, "not-found", "Not found", "no such resource in this API.")
        )

    def on_error(exc: Exception) -> Response[str]:
        request_id = "unknown"
        with contextlib.suppress(Exception):  # the answer must not fail too
            request_id = caller().request_id
        LOGGER.exception("unexpected error (request %s)", request_id)
        return _problem_response(
            ApiProblem(
                500,
                "internal-error",
                "Internal error",
                f"the request could not be completed; quote request id {request_id} "
                "when asking for help.",
            )
        )

    app.exception_handler(ApiProblem)(on_problem)
    app.exception_handler(RequestValidationError)(on_invalid_request)
    app.exception_handler(RequestUnsupportedContentType)(on_unsupported)
    app.exception_handler(Exception)(on_error)
    app.not_found(on_not_found)

    @app.post(
        "/jobs",
        summary="Submit a manifest: validate, apply the policy, check the data, create the job",
        description="The same pipeline as a manifest dropped into the bucket. Sending the "
        "same manifest again answers with its job (created=false). With an Idempotency-Key, "
        "the same key and body replay the first answer; the same key with another body is "
        "a 409.",
        tags=["jobs"],
        operation_id="submitJob",
        responses={
            **_ok(202, SubmitAccepted, "Job created (Location: the job)"),
            **_problems(400, 409, 415, 422, 503),
        },
        openapi_extensions=manifest_request_body(),
    )
    def submit(
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                description="Optional; 1-255 visible ASCII characters, valid for 24 hours.",
                max_length=255,
            ),
        ] = None,
        manifest_name: Annotated[
            str | None,
            Header(alias="X-Manifest-Name", description=MANIFEST_NAME_DOC, max_length=255),
        ] = None,
    ) -> Response[str]:
        media = media_of(content_type())
        answer = jobs().submit(
            body(),
            media,
            caller(),
            idempotency_key=idempotency_key,
            manifest_name=manifest_name,
        )
        return respond(answer)

    @app.post(
        "/jobs/validate",
        summary="Dry run: every error and warning, and the request as it would be sent",
        description="Validates, applies the policy and checks the data (read-only). "
        "Creates nothing; answers 200 whether the manifest is valid or not.",
        tags=["jobs"],
        operation_id="validateManifest",
        responses={
            **_ok(200, DryRunResult, "The verdict"),
            **_problems(400, 415, 503),
        },
        openapi_extensions=manifest_request_body(),
    )
    def validate(
        manifest_name: Annotated[
            str | None,
            Header(alias="X-Manifest-Name", description=MANIFEST_NAME_DOC, max_length=255),
        ] = None,
    ) -> Response[str]:
        media = media_of(content_type())
        return respond(jobs().dry_run(body(), media, manifest_name, caller()))

    @app.get(
        "/jobs",
        summary="List jobs, newest first",
        description="status filters by registry lifecycle (SUBMITTED, CREATED, ...) or by "
        "AutoML job status (InProgress, Completed, ...).",
        tags=["jobs"],
        operation_id="listJobs",
        responses={**_ok(200, JobList, "A page of jobs"), **_problems(400, 503)},
    )
    def list_jobs(
        status: Annotated[StatusFilter | None, Query()] = None,
        problem_type: Annotated[ProblemTypeFilter | None, Query(alias="problemType")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
        next_token: Annotated[str | None, Query(alias="nextToken", max_length=4096)] = None,
    ) -> Response[str]:
        page = jobs().list_jobs(
            status=status,
            problem_type=problem_type,
            limit=limit,
            next_token=next_token,
            base_path=caller().base_path,
        )
        return respond(ApiAnswer(200, page))

    @app.get(
        "/policy",
        summary="The policy the stack applies to every manifest",
        description="Defaults it fills in and guardrails it enforces (both doors and the "
        "dry run); the same document `autopilot-flow validate --policy` reads.",
        tags=["policy"],
        operation_id="getPolicy",
        responses={**_ok(200, PolicyModel, "The policy"), **_problems(503)},
    )
    def get_policy() -> Response[str]:
        return respond(ApiAnswer(200, jobs().policy()))

    @app.get(
        "/jobs/<name>",
        summary="A job: its registry record and its live status",
        tags=["jobs"],
        operation_id="getJob",
        responses={**_ok(200, JobDetail, "The job"), **_problems(404, 503)},
    )
    def get_job(
        name: Annotated[str, PathParam(description="The AutoML job name")],
    ) -> Response[str]:
        return respond(ApiAnswer(200, jobs().get_job(name, caller().base_path)))

    @app.get(
        "/jobs/<name>/candidates",
        summary="The leaderboard: candidates best first by the job's objective",
        tags=["jobs"],
        operation_id="listCandidates",
        responses={**_ok(200, LeaderboardModel, "The leaderboard"), **_problems(400, 404, 503)},
    )
    def candidates(
        name: Annotated[str, PathParam(description="The AutoML job name")],
        top: Annotated[int, Query(ge=1, le=MAX_TOP)] = DEFAULT_TOP,
    ) -> Response[str]:
        return respond(ApiAnswer(200, jobs().candidates(name, top)))

    def review_note() -> str | None:
        raw = body()
        if not raw.strip():
            return None
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        if not isinstance(document, dict) or set(document) - {"note"}:
            raise ApiProblem(
                400,
                "bad-request",
                "Bad request",
                'the body is optional; when sent, it is a JSON object {"note": "text"}.',
            )
        note = document.get("note")
        return None if note is None else note if isinstance(note, str) else str(note)

    def review(name: str, decision: ApprovalStatus) -> Response[str]:
        return respond(jobs().review(name, decision, caller(), review_note()))

    @app.post(
        "/jobs/<name>/approve",
        summary="Approve the job's model package (pending manual approval): it is deployed",
        description="UpdateModelPackage(ModelApprovalStatus=Approved) with the caller and "
        "the note as its ApprovalDescription; SageMaker's Model Package State Change then "
        "starts the deployment (as an approval in Studio would). 409 when the job has no "
        "registered package (no-model-package) or it is not pending (not-pending-approval).",
        tags=["models"],
        operation_id="approveModel",
        responses={
            **_ok(202, ReviewAnswer, "Approved: the deployment follows (Location: the job)"),
            **_problems(400, 404, 409, 503, owned=True),
        },
        openapi_extensions=review_request_body(),
    )
    def approve(
        name: Annotated[str, PathParam(description="The AutoML job name")],
    ) -> Response[str]:
        return review(name, ApprovalStatus.APPROVED)

    @app.post(
        "/jobs/<name>/reject",
        summary="Reject the job's model package (pending manual approval): never deployed",
        description="UpdateModelPackage(ModelApprovalStatus=Rejected) with the caller and the "
        "note as its ApprovalDescription; the stack then publishes AutoML Model Rejected. "
        "409 as for approve.",
        tags=["models"],
        operation_id="rejectModel",
        responses={
            **_ok(200, ReviewAnswer, "Rejected (Location: the job)"),
            **_problems(400, 404, 409, 503, owned=True),
        },
        openapi_extensions=review_request_body(),
    )
    def reject(name: Annotated[str, PathParam(description="The AutoML job name")]) -> Response[str]:
        return review(name, ApprovalStatus.REJECTED)

    @app.get(
        "/endpoints",
        summary="Every endpoint this stack manages: live job, model package, score, strategy",
        description="From the endpoint records FinalizeJob keeps; fields a record does not "
        "hold are null.",
        tags=["endpoints"],
        operation_id="listEndpoints",
        responses={**_ok(200, EndpointList, "The endpoints, by name"), **_problems(503)},
    )
    def list_endpoints() -> Response[str]:
        return respond(ApiAnswer(200, jobs().list_endpoints(caller().base_path)))

    @app.post(
        "/endpoints/<name>/rollback",
        summary="Put the endpoint's previous live model back (FinalizeJob, deploy mode)",
        description="Only an endpoint this stack created (403 endpoint-not-owned), with a "
        "previous live model (409 no-previous-model), not changing now (409 endpoint-busy), "
        "in service (409 endpoint-not-in-service) and not deleted (409 endpoint-deleted). "
        "The rollout is the manifest's, as for any deployment.",
        tags=["endpoints"],
        operation_id="rollbackEndpoint",
        responses={
            **_ok(202, RollbackAccepted, "Rollback started"),
            **_problems(404, 409, 503, owned=True),
        },
    )
    def rollback(
        name: Annotated[str, PathParam(description="The endpoint name")],
    ) -> Response[str]:
        return respond(jobs().rollback(name, caller()))

    @app.delete(
        "/endpoints/<name>",
        summary="Delete an endpoint this stack created (undeploy), never another",
        description="DeleteEndpoint (its configs and models stay: they cost nothing) and the "
        "endpoint's record marked. 403 endpoint-not-owned for an endpoint this stack did not "
        "create; 409 endpoint-busy while it changes.",
        tags=["endpoints"],
        operation_id="undeployEndpoint",
        responses={
            **_ok(202, UndeployAnswer, "Deleting"),
            **_ok(200, UndeployAnswer, "Already deleted"),
            **_problems(404, 409, 503, owned=True),
        },
    )
    def undeploy(
        name: Annotated[str, PathParam(description="The endpoint name")],
    ) -> Response[str]:
        return respond(jobs().undeploy(name, caller()))

    @app.post(
        "/jobs/<name>/stop",
        summary="Stop a running job",
        description="409 when the job has already ended (or was not created by this service).",
        tags=["jobs"],
        operation_id="stopJob",
        responses={
            **_ok(202, StopAccepted, "Stopping (Location: the job)"),
            **_problems(404, 409, 503),
        },
    )
    def stop(name: Annotated[str, PathParam(description="The AutoML job name")]) -> Response[str]:
        return respond(jobs().stop(name, caller().base_path))

    return app


def openapi_document(app: APIGatewayRestResolver | None = None) -> dict[str, Any]:
    app = app or build_resolver(None)
    text = app.get_openapi_json_schema(
        title="Autopilot Flow",
        version=__version__,
        description="Submit, dry-run, list, follow, rank and stop SageMaker Autopilot "
        "(CreateAutoMLJobV2) jobs; approve or reject their models; list, roll back and "
        "undeploy the endpoints this stack manages. Every route requires AWS IAM (SigV4) "
        "authentication. Errors are RFC 9457 problems (application/problem+json).",
        security_schemes={
            SIGV4: {  # type: ignore[dict-item]
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "AWS Signature Version 4 (execute-api), e.g. botocore SigV4Auth",
                "x-amazon-apigateway-authtype": "awsSigv4",
            }
        },
        security=[{SIGV4: []}],
    )
    document: dict[str, Any] = json.loads(text)
    # Request validation errors are answered 400 with a problem (on_invalid_request), so the
    # 422 "HTTPValidationError" that Powertools documents for every route is never sent.
    for operations in document["paths"].values():
        for operation in operations.values():
            response = operation["responses"].get("422", {})
            if "HTTPValidationError" in json.dumps(response):
                del operation["responses"]["422"]
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)
    # The manifest's own JSON Schema (``autopilot-flow schema``), once, for both POST bodies.
    schemas["Manifest"] = {
        k: v for k, v in manifest_schema().items() if k not in ("$schema", "$id")
    }
    return document


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--write"]:
        OPENAPI_FILE.write_text(openapi_text(), encoding="utf-8")
        return 0
    if args == ["--check"]:
        current = OPENAPI_FILE.read_text(encoding="utf-8") if OPENAPI_FILE.exists() else ""
        return 0 if current == openapi_text() else 1
    sys.stdout.write(openapi_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
