"""Data preflight: check the data in S3 before SageMaker is called.

Autopilot looks at the data only in its ``AnalyzingData`` step, ten minutes or more after
``CreateAutoMLJobV2`` was accepted; a missing bucket, an empty prefix or a misspelt target
column then costs a job name (names are never reusable) and a long wait. The preflight runs
after validation and policy and reads as little as possible: one ListObjectsV2 page per
prefix, the header row of the first data object through a ranged GET, a few bytes of an
image, the last four bytes of a Parquet file. Nothing is ever downloaded whole.

``run_preflight`` never raises for data problems: every S3 error becomes an ``Issue``. Errors
that a retry may cure (throttling, S3 unavailable, no network) carry the code
``preflight.s3_unavailable``; ``PreflightResult.retryable`` says whether one occurred.

The preflight runs with the caller's credentials, not with the job's ``RoleArn``: "access
denied" means the flow itself cannot read the data.

Given the policy's allowed S3 prefixes, the preflight also checks the locations a job will read
that the request does not spell out: the ``prefix`` (with its keys) of a ManifestFile and the
``*-ref`` attributes (``source-ref``) of an AugmentedManifestFile's lines. It reads at most
``MAX_LOCATION_SCAN_BYTES`` of such a file and ``MAX_LOCATION_LINES`` lines; what lies beyond
cannot be checked, and the manifest is then refused rather than let through unchecked.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from autopilot_flow import problem_types as pt
from autopilot_flow.deploy_targets import auto_mode_hint
from autopilot_flow.issues import Issue, Loc, format_path, sort_in_document_order
from autopilot_flow.policy import s3_allowed
from autopilot_flow.sagemaker import THROTTLING_CODES, Backoff, error_code
from autopilot_flow.structure import suggest

PROBLEM_CONFIG: Final = "AutoMLProblemTypeConfig"
CHANNELS: Final = "AutoMLJobInputDataConfig"

# Every code the preflight reports, with what it means (errors unless marked "warning").
CODES: Final[dict[str, str]] = {
    "preflight.bucket_missing": "the bucket of an S3 URI does not exist",
    "preflight.access_denied": "the flow's credentials may not list or read the data",
    "preflight.prefix_empty": "an S3Prefix matches no data object (folder markers ignored)",
    "preflight.prefix_only_empty_objects": "an S3Prefix matches only zero-byte objects",
    "preflight.object_missing": "a manifest, or an object a manifest names, does not exist",
    "preflight.object_empty": "a manifest or data object is zero bytes",
    "preflight.object_archived": "an object is in an archive storage class (restore it)",
    "preflight.s3_error": "S3 refused a request for another reason (the S3 error is quoted)",
    "preflight.s3_unavailable": "S3 could not be reached or throttled us: retry later",
    "preflight.s3_uri": "an S3 URI names an invalid bucket or key",
    "preflight.uri_not_checked": "warning: an https:// URI that is not an S3 address",
    "preflight.manifest_malformed": "a ManifestFile is not [{'prefix': 's3://...'}, 'key', ...]",
    "preflight.augmented_manifest_malformed": "an AugmentedManifestFile is not JSON Lines",
    "preflight.compression_mismatch": "CompressionType disagrees with the bytes (gzip or not)",
    "preflight.gzip_unreadable": "a Gzip object does not decompress",
    "preflight.content_type_mismatch": "a CSV channel holds Parquet data",
    "preflight.csv_no_header": "the first line of a CSV object is empty",
    "preflight.csv_duplicate_columns": "a CSV header names the same column twice",
    "preflight.header_not_checked": "warning: the header row could not be read (too long, "
    "not UTF-8): its columns were not checked",
    "preflight.column_missing": "a column the request names is not in the header",
    "preflight.text_generation_columns": "text generation data must have exactly the columns "
    "input and output",
    "preflight.header_mismatch": "the validation header differs from the training header",
    "preflight.not_images": "image classification data holds no JPEG or PNG image",
    "preflight.image_content_type": "warning: ContentType image/png or image/jpeg disagrees "
    "with the image files",
    "preflight.parquet_magic": "a Parquet object does not end with the magic bytes PAR1",
    "preflight.parquet_not_checked": "warning: Parquet column names are not read: the named "
    "columns were not checked",
    "preflight.feature_specification": "FeatureSpecificationS3Uri is missing or malformed",
    "preflight.feature_specification_not_checked": "warning: the feature specification is "
    "over 1 MiB and was not read",
    "preflight.manifest_location_not_allowed": "a ManifestFile or AugmentedManifestFile names "
    "a location outside the policy's AllowedS3Prefixes",
    "preflight.manifest_locations_not_checked": "the locations inside a ManifestFile or "
    "AugmentedManifestFile could not all be checked against AllowedS3Prefixes (file too large, "
    "or the preflight is off)",
    "preflight.auto_mode": "warning: tabular Mode AUTO with 100 MB of data or more trains "
    "HYPERPARAMETER_TUNING inference pipelines, which serverless endpoints cannot host",
    "preflight.alarm_missing": "an alarm in Deployment.Strategy.AutoRollbackAlarmNames does not "
    "exist in this account and region (a rollout would have nothing to roll it back)",
    "preflight.alarms_unverified": "whether those alarms exist could not be checked (CloudWatch "
    "refused DescribeAlarms): refused, not assumed",
    "preflight.alarms_unavailable": "CloudWatch throttled us or could not be reached while the "
    "alarms were checked: retry later",
}

# What the deployment check reports (``check_deployment_endpoint``).
ENDPOINT_CODES: Final[dict[str, str]] = {
    "deployment.endpoint_not_owned": "an endpoint the job would deploy to (Deployment or "
    "ModelDeployConfig) exists but this stack did not create it: the service never changes an "
    "endpoint it did not create",
    "deployment.endpoint_unverified": "whether such an endpoint belongs to this stack could not "
    "be checked (SageMaker refused to describe it): refused, not assumed",
    "deployment.endpoint_unavailable": "SageMaker throttled or could not be reached while the "
    "endpoint was checked: retry later",
}

# Error codes a retry may cure.
RETRYABLE_CODES: Final = frozenset(
    {
        "preflight.s3_unavailable",
        "deployment.endpoint_unavailable",
        "preflight.alarms_unavailable",
    }
)
# DescribeAlarms takes at most 100 AlarmNames per call.
ALARM_NAMES_PER_CALL: Final = 100

LOGGER = logging.getLogger(__name__)

IMAGE_EXTENSIONS: Final = (".jpg", ".jpeg", ".png")
JPEG_MAGIC: Final = b"\xff\xd8\xff"
PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
GZIP_MAGIC: Final = b"\x1f\x8b"
PARQUET_MAGIC: Final = b"PAR1"
# ListObjectsV2 pages (of up to 1,000 keys) read while looking for a non-empty data object.
MAX_LIST_PAGES: Final = 5
# JSON Lines of an AugmentedManifestFile that are parsed (from the first ranged chunk).
MAX_MANIFEST_LINES: Final = 100
# Columns shown in a message before the list is cut.
MAX_COLUMNS_SHOWN: Final = 20
# A feature specification is read whole, up to this size.
MAX_FEATURE_SPEC_BYTES: Final = 1024 * 1024
FEATURE_DATA_TYPES: Final = ("numeric", "categorical", "text", "datetime")
# With an S3 allow-list, a ManifestFile or AugmentedManifestFile is read up to this size, and
# at most this many of its lines and distinct locations are checked; a larger file is refused.
MAX_LOCATION_SCAN_BYTES: Final = 8 * 1024 * 1024
MAX_LOCATION_LINES: Final = 100_000
MAX_CHECKED_LOCATIONS: Final = 100_000
# Locations quoted in one message.
MAX_LOCATIONS_SHOWN: Final = 3
MANIFEST_DATA_TYPES: Final = ("ManifestFile", "AugmentedManifestFile")

_TRANSIENT_S3_CODES: Final = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        "500",
        "502",
        "503",
        "504",
    }
)
_DENIED_S3_CODES: Final = frozenset(
    {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem", "KMS.AccessDenied"}
)

_S3_URI = re.compile(r"^s3://([^/]+)/?(.*)$", re.DOTALL)
_HTTPS_PATH_STYLE = re.compile(
    r"^https://s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?/([^/]+)/?(.*)$", re.DOTALL
)
_HTTPS_VIRTUAL_HOST = re.compile(
    r"^https://([^/]+?)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?/?(.*)$", re.DOTALL
)


# --- Public API -------------------------------------------------------------------------------


@dataclass
class PreflightResult:
    """What the preflight found (errors block the job) and what it looked at."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # Human lines of what was checked, for a receipt.
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def retryable(self) -> bool:
        """True when an error may go away on retry (throttling, S3 unavailable)."""
        return any(issue.code in RETRYABLE_CODES for issue in self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "checked": list(self.checked),
        }


