"""The ingest path: a manifest object in S3 becomes exactly one SageMaker job, or a report.

read (<= 1 MiB, never more) -> parse -> validate -> policy -> data preflight -> record ->
create -> events -> receipt. The uploaded manifest is never changed or deleted; the answer
goes next to it: ``receipts/<key>.json`` or ``rejections/<key>.json`` (``<key>`` is the
manifest's key below ``manifests/``).

One answer per object version (``VersionedAnswers``): those two paths hold the answer for the
key's newest version, by S3's version order (not by the order in which versions happen to be
processed), and only one of them exists; an older version's answer lives at
``receipts/<key>.versions/<versionId>.json`` (or ``rejections/...``), where it is moved when a
newer version is answered. An identical re-upload (same key, same bytes) is the same job: its
receipt names the job and the version that created it (``duplicateOf``). When the AutoML quota
stays full through every attempt, the answer is a ``capacity.exhausted`` rejection and the
job name is released.

Both doors share one pipeline (``Ingestor.process``): the S3 door (``ManifestObject``, read
from the bucket) and the HTTP API's ``POST /jobs`` (``ApiSubmission``, the request body).
A source says who it is (``identity``, the registry's ``sourceId``), how it is described in
records and events (``describe()``), which name a derived job name starts from, and where
its answer is filed: an API submission's receipt or rejection report goes to the manifests
bucket under ``receipts/_api/<request id>.json`` / ``rejections/_api/<request id>.json``, so
every Submitted/Rejected event points at a stored answer whichever door was used.

Exactly once: the same object version creates at most one job however often it is
delivered. Powertools idempotency (keyed on the object identity) stops concurrent duplicate
deliveries; the registry's conditional writes make it hold forever; a ``ResourceInUse``
for a job this stack created from the same manifest is success.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any, Protocol
from urllib.parse import quote, unquote_plus

from botocore.exceptions import ClientError

from autopilot_flow import events as ev
from autopilot_flow.issues import Issue, fit_issues
from autopilot_flow.manifest import MAX_MANIFEST_BYTES, derive_job_name
from autopilot_flow.policy import Policy
from autopilot_flow.registry import CREATED as CREATED_STATUS
from autopilot_flow.registry import ClaimState, JobItem, Registry
from autopilot_flow.rules import RuleContext
from autopilot_flow.sagemaker import (
    CapacityExceeded,
    JobNameInUse,
    RequestRejected,
    SageMakerJobs,
)
from autopilot_flow.validate import ValidationResult, validate_bytes
from autopilot_flow.vocabulary import IngestOutcome

LOGGER = logging.getLogger(__name__)

MANIFEST_PREFIX = "manifests/"
MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")
RECEIPTS_PREFIX = "receipts/"
CANCELLED = "cancelled"  # the error code of a submission stopped while waiting for capacity
REJECTIONS_PREFIX = "rejections/"
ANSWER_PREFIXES = (RECEIPTS_PREFIX, REJECTIONS_PREFIX)
VERSIONS_INFIX = ".versions/"
MAX_KEY_BYTES = 1024
CAPACITY_EXHAUSTED = "capacity.exhausted"
# What a rejection's registry item, event and answer list (see Ingestor._reject).
LISTED_ERRORS_BYTES = 64 * 1024
LISTED_WARNINGS_BYTES = 16 * 1024

# The outcome words (autopilot_flow.vocabulary), under the names callers use.
CREATED = IngestOutcome.CREATED
ALREADY_CREATED = IngestOutcome.ALREADY_CREATED
REJECTED = IngestOutcome.REJECTED
IGNORED = IngestOutcome.IGNORED


@dataclass(frozen=True)
class ManifestObject:
    """One object version named by an S3 notification."""

    bucket: str
    key: str
    version_id: str | None = None
    sequencer: str | None = None
    size: int | None = None

    @property
    def identity(self) -> str:
        """What makes two deliveries "the same manifest": bucket, key and version."""
        return f"s3://{self.bucket}/{self.key}#{self.version_id or self.sequencer or ''}"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def describe(self) -> dict[str, Any]:
        return {
            "type": "s3",
            "bucket": self.bucket,
            "key": self.key,
            "versionId": self.version_id,
        }

    @property
    def source_name(self) -> str:
        """The name a derived job name starts from (and that tells JSON from YAML)."""
        return self.key

    def answer_location(self, prefix: str) -> str:
        return answer_key(prefix, self.key)


API_ANSWERS = "_api/"
MEDIA_SUFFIXES = {"json": ".json", "yaml": ".yaml"}


@dataclass(frozen=True)
class ApiSubmission:
    """One ``POST /jobs`` request body: the HTTP door into the same pipeline.

    ``source_id`` is the registry's ``sourceId``: the API layer derives it from the caller and
    the body (see ``jobs.submission_source_id``), so resubmitting the same manifest finds
    its job instead of creating another. ``bucket`` is where the answer is filed."""

    bucket: str
    request_id: str
    source_id: str
    media: str = "json"  # "json" or "yaml": how the body is parsed
    manifest_name: str | None = None  # e.g. the CLI's file name, for derived job names

    @property
    def identity(self) -> str:
        return self.source_id

    def describe(self) -> dict[str, Any]:
        return {"type": "api", "requestId": self.request_id}

    @property
    def source_name(self) -> str:
        stem = PurePosixPath(self.manifest_name or "job").name
        for suffix in MANIFEST_SUFFIXES:
            if stem.lower().endswith(suffix):
                stem = stem[: -len(suffix)]
        return f"{stem or 'job'}{MEDIA_SUFFIXES.get(self.media, '.json')}"

    def answer_location(self, prefix: str) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.request_id)
        return f"{prefix}{API_ANSWERS}{safe[:200] or 'request'}.json"


class Source(Protocol):
    """What the pipeline needs to know about where a manifest came from."""

    @property
    def bucket(self) -> str: ...

    @property
    def identity(self) -> str: ...

    @property
    def source_name(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...

    def answer_location(self, prefix: str) -> str: ...


def parse_notification(body: str) -> list[ManifestObject]:
    """The manifest objects an S3 event notification (an SQS message body) names.

    S3's ``s3:TestEvent`` names none. Keys arrive URL-encoded (``quote_plus``).
    """
    message = json.loads(body)
    if not isinstance(message, dict) or message.get("Event") == "s3:TestEvent":
        return []
    found = []
    for record in message.get("Records", []):
        s3 = record.get("s3", {})
        obj = s3.get("object", {})
        found.append(
            ManifestObject(
                bucket=s3.get("bucket", {}).get("name", ""),
                key=unquote_plus(obj.get("key", "")),
                version_id=obj.get("versionId") or None,
                sequencer=obj.get("sequencer") or None,
                size=obj.get("size"),
            )
        )
    return found


def answer_key(prefix: str, manifest_key: str, version_id: str | None = None) -> str:
    """``receipts/<key below manifests/>.json``, or with a ``version_id`` that version's own
    ``receipts/<key below manifests/>.versions/<versionId>.json``; an over-long key is replaced
    by its hash. Version ids are percent-encoded: S3's may hold ``/`` and ``+``."""
    relative = (
        manifest_key[len(MANIFEST_PREFIX) :]
        if manifest_key.startswith(MANIFEST_PREFIX)
        else manifest_key
    )
    tail = ".json" if version_id is None else f"{VERSIONS_INFIX}{quote(version_id, safe='')}.json"
    key = f"{prefix}{relative}{tail}"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        digest = hashlib.sha256(manifest_key.encode("utf-8")).hexdigest()
        key = f"{prefix}_long-keys/{digest}{tail}"
    return key


