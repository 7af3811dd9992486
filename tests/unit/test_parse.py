"""Reading a manifest: bytes in, a mapping or exactly one ``parse.*`` error out, never a crash.

Every test runs on both YAML parsers (libyaml's C parser, used where PyYAML has it, and the
pure-Python fallback): the answers must not depend on which one read the document.
Also the job name derived from a manifest's file name and content when it has none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from autopilot_flow import manifest
from autopilot_flow.manifest import (
    MAX_MANIFEST_BYTES,
    MAX_VALUES,
    YAML_LOADERS,
    ManifestError,
    derive_job_name,
    parse_document,
    use_yaml_loader,
    yaml_loader,
)
from autopilot_flow.validate import ValidationResult, validate_bytes
from tests.cpu import cpu_seconds

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


@pytest.fixture(autouse=True, params=YAML_LOADERS)
def loader(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test once per YAML parser."""
    before = yaml_loader()
    use_yaml_loader(request.param)
    yield str(request.param)
    use_yaml_loader(before)


def test_both_parsers_are_tested_here() -> None:
    # The Lambda layer's PyYAML (manylinux wheels) has libyaml, and so must the test venv:
    # otherwise the parametrization above would quietly test one parser only.
    assert YAML_LOADERS == ("python", "libyaml")


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
    # Quickly: at most the CPU of a few hundred normal validations (a ratio, not a clock).
    bomb = BILLION_LAUGHS * 50
    result = validate_bytes(bomb, "m.yaml")
    assert result.errors[0].code == "parse.yaml_alias"
    normal = json.dumps(MANIFEST).encode()
    reference = cpu_seconds(lambda: validate_bytes(normal, "m.json"), repeat=20)
    assert cpu_seconds(lambda: validate_bytes(bomb, "m.yaml")) < 400 * reference


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


# --- YAML 1.1 values: refused, with how to write them (issue 11, item 9) -------------------

CRITERIA = "AutoMLProblemTypeConfig.TabularJobConfig.CompletionCriteria"


def _with_criterion(line: bytes) -> bytes:
    """MANIFEST_YAML with ``line`` (e.g. ``MaxCandidates: 010``) as its completion criteria."""
    data = MANIFEST_YAML.replace(b"      MaxCandidates: 10\n", b"      " + line + b"\n")
    assert data != MANIFEST_YAML
    return data


@pytest.mark.parametrize(
    ("line", "field", "mentions"),
    [
        # YAML 1.1 (PyYAML) read these as 8 and 14400, and both passed validation.
        pytest.param(
            b"MaxCandidates: 010", "MaxCandidates", ["leading zero", "write 10"], id="octal"
        ),
        pytest.param(
            b"MaxAutoMLJobRuntimeInSeconds: 4:00:00",
            "MaxAutoMLJobRuntimeInSeconds",
            ["base-60", "14400", "seconds"],
            id="sexagesimal",
        ),
        pytest.param(b"MaxCandidates: 0x0A", "MaxCandidates", ["hexadecimal", "decimal"], id="hex"),
        pytest.param(b"MaxCandidates: 0o12", "MaxCandidates", ["octal", "decimal"], id="octal-1.2"),
        pytest.param(b"MaxCandidates: 0b1010", "MaxCandidates", ["binary"], id="binary"),
        pytest.param(b"MaxCandidates: 1_0", "MaxCandidates", ["without _ (10)"], id="underscore"),
        pytest.param(b"MaxCandidates: 1_", "MaxCandidates", ["without _ (1)"], id="trailing-_"),
        pytest.param(b"MaxCandidates: +010", "MaxCandidates", ["write 10"], id="signed-octal"),
        pytest.param(b"MaxCandidates: -010", "MaxCandidates", ["write -10"], id="negative-octal"),
        pytest.param(b"MaxCandidates: 09", "MaxCandidates", ["write 9"], id="not-octal-either"),
        pytest.param(b"MaxCandidates: -1:30", "MaxCandidates", ["base-60"], id="negative-base-60"),
        pytest.param(
            b"MaxCandidates: 1_0.5", "MaxCandidates", ["without _"], id="underscore-float"
        ),
        pytest.param(
            b"MaxCandidates: 1:30.5", "MaxCandidates", ["base-60"], id="sexagesimal-float"
        ),
    ],
)
def test_yaml_1_1_numbers_are_refused_with_how_to_write_them(
    line: bytes, field: str, mentions: list[str]
) -> None:
    code, message = only_parse_error(validate_bytes(_with_criterion(line), "m.yaml"))
    assert code == "parse.yaml_1_1_value"
    assert f"line 16 ({CRITERIA}.{field})" in message, message
    assert line.split(b": ")[1].decode() in message
    for mention in mentions:
        assert mention in message, message
    assert "in quotes if it is text" in message