def run_preflight(
    s3: Any,
    request: dict[str, Any],
    *,
    max_header_bytes: int = 65536,
    allowed_s3_prefixes: list[str] | None = None,
) -> PreflightResult:
    """Check the data a valid ``CreateAutoMLJobV2`` request names, reading as little as possible.

    ``s3`` is a boto3 S3 client; ``max_header_bytes`` bounds every ranged read of a header
    or manifest (and the decompressed bytes of a Gzip object). ``allowed_s3_prefixes`` (the
    policy's, None = any location): the locations inside manifest files must lie under them,
    and manifest files are then read up to ``MAX_LOCATION_SCAN_BYTES``.
    """
    if max_header_bytes < 16:
        raise ValueError(f"max_header_bytes must be at least 16, not {max_header_bytes}")
    pf = _Preflight(s3, request, max_header_bytes, allowed_s3_prefixes)
    pf.run()
    result = pf.result
    result.errors = sort_in_document_order(result.errors, request)
    result.warnings = sort_in_document_order(result.warnings, request)
    return result


# --- Internals: the request seen by the preflight ------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class _Channel:
    index: int
    kind: str  # training | validation
    content_type: str
    compression: str
    data_type: str
    uri: str

    @property
    def loc(self) -> Loc:
        return (CHANNELS, self.index)

    @property
    def uri_loc(self) -> Loc:
        return self.loc + ("DataSource", "S3DataSource", "S3Uri")

    @property
    def is_parquet(self) -> bool:
        return self.content_type == pt.PARQUET


@dataclass(frozen=True)
class _Object:
    """One S3 object the preflight reads; ``origin`` says how it was found, for messages."""

    bucket: str
    key: str
    size: int | None
    origin: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def subject(self) -> str:
        """The object as messages name it: ``s3://bucket/key (how it was found)``."""
        return f"{self.uri} ({self.origin})"


@dataclass
class _Listing:
    first: _Object
    data_keys: list[str]  # non-empty, non-marker keys of the pages read


@dataclass(frozen=True)
class _Header:
    columns: list[str]
    source: str  # "s3://bucket/key" of the object the header was read from
    channel: _Channel


class _Abort(Exception):
    """Stop checking one channel; the reason has already been recorded as an error."""


def parse_s3_uri(uri: str) -> tuple[str, str] | None:
    """(bucket, key) of ``s3://bucket/key`` or of an ``https://`` S3 address; else None."""
    for pattern in (_S3_URI, _HTTPS_PATH_STYLE, _HTTPS_VIRTUAL_HOST):
        match = pattern.match(uri)
        if match:
            bucket, key = match.group(1), match.group(2)
            if pattern is not _S3_URI:
                key = unquote(key)
            return bucket, key
    return None


def _columns_text(columns: list[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:MAX_COLUMNS_SHOWN])
    more = len(columns) - MAX_COLUMNS_SHOWN
    count = f"{len(columns)} column{'s' if len(columns) != 1 else ''}"
    return f"{count}: {shown}" + (f", ... ({more} more)" if more > 0 else "")


def _hint(column: str, columns: list[str]) -> str:
    match = suggest(column, columns)
    if match is None or match == column:
        return ""
    if match.lower() == column.lower():
        return f" Did you mean {match!r}? Column names are case-sensitive."
    return f" Did you mean {match!r}?"


def _show_bytes(data: bytes) -> str:
    return repr(data[:16]) + ("..." if len(data) > 16 else "")


def _total_size(content_range: Any) -> int | None:
    """The object size from a ``Content-Range: bytes 0-99/1234`` header."""
    if isinstance(content_range, str) and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    return None


def _is_image_key(key: str) -> bool:
    return key.lower().endswith(IMAGE_EXTENSIONS)


def _image_kind(data: bytes) -> str | None:
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    if data.startswith(PNG_MAGIC):
        return "PNG"
    return None


# --- Internals: the run -----------------------------------------------------------------------


