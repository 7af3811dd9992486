"""Reading a manifest: bytes in, a mapping or exactly one ``parse.*`` error out, never a crash.

Also the job name derived from a manifest's file name and content when it has none.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autopilot_flow.manifest import (
    MAX_MANIFEST_BYTES,
    ManifestError,
    derive_job_name,
    parse_document,
)
from autopilot_flow.validate import ValidationResult, validate_bytes

MIB = 1024 * 1024
BOM = b"\xef\xbb\xbf"
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")

MANIFEST: dict[str, Any] = {
    "AutoMLJobName": "house-prices-regression",
    "AutoMLJobInputDataConfig": [
        {
            "ChannelType": "training",
            "ContentType": "text/csv;header=present",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": "s3://amzn-s3-demo-ml-data/housing/train/",
                }
            },
        }
    ],
    "OutputDataConfig": {"S3OutputPath": "s3://amzn-s3-demo-ml-output/autopilot/housing/"},
    "AutoMLProblemTypeConfig": {
        "TabularJobConfig": {
            "TargetAttributeName": "sale_price",
            "ProblemType": "Regression",
            "CompletionCriteria": {"MaxCandidates": 10},
        }
    },
    "AutoMLJobObjective": {"MetricName": "RMSE"},
    "RoleArn": "arn:aws:iam::111122223333:role/AutopilotExecution",
    "Deployment": {"EndpointName": "house-prices", "InstanceType": "ml.m5.large"},
}
MANIFEST_JSON = json.dumps(MANIFEST, indent=2).encode()
MANIFEST_YAML = yaml.safe_dump(MANIFEST, sort_keys=False).encode()


def only_parse_error(result: ValidationResult) -> tuple[str, str]:
    """The single parse error of ``result`` as (code, message); fails otherwise."""
    assert len(result.errors) == 1, result.errors
    (error,) = result.errors
    assert error.path == ""
    assert error.code.startswith("parse.")
    assert result.warnings == []
    assert result.request is None
    assert not result.valid
    return error.code, error.message


# --- Valid documents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "source_name"),
    [
        pytest.param(MANIFEST_JSON, "manifest.json", id="json"),
        pytest.param(MANIFEST_JSON, None, id="json-without-file-name"),
        pytest.param(json.dumps(MANIFEST).encode(), "m.json", id="json-one-line"),
        pytest.param(MANIFEST_YAML, "manifest.yaml", id="yaml"),
        pytest.param(MANIFEST_YAML, "manifest.yml", id="yml"),
        pytest.param(MANIFEST_YAML, None, id="yaml-without-file-name"),
        pytest.param(MANIFEST_JSON, "manifest.yaml", id="json-is-yaml-too"),
        pytest.param(BOM + MANIFEST_JSON, "manifest.json", id="json-with-bom"),
        pytest.param(BOM + MANIFEST_YAML, "manifest.yaml", id="yaml-with-bom"),
        pytest.param(BOM + MANIFEST_JSON, None, id="json-with-bom-without-file-name"),
        pytest.param(
            b"# A comment first.\n" + MANIFEST_YAML + b"# and last\n", "m.yaml", id="yaml-comments"
        ),
        pytest.param(
            MANIFEST_YAML.replace(b"RoleArn: arn", b"RoleArn: &role arn"),
            "m.yaml",
            id="yaml-anchor-without-alias",
        ),
        pytest.param(
            MANIFEST_JSON + b" " * (MIB - len(MANIFEST_JSON)), "m.json", id="exactly-1-mib"
        ),
    ],
)
def test_valid_document_is_read(data: bytes, source_name: str | None) -> None:
    result = validate_bytes(data, source_name)
    assert result.errors == []
    assert result.valid
    assert result.request is not None
    assert result.request["AutoMLJobName"] == "house-prices-regression"
    assert "Deployment" not in result.request


def test_parse_document_returns_the_mapping() -> None:
    assert parse_document(MANIFEST_YAML, "m.yaml") == MANIFEST
    assert parse_document(MANIFEST_JSON, "m.json") == MANIFEST


def test_yaml_scalars_keep_yaml_types() -> None:
    document = parse_document(b"a: None\nb: ~\nc: '10'\nd: 10\ne: 10.0\nf: true\n", "m.yaml")
    assert document == {"a": "None", "b": None, "c": "10", "d": 10, "e": 10.0, "f": True}


# --- Unreadable documents: one parse.* error each ------------------------------------------


def _deep_block_yaml(levels: int) -> bytes:
    lines = [b"  " * i + b"a:" for i in range(levels)]
    return b"\n".join(lines) + b" 1\n"


BILLION_LAUGHS = b"""\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""