@pytest.mark.parametrize(
    "word", ["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"]
)
def test_yaml_1_1_booleans_are_refused(word: str) -> None:
    data = MANIFEST_YAML + f"Deployment2: {word}\n".encode()
    code, message = only_parse_error(validate_bytes(data, "m.yaml"))
    assert code == "parse.yaml_1_1_value"
    assert f"line 23 (Deployment2): {word} is a boolean in YAML 1.1" in message, message
    assert "write true or false" in message


def test_a_yaml_1_1_key_is_refused_at_its_mapping() -> None:
    # YAML 1.1 made the key ``on`` the boolean True (GitHub Actions' famous "true:" key).
    code, message = only_parse_error(validate_bytes(b"Tags:\n  on: push\n", "m.yaml"))
    assert code == "parse.yaml_1_1_value"
    assert "line 2 (Tags): on is a boolean" in message


def test_a_merge_key_without_an_alias_is_refused() -> None:
    data = b"OutputDataConfig:\n  <<: {S3OutputPath: 's3://b/'}\n"
    code, message = only_parse_error(validate_bytes(data, "m.yaml"))
    assert code == "parse.yaml_1_1_value"
    assert "merge key" in message


def test_every_yaml_1_1_value_is_counted_and_the_first_are_shown() -> None:
    data = b"".join(b"k%d: 0%d\n" % (i, i + 1) for i in range(8))
    code, message = only_parse_error(validate_bytes(data, "m.yaml"))
    assert code == "parse.yaml_1_1_value"
    assert "line 1 (k0): 01 has a leading zero" in message
    assert "line 5 (k4): 05" in message
    assert "line 6" not in message
    assert "(and 3 more like these)" in message


def test_yaml_1_1_values_in_lists_name_their_item() -> None:
    data = b"a:\n- 1\n- [x, 0x10]\n"
    code, message = only_parse_error(validate_bytes(data, "m.yaml"))
    assert code == "parse.yaml_1_1_value"
    assert "line 3 (a[1][1]): 0x10" in message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # YAML 1.2 core schema, as JSON reads the same text.
        pytest.param("0", 0, id="zero"),
        pytest.param("-0", 0, id="minus-zero"),
        pytest.param("+12", 12, id="plus"),
        pytest.param("-12", -12, id="minus"),
        pytest.param("10.0", 10.0, id="float"),
        pytest.param("0.5", 0.5, id="leading-zero-float"),
        pytest.param(".5", 0.5, id="dot-float"),
        pytest.param("1e3", 1000.0, id="exponent-without-sign"),  # a string in YAML 1.1
        pytest.param("1.5E-3", 0.0015, id="exponent"),
        pytest.param("true", True, id="true"),
        pytest.param("False", False, id="False"),
        pytest.param("TRUE", True, id="TRUE"),
        pytest.param("null", None, id="null"),
        pytest.param("Null", None, id="Null"),
        pytest.param("~", None, id="tilde"),
        pytest.param("", None, id="empty"),
        # Not numbers, nor booleans, in either YAML version: text.
        pytest.param("y", "y", id="y"),  # a boolean only in the YAML 1.1 spec, not PyYAML
        pytest.param("n", "n", id="n"),
        pytest.param("None", "None", id="None"),
        pytest.param("=", "=", id="equals"),  # YAML 1.1's "value" key
        pytest.param("0x", "0x", id="bare-0x"),
        pytest.param("_1", "_1", id="leading-underscore"),  # not a number in YAML 1.1 either
        pytest.param("12:30:ab", "12:30:ab", id="not-base-60"),
        pytest.param("0:30", "0:30", id="not-base-60-either"),  # YAML 1.1 wants 1-9 first
        pytest.param("1_e5", "1_e5", id="not-a-number-either"),
        pytest.param("arn:aws:iam::1:role/a", "arn:aws:iam::1:role/a", id="arn"),
        pytest.param("'010'", "010", id="quoted-octal"),
        pytest.param('"4:00:00"', "4:00:00", id="quoted-sexagesimal"),
        pytest.param("'yes'", "yes", id="quoted-yes"),
        pytest.param("! 10", "10", id="non-specific-tag"),
        pytest.param("!!str 010", "010", id="str-tag"),
        pytest.param("!!int 10", 10, id="int-tag"),
    ],
)
def test_plain_scalars_are_read_as_yaml_1_2(text: str, value: Any) -> None:
    document = parse_document(f"a: {text}\n".encode(), "m.yaml")
    assert document == {"a": value}
    assert type(document["a"]) is type(value)