class _Preflight:
    def __init__(
        self,
        s3: Any,
        request: dict[str, Any],
        max_bytes: int,
        allowed_prefixes: list[str] | None = None,
    ) -> None:
        self.s3 = s3
        self.request = request
        self.max_bytes = max_bytes
        self.allowed_prefixes = allowed_prefixes
        # Manifest files are read further when their locations must be checked.
        self.manifest_bytes = (
            max_bytes if allowed_prefixes is None else max(max_bytes, MAX_LOCATION_SCAN_BYTES)
        )
        self.result = PreflightResult()
        self.problem: str | None = None
        self.config: dict[str, Any] = {}
        chosen = [k for k in _mapping(request.get(PROBLEM_CONFIG)) if k in pt.PROBLEM_CONFIGS]
        if len(chosen) == 1:
            self.problem = chosen[0]
            self.config = _mapping(request[PROBLEM_CONFIG][chosen[0]])
        self.headers: dict[str, _Header] = {}
        # The sizes listed under S3Prefix channels: enough to tell the mode AUTO will pick.
        self.listed_bytes = 0
        self.listing_complete = True

    # reporting

    def error(self, loc: Loc, code: str, message: str) -> None:
        self.result.errors.append(Issue(loc, code, message))

    def warn(self, loc: Loc, code: str, message: str) -> None:
        self.result.warnings.append(Issue(loc, code, message))

    def checked(self, line: str) -> None:
        self.result.checked.append(line)

    @property
    def config_loc(self) -> Loc:
        return (PROBLEM_CONFIG, self.problem or "")

    # the request

    def channels(self) -> Iterator[_Channel]:
        channels = self.request.get(CHANNELS)
        if not isinstance(channels, list):
            return
        default_type = "image/*" if self.problem == pt.IMAGE_CLASSIFICATION else pt.CSV
        for index, channel in enumerate(channels):
            if not isinstance(channel, dict):
                continue
            source = _mapping(_mapping(channel.get("DataSource")).get("S3DataSource"))
            uri = _text(source.get("S3Uri"))
            if uri is None:
                continue
            yield _Channel(
                index=index,
                kind=_text(channel.get("ChannelType")) or "training",
                content_type=_text(channel.get("ContentType")) or default_type,
                compression=_text(channel.get("CompressionType")) or "None",
                data_type=_text(source.get("S3DataType")) or "S3Prefix",
                uri=uri,
            )

    # S3 access: every call goes through these two, which turn failures into issues

    def s3_failure(self, exc: Exception, loc: Loc, subject: str, bucket: str) -> _Abort:
        """Record the error a failed S3 call means for the data, and return ``_Abort``."""
        if isinstance(exc, ParamValidationError):
            self.error(loc, "preflight.s3_uri", f"{subject} is not a valid S3 location: {exc}")
            return _Abort()
        if not isinstance(exc, ClientError):
            self.error(
                loc,
                "preflight.s3_unavailable",
                f"could not reach S3 to read {subject} ({exc}); try again later.",
            )
            return _Abort()
        err = _mapping(exc.response.get("Error"))
        code = str(err.get("Code", ""))
        said = str(err.get("Message", "")) or code
        if code == "NoSuchBucket":
            self.error(
                loc,
                "preflight.bucket_missing",
                f"bucket {bucket!r} does not exist (reading {subject}).",
            )
        elif code in _DENIED_S3_CODES:
            self.error(
                loc,
                "preflight.access_denied",
                f"access denied reading {subject}: the flow's credentials may not "
                f"list/read it (S3 said: {said}). Check the bucket policy, s3:ListBucket and "
                "s3:GetObject permissions, and kms:Decrypt for SSE-KMS objects.",
            )
        elif code in ("NoSuchKey", "404", "NotFound"):
            self.error(loc, "preflight.object_missing", f"{subject} does not exist.")
        elif code == "InvalidObjectState":
            self.error(
                loc,
                "preflight.object_archived",
                f"{subject} is archived (S3 said: {said}); restore it or copy it to a "
                "readable storage class first.",
            )
        elif code in _TRANSIENT_S3_CODES:
            self.error(
                loc,
                "preflight.s3_unavailable",
                f"S3 did not answer for {subject} ({code}: {said}); try again later.",
            )
        else:
            self.error(loc, "preflight.s3_error", f"S3 refused to read {subject}: {code}: {said}")
        return _Abort()

    def get(self, obj: _Object, byte_range: str, *, limit: int, loc: Loc) -> tuple[bytes, int]:
        """A ranged GET of ``obj`` (never more than ``limit`` bytes): (bytes, object size).

        An empty object answers a ranged GET with InvalidRange: that is (b"", 0) here.
        """
        try:
            response = self.s3.get_object(Bucket=obj.bucket, Key=obj.key, Range=byte_range)
            body = response["Body"]
            try:
                data: bytes = body.read(limit)
            finally:
                body.close()
        except ClientError as exc:
            if _mapping(exc.response.get("Error")).get("Code") == "InvalidRange":
                return b"", 0
            raise self.s3_failure(exc, loc, obj.subject, obj.bucket) from None
        except (BotoCoreError, OSError) as exc:
            raise self.s3_failure(exc, loc, obj.subject, obj.bucket) from None
        total = _total_size(response.get("ContentRange"))
        if total is None:
            length = response.get("ContentLength")
            total = length if isinstance(length, int) and len(data) >= length else obj.size
        return data, total if total is not None else len(data) + 1

    def list_page(
        self, bucket: str, prefix: str, token: str | None, *, loc: Loc, what: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        try:
            page: dict[str, Any] = self.s3.list_objects_v2(**kwargs)
        except (ClientError, BotoCoreError, OSError) as exc:
            raise self.s3_failure(exc, loc, what, bucket) from None
        return page

    # the run

    def run(self) -> None:
        parquet: _Channel | None = None
        for channel in self.channels():
            try:
                self.check_channel(channel)
            except _Abort:
                continue
            if channel.is_parquet and parquet is None:
                parquet = channel
        training = self.headers.get("training")
        if training is not None:
            if self.problem == pt.TEXT_GENERATION:
                check_text_generation_columns(self, training)
            else:
                check_named_columns(self, training)
            validation = self.headers.get("validation")
            if validation is not None:
                check_validation_header(self, training, validation)
        check_feature_specification(self, training)
        if parquet is not None and self.problem != pt.IMAGE_CLASSIFICATION:
            warn_parquet_columns_not_checked(self, parquet)
        hint = auto_mode_hint(self.request, self.listed_bytes, self.listing_complete)
        if hint is not None:
            self.result.warnings.append(hint)

    def check_channel(self, channel: _Channel) -> None:
        located = parse_s3_uri(channel.uri)
        if located is None:
            self.warn(
                channel.uri_loc,
                "preflight.uri_not_checked",
                f"{channel.uri} is not an s3:// or Amazon S3 https:// address; its data was "
                "not checked.",
            )
            return
        bucket, key = located
        listing: _Listing | None = None
        first: _Object | None
        if channel.data_type == "ManifestFile":
            first = check_manifest_file(self, channel, bucket, key)
        elif channel.data_type == "AugmentedManifestFile":
            first = check_augmented_manifest(self, channel, bucket, key)
        else:
            listing = check_prefix_has_data(self, channel, bucket, key)
            first = listing.first
        if self.problem == pt.IMAGE_CLASSIFICATION:
            if first is not None:
                check_images(self, channel, first, listing)
        elif first is None:
            return
        elif channel.is_parquet:
            check_parquet_magic(self, channel, first)
        else:
            header = read_csv_header(self, channel, first)
            if header is not None:
                check_header_columns(self, header)
                self.headers.setdefault(channel.kind, header)


# --- The checks -------------------------------------------------------------------------------


def check_prefix_has_data(pf: _Preflight, channel: _Channel, bucket: str, prefix: str) -> _Listing:
    """An S3Prefix must match at least one non-empty object.

    Prevents: a job that fails in AnalyzingData because the bucket is missing, the flow
    cannot list it, or the prefix holds nothing, only "folder" markers or only empty files.
    """
    uri = f"s3://{bucket}/{prefix}"
    what = f"the {channel.kind} prefix {uri}"
    markers: list[str] = []
    empty: list[str] = []
    data: list[dict[str, Any]] = []
    token: str | None = None
    pages = 0
    truncated = False
    while True:
        page = pf.list_page(bucket, prefix, token, loc=channel.uri_loc, what=what)
        pages += 1
        for item in page.get("Contents", []):
            key = str(item.get("Key", ""))
            if key.endswith("/"):
                markers.append(key)
            elif int(item.get("Size", 0)) == 0:
                empty.append(key)
            else:
                data.append(item)
        truncated = bool(page.get("IsTruncated"))
        token = _text(page.get("NextContinuationToken"))
        if data or not truncated or not token or pages >= MAX_LIST_PAGES:
            break
    if not data:
        if empty:
            examples = ", ".join(repr(k) for k in empty[:3])
            scope = f"the first {len(empty) + len(markers):,}" if truncated else "all"
            pf.error(
                channel.uri_loc,
                "preflight.prefix_only_empty_objects",
                f"{scope} objects under {uri} are empty (0 bytes), e.g. {examples}; the "
                f"{channel.kind} data needs at least one non-empty object.",
            )
        elif markers:
            shown = ", ".join(repr(k) for k in markers[:3])
            pf.error(
                channel.uri_loc,
                "preflight.prefix_empty",
                f"no data object under {uri}: it holds only folder marker(s) {shown} (keys "
                "ending in '/'), which are not data.",
            )
        else:
            pf.error(
                channel.uri_loc,
                "preflight.prefix_empty",
                f"no object under {uri}: bucket {bucket!r} exists but nothing matches the "
                f"prefix {prefix!r}.",
            )
        raise _Abort()
    pf.listed_bytes += sum(int(i.get("Size", 0)) for i in data)
    pf.listing_complete = pf.listing_complete and not truncated
    item = data[0]
    first = _Object(
        bucket,
        str(item["Key"]),
        int(item.get("Size", 0)),
        f"the first {channel.kind} object under {uri}",
    )
    more = "+" if truncated else ""
    pf.checked(
        f"{channel.kind} channel {uri}: {len(data)}{more} data object(s) listed; first "
        f"{first.key} ({first.size:,} bytes)"
    )
    return _Listing(first, [str(i["Key"]) for i in data])


def _read_document(
    pf: _Preflight, obj: _Object, loc: Loc, limit: int | None = None
) -> tuple[str, bool]:
    """The first ``limit`` (default ``max_header_bytes``) bytes of a JSON document as text,
    and whether that is all of it."""
    limit = limit or pf.max_bytes
    data, total = pf.get(obj, f"bytes=0-{limit - 1}", limit=limit, loc=loc)
    if not data:
        pf.error(loc, "preflight.object_empty", f"{obj.subject} is empty (0 bytes).")
        raise _Abort()
    complete = total <= len(data)
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    return decoder.decode(data, final=complete), complete


def _manifest_entries(text: str, complete: bool) -> tuple[list[Any], bool]:
    """The entries of a ManifestFile's JSON array: all of them, or the first two if cut.

    Raises ValueError with a message when the text is not such an array.
    """
    if complete:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc})") from None
        if not isinstance(document, list):
            raise ValueError(f"is a JSON {type(document).__name__}, not an array")
        return document, True
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        raise ValueError(f"is not a JSON array: it starts with {text[pos : pos + 20]!r}")
    entries: list[Any] = []
    pos += 1
    while len(entries) < 2:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith("]", pos):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc})") from None
        entries.append(value)
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            raise ValueError(f"is not valid JSON: expected ',' or ']' at char {pos}")
    return entries, False