PARSE_ERROR_CASES = [
    # empty
    pytest.param(b"", None, "parse.empty", "empty", id="empty"),
    pytest.param(b"  \n\t\r\n  ", "m.yaml", "parse.empty", "empty", id="whitespace-only"),
    pytest.param(BOM, "m.json", "parse.empty", "empty", id="bom-only"),
    # not text
    pytest.param(
        b"AutoMLJobName: x\n\x00\x01\x02", "m.yaml", "parse.binary", "binary", id="nul-bytes"
    ),
    pytest.param(bytes(range(256)), None, "parse.binary", "binary", id="all-bytes"),
    pytest.param(
        "AutoMLJobName: x\n".encode("utf-16"), "m.yaml", "parse.binary", "binary", id="utf-16"
    ),
    pytest.param(
        "AutoMLJobName: café\n".encode("latin-1"),
        "m.yaml",
        "parse.encoding",
        "not UTF-8 text (invalid byte at offset 18)",
        id="latin-1",
    ),
    pytest.param(b"a: \xed\xa0\x80\n", "m.yaml", "parse.encoding", "not UTF-8", id="surrogate"),
    pytest.param(b"\xff\xfe", None, "parse.encoding", "not UTF-8", id="invalid-start-byte"),
    # too large
    pytest.param(b" " * (MIB + 1), "m.json", "parse.too_large", "1,048,577 bytes", id="over-1-mib"),
    pytest.param(
        MANIFEST_JSON + b" " * (MIB + 1 - len(MANIFEST_JSON)),
        "m.json",
        "parse.too_large",
        "limit is 1,048,576 (1 MiB)",
        id="valid-manifest-padded-over-1-mib",
    ),
    # not a mapping
    pytest.param(b"[1, 2, 3]", "m.json", "parse.not_a_mapping", "not a list", id="json-array"),
    pytest.param(b"[]", None, "parse.not_a_mapping", "mapping", id="json-empty-array"),
    pytest.param(b"42", "m.json", "parse.not_a_mapping", "mapping", id="json-number"),
    pytest.param(b'"text"', "m.json", "parse.not_a_mapping", "mapping", id="json-string"),
    pytest.param(b"null", "m.json", "parse.not_a_mapping", "mapping", id="json-null"),
    pytest.param(b"just some text\n", "m.yaml", "parse.not_a_mapping", "mapping", id="yaml-scalar"),
    pytest.param(b"42\n", "m.yaml", "parse.not_a_mapping", "mapping", id="yaml-number"),
    pytest.param(b"- a\n- b\n", "m.yaml", "parse.not_a_mapping", "not a list", id="yaml-list"),
    pytest.param(b"~\n", "m.yaml", "parse.not_a_mapping", "mapping", id="yaml-null"),
    pytest.param(
        b"# only a comment\n", "m.yaml", "parse.not_a_mapping", "mapping", id="yaml-comment-only"
    ),
    # aliases: no anchor bombs, no merge keys
    pytest.param(b"a: &x [1, 2]\nb: *x\n", "m.yaml", "parse.yaml_alias", "line 2", id="yaml-alias"),
    pytest.param(BILLION_LAUGHS, "m.yaml", "parse.yaml_alias", "aliases (*a)", id="anchor-bomb"),
    pytest.param(
        b"base: &base {x: 1}\nother:\n  <<: *base\n",
        "m.yaml",
        "parse.yaml_alias",
        "write the value out",
        id="yaml-merge-key",
    ),
    # too deep
    pytest.param(b"[" * 10_000, "m.json", "parse.too_deep", "32 levels", id="json-10000-brackets"),
    pytest.param(b"[" * 10_000, None, "parse.too_deep", "32 levels", id="json-10000-no-name"),
    pytest.param(
        b'{"a": ' * 10_000 + b"1" + b"}" * 10_000,
        "m.json",
        "parse.too_deep",
        "32 levels",
        id="json-10000-objects-closed",
    ),
    pytest.param(
        b'{"a": ' * 40 + b"1" + b"}" * 40,
        "m.json",
        "parse.too_deep",
        "32 levels",
        id="json-40-objects",
    ),
    pytest.param(b"[" * 10_000, "m.yaml", "parse.too_deep", "32 levels", id="yaml-10000-brackets"),
    pytest.param(
        b"a: " + b"{b: " * 5_000, "m.yaml", "parse.too_deep", "32 levels", id="yaml-5000-flow-maps"
    ),
    pytest.param(
        _deep_block_yaml(400), "m.yaml", "parse.too_deep", "32 levels", id="yaml-400-block"
    ),
    pytest.param(_deep_block_yaml(40), "m.yaml", "parse.too_deep", "32 levels", id="yaml-40-block"),
    # duplicate keys
    pytest.param(
        b'{"AutoMLJobName": "a", "AutoMLJobName": "b"}',
        "m.json",
        "parse.duplicate_key",
        "'AutoMLJobName' appears twice",
        id="json-duplicate-key",
    ),
    pytest.param(
        b'{"OutputDataConfig": {"S3OutputPath": "s3://a/", "S3OutputPath": "s3://b/"}}',
        None,
        "parse.duplicate_key",
        "'S3OutputPath' appears twice",
        id="json-nested-duplicate-key",
    ),
    pytest.param(
        b"AutoMLJobName: a\nRoleArn: x\nAutoMLJobName: b\n",
        "m.yaml",
        "parse.duplicate_key",
        "line 3: key 'AutoMLJobName' appears twice",
        id="yaml-duplicate-key",
    ),
    pytest.param(
        b"OutputDataConfig:\n  S3OutputPath: s3://a/\n  S3OutputPath: s3://b/\n",
        "m.yaml",
        "parse.duplicate_key",
        "line 3",
        id="yaml-nested-duplicate-key",
    ),
    pytest.param(
        b"{a: 1, a: 2}\n",
        "m.yaml",
        "parse.duplicate_key",
        "'a' appears twice",
        id="yaml-flow-duplicate",
    ),
    # not JSON numbers
    pytest.param(
        b'{"ValidationFraction": NaN}', "m.json", "parse.invalid_json", "NaN", id="json-nan"
    ),
    pytest.param(
        b'{"a": Infinity}', "m.json", "parse.invalid_json", "Infinity", id="json-infinity"
    ),
    pytest.param(
        b'{"a": -Infinity}', None, "parse.invalid_json", "-Infinity", id="json-minus-infinity"
    ),
    # syntax
    pytest.param(
        b'{"a": }', "m.json", "parse.invalid_json", "line 1, column 7", id="json-missing-value"
    ),
    pytest.param(b'{"a": 1,}', "m.json", "parse.invalid_json", "line 1", id="json-trailing-comma"),
    pytest.param(b"{", None, "parse.invalid_json", "line 1, column 2", id="json-unclosed"),
    pytest.param(
        b"{'a': 1}", "m.json", "parse.invalid_json", "double quotes", id="json-single-quotes"
    ),
    pytest.param(
        b'{"a": 1} {"b": 2}', "m.json", "parse.invalid_json", "Extra data", id="json-two-values"
    ),
    pytest.param(b"a: 1\n", "m.json", "parse.invalid_json", "line 1", id="yaml-named-json"),
    pytest.param(
        b"a: [1, 2\n", "m.yaml", "parse.invalid_yaml", "line 2, column 1", id="yaml-unclosed"
    ),
    pytest.param(
        b"a: b: c\n", "m.yaml", "parse.invalid_yaml", "line 1, column 5", id="yaml-nested-colon"
    ),
    pytest.param(b"a:\n\t- b\n", "m.yaml", "parse.invalid_yaml", "'\\t'", id="yaml-tab-indent"),
    pytest.param(
        b"a: 'unterminated\n", "m.yaml", "parse.invalid_yaml", "line", id="yaml-open-quote"
    ),
    pytest.param(
        b"a: 1\n---\nb: 2\n",
        "m.yaml",
        "parse.invalid_yaml",
        "another document",
        id="yaml-two-documents",
    ),
    pytest.param(
        b"a: !!python/object/apply:os.system ['true']\n",
        "m.yaml",
        "parse.invalid_yaml",
        "could not determine a constructor",
        id="yaml-python-tag",
    ),
    pytest.param(
        b"? [a, b]\n: c\n", "m.yaml", "parse.invalid_yaml", "unhashable key", id="yaml-list-key"
    ),
    # values PyYAML cannot build: it raises ValueError, KeyError... rather than a YAMLError
    pytest.param(
        b"AutoMLJobName: 2026-02-30\n",
        "m.yaml",
        "parse.invalid_yaml",
        "not a valid one",
        id="yaml-impossible-date",
    ),
    pytest.param(
        b"a: 2026-01-01 25:00:00\n", "m.yaml", "parse.invalid_yaml", "quote it", id="yaml-hour-25"
    ),
    pytest.param(b"a: !!int abc\n", "m.yaml", "parse.invalid_yaml", "quote it", id="yaml-int-tag"),
    pytest.param(
        b"a: !!bool maybe\n", "m.yaml", "parse.invalid_yaml", "quote it", id="yaml-bool-tag"
    ),
    pytest.param(
        b"a: !!timestamp nope\n",
        "m.yaml",
        "parse.invalid_yaml",
        "quote it",
        id="yaml-timestamp-tag",
    ),
    pytest.param(b"a: !!map [1]\n", "m.yaml", "parse.invalid_yaml", "quote it", id="yaml-map-tag"),
    # integers longer than Python converts (sys.get_int_max_str_digits(): 4300)
    pytest.param(
        b"a: " + b"9" * 5_000 + b"\n",
        "m.yaml",
        "parse.invalid_yaml",
        "more than 4300 digits",
        id="yaml-5000-digits",
    ),
    pytest.param(
        b'{"a": ' + b"9" * 5_000 + b"}",
        "m.json",
        "parse.invalid_json",
        "more than 4300 digits",
        id="json-5000-digits",
    ),
    # escapes for half a UTF-16 surrogate pair: not characters
    pytest.param(b'{"a": "\\ud800"}', "m.json", "parse.encoding", "\\ud800", id="json-surrogate"),
    pytest.param(
        b'{"a": {"\\udfff": 1}}', None, "parse.encoding", "\\udfff", id="json-surrogate-key"
    ),
    pytest.param(b'a: "\\udc00x"\n', "m.yaml", "parse.encoding", "surrogate", id="yaml-surrogate"),
]