def test_dates_are_still_dates_so_a_text_field_reports_them() -> None:
    # YAML 1.2 core would read 2026-01-01 as text; kept as a date, it is never lost quietly.
    result = validate_bytes(MANIFEST_YAML.replace(b"sale_price", b"2026-01-01"), "m.yaml")
    assert [(e.path, e.code) for e in result.errors] == [
        ("AutoMLProblemTypeConfig.TabularJobConfig.TargetAttributeName", "type")
    ]


def test_an_int_tag_without_a_value_is_a_parse_error_not_a_crash() -> None:
    # PyYAML raises IndexError (not a YAMLError) building "!!int" with no digits.
    code, message = only_parse_error(validate_bytes(b"a: !!int\n", "m.yaml"))
    assert code == "parse.invalid_yaml"
    assert "quote it" in message


# --- Bounded work: a limit on the number of values (issue 11, item 8) ----------------------


def _values(count: int, media: str) -> tuple[bytes, str]:
    """A document of exactly ``count`` values: the mapping, its key, the list, the items."""
    items = count - 3
    if media == "json":
        return json.dumps({"a": [1] * items}).encode(), "m.json"
    return b"a: [" + b", ".join([b"1"] * items) + b"]\n", "m.yaml"


@pytest.mark.parametrize("media", ["json", "yaml"])
def test_a_document_at_the_value_limit_is_read(media: str) -> None:
    data, name = _values(MAX_VALUES, media)
    assert parse_document(data, name)["a"] == [1] * (MAX_VALUES - 3)


@pytest.mark.parametrize("media", ["json", "yaml"])
def test_one_value_more_is_refused(media: str) -> None:
    data, name = _values(MAX_VALUES + 1, media)
    code, message = only_parse_error(validate_bytes(data, name))
    assert code == "parse.too_many_values"
    assert f"more than {MAX_VALUES:,} keys, values, lists and mappings" in message