def check_manifest_file(pf: _Preflight, channel: _Channel, bucket: str, key: str) -> _Object:
    """A ManifestFile must exist and be ``[{"prefix": "s3://..."}, "key", ...]``.

    Prevents: a job that fails because the manifest is missing, is not the documented JSON
    array, lists no object, or lists objects that do not exist (the first entry is read).
    """
    manifest = _Object(bucket, key, None, f"the {channel.kind} ManifestFile")
    text, complete = _read_document(pf, manifest, channel.uri_loc, pf.manifest_bytes)
    expected = '[{"prefix": "s3://bucket/folder/"}, "relative/key-1", ...]'
    try:
        entries, complete = _manifest_entries(text, complete)
        head = entries[0] if entries else None
        prefix = _text(_mapping(head).get("prefix"))
        if prefix is None or not prefix.startswith("s3://"):
            raise ValueError(
                f'must start with {{"prefix": "s3://..."}}, but its first element is '
                f"{json.dumps(head)[:80] if entries else 'missing (empty array)'}"
            )
        if len(entries) < 2:
            raise ValueError("lists no object key after the prefix")
        bad = next((i for i, e in enumerate(entries[1:], 1) if not _text(e)), None)
        if bad is not None:
            raise ValueError(
                f"element [{bad}] is {json.dumps(entries[bad])[:60]}, not a relative key string"
            )
    except ValueError as exc:
        pf.error(
            channel.uri_loc,
            "preflight.manifest_malformed",
            f"ManifestFile {manifest.uri} {exc}; expected {expected}.",
        )
        raise _Abort() from None
    located = parse_s3_uri(prefix + str(entries[1]))
    if located is None:
        pf.error(
            channel.uri_loc,
            "preflight.manifest_malformed",
            f"ManifestFile {manifest.uri}: prefix {prefix!r} is not an s3:// URI.",
        )
        raise _Abort()
    count = f"{len(entries) - 1:,} key(s)" if complete else "keys (first chunk read)"
    pf.checked(f"{channel.kind} ManifestFile {manifest.uri}: prefix {prefix}, {count}")
    if pf.allowed_prefixes is not None:
        check_manifest_file_locations(pf, channel, manifest, prefix, entries, complete=complete)
    return _Object(
        located[0], located[1], None, f"the first object listed in ManifestFile {manifest.uri}"
    )