@pytest.mark.parametrize(("data", "source_name", "code", "mention"), PARSE_ERROR_CASES)
def test_unreadable_document_is_one_parse_error(
    data: bytes, source_name: str | None, code: str, mention: str
) -> None:
    error_code, message = only_parse_error(validate_bytes(data, source_name))
    assert error_code == code
    assert mention in message


@pytest.mark.parametrize(("data", "source_name", "code", "mention"), PARSE_ERROR_CASES)
def test_parse_document_raises_manifest_error(
    data: bytes, source_name: str | None, code: str, mention: str
) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_document(data, source_name)
    assert caught.value.issue.code == code
    assert caught.value.issue.path == ""
    assert str(caught.value) == caught.value.issue.message


def test_a_surrogate_pair_escape_is_one_character() -> None:
    assert parse_document(b'{"a": "\\ud83d\\ude42"}', "m.json") == {"a": "\U0001f642"}


def test_size_limit_is_one_mib() -> None:
    assert MAX_MANIFEST_BYTES == MIB


def test_nesting_within_the_limit_is_not_a_parse_error() -> None:
    nested: Any = "deep"
    for _ in range(20):
        nested = {"x": nested}
    document = {**MANIFEST, "Extra": nested}
    result = validate_bytes(json.dumps(document).encode(), "m.json")
    assert [(e.path, e.code) for e in result.errors] == [("Extra", "unknown_field")]