def test_keys_count_as_values() -> None:
    fields = {f"k{i}": None for i in range((MAX_VALUES - 1) // 2 + 1)}
    for data, name in (
        (json.dumps(fields).encode(), "m.json"),
        (yaml.safe_dump(fields).encode(), "m.yaml"),
    ):
        assert only_parse_error(validate_bytes(data, name))[0] == "parse.too_many_values"


def _fullest(node: dict[str, Any]) -> Any:
    """A document with every member of every structure (each member of a union, too) and
    every list and map of the API model at its maximum size: more than any valid manifest."""
    kind = node["type"]
    if kind == "structure":
        return {name: _fullest(member) for name, member in node["members"].items()}
    if kind == "list":
        return [_fullest(node["member"]) for _ in range(node["max"])]
    if kind == "map":
        return {f"key{i}": _fullest(node["value"]) for i in range(node["max"])}
    return 1


def test_the_value_limit_is_far_above_the_fullest_manifest() -> None:
    from autopilot_flow.api_model import request_model
    from autopilot_flow.sections import SECTION_NODES

    document = _fullest(request_model())
    document.update({name: _fullest(node) for name, node in SECTION_NODES.items()})
    assert 1_000 < count_values(document) < MAX_VALUES / 3
    for data, name in (
        (json.dumps(document).encode(), "m.json"),
        (yaml.safe_dump(document).encode(), "m.yaml"),
    ):
        assert parse_document(data, name) == document


def count_values(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + len(value) + sum(count_values(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(count_values(v) for v in value)
    return 1


def test_a_yaml_flood_stops_at_the_limit_not_at_its_end(loader: str) -> None:
    # 524k scalars: building them all took 15 CPU-seconds and 392 MB before the limit.
    flood = b"a: [" + b"1," * (MIB // 2 - 4) + b"1]\n"
    seen: list[int] = []
    real = manifest._StrictComposer._compose_tree

    def counting(self: Any) -> Any:
        get_event = self.get_event

        def counted() -> Any:
            seen.append(1)
            return get_event()

        self.get_event = counted
        return real(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest._StrictComposer, "_compose_tree", counting)
        code, _ = only_parse_error(validate_bytes(flood, "m.yaml"))
    assert code == "parse.too_many_values"
    assert MAX_VALUES < len(seen) <= MAX_VALUES + 10


def test_the_collector_is_paused_while_reading_and_restored_after() -> None:
    # A 1 MiB JSON flood cost 1 s instead of 0.05 s in a process with boto3 loaded: each batch
    # of new containers made the cyclic collector walk every object of the process.
    import gc

    seen: list[bool] = []
    real = manifest.plain_scalar_tag

    def watching(value: str) -> str:
        seen.append(gc.isenabled())
        return real(value)

    assert gc.isenabled()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest, "plain_scalar_tag", watching)
        assert parse_document(b"a: 1\n", "m.yaml") == {"a": 1}
        with pytest.raises(ManifestError):
            parse_document(b"a: 010\n", "m.yaml")
    assert len(seen) == 4 and not any(seen)  # two keys, two values, all read while paused
    assert gc.isenabled()  # restored, after an answer and after an error
    gc.disable()
    try:
        parse_document(b"a: 1\n", "m.yaml")
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


# --- The two parsers agree -------------------------------------------------------------------

yaml_keys = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=6)
yaml_documents = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=False, allow_infinity=False, width=32),
        st.text(max_size=12),
        st.sampled_from(["010", "0x1F", "4:00:00", "yes", "off", "1_000", "y", "=", "~"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(yaml_keys, inner, max_size=4)
    ),
    max_leaves=20,
)


class _PlainStrings(yaml.SafeDumper):
    """Writes some strings unquoted (PyYAML quotes what YAML 1.1 would read otherwise)."""

    def choose_scalar_style(self) -> str:
        if self.event.value in ("010", "0x1F", "4:00:00", "yes", "off", "1_000"):
            return ""
        return str(super().choose_scalar_style())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    document=st.dictionaries(yaml_keys, yaml_documents, min_size=1, max_size=5),
    flow=st.sampled_from([None, True, False]),
    plain=st.booleans(),
)
def test_both_parsers_give_the_same_answer(document: Any, flow: bool | None, plain: bool) -> None:
    dumper = _PlainStrings if plain else yaml.SafeDumper
    data = yaml.dump(document, Dumper=dumper, default_flow_style=flow, allow_unicode=True).encode()
    answers = []
    for name in YAML_LOADERS:
        use_yaml_loader(name)
        try:
            answers.append(("document", parse_document(data, "m.yaml")))
        except ManifestError as exc:
            answers.append((exc.issue.code, exc.issue.message))
    assert answers[0] == answers[1], data
    if not plain and not any(c.isdigit() for c in _strings(document)):
        # What a YAML writer writes reads back. (PyYAML writes strings such as 09 or 1e3
        # unquoted: text in YAML 1.1, which it speaks, but numbers in YAML 1.2.)
        assert answers[0] == ("document", document)


def _strings(value: Any) -> str:
    if isinstance(value, dict):
        return "".join(str(k) + _strings(v) for k, v in value.items())
    if isinstance(value, list):
        return "".join(_strings(v) for v in value)
    return value if isinstance(value, str) else ""


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