def check_augmented_manifest(
    pf: _Preflight, channel: _Channel, bucket: str, key: str
) -> _Object | None:
    """An AugmentedManifestFile must exist and be JSON Lines: one JSON object per line.

    Only the first ranged chunk (at most 100 lines) is parsed. For image classification each
    line must have a "source-ref" naming the image. Prevents: a job that fails on a missing
    manifest, a plain JSON array, a truncated or non-object line, or lines without images.
    """
    manifest = _Object(bucket, key, None, f"the {channel.kind} AugmentedManifestFile")
    text, complete = _read_document(pf, manifest, channel.uri_loc, pf.manifest_bytes)
    lines = text.splitlines()
    if not complete and lines:
        lines.pop()  # the last line may be cut by the ranged read
    records: list[dict[str, Any]] = []
    problem: str | None = None
    for number, line in enumerate(lines[:MAX_MANIFEST_LINES], 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = f"line {number} is not valid JSON ({exc.msg}): {line[:60]!r}"
            break
        if not isinstance(record, dict):
            problem = f"line {number} is a JSON {type(record).__name__}, not an object"
            break
        if pf.problem == pt.IMAGE_CLASSIFICATION:
            ref = _text(record.get("source-ref"))
            if ref is None or parse_s3_uri(ref) is None:
                found = ", ".join(repr(k) for k in list(record)[:8]) or "none"
                problem = (
                    f'line {number} has no "source-ref" s3:// URI naming its image '
                    f"(attributes found: {found})"
                )
                break
        records.append(record)
    if problem is None and not records:
        problem = "holds no JSON object line" + ("" if complete else " in its first chunk")
    if problem is not None:
        problem = (": " if problem.startswith("line") else " ") + problem
        pf.error(
            channel.uri_loc,
            "preflight.augmented_manifest_malformed",
            f"AugmentedManifestFile {manifest.uri}{problem}; expected JSON Lines such as "
            '{"source-ref": "s3://bucket/images/1.jpg", "label": 0}.',
        )
        raise _Abort()
    pf.checked(
        f"{channel.kind} AugmentedManifestFile {manifest.uri}: first {len(records)} line(s) "
        "are JSON objects"
    )
    if pf.allowed_prefixes is not None:
        check_augmented_manifest_locations(pf, channel, manifest, lines, complete)
    if pf.problem != pt.IMAGE_CLASSIFICATION:
        return None
    located = parse_s3_uri(str(records[0]["source-ref"]))
    assert located is not None  # checked above
    return _Object(
        located[0],
        located[1],
        None,
        f'the "source-ref" image of line 1 of AugmentedManifestFile {manifest.uri}',
    )


def _locations_text(locations: list[str]) -> str:
    shown = ", ".join(locations[:MAX_LOCATIONS_SHOWN])
    more = len(locations) - MAX_LOCATIONS_SHOWN
    return shown + (f" ... ({more:,} more)" if more > 0 else "")


def check_manifest_file_locations(
    pf: _Preflight,
    channel: _Channel,
    manifest: _Object,
    prefix: str,
    entries: list[Any],
    *,
    complete: bool,
) -> None:
    """Every object a ManifestFile lists (its ``prefix`` followed by a key) must lie under the
    policy's allowed S3 prefixes.

    An allowed prefix that ends with "/" covers every key, so the keys are not read then;
    otherwise each listed location is checked (a key continues the prefix's last path
    segment, even the bucket name). Prevents: a manifest under an allowed prefix that feeds
    the job data from another bucket.
    """
    prefixes = pf.allowed_prefixes or []
    where = f"ManifestFile {manifest.uri}"
    if prefix.endswith("/") and s3_allowed(prefix, prefixes):
        pf.checked(f"{where}: prefix {prefix} lies under the allowed S3 prefixes")
        return
    locations = list(dict.fromkeys(prefix + str(key) for key in entries[1:]))
    checked = locations[:MAX_CHECKED_LOCATIONS]
    outside = [uri for uri in checked if not s3_allowed(uri, prefixes)]
    if outside:
        pf.error(
            channel.uri_loc,
            "preflight.manifest_location_not_allowed",
            f"{where} (prefix {prefix}) lists {len(outside):,} object(s) outside the S3 "
            f"locations the policy allows ({', '.join(prefixes) or 'none'}): "
            f"{_locations_text(outside)}.",
        )
        return
    if not complete or len(locations) > len(checked):
        why = (
            f"it is larger than the {pf.manifest_bytes:,} bytes read"
            if not complete
            else f"it lists more than {MAX_CHECKED_LOCATIONS:,} distinct objects"
        )
        pf.error(
            channel.uri_loc,
            "preflight.manifest_locations_not_checked",
            f"{where}: its prefix {prefix} is not an allowed folder (ending in '/'), so every "
            f"listed object must be checked against the policy's allowed S3 locations, but {why}; "
            f"the first {len(checked):,} were checked. End the prefix with '/' at or below an "
            "allowed prefix.",
        )
        return
    pf.checked(f"{where}: all {len(checked):,} listed object(s) lie under the allowed S3 prefixes")


def check_augmented_manifest_locations(
    pf: _Preflight, channel: _Channel, manifest: _Object, lines: list[str], complete: bool
) -> None:
    """Every S3 object an AugmentedManifestFile refers to (the attributes whose name ends in
    ``-ref``, e.g. ``source-ref``) must lie under the policy's allowed S3 prefixes.

    At most ``MAX_LOCATION_LINES`` lines and ``MAX_CHECKED_LOCATIONS`` distinct references are
    checked; a file with more (or larger than the bytes read) is refused. Prevents: a manifest
    under an allowed prefix whose lines send the job to images in another bucket.
    """
    prefixes = pf.allowed_prefixes or []
    where = f"AugmentedManifestFile {manifest.uri}"
    references: dict[str, str] = {}  # location -> where it was first named
    scanned = 0
    for number, line in enumerate(lines[:MAX_LOCATION_LINES], 1):
        if len(references) >= MAX_CHECKED_LOCATIONS:
            break
        scanned = number
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            pf.error(
                channel.uri_loc,
                "preflight.augmented_manifest_malformed",
                f"{where}: line {number} is not a JSON object, so the S3 locations it names "
                "cannot be checked against the policy's allowed S3 locations.",
            )
            return
        for attribute, value in record.items():
            if attribute.endswith("-ref") and isinstance(value, str):
                references.setdefault(value, f'line {number} "{attribute}"')
    outside = [
        f"{uri} ({named})" for uri, named in references.items() if not s3_allowed(uri, prefixes)
    ]
    if outside:
        pf.error(
            channel.uri_loc,
            "preflight.manifest_location_not_allowed",
            f"{where} refers to {len(outside):,} object(s) outside the S3 locations the policy "
            f"allows ({', '.join(prefixes) or 'none'}): {_locations_text(outside)} "
            f"({scanned:,} line(s) checked).",
        )
        return
    if not complete or scanned < len(lines):
        pf.error(
            channel.uri_loc,
            "preflight.manifest_locations_not_checked",
            f"{where} is larger than the preflight checks: its first {scanned:,} line(s) "
            f"({len(references):,} distinct S3 reference(s)) lie under the allowed S3 "
            "prefixes, but the rest cannot be checked against the policy (at most "
            f"{pf.manifest_bytes:,} bytes, {MAX_LOCATION_LINES:,} lines and "
            f"{MAX_CHECKED_LOCATIONS:,} distinct references are read). Use a smaller manifest.",
        )
        return
    pf.checked(
        f"{where}: the {len(references):,} S3 reference(s) of its {scanned:,} line(s) lie under "
        "the allowed S3 prefixes"
    )


def manifest_files_not_read(
    request: dict[str, Any], allowed_prefixes: list[str] | None
) -> list[Issue]:
    """With the preflight off, nobody reads a ManifestFile or AugmentedManifestFile: under a
    policy that limits S3 locations, each such channel is refused (its contents could name any
    bucket)."""
    if allowed_prefixes is None:
        return []
    return [
        Issue(
            channel.uri_loc,
            "preflight.manifest_locations_not_checked",
            f"the data preflight is off, so the locations listed inside the {channel.data_type} "
            f"{channel.uri} cannot be checked against the policy's allowed S3 locations; use "
            "S3Prefix data, or turn the preflight on (PreflightEnabled).",
        )
        for channel in _Preflight(None, request, 16).channels()
        if channel.data_type in MANIFEST_DATA_TYPES
    ]


def check_images(
    pf: _Preflight, channel: _Channel, first: _Object, listing: _Listing | None
) -> None:
    """Image classification data must be JPEG or PNG images.

    An S3Prefix passes when one of the listed keys ends in .jpg/.jpeg/.png, else when the
    first object starts with the JPEG or PNG signature (a 16-byte ranged GET). A manifest's
    first image is always read (that also proves it exists) and must start with one of the
    signatures, whatever its name. Prevents: a job pointed at
    CSV files, a wrong folder, or a manifest naming objects that are not images.
    """
    sample = listing.data_keys if listing is not None else [first.key]
    image_keys = [k for k in sample if _is_image_key(k)]
    kind: str | None = None
    head = b""
    if listing is None or not image_keys:
        head, _ = pf.get(first, "bytes=0-15", limit=16, loc=channel.uri_loc)
        kind = _image_kind(head)
    if listing is not None and image_keys:
        pf.checked(
            f"{channel.kind} images: {len(image_keys)} of the first {len(sample)} object(s) "
            f"under {channel.uri} are .jpg/.jpeg/.png"
        )
    elif kind is not None:
        pf.checked(f"{channel.kind} images: {first.uri} is a {kind} image")
    elif listing is not None:
        examples = ", ".join(repr(k) for k in sample[:3])
        pf.error(
            channel.uri_loc,
            "preflight.not_images",
            f"none of the first {len(sample)} object(s) under {channel.uri} is a JPEG or PNG "
            f"image: no key ends in .jpg, .jpeg or .png (found {examples}) and {first.key!r} "
            f"starts with {_show_bytes(head)}, not a JPEG or PNG signature.",
        )
        return
    else:
        what = "is empty" if not head else f"starts with {_show_bytes(head)}"
        pf.error(
            channel.uri_loc,
            "preflight.not_images",
            f"{first.subject} is not a JPEG or PNG image: it {what}.",
        )
        return
    declared = {"image/png": "PNG", "image/jpeg": "JPEG"}.get(channel.content_type)
    if declared is None:
        return
    kinds = {"PNG" if k.lower().endswith(".png") else "JPEG" for k in image_keys}
    if kind is not None:
        kinds.add(kind)
    if kinds and declared not in kinds:
        pf.warn(
            channel.loc + ("ContentType",),
            "preflight.image_content_type",
            f"ContentType is {channel.content_type}, but the images under {channel.uri} are "
            f"{'/'.join(sorted(kinds))}; use image/* or the matching type.",
        )


def check_parquet_magic(pf: _Preflight, channel: _Channel, first: _Object) -> None:
    """A Parquet object must end with the magic bytes ``PAR1`` (a 4-byte ranged GET).

    Prevents: a job that fails because the Parquet channel holds CSV, a gzip stream or a
    truncated upload.
    """
    if channel.compression == "Gzip":
        pf.checked(f"{channel.kind} Parquet {first.uri}: Gzip-compressed, PAR1 not checked")
        return
    tail, _ = pf.get(first, "bytes=-4", limit=4, loc=channel.uri_loc)
    if tail == PARQUET_MAGIC:
        pf.checked(f"{channel.kind} Parquet {first.uri}: ends with PAR1")
        return
    if not tail:
        found = "it is empty"
    else:
        found = f"it ends with {tail!r}"
        if all(32 <= b < 127 or b in (9, 10, 13) for b in tail):
            found += " (it looks like text: CSV data needs ContentType text/csv;header=present)"
    pf.error(
        channel.uri_loc,
        "preflight.parquet_magic",
        f"{first.subject} is not a Parquet file: Parquet files end with the magic "
        f"bytes 'PAR1', but {found}.",
    )


def _decompress(pf: _Preflight, channel: _Channel, obj: _Object, data: bytes) -> tuple[bytes, bool]:
    """Decompress the first bytes of a gzip object (a cut stream is fine): (bytes, complete)."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = decompressor.decompress(data, pf.max_bytes)
    except zlib.error as exc:
        pf.error(
            channel.uri_loc,
            "preflight.gzip_unreadable",
            f"{obj.subject} starts like gzip but does not decompress ({exc}).",
        )
        raise _Abort() from None
    return raw, decompressor.eof


def _header_row(raw: bytes, complete: bool) -> tuple[list[str] | None, str | None]:
    """The first CSV record of ``raw`` (UTF-8, BOM and quoted fields handled).

    Returns (columns, None), or (None, why the row could not be read).
    """
    bad_at: int | None = None
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(raw, final=complete)
    except UnicodeDecodeError as exc:
        bad_at = exc.start
        text = raw[: exc.start].decode("utf-8", errors="ignore")
    text = text.removeprefix("\ufeff")
    buffer = io.StringIO(text, newline="")
    try:
        row = next(csv.reader(buffer), None)
    except csv.Error as exc:
        return None, f"its first row is not valid CSV ({exc})"
    consumed = text[: buffer.tell()]
    whole = complete and bad_at is None and len(consumed) == len(text)
    if row is not None and (whole or consumed.endswith(("\n", "\r"))):
        return row, None
    if bad_at is not None:
        return None, f"it is not UTF-8 text (invalid byte at offset {bad_at})"
    return None, "it has no complete header row in the bytes read"


def read_csv_header(pf: _Preflight, channel: _Channel, obj: _Object) -> _Header | None:
    """Read only the header row of the first CSV object (one ranged GET, gunzip if Gzip).

    Also checks that the bytes agree with CompressionType and are not Parquet. Prevents: a
    job that fails because a gzip file is declared uncompressed (or the reverse), a Parquet
    file is declared CSV, or the file starts with an empty line instead of the header.
    """
    data, total = pf.get(
        obj, f"bytes=0-{pf.max_bytes - 1}", limit=pf.max_bytes, loc=channel.uri_loc
    )
    if not data:
        pf.error(channel.uri_loc, "preflight.object_empty", f"{obj.subject} is empty (0 bytes).")
        raise _Abort()
    gzipped = data.startswith(GZIP_MAGIC)
    if channel.compression == "Gzip":
        if not gzipped:
            pf.error(
                channel.loc + ("CompressionType",),
                "preflight.compression_mismatch",
                f"CompressionType is Gzip, but {obj.subject} is not gzip data: it "
                f"starts with {_show_bytes(data)}. Use CompressionType None for plain files.",
            )
            raise _Abort()
        raw, complete = _decompress(pf, channel, obj, data)
        how = f"ranged GET of {len(data):,} bytes, gunzipped to {len(raw):,}"
    else:
        if gzipped:
            pf.error(
                channel.loc + ("CompressionType",),
                "preflight.compression_mismatch",
                f"{obj.subject} is gzip-compressed, but CompressionType is "
                f"{channel.compression}; set CompressionType: Gzip.",
            )
            raise _Abort()
        if data.startswith(PARQUET_MAGIC):
            pf.error(
                channel.loc + ("ContentType",),
                "preflight.content_type_mismatch",
                f"{obj.subject} is a Parquet file, but ContentType is "
                f"{channel.content_type}; use {pt.PARQUET}.",
            )
            raise _Abort()
        raw, complete = data, total <= len(data)
        how = f"ranged GET of {len(data):,} bytes"
    if not raw.strip(b"\xef\xbb\xbf \t"):
        pf.error(
            channel.uri_loc,
            "preflight.csv_no_header",
            f"{obj.subject} holds no header row (no data"
            f"{' after decompression' if channel.compression == 'Gzip' else ''}).",
        )
        raise _Abort()
    columns, why = _header_row(raw, complete)
    if columns is None:
        pf.warn(
            channel.uri_loc,
            "preflight.header_not_checked",
            f"the header of {obj.uri} was not checked: {why} (first {pf.max_bytes:,} bytes read).",
        )
        return None
    if not columns:
        pf.error(
            channel.uri_loc,
            "preflight.csv_no_header",
            f"the first line of {obj.uri} is empty; Autopilot expects the header row (column "
            "names) on the first line.",
        )
        raise _Abort()
    pf.checked(f"{channel.kind} header of {obj.uri} ({how}): {_columns_text(columns)}")
    return _Header(columns, obj.uri, channel)


def check_header_columns(pf: _Preflight, header: _Header) -> None:
    """A CSV header must not name a column twice.

    Prevents: a job that fails (or silently renames columns) on duplicate column names.
    """
    seen: set[str] = set()
    duplicates: list[str] = []
    for column in header.columns:
        if column in seen and column not in duplicates:
            duplicates.append(column)
        seen.add(column)
    if duplicates:
        pf.error(
            header.channel.uri_loc,
            "preflight.csv_duplicate_columns",
            f"the header of {header.source} names "
            f"{', '.join(repr(c) for c in duplicates)} more than once; column names must be "
            "unique.",
        )


def _named_columns(pf: _Preflight) -> list[tuple[Loc, str]]:
    """The columns the request names, with the request field naming each."""
    config, base = pf.config, pf.config_loc
    named: list[tuple[Loc, Any]] = []
    if pf.problem == pt.TABULAR:
        for name in ("TargetAttributeName", "SampleWeightAttributeName"):
            named.append((base + (name,), config.get(name)))
    elif pf.problem == pt.TEXT_CLASSIFICATION:
        for name in ("ContentColumn", "TargetLabelColumn"):
            named.append((base + (name,), config.get(name)))
    elif pf.problem == pt.TIME_SERIES:
        series = _mapping(config.get("TimeSeriesConfig"))
        series_loc = base + ("TimeSeriesConfig",)
        names = ("TargetAttributeName", "TimestampAttributeName", "ItemIdentifierAttributeName")
        for name in names:
            named.append((series_loc + (name,), series.get(name)))
        grouping = series.get("GroupingAttributeNames")
        if isinstance(grouping, list):
            for index, column in enumerate(grouping):
                named.append((series_loc + ("GroupingAttributeNames", index), column))
        transformations = _mapping(config.get("Transformations"))
        for section in ("Filling", "Aggregation"):
            for column in _mapping(transformations.get(section)):
                named.append((base + ("Transformations", section, column), column))
    elif pf.problem == pt.TEXT_GENERATION:
        named.extend([((), "input"), ((), "output")])
    return [(loc, column) for loc, column in named if isinstance(column, str)]


def check_named_columns(pf: _Preflight, header: _Header) -> None:
    """Every column the request names must be in the training header (case-sensitive).

    Prevents: the most common late failure, a target, weight, content, label, timestamp,
    item, grouping or transformation column that is misspelt or differs in case.
    """
    present: list[str] = []
    for loc, column in _named_columns(pf):
        if column in header.columns:
            present.append(f"{format_path(loc[1:])} {column!r}")
            continue
        hint = _hint(column, header.columns)
        if len(header.columns) == 1 and any(d in header.columns[0] for d in ";\t|"):
            hint += " The header has one column: is the file comma-separated?"
        pf.error(
            loc,
            "preflight.column_missing",
            f"column {column!r} is not in the header of {header.source} "
            f"({header.channel.kind} data); found {_columns_text(header.columns)}.{hint}",
        )
    if present:
        pf.checked(f"columns found in the {header.channel.kind} header: {', '.join(present)}")


def check_text_generation_columns(pf: _Preflight, header: _Header) -> None:
    """Text generation data must have exactly two columns, ``input`` and ``output``.

    Prevents: a fine-tuning job that fails on extra, missing or differently named columns.
    """
    columns = header.columns
    if sorted(columns) == ["input", "output"]:
        pf.checked(f"text generation columns of {header.source}: 'input', 'output'")
        return
    problems: list[str] = []
    others = [c for c in columns if c not in ("input", "output")]
    for wanted in ("input", "output"):
        if wanted in columns:
            continue
        hint = suggest(wanted, others)
        if hint is None:
            problems.append(f"{wanted!r} is missing")
        else:
            problems.append(f"{hint!r} should be named {wanted!r}")
            others.remove(hint)
    extra = others
    if extra:
        problems.append(f"unexpected {', '.join(repr(c) for c in extra[:MAX_COLUMNS_SHOWN])}")
    pf.error(
        header.channel.uri_loc,
        "preflight.text_generation_columns",
        f"text generation data needs exactly two columns named 'input' and 'output'; the header "
        f"of {header.source} has {_columns_text(columns)} ({'; '.join(problems)}).",
    )


def check_validation_header(pf: _Preflight, training: _Header, validation: _Header) -> None:
    """The validation header must equal the training header (same columns, same order).

    Prevents: a job that fails because "the validation and training datasets must contain
    the same headers" (DataSplitConfig).
    """
    if training.columns == validation.columns:
        pf.checked(f"validation header matches the training header ({len(training.columns)})")
        return
    missing = [c for c in training.columns if c not in validation.columns]
    extra = [c for c in validation.columns if c not in training.columns]
    parts: list[str] = []
    if missing:
        parts.append(f"missing {', '.join(repr(c) for c in missing[:MAX_COLUMNS_SHOWN])}")
    if extra:
        parts.append(f"extra {', '.join(repr(c) for c in extra[:MAX_COLUMNS_SHOWN])}")
    if not parts:
        parts.append(
            f"same columns in another order: training {_columns_text(training.columns)}; "
            f"validation {_columns_text(validation.columns)}"
        )
    pf.error(
        validation.channel.uri_loc,
        "preflight.header_mismatch",
        f"the validation header ({validation.source}) differs from the training header "
        f"({training.source}): {'; '.join(parts)}. Both channels must have the same header.",
    )


def check_feature_specification(pf: _Preflight, training: _Header | None) -> None:
    """FeatureSpecificationS3Uri must name a JSON object whose columns exist.

    The file is ``{"FeatureAttributeNames": [...], "FeatureDataTypes": {col: type}}`` (both
    optional); for tabular jobs it may not name the target column. Prevents: a job that fails
    on a missing or malformed feature file or on a feature column that is not in the data.
    """
    uri = _text(pf.config.get("FeatureSpecificationS3Uri"))
    if uri is None or pf.problem not in (pt.TABULAR, pt.TIME_SERIES):
        return
    loc = pf.config_loc + ("FeatureSpecificationS3Uri",)
    located = parse_s3_uri(uri)
    if located is None:
        pf.warn(loc, "preflight.uri_not_checked", f"{uri} is not an S3 address; not checked.")
        return
    obj = _Object(located[0], located[1], None, "the feature specification")
    try:
        text, complete = _read_document(pf, obj, loc, max(pf.max_bytes, MAX_FEATURE_SPEC_BYTES))
    except _Abort:
        return
    problem: str | None = None
    columns: list[str] = []
    try:
        spec = json.loads(text) if complete else None
    except json.JSONDecodeError as exc:
        problem = f"is not valid JSON ({exc})"
        spec = None
    if spec is None and problem is None:
        pf.warn(
            loc,
            "preflight.feature_specification_not_checked",
            f"the feature specification {uri} is larger than "
            f"{max(pf.max_bytes, MAX_FEATURE_SPEC_BYTES):,} bytes; it was not checked.",
        )
        return
    elif spec is not None and not isinstance(spec, dict):
        problem = f"is a JSON {type(spec).__name__}, not an object"
    elif isinstance(spec, dict):
        unknown = [k for k in spec if k not in ("FeatureAttributeNames", "FeatureDataTypes")]
        names = spec.get("FeatureAttributeNames", [])
        types = spec.get("FeatureDataTypes", {})
        if unknown:
            problem = f"has unknown key(s) {', '.join(repr(k) for k in unknown)}"
        elif not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problem = "has a FeatureAttributeNames that is not a list of column names"
        elif not isinstance(types, dict):
            problem = "has a FeatureDataTypes that is not an object"
        else:
            bad = {k: v for k, v in types.items() if v not in FEATURE_DATA_TYPES}
            if bad:
                column, value = next(iter(bad.items()))
                problem = (
                    f"gives column {column!r} the data type {value!r}; use "
                    f"{', '.join(FEATURE_DATA_TYPES)}"
                )
            columns = list(dict.fromkeys([*names, *types]))
    if problem is not None:
        pf.error(
            loc,
            "preflight.feature_specification",
            f"the feature specification {uri} {problem}; expected "
            '{"FeatureAttributeNames": ["col1", ...], "FeatureDataTypes": {"col1": "numeric"}}.',
        )
        return
    target = _text(pf.config.get("TargetAttributeName"))
    if pf.problem == pt.TABULAR and target is not None and target in columns:
        pf.error(
            loc,
            "preflight.feature_specification",
            f"the feature specification {uri} names the target column {target!r}; feature "
            "columns may not include the target.",
        )
    if training is None:
        pf.checked(f"feature specification {uri}: {len(columns)} column(s), not matched to data")
        return
    missing = [c for c in columns if c not in training.columns]
    for column in missing:
        pf.error(
            loc,
            "preflight.column_missing",
            f"the feature specification {uri} names column {column!r}, which is not in the "
            f"header of {training.source}; found {_columns_text(training.columns)}."
            f"{_hint(column, training.columns)}",
        )
    if not missing:
        pf.checked(f"feature specification {uri}: {len(columns)} column(s) found in the header")


def warn_parquet_columns_not_checked(pf: _Preflight, channel: _Channel) -> None:
    """Parquet schemas are not read: say which named columns therefore went unchecked."""
    named = [
        f"{column!r}" + (f" ({format_path(loc[1:])})" if loc else "")
        for loc, column in _named_columns(pf)
    ]
    if not named:
        return
    pf.warn(
        channel.loc + ("ContentType",),
        "preflight.parquet_not_checked",
        "the preflight does not read Parquet schemas, so these columns were not checked "
        f"against the data: {', '.join(named)}.",
    )


# --- Deployment: the endpoint must be this stack's, or not exist yet --------------------------


def check_deployment_endpoints(
    sagemaker: Any,
    backoff: Backoff,
    registry: Any,
    request: dict[str, Any],
    deployment: dict[str, Any] | None,
    *,
    cloudwatch: Any = None,
) -> PreflightResult:
    """``check_deployment_endpoint`` for every endpoint the job may deploy to: FinalizeJob's
    (``Deployment.EndpointName``, default the job name) and SageMaker's own
    (``ModelDeployConfig.EndpointName``); and ``check_rollback_alarms`` for the alarms of
    ``Deployment.Strategy`` (``cloudwatch``: a CloudWatch client; by default one in the
    SageMaker client's region)."""
    targets: list[tuple[Loc, Any]] = []
    if isinstance(deployment, dict):
        name = deployment.get("EndpointName") or request.get("AutoMLJobName")
        targets.append((("Deployment", "EndpointName"), name))
    model_deploy = request.get("ModelDeployConfig")
    if isinstance(model_deploy, dict):
        targets.append((("ModelDeployConfig", "EndpointName"), model_deploy.get("EndpointName")))
    result = PreflightResult()
    for loc, name in targets:
        if isinstance(name, str) and name:
            found = check_deployment_endpoint(sagemaker, backoff, registry, name, loc=loc)
            result.errors.extend(found.errors)
            result.checked.extend(found.checked)
    # The rollout's alarms guard the endpoint as the ownership check does: checked here, with
    # it, whether or not the data preflight is enabled.
    alarms = rollback_alarms(deployment)
    if alarms:
        client = cloudwatch if cloudwatch is not None else _cloudwatch_like(sagemaker)
        found = check_rollback_alarms(client, backoff, alarms)
        result.errors.extend(found.errors)
        result.checked.extend(found.checked)
    return result


# --- Deployment.Strategy: the rollback alarms must exist ------------------------------------

ALARMS_LOC: Final[Loc] = ("Deployment", "Strategy", "AutoRollbackAlarmNames")


def rollback_alarms(deployment: dict[str, Any] | None) -> list[tuple[Loc, str]]:
    strategy = _mapping(_mapping(deployment).get("Strategy"))
    names = strategy.get("AutoRollbackAlarmNames")
    if not isinstance(names, list):
        return []
    return [
        ((*ALARMS_LOC, index), name)
        for index, name in enumerate(names)
        if isinstance(name, str) and name
    ]


def _cloudwatch_like(sagemaker: Any) -> Any:
    """A CloudWatch client in the SageMaker client's region: the alarms an endpoint's rollout
    watches live in the endpoint's account and region."""
    import boto3  # noqa: PLC0415 - only for manifests that name alarms

    return boto3.client("cloudwatch", region_name=sagemaker.meta.region_name)


def check_rollback_alarms(
    cloudwatch: Any, backoff: Backoff, alarms: list[tuple[Loc, str]]
) -> PreflightResult:
    """Every alarm of ``alarms`` (location, name) exists: DescribeAlarms by name, metric and
    composite alarms, up to 100 names a call; one error per missing alarm, at its own path.

    Throttling is retried with ``backoff`` and, when it outlasts the retries, the result is
    ``retryable``. Any other refusal (access denied) is an error for the whole list: alarms
    that could not be checked are never assumed to exist (a rollout watching an alarm that does
    not exist would never roll back)."""
    result = PreflightResult()
    wanted = sorted({name for _, name in alarms})
    found: set[str] = set()
    try:
        for start in range(0, len(wanted), ALARM_NAMES_PER_CALL):
            batch = wanted[start : start + ALARM_NAMES_PER_CALL]
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "AlarmNames": batch,
                    "AlarmTypes": ["MetricAlarm", "CompositeAlarm"],
                }
                if token:
                    kwargs["NextToken"] = token
                page = backoff.call(partial(cloudwatch.describe_alarms, **kwargs))
                for kind in ("MetricAlarms", "CompositeAlarms"):
                    found.update(
                        str(alarm.get("AlarmName")) for alarm in page.get(kind) or [] if alarm
                    )
                token = page.get("NextToken")
                if not token:
                    break
    except ClientError as exc:
        code = error_code(exc)
        LOGGER.warning("DescribeAlarms failed: %s: %s", code, exc)
        transient = (
            code in THROTTLING_CODES or code in _TRANSIENT_S3_CODES or code == "InternalFailure"
        )
        if transient:
            result.errors.append(
                Issue(
                    ALARMS_LOC,
                    "preflight.alarms_unavailable",
                    "CloudWatch is busy: whether the rollback alarms exist could not be "
                    "checked; try again later.",
                )
            )
        else:
            result.errors.append(
                Issue(
                    ALARMS_LOC,
                    "preflight.alarms_unverified",
                    "whether the rollback alarms exist could not be checked (CloudWatch "
                    "refused to describe them), so the manifest is refused rather than "
                    "roll out without them. Ask the operator to check the service's "
                    "permissions (cloudwatch:DescribeAlarms).",
                )
            )
        return result
    except (BotoCoreError, OSError) as exc:
        LOGGER.warning("DescribeAlarms failed: %r", exc)
        result.errors.append(
            Issue(
                ALARMS_LOC,
                "preflight.alarms_unavailable",
                "CloudWatch could not be reached to check the rollback alarms; try again later.",
            )
        )
        return result
    for loc, name in alarms:
        if name in found:
            result.checked.append(f"alarm {name}: exists")
            continue
        known = suggest(name, sorted(found))
        hint = f" Did you mean {known!r}?" if known and known != name else ""
        result.errors.append(
            Issue(
                loc,
                "preflight.alarm_missing",
                f"no CloudWatch alarm named {name!r} exists in this account and region (names "
                f"are case-sensitive); a rollout watching it could never roll back.{hint} "
                "Create the alarm first, or fix the name.",
            )
        )
    return result


def check_deployment_endpoint(
    sagemaker: Any,
    backoff: Backoff,
    registry: Any,
    endpoint_name: str,
    *,
    loc: Loc = ("Deployment", "EndpointName"),
) -> PreflightResult:
    """An endpoint the job would deploy to (named at ``loc``) must not be someone else's.

    It is this stack's when the jobs table holds its endpoint record (FinalizeJob writes it
    before it creates or updates an endpoint); otherwise it must not exist (DescribeEndpoint
    says "Could not find endpoint"). ``registry`` is the jobs table's ``Registry``. Throttling
    is retried with ``backoff``; when it outlasts the retries the result is ``retryable``. Any
    other refusal (e.g. access denied) is an error: an endpoint that could not be checked is
    never assumed to be free. Prevents: a manifest that makes FinalizeJob switch an endpoint
    another team serves from to this job's model.
    """
    result = PreflightResult()
    if registry.endpoint_record(endpoint_name) is not None:
        result.checked.append(f"endpoint {endpoint_name}: recorded as this stack's")
        return result
    try:
        backoff.call(lambda: sagemaker.describe_endpoint(EndpointName=endpoint_name))
    except ClientError as exc:
        code = error_code(exc)
        said = str(_mapping(exc.response.get("Error")).get("Message", ""))
        if code == "ValidationException" and "Could not find endpoint" in said:
            result.checked.append(f"endpoint {endpoint_name}: does not exist yet")
            return result
        LOGGER.warning("DescribeEndpoint %s failed: %s: %s", endpoint_name, code, said)
        if code in THROTTLING_CODES or code in _TRANSIENT_S3_CODES or code == "InternalFailure":
            result.errors.append(
                Issue(
                    loc,
                    "deployment.endpoint_unavailable",
                    f"SageMaker is busy: whether endpoint {endpoint_name} belongs to this stack "
                    "could not be checked; try again later.",
                )
            )
        else:
            result.errors.append(
                Issue(
                    loc,
                    "deployment.endpoint_unverified",
                    f"whether endpoint {endpoint_name} belongs to this stack could not be "
                    "checked (SageMaker refused to describe it), so the manifest is refused "
                    "rather than risk changing an endpoint of someone else. Ask the operator "
                    "to check the service's permissions, or name another endpoint.",
                )
            )
        return result
    except (BotoCoreError, OSError) as exc:
        LOGGER.warning("DescribeEndpoint %s failed: %r", endpoint_name, exc)
        result.errors.append(
            Issue(
                loc,
                "deployment.endpoint_unavailable",
                f"SageMaker could not be reached to check endpoint {endpoint_name}; try again "
                "later.",
            )
        )
        return result
    result.errors.append(
        Issue(
            loc,
            "deployment.endpoint_not_owned",
            f"the endpoint {endpoint_name} exists but was not created by this service (it has "
            "no deployment record here); the service never creates, updates or deletes an "
            f"endpoint it did not create. Name another endpoint in {format_path(loc)}.",
        )
    )
    return result