def test_anchor_bomb_is_rejected_quickly() -> None:
    import time

    started = time.perf_counter()
    result = validate_bytes(BILLION_LAUGHS * 50, "m.yaml")
    assert result.errors[0].code == "parse.yaml_alias"
    assert time.perf_counter() - started < 1.0


def test_nan_from_yaml_is_a_type_error_not_a_crash() -> None:
    data = MANIFEST_YAML + b"DataSplitConfig:\n  ValidationFraction: .nan\n"
    result = validate_bytes(data, "m.yaml")
    assert [(e.path, e.code) for e in result.errors] == [
        ("DataSplitConfig.ValidationFraction", "type")
    ]


def test_huge_json_exponent_is_a_type_error_not_a_crash() -> None:
    data = MANIFEST_JSON[:-2] + b', "DataSplitConfig": {"ValidationFraction": 1e999}}'
    result = validate_bytes(data, "m.json")
    assert [(e.path, e.code) for e in result.errors] == [
        ("DataSplitConfig.ValidationFraction", "type")
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"just some text\n", id="string"),
        pytest.param(b"42\n", id="integer"),
        pytest.param(b"~\n", id="null"),
    ],
)
def test_not_a_mapping_message_speaks_json_not_python(data: bytes) -> None:
    result = validate_bytes(data, "m.yaml")
    message = result.errors[0].message
    assert result.errors[0].code == "parse.not_a_mapping"
    assert not re.search(r"\b(str|int|float|bool|NoneType)\b", message), message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.text(alphabet=st.sampled_from("{}[]:,-&*!?|>'\"#\n\t aA1.~%@`\\"), max_size=80).map(
            str.encode
        ),
    ),
    source_name=st.sampled_from([None, "m.json", "m.yaml", "m.txt"]),
)
def test_any_bytes_give_a_result_never_an_exception(data: bytes, source_name: str | None) -> None:
    result = validate_bytes(data, source_name)
    parse_errors = [e for e in result.errors if e.code.startswith("parse.")]
    if parse_errors:
        assert len(result.errors) == 1
        assert result.errors[0].path == ""
        assert result.errors[0].message
    else:
        assert result.request is not None