def _whole_size(response: dict[str, Any]) -> int:
    """The whole object's size from a ranged GET's answer: ``Content-Range: bytes 0-N/SIZE``
    (or, had S3 sent the whole object, its length)."""
    whole = str(response.get("ContentRange") or "").rpartition("/")[2]
    return int(whole) if whole.isdigit() else int(response.get("ContentLength") or 0)


# S3's answers to a conditional write or delete that lost a race (or found no object).
_LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404", "412")
FILING_ATTEMPTS = 4


class _LostRace(Exception):
    """Another answer for the same key was written or removed meanwhile: look again."""


@dataclass
class VersionedAnswers:
    """Files the answers of one manifest key of a versioned bucket.

    ``receipts/<key>.json`` / ``rejections/<key>.json`` hold the answer for the key's newest
    version and only one of the two exists; every other version's answer is at its own
    ``.versions/<versionId>.json`` path. Newest is S3's order (the key's current version),
    never the order of processing: notifications for two versions arrive in any order, or
    at once. Every write and delete of the two shared paths is conditional on what was read
    (If-Match / If-None-Match on the ETag), so a concurrent answer is never lost: the loser
    looks again. An answer that is replaced is first kept at its own version's path.
    """

    s3: Any
    bucket: str
    key: str

    def file(self, prefix: str, version_id: str, body: bytes) -> str:
        """Write this version's answer where it belongs; returns its key."""
        for _ in range(FILING_ATTEMPTS):
            newest = self.newest_version()
            if newest not in (None, version_id):
                # A late-processed older version: its answer goes to its own path, and the
                # shared paths are left to the newest (an older answer there is moved away).
                own = self._keep(prefix, version_id, body)
                self._settle(str(newest))
                return own
            try:
                self._take_latest(prefix, version_id, body)
            except _LostRace:
                continue
            newest = self.newest_version()
            if newest in (None, version_id):
                return answer_key(prefix, self.key)
            # A newer version was uploaded between the look and the write: this answer is an
            # older one after all. Keep it at its own path and give the shared paths back.
            own = self._keep(prefix, version_id, body)
            self._settle(str(newest))
            return own
        # Still racing after several looks: this version's own path is always right.
        return self._keep(prefix, version_id, body)

    def newest_version(self) -> str | None:
        """The key's current version (None: none, the newest is a delete marker). A HEAD
        without a version id names it: one cheap call, and it needs no listing of keys that
        may hold characters XML cannot carry."""
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise
        version = head.get("VersionId")
        return str(version) if version and version != "null" else None

    def _keep(self, prefix: str, version_id: str, body: bytes) -> str:
        key = answer_key(prefix, self.key, version_id)
        self._put(key, body)
        return key

    def _take_latest(self, prefix: str, version_id: str, body: bytes) -> None:
        """Put this answer at the shared path of its kind and remove the other kind's, keeping
        any other version's answer found there. Raises _LostRace when one was changed."""
        held = {kind: self._get(answer_key(kind, self.key)) for kind in ANSWER_PREFIXES}
        for kind, found in held.items():
            if found is not None and found[2] not in (None, version_id):
                self._keep(kind, str(found[2]), found[0])
        mine = held[prefix]
        self._put(answer_key(prefix, self.key), body, etag=mine[1] if mine else None)
        for kind, found in held.items():
            if kind != prefix and found is not None:
                self._delete(answer_key(kind, self.key), found[1])

    def _settle(self, newest: str) -> None:
        """Leave the shared paths to ``newest``: remove (after keeping) any other version's
        answer there, and put the newest's there if it has one already (else its own
        processing will)."""
        holds_newest = False
        for kind in ANSWER_PREFIXES:
            found = self._get(answer_key(kind, self.key))
            if found is None:
                continue
            if found[2] == newest:
                holds_newest = True
                continue
            if found[2] is not None:
                self._keep(kind, str(found[2]), found[0])
            try:
                self._delete(answer_key(kind, self.key), found[1])
            except _LostRace:
                holds_newest = True  # rewritten meanwhile: by the newest's own processing
        if holds_newest:
            return
        for kind in ANSWER_PREFIXES:
            found = self._get(answer_key(kind, self.key, newest))
            if found is not None:
                # LostRace: the newest's own processing got there first.
                with contextlib.suppress(_LostRace):
                    self._put(answer_key(kind, self.key), found[0], etag=None)
                return

    def _get(self, key: str) -> tuple[bytes, str, str | None] | None:
        """(body, ETag, the version it answers) of an answer, or None when there is none."""
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        body: bytes = response["Body"].read()
        try:
            manifest = json.loads(body).get("manifest") or {}
            answered = manifest.get("versionId")
        except (ValueError, AttributeError):
            answered = None
        return body, str(response["ETag"]), str(answered) if answered else None

    def _put(self, key: str, body: bytes, etag: str | bool | None = False) -> None:
        """``etag``: False writes unconditionally; None only if there is no object yet; an
        ETag only if the object is still that one."""
        kwargs: dict[str, Any] = {}
        if etag is None:
            kwargs["IfNoneMatch"] = "*"
        elif etag:
            kwargs["IfMatch"] = etag
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                **kwargs,
            )
        except ClientError as exc:
            if kwargs and exc.response.get("Error", {}).get("Code") in _LOST_RACE:
                raise _LostRace(key) from None
            raise

    def _delete(self, key: str, etag: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _LOST_RACE:
                raise _LostRace(key) from None
            raise


@dataclass
class Outcome:
    status: str
    job_name: str | None = None
    job_arn: str | None = None
    answer: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    defaults_applied: list[str] = field(default_factory=list)
    error_count: int = 0  # all errors of a rejection; ``errors`` lists those that fit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class WaitingForCapacity(Exception):
    """The account's AutoML quota is full: keep the message queued and try again later."""

    def __init__(self, job_name: str, message: str) -> None:
        super().__init__(f"{job_name}: waiting for capacity ({message})")
        self.job_name = job_name


PreflightRunner = Callable[[Any, dict[str, Any], Policy], tuple[list[Issue], list[Issue]]]


class PreflightUnavailable(Exception):
    """S3 or SageMaker could not be asked (throttled, unreachable): retry later, do not reject."""


def default_preflight(
    s3: Any, request: dict[str, Any], policy: Policy
) -> tuple[list[Issue], list[Issue]]:
    from autopilot_flow.preflight import run_preflight  # noqa: PLC0415 - only when enabled

    result = run_preflight(s3, request, allowed_s3_prefixes=policy.allowed_s3_prefixes())
    if result.retryable:
        raise PreflightUnavailable("; ".join(i.message for i in result.errors))
    return list(result.errors), list(result.warnings)


@dataclass
class Ingestor:
    """Turns one manifest object into one job (or one rejection)."""

    s3: Any
    jobs: SageMakerJobs
    registry: Registry
    publisher: ev.EventPublisher
    policy: Policy
    preflight: PreflightRunner | None = default_preflight

    # --- the pipeline --------------------------------------------------------------------

    def ingest(self, obj: ManifestObject, *, last_attempt: bool = False) -> Outcome:
        """The S3 door: read the object, then the shared pipeline."""
        if not obj.key.startswith(MANIFEST_PREFIX) or not obj.key.lower().endswith(
            MANIFEST_SUFFIXES
        ):
            return Outcome(IGNORED)
        data, problem = self._read(obj)
        if problem is not None:
            return self._reject(obj, None, [problem], [])
        return self.process(obj, data, last_attempt=last_attempt)

    def check(self, data: bytes, source_name: str | None) -> ValidationResult:
        """Validate, apply the policy and run the data preflight; creates nothing (the
        API's dry run is exactly this)."""
        result = validate_bytes(data, source_name, self.policy)
        if result.valid and result.request is not None:
            from autopilot_flow import preflight as pf  # noqa: PLC0415

            if self.preflight is not None:
                errors, warnings = self.preflight(self.s3, result.request, self.policy)
            else:  # nobody reads manifest files: refused where the policy limits S3
                prefixes = self.policy.allowed_s3_prefixes()
                errors, warnings = pf.manifest_files_not_read(result.request, prefixes), []
            # Never deploy over someone else's endpoint.
            deployment = result.manifest.deployment if result.manifest else None
            owner = pf.check_deployment_endpoints(
                self.jobs.client, self.jobs.backoff, self.registry, result.request, deployment
            )
            if owner.retryable:
                raise PreflightUnavailable("; ".join(i.message for i in owner.errors))
            errors = [*errors, *owner.errors]
            result.errors.extend(errors)
            result.warnings.extend(warnings)
        return result

    def process(self, source: Source, data: bytes, *, last_attempt: bool = False) -> Outcome:
        """The pipeline both doors share: check -> record -> create -> events -> answer.
        Raises WaitingForCapacity (quota full) and PreflightUnavailable (retry later)."""
        result = self.check(data, source.source_name)
        # An invalid name cannot key the registry: fall back to the derived one.
        name_ok = not any(issue.loc == ("AutoMLJobName",) for issue in result.errors)
        job_name = (result.job_name if name_ok else None) or derive_job_name(
            source.source_name, data
        )
        if not result.valid or result.request is None:
            return self._reject(source, job_name, result.errors, result.warnings)
        digest = hashlib.sha256(data).hexdigest()
        return self._submit(source, job_name, result, digest, last_attempt=last_attempt)

    def _read(self, obj: ManifestObject) -> tuple[bytes, Issue | None]:
        """The manifest's bytes, never more than the limit (a larger object is not read).

        One ranged GET: its Content-Range names the object's whole size, so a larger object
        is refused without reading its body (a HEAD first would be a second request)."""
        kwargs: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            kwargs["VersionId"] = obj.version_id
        try:
            response = self.s3.get_object(**kwargs, Range=f"bytes=0-{MAX_MANIFEST_BYTES}")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "InvalidRange":
                return b"", None  # S3's answer to a range of an empty object: nothing to read
            if code in ("404", "NoSuchKey", "NoSuchVersion", "403", "AccessDenied"):
                return b"", Issue(
                    (), "io.unreadable", f"cannot read {obj.uri} ({code}); was it deleted?"
                )
            raise
        body = response["Body"]
        size = _whole_size(response)
        if size > MAX_MANIFEST_BYTES:
            body.close()
            return b"", Issue(
                (),
                "parse.too_large",
                f"the manifest is {size:,} bytes; the limit is {MAX_MANIFEST_BYTES:,} "
                "(1 MiB). It was not read.",
            )
        data: bytes = body.read(MAX_MANIFEST_BYTES + 1)
        return data, None

    def _submit(
        self,
        obj: Source,
        job_name: str,
        result: ValidationResult,
        digest: str,
        *,
        last_attempt: bool,
    ) -> Outcome:
        request = result.request
        assert request is not None
        problem_type = RuleContext(request=request).problem
        warnings = [w.to_dict() for w in result.warnings]
        claim = self.registry.claim(
            job_name=job_name,
            source_id=obj.identity,
            source=obj.describe(),
            request=request,
            problem_type=problem_type,
            defaults_applied=result.defaults_applied,
            warnings=warnings,
            deployment=result.manifest.deployment if result.manifest else None,
            notifications=result.manifest.notifications if result.manifest else None,
            content_digest=digest,
            model_registry=result.manifest.registry if result.manifest else None,
        )
        if claim.state == ClaimState.OTHER_SOURCE and _same_manifest(obj, digest, claim.item):
            return self._duplicate(obj, job_name, claim.item, result, last_attempt)
        if claim.state == ClaimState.OTHER_SOURCE:
            return self._reject(
                obj, job_name, [name_taken_issue(job_name, claim.item)], result.warnings
            )
        if claim.state == ClaimState.SAME_SOURCE and claim.item.get("status") == CREATED_STATUS:
            # A redelivery of a manifest that already became a job: answer again, create nothing.
            arn = str(claim.item.get("jobArn", ""))
            receipt = self._write_receipt(obj, job_name, arn, request, result)
            return Outcome(
                ALREADY_CREATED,
                job_name,
                arn,
                receipt,
                warnings=warnings,
                defaults_applied=result.defaults_applied,
            )
        if claim.state == ClaimState.SAME_SOURCE and claim.item.get("cancelRequested"):
            # Stopped while it waited for capacity: answer it, create nothing, free the name.
            cancelled = Issue(
                (),
                CANCELLED,
                f"the submission of {job_name!r} was cancelled (stop) while it waited for "
                "AutoML capacity; no job was created and the name is free again.",
            )
            return self._reject(obj, job_name, [cancelled], result.warnings, registered=True)
        try:
            arn = self.jobs.create(request)
        except JobNameInUse:
            # The registry is written before the job is created, so a name in use that the
            # registry already held for this manifest is our own earlier attempt (which died
            # before recording the ARN). Otherwise someone else owns the name, for good:
            # SageMaker never frees a job name.
            arn = self._existing_arn(job_name) if claim.state == ClaimState.SAME_SOURCE else ""
            if not arn:
                return self._reject(
                    obj,
                    job_name,
                    [name_taken_issue(job_name, None)],
                    result.warnings,
                    registered=True,
                )
        except CapacityExceeded as exc:
            return self._wait_for_capacity(obj, job_name, str(exc), last_attempt)
        except RequestRejected as exc:
            issue = Issue((), "sagemaker.rejected", f"SageMaker refused the request: {exc}")
            return self._reject(obj, job_name, [issue], result.warnings, registered=True)
        self.registry.mark_created(job_name, obj.identity, arn)
        receipt = self._write_receipt(obj, job_name, arn, request, result)
        self.publisher.publish(
            ev.JOB_SUBMITTED,
            {
                "jobName": job_name,
                "jobArn": arn,
                "problemType": problem_type,
                "source": obj.describe(),
                "receipt": f"s3://{obj.bucket}/{receipt}",
                "defaultsApplied": result.defaults_applied,
                "warnings": warnings,
            },
            [arn],
        )
        return Outcome(
            CREATED,
            job_name,
            arn,
            receipt,
            warnings=warnings,
            defaults_applied=result.defaults_applied,
        )

    def _existing_arn(self, job_name: str) -> str:
        try:
            return str(self.jobs.describe(job_name)["AutoMLJobArn"])
        except ClientError:
            return ""

    def _duplicate(
        self,
        obj: Source,
        job_name: str,
        original: JobItem,
        result: ValidationResult,
        last_attempt: bool,
    ) -> Outcome:
        """An identical re-upload of the same key: the same job. Its answer is a receipt that
        names the version that created it (``duplicateOf``), like the API's ``created:
        false``; it creates nothing and publishes nothing. While that version is still on its
        way (claimed, or waiting for capacity) this one waits too."""
        request = result.request
        assert request is not None
        warnings = [w.to_dict() for w in result.warnings]
        if original.get("status") == CREATED_STATUS:
            arn = str(original.get("jobArn", ""))
            receipt = self._write_receipt(
                obj, job_name, arn, request, result, duplicate_of=original.get("source")
            )
            return Outcome(
                ALREADY_CREATED,
                job_name,
                arn,
                receipt,
                warnings=warnings,
                defaults_applied=result.defaults_applied,
            )
        version = (original.get("source") or {}).get("versionId")
        reason = (
            f"an identical version ({version}) of this manifest holds the job name "
            f"{job_name!r} and has not become a job yet"
        )
        if not last_attempt:
            raise WaitingForCapacity(job_name, reason)
        # Not the registry's record to change: it belongs to the identical version.
        issue = _capacity_issue(
            f"{reason}, and this version was not submitted. That version's answer "
            "says what became of it; if it was refused, upload the manifest again."
        )
        return self._reject(obj, job_name, [issue], result.warnings, record=False)

    def _wait_for_capacity(
        self, obj: Source, job_name: str, reason: str, last_attempt: bool
    ) -> Outcome:
        self.registry.mark_waiting(job_name, obj.identity, reason)
        if last_attempt:
            return self._capacity_exhausted(obj, job_name, reason)
        self.publisher.publish(
            ev.JOB_WAITING_FOR_CAPACITY,
            {"jobName": job_name, "source": obj.describe(), "message": reason},
        )
        raise WaitingForCapacity(job_name, reason)

    def _capacity_exhausted(self, obj: Source, job_name: str, reason: str) -> Outcome:
        """The quota stayed full through the last attempt: the manifest is answered (a
        ``capacity.exhausted`` rejection), not left in the dead-letter queue, and the job
        name is released (SUBMISSION_FAILED) so that the manifest can be sent again."""
        issue = _capacity_issue(
            "the account's AutoML job quota stayed full through every attempt, so the job "
            f"{job_name!r} was not created and its name is free again. Upload the manifest "
            "again (or send it to POST /jobs) once running jobs have finished, or ask for a "
            "higher 'Maximum number of concurrent AutoML jobs' quota.",
        )

        def mark(listed: list[dict[str, str]], report: str) -> None:
            self.registry.mark_submission_failed(
                job_name, obj.identity, reason, errors=listed, report=report
            )

        outcome = self._reject(obj, job_name, [issue], [], record=mark)
        self.publisher.publish(
            ev.JOB_SUBMISSION_FAILED,
            {
                "jobName": job_name,
                "source": obj.describe(),
                "reason": "ResourceLimitExceeded",
                "message": reason,
                "deadLetter": False,
                "report": f"s3://{obj.bucket}/{outcome.answer}",
            },
        )
        return outcome

    # --- answers ---------------------------------------------------------------------------

    def _write_receipt(
        self,
        obj: Source,
        job_name: str,
        arn: str,
        request: dict[str, Any],
        result: ValidationResult,
        *,
        duplicate_of: dict[str, Any] | None = None,
    ) -> str:
        receipt = {
            "manifest": obj.describe(),
            "jobName": job_name,
            "jobArn": arn,
            "duplicateOf": duplicate_of,
            "request": request,
            "defaultsApplied": result.defaults_applied,
            "warnings": [w.to_dict() for w in result.warnings],
        }
        return self._file_answer(obj, RECEIPTS_PREFIX, receipt)

    def _reject(
        self,
        obj: Source,
        job_name: str | None,
        errors: list[Issue],
        warnings: list[Issue],
        *,
        registered: bool = False,
        record: bool | Callable[[list[dict[str, str]], str], None] = True,
    ) -> Outcome:
        """``registered``: the registry item is this source's claim; ``record``: False leaves
        the registry alone, a function records the rejection its own way."""
        error_dicts = [e.to_dict() for e in errors]
        warning_dicts = [w.to_dict() for w in warnings]
        report = {
            "manifest": obj.describe(),
            "jobName": job_name,
            "valid": False,
            "errors": error_dicts,
            "warnings": warning_dicts,
        }
        key = self._file_answer(obj, REJECTIONS_PREFIX, report)
        # The report has them all; the registry item, the event and the answer (an
        # idempotency record, an API response) list what fits within AWS's size limits.
        listed = fit_issues(error_dicts, LISTED_ERRORS_BYTES)
        listed_warnings = fit_issues(warning_dicts, LISTED_WARNINGS_BYTES)
        if callable(record):
            record(listed, f"s3://{obj.bucket}/{key}")
        elif job_name is not None and record:
            if registered:
                self.registry.mark_rejected(
                    job_name, obj.identity, listed, f"s3://{obj.bucket}/{key}"
                )
            else:
                self.registry.record_rejection(
                    job_name=job_name,
                    source_id=obj.identity,
                    source=obj.describe(),
                    errors=listed,
                    report=f"s3://{obj.bucket}/{key}",
                )
        self.publisher.publish(
            ev.JOB_REJECTED,
            {
                "jobName": job_name,
                "source": obj.describe(),
                "errors": listed,
                "warnings": listed_warnings,
                "report": f"s3://{obj.bucket}/{key}",
            },
        )
        return Outcome(
            REJECTED, job_name, None, key, listed, listed_warnings, error_count=len(error_dicts)
        )

    def _file_answer(self, obj: Source, prefix: str, document: dict[str, Any]) -> str:
        """Write a receipt or rejection where it belongs; returns its key. A manifest version
        of a versioned bucket goes through ``VersionedAnswers``; an API request's answer and
        an unversioned object's go to their one path."""
        body = json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")
        if isinstance(obj, ManifestObject) and obj.version_id:
            return VersionedAnswers(self.s3, obj.bucket, obj.key).file(prefix, obj.version_id, body)
        key = obj.answer_location(prefix)
        self.s3.put_object(Bucket=obj.bucket, Key=key, Body=body, ContentType="application/json")
        return key


def _same_manifest(obj: Source, digest: str, item: JobItem) -> bool:
    """Whether the registry item came from another version of the same key with the same
    bytes (an identical re-upload)."""
    source = item.get("source") or {}
    return (
        isinstance(obj, ManifestObject)
        and source.get("type") == "s3"
        and source.get("bucket") == obj.bucket
        and source.get("key") == obj.key
        and item.get("contentDigest") == digest
    )


def _capacity_issue(message: str) -> Issue:
    return Issue((), CAPACITY_EXHAUSTED, message)


def name_taken_issue(job_name: str, item: JobItem | None) -> Issue:
    if item and item.get("source"):
        source = item["source"]
        if source.get("type") == "api":
            where = f"the API request {source.get('requestId')}"
        else:
            where = f"the manifest s3://{source.get('bucket')}/{source.get('key')}"
    else:
        where = "a job this stack did not create from this manifest"
    return Issue(
        ("AutoMLJobName",),
        "job_name.taken",
        f"the job name {job_name!r} is already used by {where}; AutoML job names are unique "
        "per account (ignoring case) and can never be reused. Choose another name, or omit "
        "AutoMLJobName to derive one from the file name.",
    )