# --- Derived job names ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    source_name=st.one_of(
        st.none(),
        st.text(max_size=120),
        st.text(alphabet="aZ09-_. /\\", min_size=20, max_size=120),  # long, mostly usable names
    ),
    content=st.binary(max_size=256),
)
def test_derived_job_name_matches_the_api_pattern(source_name: str | None, content: bytes) -> None:
    name = derive_job_name(source_name, content)
    assert JOB_NAME.fullmatch(name), name
    assert len(name) <= 32
    assert derive_job_name(source_name, content) == name


@settings(max_examples=200, deadline=None)
@given(
    source_name=st.one_of(st.none(), st.text(max_size=60)),
    first=st.binary(max_size=64),
    second=st.binary(max_size=64),
)
def test_derived_job_name_changes_with_the_content(
    source_name: str | None, first: bytes, second: bytes
) -> None:
    assume(first != second)
    assert derive_job_name(source_name, first) != derive_job_name(source_name, second)


@pytest.mark.parametrize(
    ("source_name", "stem"),
    [
        pytest.param("churn.yaml", "churn", id="yaml"),
        pytest.param("churn.yml", "churn", id="yml"),
        pytest.param("churn.json", "churn", id="json"),
        pytest.param("Churn.YAML", "churn", id="upper-case-extension"),
        pytest.param("manifests/Churn model v2.yaml", "churn-model-v2", id="folder-and-spaces"),
        pytest.param("a/b/c/demand_forecast.json", "demand-forecast", id="underscore"),
        pytest.param("churn.v2.yaml", "churn-v2", id="only-the-last-extension"),
        pytest.param("--churn--.yaml", "churn", id="edge-hyphens"),
        pytest.param("données.yaml", "donn-es", id="non-ascii"),
        pytest.param(".yaml", "job", id="extension-only"),
        pytest.param("日本語.json", "job", id="nothing-usable"),
        pytest.param(None, "job", id="no-file-name"),
        pytest.param("", "job", id="empty-file-name"),
    ],
)
def test_derived_job_name_is_the_clean_stem_plus_a_hash(source_name: str | None, stem: str) -> None:
    name = derive_job_name(source_name, b"content")
    assert re.fullmatch(rf"{re.escape(stem)}-[0-9a-f]{{8}}", name), name


def test_long_file_name_is_cut_to_32_characters() -> None:
    name = derive_job_name("a" * 22 + "-" + "b" * 40 + ".yaml", b"x")
    assert len(name) == 32 - 1  # the cut lands on the hyphen, which is dropped
    assert name.startswith("a" * 22 + "-")
    assert JOB_NAME.fullmatch(name)
    assert len(derive_job_name("c" * 100 + ".yaml", b"x")) == 32


def test_same_content_same_name_across_folders() -> None:
    assert derive_job_name("a/churn.yaml", b"x") == derive_job_name("b/churn.yaml", b"x")
    assert derive_job_name("churn.yaml", b"x") == derive_job_name("churn.json", b"x")


def test_validate_bytes_fills_an_omitted_job_name() -> None:
    document = {k: v for k, v in MANIFEST.items() if k != "AutoMLJobName"}
    data = yaml.safe_dump(document).encode()
    result = validate_bytes(data, "manifests/House Prices.yaml")
    assert result.errors == []
    assert result.job_name == derive_job_name("manifests/House Prices.yaml", data)
    assert result.job_name is not None
    assert result.job_name.startswith("house-prices-")
    assert result.defaults_applied[0] == "AutoMLJobName"


def test_validate_bytes_keeps_a_given_job_name() -> None:
    result = validate_bytes(MANIFEST_YAML, "other-name.yaml")
    assert result.job_name == "house-prices-regression"
    assert "AutoMLJobName" not in result.defaults_applied
