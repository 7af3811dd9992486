"""The data preflight against moto: real buckets and objects, read through boto3."""

from __future__ import annotations

import copy
import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from autopilot_flow import preflight
from autopilot_flow import problem_types as pt
from autopilot_flow.preflight import CODES, PreflightResult, parse_s3_uri, run_preflight
from autopilot_flow.sagemaker import Backoff
from tests.conftest import load_example

BUCKET = "amzn-s3-demo-ml-data"
TABULAR = ("AutoMLProblemTypeConfig", pt.TABULAR)
TIME_SERIES = ("AutoMLProblemTypeConfig", pt.TIME_SERIES, "TimeSeriesConfig")


def uri_loc(index: int) -> tuple[Any, ...]:
    return ("AutoMLJobInputDataConfig", index, "DataSource", "S3DataSource", "S3Uri")


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PARQUET = b"PAR1" + b"\x15\x04" * 40 + b"\x2a\x00\x00\x00PAR1"


# --- Fixtures and helpers ---------------------------------------------------------------------

# One session for all tests: a client from a warm session costs ~7 ms instead of ~100 ms.
SESSION = boto3.session.Session()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = SESSION.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=BUCKET)
        yield client


def put(s3: Any, uri: str, body: bytes | str) -> None:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)


def channel(
    uri: str,
    kind: str = "training",
    *,
    content_type: str | None = pt.CSV,
    compression: str | None = None,
    data_type: str = "S3Prefix",
) -> dict[str, Any]:
    out: dict[str, Any] = {"ChannelType": kind}
    if content_type is not None:
        out["ContentType"] = content_type
    if compression is not None:
        out["CompressionType"] = compression
    out["DataSource"] = {"S3DataSource": {"S3DataType": data_type, "S3Uri": uri}}
    return out


def request(config_name: str, config: dict[str, Any], *channels: dict[str, Any]) -> dict[str, Any]:
    return {
        "AutoMLJobName": "preflight-test",
        "AutoMLJobInputDataConfig": list(channels),
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output/"},
        "AutoMLProblemTypeConfig": {config_name: config},
        "RoleArn": "arn:aws:iam::111122223333:role/AutopilotExecution",
    }


def tabular(*channels: dict[str, Any], **config: Any) -> dict[str, Any]:
    config = {"TargetAttributeName": "churned", "ProblemType": "BinaryClassification", **config}
    return request(pt.TABULAR, config, *channels)


def images(*channels: dict[str, Any]) -> dict[str, Any]:
    return request(pt.IMAGE_CLASSIFICATION, {}, *channels)


def example(name: str) -> dict[str, Any]:
    document = load_example(name)
    for section in ("Deployment", "Notifications"):
        document.pop(section, None)
    return document


def only(result: PreflightResult, code: str) -> Any:
    """The one error with ``code`` (and no other error)."""
    assert [e.code for e in result.errors] == [code], result.errors
    return result.errors[0]


def capture_gets(s3: Any) -> tuple[list[str | None], list[int]]:
    """Range header of every GetObject, and the bytes each response carried."""
    ranges: list[str | None] = []
    sizes: list[int] = []

    def before(params: dict[str, Any], **_: Any) -> None:
        ranges.append(params.get("headers", {}).get("Range"))

    def after(parsed: dict[str, Any], **_: Any) -> None:
        sizes.append(int(parsed.get("ContentLength", 0)))

    s3.meta.events.register("before-call.s3.GetObject", before)
    s3.meta.events.register("after-call.s3.GetObject", after)
    return ranges, sizes


CHURN_HEADER = "customer_id,tenure,plan,account_weight,churned\n"
CHURN_ROWS = "c-1,12,basic,1.0,0\nc-2,3,pro,2.5,1\n"


def churn_data(s3: Any, validation_header: str = CHURN_HEADER) -> None:
    put(s3, f"s3://{BUCKET}/churn/train/part-0000.csv", CHURN_HEADER + CHURN_ROWS)
    put(s3, f"s3://{BUCKET}/churn/validation/part-0000.csv", validation_header + CHURN_ROWS)


# --- Passing cases: the example manifests, one per problem type ------------------------------


def _data_churn(s3: Any) -> None:
    churn_data(s3)


def _data_images(s3: Any) -> None:
    lines = [
        {"source-ref": f"s3://{BUCKET}/inspection/images/{i:04}.jpg", "label": i % 2}
        for i in range(3)
    ]
    put(s3, f"s3://{BUCKET}/inspection/labels/output.manifest", "\n".join(map(json.dumps, lines)))
    for i in range(3):
        put(s3, f"s3://{BUCKET}/inspection/images/{i:04}.jpg", JPEG)


def _data_demand(s3: Any) -> None:
    rows = "date,store_id,product_id,price,demand\n2026-01-01,s1,p1,9.99,4\n"
    put(s3, f"s3://{BUCKET}/retail/demand/", b"")  # a folder marker is ignored
    put(s3, f"s3://{BUCKET}/retail/demand/_SUCCESS", b"")  # so is an empty object
    put(s3, f"s3://{BUCKET}/retail/demand/part-0000.csv", rows)


def _data_housing(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/housing/train/part-0000.parquet", PARQUET)


def _data_products(s3: Any) -> None:
    csv = "sku,title,category\n" + "".join(f"k{i},item {i},c{i % 7}\n" for i in range(500))
    put(s3, f"s3://{BUCKET}/catalog/products.csv.gz", gzip.compress(csv.encode()))


def _data_textgen(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/support/qa-pairs/train.csv", 'input,output\n"How?","Like so."\n')


def _data_tickets(s3: Any) -> None:
    body = "ticket_id,ticket_text,queue\n1,printer on fire,it\n"
    put(s3, f"s3://{BUCKET}/support/tickets/train/a.csv", body)
    put(s3, f"s3://{BUCKET}/support/tickets/validation/a.csv", body)


EXAMPLE_DATA: dict[str, Callable[[Any], None]] = {
    "churn-tabular.yaml": _data_churn,
    "defect-images.yaml": _data_images,
    "demand-forecast-timeseries.yaml": _data_demand,
    "house-prices-regression.json": _data_housing,
    "product-categories-multiclass.yaml": _data_products,
    "support-assistant-textgen.yaml": _data_textgen,
    "support-tickets-text.json": _data_tickets,
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_DATA))
def test_example_manifests_pass_with_matching_data(s3: Any, name: str) -> None:
    EXAMPLE_DATA[name](s3)
    result = run_preflight(s3, example(name))
    assert result.errors == []
    assert result.ok and not result.retryable
    assert result.checked
    expected = ["preflight.parquet_not_checked"] if name.startswith("house") else []
    assert [w.code for w in result.warnings] == expected


def test_tabular_checked_lines_name_what_was_read(s3: Any) -> None:
    churn_data(s3)
    result = run_preflight(s3, example("churn-tabular.yaml"))
    text = "\n".join(result.checked)
    assert f"s3://{BUCKET}/churn/train/part-0000.csv" in text
    assert "TabularJobConfig.TargetAttributeName 'churned'" in text
    assert "TabularJobConfig.SampleWeightAttributeName 'account_weight'" in text
    assert "validation header matches the training header (5)" in text


def test_gzip_header_is_read_from_the_first_bytes_only(s3: Any) -> None:
    _data_products(s3)
    result = run_preflight(s3, example("product-categories-multiclass.yaml"))
    assert result.errors == []
    assert any("gunzipped" in line and "'category'" in line for line in result.checked)


def test_time_series_names_grouping_and_filling_columns(s3: Any) -> None:
    _data_demand(s3)
    result = run_preflight(s3, example("demand-forecast-timeseries.yaml"))
    text = "\n".join(result.checked)
    for column in ("demand", "date", "product_id", "store_id", "price"):
        assert repr(column) in text


def test_image_prefix_of_jpg_files_passes(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/pets/cats/1.jpg", JPEG)
    put(s3, f"s3://{BUCKET}/pets/dogs/2.JPEG", JPEG)
    ranges, _ = capture_gets(s3)
    result = run_preflight(s3, images(channel(f"s3://{BUCKET}/pets/", content_type="image/*")))
    assert result.errors == [] and result.warnings == []
    assert ranges == []  # extensions are enough: no object is read
    assert "2 of the first 2 object(s)" in "\n".join(result.checked)


def test_image_prefix_without_extensions_is_recognised_by_magic_bytes(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/pets/0001", PNG)
    ranges, _ = capture_gets(s3)
    result = run_preflight(s3, images(channel(f"s3://{BUCKET}/pets/", content_type=None)))
    assert result.errors == []
    assert ranges == ["bytes=0-15"]
    assert "is a PNG image" in "\n".join(result.checked)


def test_image_content_type_disagreeing_with_files_is_a_warning(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/pets/1.jpg", JPEG)
    result = run_preflight(s3, images(channel(f"s3://{BUCKET}/pets/", content_type="image/png")))
    assert result.errors == []
    [warning] = result.warnings
    assert warning.code == "preflight.image_content_type"
    assert warning.loc == ("AutoMLJobInputDataConfig", 0, "ContentType")


def test_text_generation_input_output_passes(s3: Any) -> None:
    _data_textgen(s3)
    result = run_preflight(s3, example("support-assistant-textgen.yaml"))
    assert result.errors == []
    assert "'input', 'output'" in "\n".join(result.checked)


def test_bom_and_quoted_header_fields(s3: Any) -> None:
    body = '\ufeff"customer id","plan, tier","churned"\r\n"c-1","basic, monthly",0\r\n'
    put(s3, f"s3://{BUCKET}/q/train.csv", body.encode("utf-8"))
    req = tabular(channel(f"s3://{BUCKET}/q/"), SampleWeightAttributeName="plan, tier")
    result = run_preflight(s3, req)
    assert result.errors == []
    assert "'customer id', 'plan, tier', 'churned'" in "\n".join(result.checked)


def test_quoted_header_field_with_a_newline(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/q/train.csv", 'a,"multi\nline",churned\n1,2,3\n')
    result = run_preflight(s3, tabular(channel(f"s3://{BUCKET}/q/")))
    assert result.errors == []
    assert "'multi\\nline'" in "\n".join(result.checked)


# --- Columns -----------------------------------------------------------------------------------


def test_missing_target_column_lists_the_columns_found(s3: Any) -> None:
    churn_data(s3)
    req = example("churn-tabular.yaml")
    req["AutoMLProblemTypeConfig"][pt.TABULAR]["TargetAttributeName"] = "label"
    error = only(run_preflight(s3, req), "preflight.column_missing")
    assert error.loc == TABULAR + ("TargetAttributeName",)
    assert "column 'label' is not in the header of" in error.message
    assert f"s3://{BUCKET}/churn/train/part-0000.csv" in error.message
    assert "found 5 columns: 'customer_id', 'tenure', 'plan', 'account_weight'" in error.message
    assert "Did you mean" not in error.message


def test_target_column_differing_in_case_gets_a_suggestion(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/t/train.csv", "id,Churned\n1,0\n")
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/t/"))), "preflight.column_missing"
    )
    assert error.loc == TABULAR + ("TargetAttributeName",)
    assert "Did you mean 'Churned'? Column names are case-sensitive." in error.message


def test_misspelt_sample_weight_column(s3: Any) -> None:
    churn_data(s3)
    req = example("churn-tabular.yaml")
    req["AutoMLProblemTypeConfig"][pt.TABULAR]["SampleWeightAttributeName"] = "acount_weight"
    error = only(run_preflight(s3, req), "preflight.column_missing")
    assert error.loc == TABULAR + ("SampleWeightAttributeName",)
    assert "Did you mean 'account_weight'?" in error.message


def test_long_header_list_is_cut_in_messages(s3: Any) -> None:
    header = ",".join(f"feature_{i}" for i in range(60))
    put(s3, f"s3://{BUCKET}/wide/train.csv", header + "\n" + ",".join("1" * 60) + "\n")
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/wide/"))), "preflight.column_missing"
    )
    assert "found 60 columns:" in error.message and "... (40 more)" in error.message
    assert "feature_59" not in error.message


def test_semicolon_separated_file_gets_a_delimiter_hint(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/semi/train.csv", "id;plan;churned\n1;a;0\n")
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/semi/"))), "preflight.column_missing"
    )
    assert "is the file comma-separated?" in error.message


def test_time_series_missing_grouping_and_filling_columns(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/retail/demand/a.csv", "date,product_id,demand\n2026-01-01,p1,4\n")
    result = run_preflight(s3, example("demand-forecast-timeseries.yaml"))
    by_loc = {e.loc: e for e in result.errors}
    assert set(by_loc) == {
        TIME_SERIES + ("GroupingAttributeNames", 0),
        ("AutoMLProblemTypeConfig", pt.TIME_SERIES, "Transformations", "Filling", "price"),
    }
    assert all(e.code == "preflight.column_missing" for e in result.errors)
    assert (
        "column 'store_id' is not in the header"
        in by_loc[TIME_SERIES + ("GroupingAttributeNames", 0)].message
    )


def test_time_series_timestamp_and_item_columns(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/retail/demand/a.csv", "Date,item,store_id,price,demand\n")
    result = run_preflight(s3, example("demand-forecast-timeseries.yaml"))
    locs = {e.loc: e.message for e in result.errors}
    assert set(locs) == {
        TIME_SERIES + ("TimestampAttributeName",),
        TIME_SERIES + ("ItemIdentifierAttributeName",),
    }
    assert "Did you mean 'Date'?" in locs[TIME_SERIES + ("TimestampAttributeName",)]


def test_text_classification_content_and_label_columns(s3: Any) -> None:
    body = "ticket_id,text,queue\n1,hello,it\n"
    put(s3, f"s3://{BUCKET}/support/tickets/train/a.csv", body)
    put(s3, f"s3://{BUCKET}/support/tickets/validation/a.csv", body)
    error = only(
        run_preflight(s3, example("support-tickets-text.json")), "preflight.column_missing"
    )
    assert error.loc == ("AutoMLProblemTypeConfig", pt.TEXT_CLASSIFICATION, "ContentColumn")
    assert "column 'ticket_text'" in error.message


@pytest.mark.parametrize(
    ("header", "phrase"),
    [
        ("input,output,id", "unexpected 'id'"),
        ("Input,output", "'Input' should be named 'input'"),
        ("prompt,completion", "'input' is missing; 'output' is missing"),
    ],
)
def test_text_generation_needs_exactly_input_and_output(s3: Any, header: str, phrase: str) -> None:
    put(s3, f"s3://{BUCKET}/support/qa-pairs/train.csv", header + "\n")
    result = run_preflight(s3, example("support-assistant-textgen.yaml"))
    error = only(result, "preflight.text_generation_columns")
    assert error.loc == uri_loc(0)
    assert "exactly two columns named 'input' and 'output'" in error.message
    assert phrase in error.message


def test_duplicate_columns(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/dup/a.csv", "id,churned,x,x\n")
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/dup/"))),
        "preflight.csv_duplicate_columns",
    )
    assert error.loc == uri_loc(0) and "'x' more than once" in error.message


def test_empty_first_line_is_not_a_header(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/blank/a.csv", "\nid,churned\n")
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/blank/"))), "preflight.csv_no_header"
    )
    assert "first line" in error.message and "is empty" in error.message


def test_header_longer_than_the_read_is_a_warning(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/long/a.csv", ",".join(f"c{i}" for i in range(100)) + ",churned\n")
    result = run_preflight(s3, tabular(channel(f"s3://{BUCKET}/long/")), max_header_bytes=64)
    assert result.errors == []
    [warning] = result.warnings
    assert warning.code == "preflight.header_not_checked"
    assert "no complete header row" in warning.message and "first 64 bytes" in warning.message


def test_header_that_is_not_utf8_is_a_warning(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/latin/a.csv", "id,pr\xe9cis,churned\n".encode("latin-1"))
    result = run_preflight(s3, tabular(channel(f"s3://{BUCKET}/latin/")))
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["preflight.header_not_checked"]
    assert "not UTF-8" in result.warnings[0].message


# --- Training and validation headers ---------------------------------------------------------


def test_validation_header_differs(s3: Any) -> None:
    churn_data(s3, validation_header="customer_id,tenure,plan_name,account_weight,churned\n")
    error = only(run_preflight(s3, example("churn-tabular.yaml")), "preflight.header_mismatch")
    assert error.loc == uri_loc(1)
    assert "missing 'plan'" in error.message and "extra 'plan_name'" in error.message
    assert f"s3://{BUCKET}/churn/validation/part-0000.csv" in error.message


def test_validation_header_in_another_order(s3: Any) -> None:
    churn_data(s3, validation_header="tenure,customer_id,plan,account_weight,churned\n")
    error = only(run_preflight(s3, example("churn-tabular.yaml")), "preflight.header_mismatch")
    assert "same columns in another order" in error.message


# --- Locations: buckets, prefixes, permissions ------------------------------------------------


def test_empty_prefix(s3: Any) -> None:
    result = run_preflight(s3, tabular(channel(f"s3://{BUCKET}/nothing/here/")))
    error = only(result, "preflight.prefix_empty")
    assert error.loc == uri_loc(0)
    assert f"bucket '{BUCKET}' exists but nothing matches the prefix 'nothing/here/'" in (
        error.message
    )


def test_prefix_with_only_a_folder_marker(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/churn/train/", b"")
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/churn/train/"))), "preflight.prefix_empty"
    )
    assert "only folder marker(s) 'churn/train/'" in error.message


def test_prefix_with_only_empty_objects(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/churn/train/", b"")
    put(s3, f"s3://{BUCKET}/churn/train/a.csv", b"")
    put(s3, f"s3://{BUCKET}/churn/train/_SUCCESS", b"")
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/churn/train/"))),
        "preflight.prefix_only_empty_objects",
    )
    assert "are empty (0 bytes)" in error.message and "'churn/train/a.csv'" in error.message


def test_missing_bucket(s3: Any) -> None:
    churn_data(s3)
    req = tabular(
        channel(f"s3://{BUCKET}/churn/train/"), channel("s3://no-such-bucket-x/v/", "validation")
    )
    error = only(run_preflight(s3, req), "preflight.bucket_missing")
    assert error.loc == uri_loc(1)
    assert "bucket 'no-such-bucket-x' does not exist" in error.message


def test_missing_bucket_of_a_manifest_file(s3: Any) -> None:
    req = tabular(channel("s3://no-such-bucket-x/m.json", data_type="ManifestFile"))
    error = only(run_preflight(s3, req), "preflight.bucket_missing")
    assert "(reading s3://no-such-bucket-x/m.json (the training ManifestFile))" in error.message


def test_access_denied(s3: Any) -> None:
    churn_data(s3)

    @set_initial_no_auth_action_count(2)
    def as_user_without_permissions() -> PreflightResult:
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="no-data-access")
        key = iam.create_access_key(UserName="no-data-access")["AccessKey"]
        client = boto3.client(
            "s3",
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            aws_session_token=None,
        )
        return run_preflight(client, example("churn-tabular.yaml"))

    result = as_user_without_permissions()
    assert [e.code for e in result.errors] == ["preflight.access_denied"] * 2
    assert [e.loc for e in result.errors] == [uri_loc(0), uri_loc(1)]
    assert f"access denied reading the training prefix s3://{BUCKET}/churn/train/" in (
        result.errors[0].message
    )


def test_s3_unreachable_is_retryable_and_never_raises(s3: Any) -> None:
    unreachable = SESSION.client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    result = run_preflight(unreachable, tabular(channel(f"s3://{BUCKET}/churn/train/")))
    error = only(result, "preflight.s3_unavailable")
    assert "try again later" in error.message
    assert result.retryable


def test_first_data_object_skips_markers_and_empty_files(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/d/", b"")
    put(s3, f"s3://{BUCKET}/d/_SUCCESS", b"")
    put(s3, f"s3://{BUCKET}/d/part-1.csv", "id,churned\n1,0\n")
    result = run_preflight(s3, tabular(channel(f"s3://{BUCKET}/d/")))
    assert result.errors == []
    assert "first d/part-1.csv (15 bytes)" in "\n".join(result.checked)


# --- Manifest files ---------------------------------------------------------------------------


def test_manifest_file_reads_the_header_of_its_first_object(s3: Any) -> None:
    churn_data(s3)
    manifest = [
        {"prefix": f"s3://{BUCKET}/churn/"},
        "train/part-0000.csv",
        "validation/part-0000.csv",
    ]
    put(s3, f"s3://{BUCKET}/m/train.manifest", json.dumps(manifest))
    req = tabular(channel(f"s3://{BUCKET}/m/train.manifest", data_type="ManifestFile"))
    result = run_preflight(s3, req)
    assert result.errors == []
    text = "\n".join(result.checked)
    assert f"prefix s3://{BUCKET}/churn/, 2 key(s)" in text
    assert "'churned'" in text


def test_manifest_file_larger_than_the_read_is_parsed_from_its_head(s3: Any) -> None:
    churn_data(s3)
    keys = ["train/part-0000.csv"] + [f"train/part-{i:06}.csv" for i in range(1, 5000)]
    put(
        s3,
        f"s3://{BUCKET}/m/big.manifest",
        json.dumps([{"prefix": f"s3://{BUCKET}/churn/"}, *keys]),
    )
    ranges, _ = capture_gets(s3)
    req = tabular(channel(f"s3://{BUCKET}/m/big.manifest", data_type="ManifestFile"))
    result = run_preflight(s3, req, max_header_bytes=1024)
    assert result.errors == []
    assert ranges == ["bytes=0-1023", "bytes=0-1023"]
    assert "keys (first chunk read)" in "\n".join(result.checked)


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ("{not json", "is not valid JSON"),
        ('{"prefix": "s3://b/"}', "is a JSON dict, not an array"),
        ("[]", "first element is missing (empty array)"),
        ('["a.csv", "b.csv"]', 'must start with {"prefix": "s3://..."}'),
        ('[{"prefix": "/local/"}, "a.csv"]', 'must start with {"prefix": "s3://..."}'),
        (json.dumps([{"prefix": f"s3://{BUCKET}/"}]), "lists no object key after the prefix"),
        (json.dumps([{"prefix": f"s3://{BUCKET}/"}, "a.csv", 7]), "element [2] is 7"),
    ],
)
def test_malformed_manifest_file(s3: Any, body: str, phrase: str) -> None:
    put(s3, f"s3://{BUCKET}/m/bad.manifest", body)
    req = tabular(channel(f"s3://{BUCKET}/m/bad.manifest", data_type="ManifestFile"))
    error = only(run_preflight(s3, req), "preflight.manifest_malformed")
    assert error.loc == uri_loc(0)
    assert f"ManifestFile s3://{BUCKET}/m/bad.manifest" in error.message
    assert phrase in error.message


def test_malformed_manifest_file_cut_by_the_ranged_read(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/m/bad.manifest", '  {"prefix": "s3://b/"}' + " " * 100)
    req = tabular(channel(f"s3://{BUCKET}/m/bad.manifest", data_type="ManifestFile"))
    error = only(run_preflight(s3, req, max_header_bytes=32), "preflight.manifest_malformed")
    assert "is not a JSON array: it starts with '{" in error.message


def test_missing_manifest_file_and_missing_listed_object(s3: Any) -> None:
    put(
        s3,
        f"s3://{BUCKET}/m/ok.manifest",
        json.dumps([{"prefix": f"s3://{BUCKET}/x/"}, "gone.csv"]),
    )
    req = tabular(
        channel(f"s3://{BUCKET}/m/absent.manifest", data_type="ManifestFile"),
        channel(f"s3://{BUCKET}/m/ok.manifest", "validation", data_type="ManifestFile"),
    )
    result = run_preflight(s3, req)
    assert [(e.loc, e.code) for e in result.errors] == [
        (uri_loc(0), "preflight.object_missing"),
        (uri_loc(1), "preflight.object_missing"),
    ]
    assert f"s3://{BUCKET}/m/absent.manifest (the training ManifestFile) does not exist" in (
        result.errors[0].message
    )
    assert result.errors[1].message == (
        f"s3://{BUCKET}/x/gone.csv (the first object listed in ManifestFile "
        f"s3://{BUCKET}/m/ok.manifest) does not exist."
    )


def test_empty_manifest_file(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/m/empty.manifest", b"")
    req = tabular(channel(f"s3://{BUCKET}/m/empty.manifest", data_type="ManifestFile"))
    assert "is empty (0 bytes)" in only(run_preflight(s3, req), "preflight.object_empty").message


def test_image_manifest_file_pointing_at_csv(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/img/a.csv", "x,y\n")
    put(s3, f"s3://{BUCKET}/img/m.json", json.dumps([{"prefix": f"s3://{BUCKET}/img/"}, "a.csv"]))
    req = images(
        channel(f"s3://{BUCKET}/img/m.json", content_type="image/*", data_type="ManifestFile")
    )
    error = only(run_preflight(s3, req), "preflight.not_images")
    assert f"s3://{BUCKET}/img/a.csv (the first object listed in ManifestFile" in error.message
    assert error.message.endswith("is not a JPEG or PNG image: it starts with b'x,y\\n'.")


def test_manifest_image_named_jpg_must_be_a_jpeg(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/img/1.jpg", "<html>not found</html>")
    put(s3, f"s3://{BUCKET}/img/m.json", json.dumps([{"prefix": f"s3://{BUCKET}/img/"}, "1.jpg"]))
    req = images(channel(f"s3://{BUCKET}/img/m.json", data_type="ManifestFile"))
    error = only(run_preflight(s3, req), "preflight.not_images")
    assert error.message.endswith("is not a JPEG or PNG image: it starts with b'<html>not found<'.")


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (json.dumps([{"source-ref": "s3://b/1.jpg"}]), "line 1 is a JSON list, not an object"),
        ('{"source-ref": "s3://b/1.jpg"}\n{oops\n', "line 2 is not valid JSON"),
        ('{"image": "s3://b/1.jpg", "label": 1}\n', 'line 1 has no "source-ref" s3:// URI'),
        ("\n\n", "holds no JSON object line"),
    ],
)
def test_malformed_augmented_manifest(s3: Any, body: str, phrase: str) -> None:
    put(s3, f"s3://{BUCKET}/inspection/labels/output.manifest", body)
    error = only(
        run_preflight(s3, example("defect-images.yaml")), "preflight.augmented_manifest_malformed"
    )
    assert error.loc == uri_loc(0)
    assert phrase in error.message


def test_augmented_manifest_with_a_missing_image(s3: Any) -> None:
    line = {"source-ref": f"s3://{BUCKET}/inspection/images/none.jpg", "label": 0}
    put(s3, f"s3://{BUCKET}/inspection/labels/output.manifest", json.dumps(line) + "\n")
    error = only(run_preflight(s3, example("defect-images.yaml")), "preflight.object_missing")
    assert 'none.jpg (the "source-ref" image of line 1 of AugmentedManifestFile' in error.message
    assert error.message.endswith("does not exist.")


def test_augmented_manifest_cut_by_the_ranged_read(s3: Any) -> None:
    _data_images(s3)
    line = json.dumps({"source-ref": f"s3://{BUCKET}/inspection/images/0000.jpg", "label": 0})
    put(s3, f"s3://{BUCKET}/inspection/labels/output.manifest", "\n".join([line] * 500))
    result = run_preflight(s3, example("defect-images.yaml"), max_header_bytes=4096)
    assert result.errors == []
    complete_lines = 4096 // (len(line) + 1)
    assert f"first {complete_lines} line(s) are JSON objects" in "\n".join(result.checked)


# --- Locations inside manifest files (the policy's AllowedS3Prefixes) --------------------------

OTHER_BUCKET = "someone-elses-bucket"
ALLOWED = [f"s3://{BUCKET}/", "s3://amzn-s3-demo-ml-output/"]


@pytest.mark.parametrize("name", sorted(EXAMPLE_DATA))
def test_example_manifests_pass_with_the_policys_prefixes(s3: Any, name: str) -> None:
    EXAMPLE_DATA[name](s3)
    result = run_preflight(s3, example(name), allowed_s3_prefixes=ALLOWED)
    assert result.errors == []


def test_manifest_file_whose_prefix_names_another_bucket_is_refused(s3: Any) -> None:
    """Issue 11.3: the manifest lies under an allowed prefix, its data does not."""
    s3.create_bucket(Bucket=OTHER_BUCKET)
    put(s3, f"s3://{OTHER_BUCKET}/data/a.csv", CHURN_HEADER + CHURN_ROWS)
    manifest = [{"prefix": f"s3://{OTHER_BUCKET}/data/"}, "a.csv", "b.csv"]
    put(s3, f"s3://{BUCKET}/m/train.manifest", json.dumps(manifest))
    req = tabular(channel(f"s3://{BUCKET}/m/train.manifest", data_type="ManifestFile"))
    assert run_preflight(s3, req).errors == []  # without a policy, nothing is refused
    error = only(
        run_preflight(s3, req, allowed_s3_prefixes=ALLOWED),
        "preflight.manifest_location_not_allowed",
    )
    assert error.loc == uri_loc(0)
    assert (
        f"ManifestFile s3://{BUCKET}/m/train.manifest (prefix s3://{OTHER_BUCKET}/data/) lists "
        f"2 object(s) outside the S3 locations the policy allows ({', '.join(ALLOWED)}): "
        f"s3://{OTHER_BUCKET}/data/a.csv, s3://{OTHER_BUCKET}/data/b.csv."
    ) == error.message


def test_an_allowed_folder_prefix_covers_every_key_without_reading_them(s3: Any) -> None:
    churn_data(s3)
    keys = ["train/part-0000.csv"] + [f"train/part-{i:06}.csv" for i in range(1, 5000)]
    put(
        s3,
        f"s3://{BUCKET}/m/big.manifest",
        json.dumps([{"prefix": f"s3://{BUCKET}/churn/"}, *keys]),
    )
    req = tabular(channel(f"s3://{BUCKET}/m/big.manifest", data_type="ManifestFile"))
    result = run_preflight(s3, req, allowed_s3_prefixes=ALLOWED)
    assert result.errors == []
    assert f"prefix s3://{BUCKET}/churn/ lies under the allowed S3 prefixes" in "\n".join(
        result.checked
    )


def test_a_prefix_without_a_slash_is_continued_by_its_keys(s3: Any) -> None:
    """A key continues the prefix's last segment: every listed location is checked."""
    churn_data(s3)
    manifest = [{"prefix": f"s3://{BUCKET}/ch"}, "urn/train/part-0000.csv", "urn-secret/x.csv"]
    put(s3, f"s3://{BUCKET}/m/train.manifest", json.dumps(manifest))
    req = tabular(channel(f"s3://{BUCKET}/m/train.manifest", data_type="ManifestFile"))
    error = only(
        run_preflight(s3, req, allowed_s3_prefixes=[f"s3://{BUCKET}/churn/"]),
        "preflight.manifest_location_not_allowed",
    )
    assert "1 object(s) outside" in error.message
    assert error.message.endswith(f": s3://{BUCKET}/churn-secret/x.csv.")
    manifest.pop()
    put(s3, f"s3://{BUCKET}/m/train.manifest", json.dumps(manifest))
    result = run_preflight(s3, req, allowed_s3_prefixes=[f"s3://{BUCKET}/churn/"])
    assert result.errors == []
    assert "all 1 listed object(s) lie under the allowed S3 prefixes" in "\n".join(result.checked)


def test_a_bucket_name_continued_by_a_key_is_another_bucket(s3: Any) -> None:
    manifest = [{"prefix": f"s3://{BUCKET}"}, "-evil/a.csv"]
    put(s3, f"s3://{BUCKET}/m/train.manifest", json.dumps(manifest))
    req = tabular(channel(f"s3://{BUCKET}/m/train.manifest", data_type="ManifestFile"))
    result = run_preflight(s3, req, allowed_s3_prefixes=[f"s3://{BUCKET}"])
    codes = [e.code for e in result.errors]
    assert "preflight.manifest_location_not_allowed" in codes
    assert (
        f"s3://{BUCKET}-evil/a.csv"
        in result.errors[codes.index("preflight.manifest_location_not_allowed")].message
    )


def test_a_manifest_file_too_large_to_check_is_refused(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preflight, "MAX_LOCATION_SCAN_BYTES", 256)
    churn_data(s3)
    keys = ["urn/train/part-0000.csv"] + [f"urn/train/part-{i:06}.csv" for i in range(1, 50)]
    put(s3, f"s3://{BUCKET}/m/big.manifest", json.dumps([{"prefix": f"s3://{BUCKET}/ch"}, *keys]))
    req = tabular(channel(f"s3://{BUCKET}/m/big.manifest", data_type="ManifestFile"))
    ranges, _ = capture_gets(s3)
    error = only(
        run_preflight(s3, req, max_header_bytes=128, allowed_s3_prefixes=ALLOWED),
        "preflight.manifest_locations_not_checked",
    )
    assert ranges[0] == "bytes=0-255"  # the scan limit, not the whole file
    assert f"its prefix s3://{BUCKET}/ch is not an allowed folder" in error.message
    assert "larger than the 256 bytes read; the first 1 were checked" in error.message


def test_too_many_distinct_locations_are_refused(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "MAX_CHECKED_LOCATIONS", 3)
    churn_data(s3)
    keys = ["urn/train/part-0000.csv"] + [f"urn/train/p-{i}.csv" for i in range(5)]
    put(s3, f"s3://{BUCKET}/m/m.manifest", json.dumps([{"prefix": f"s3://{BUCKET}/ch"}, *keys]))
    req = tabular(channel(f"s3://{BUCKET}/m/m.manifest", data_type="ManifestFile"))
    error = only(
        run_preflight(s3, req, allowed_s3_prefixes=ALLOWED),
        "preflight.manifest_locations_not_checked",
    )
    assert "lists more than 3 distinct objects; the first 3 were checked" in error.message


def _augmented(s3: Any, lines: list[dict[str, Any]]) -> None:
    body = "\n".join(map(json.dumps, lines)) + "\n"
    put(s3, f"s3://{BUCKET}/inspection/labels/output.manifest", body)


def test_augmented_manifest_lines_referring_to_another_bucket_are_refused(s3: Any) -> None:
    _data_images(s3)
    lines = [
        {"source-ref": f"s3://{BUCKET}/inspection/images/{i:04}.jpg", "label": 0} for i in range(3)
    ]
    lines.append({"source-ref": f"s3://{OTHER_BUCKET}/x.jpg", "label": 1})
    lines.append(
        {"source-ref": f"s3://{BUCKET}/inspection/images/0000.jpg", "mask-ref": "s3://a/m"}
    )
    lines.append({"source-ref": f"https://{OTHER_BUCKET}.s3.amazonaws.com/y.jpg", "label": 1})
    _augmented(s3, lines)
    error = only(
        run_preflight(s3, example("defect-images.yaml"), allowed_s3_prefixes=ALLOWED),
        "preflight.manifest_location_not_allowed",
    )
    assert error.loc == uri_loc(0)
    assert (
        f"refers to 3 object(s) outside the S3 locations the policy allows ({', '.join(ALLOWED)}): "
        f's3://{OTHER_BUCKET}/x.jpg (line 4 "source-ref"), s3://a/m (line 5 "mask-ref"), '
        f'https://{OTHER_BUCKET}.s3.amazonaws.com/y.jpg (line 6 "source-ref") (6 line(s) checked).'
    ) in error.message
    # Without a policy the same file passes (the first image is the only one read).
    assert run_preflight(s3, example("defect-images.yaml")).errors == []


def test_augmented_manifest_longer_than_the_checked_lines_is_refused(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preflight, "MAX_LOCATION_LINES", 5)
    _data_images(s3)
    line = {"source-ref": f"s3://{BUCKET}/inspection/images/0000.jpg", "label": 0}
    _augmented(s3, [line] * 5)
    assert run_preflight(s3, example("defect-images.yaml"), allowed_s3_prefixes=ALLOWED).ok
    _augmented(s3, [line] * 6)
    error = only(
        run_preflight(s3, example("defect-images.yaml"), allowed_s3_prefixes=ALLOWED),
        "preflight.manifest_locations_not_checked",
    )
    assert "its first 5 line(s) (1 distinct S3 reference(s)) lie under the allowed" in (
        error.message
    )


def test_augmented_manifest_larger_than_the_bytes_read_is_refused(
    s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preflight, "MAX_LOCATION_SCAN_BYTES", 4096)
    _data_images(s3)
    line = {"source-ref": f"s3://{BUCKET}/inspection/images/0000.jpg", "label": 0}
    _augmented(s3, [line] * 500)
    ranges, _ = capture_gets(s3)
    result = run_preflight(
        s3, example("defect-images.yaml"), max_header_bytes=1024, allowed_s3_prefixes=ALLOWED
    )
    error = only(result, "preflight.manifest_locations_not_checked")
    assert ranges[0] == "bytes=0-4095"  # the scan limit, not the whole file
    complete_lines = 4096 // (len(json.dumps(line)) + 1)
    assert f"its first {complete_lines} line(s) (1 distinct S3 reference(s))" in error.message
    assert "at most 4,096 bytes, 100,000 lines" in error.message


def test_augmented_manifest_line_past_the_structure_check_must_be_an_object(s3: Any) -> None:
    _data_images(s3)
    line = {"source-ref": f"s3://{BUCKET}/inspection/images/0000.jpg", "label": 0}
    body = "\n".join([json.dumps(line)] * 150 + ["[1, 2]"]) + "\n"
    put(s3, f"s3://{BUCKET}/inspection/labels/output.manifest", body)
    assert run_preflight(s3, example("defect-images.yaml")).ok  # only 100 lines are parsed
    error = only(
        run_preflight(s3, example("defect-images.yaml"), allowed_s3_prefixes=ALLOWED),
        "preflight.augmented_manifest_malformed",
    )
    assert "line 151 is not a JSON object" in error.message


def test_with_the_preflight_off_manifest_files_are_refused_under_an_s3_policy() -> None:
    req = tabular(
        channel(f"s3://{BUCKET}/m/train.manifest", data_type="ManifestFile"),
        channel(f"s3://{BUCKET}/prefix/", "validation"),
        channel(f"s3://{BUCKET}/m/aug.manifest", "validation", data_type="AugmentedManifestFile"),
    )
    assert preflight.manifest_files_not_read(req, None) == []
    issues = preflight.manifest_files_not_read(req, ALLOWED)
    assert [(i.loc, i.code) for i in issues] == [
        (uri_loc(0), "preflight.manifest_locations_not_checked"),
        (uri_loc(2), "preflight.manifest_locations_not_checked"),
    ]
    assert "the data preflight is off" in issues[0].message
    assert f"ManifestFile s3://{BUCKET}/m/train.manifest" in issues[0].message


# --- Images -----------------------------------------------------------------------------------


def test_image_prefix_holding_csv_files(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/pets/train.csv", "x,y\n1,2\n")
    put(s3, f"s3://{BUCKET}/pets/readme.txt", "hello")
    error = only(
        run_preflight(s3, images(channel(f"s3://{BUCKET}/pets/", content_type="image/*"))),
        "preflight.not_images",
    )
    assert error.loc == uri_loc(0)
    assert "none of the first 2 object(s)" in error.message
    assert "no key ends in .jpg, .jpeg or .png" in error.message
    assert "'pets/readme.txt' starts with b'hello'" in error.message


# --- Compression and content type -------------------------------------------------------------


def test_gzip_data_declared_uncompressed(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/z/a.csv.gz", gzip.compress(b"id,churned\n1,0\n"))
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/z/"))), "preflight.compression_mismatch"
    )
    assert error.loc == ("AutoMLJobInputDataConfig", 0, "CompressionType")
    assert "is gzip-compressed, but CompressionType is None" in error.message


def test_plain_data_declared_gzip(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/z/a.csv", "id,churned\n1,0\n")
    req = tabular(channel(f"s3://{BUCKET}/z/", compression="Gzip"))
    error = only(run_preflight(s3, req), "preflight.compression_mismatch")
    assert "CompressionType is Gzip, but" in error.message and "b'id,churned\\n1,0" in error.message


def test_corrupt_gzip(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/z/a.csv.gz", b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    req = tabular(channel(f"s3://{BUCKET}/z/", compression="Gzip"))
    assert (
        "does not decompress" in only(run_preflight(s3, req), "preflight.gzip_unreadable").message
    )


def test_parquet_data_declared_csv(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/p/a.parquet", PARQUET)
    error = only(
        run_preflight(s3, tabular(channel(f"s3://{BUCKET}/p/", content_type=None))),
        "preflight.content_type_mismatch",
    )
    assert error.loc == ("AutoMLJobInputDataConfig", 0, "ContentType")
    assert "is a Parquet file" in error.message


# --- Parquet ----------------------------------------------------------------------------------


def test_parquet_with_magic_warns_about_unchecked_columns(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/p/a.parquet", PARQUET)
    ranges, sizes = capture_gets(s3)
    req = tabular(
        channel(f"s3://{BUCKET}/p/", content_type=pt.PARQUET), SampleWeightAttributeName="w"
    )
    result = run_preflight(s3, req)
    assert result.errors == []
    [warning] = result.warnings
    assert warning.code == "preflight.parquet_not_checked"
    assert warning.loc == ("AutoMLJobInputDataConfig", 0, "ContentType")
    assert "'churned' (TabularJobConfig.TargetAttributeName)" in warning.message
    assert "'w' (TabularJobConfig.SampleWeightAttributeName)" in warning.message
    assert ranges == ["bytes=-4"] and sizes == [4]


def test_parquet_without_magic(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/p/a.parquet", "id,churned\n1,0\n")
    req = tabular(channel(f"s3://{BUCKET}/p/", content_type=pt.PARQUET))
    error = only(run_preflight(s3, req), "preflight.parquet_magic")
    assert error.loc == uri_loc(0)
    assert (
        f"s3://{BUCKET}/p/a.parquet (the first training object under s3://{BUCKET}/p/) is "
        "not a Parquet file" in error.message
    )
    assert "ends with b'1,0\\n'" in error.message and "looks like text" in error.message


def test_parquet_text_generation_names_input_and_output(s3: Any) -> None:
    put(s3, f"s3://{BUCKET}/support/qa-pairs/a.parquet", PARQUET)
    req = example("support-assistant-textgen.yaml")
    req["AutoMLJobInputDataConfig"][0]["ContentType"] = pt.PARQUET
    result = run_preflight(s3, req)
    assert result.errors == []
    assert "'input', 'output'" in result.warnings[0].message


# --- Reading as little as possible -------------------------------------------------------------


def test_large_csv_is_read_only_through_one_small_ranged_get(s3: Any) -> None:
    row = "c-1,12,basic,1.0,0\n"
    body = CHURN_HEADER + row * (5 * 1024 * 1024 // len(row))
    assert len(body) > 5_000_000
    put(s3, f"s3://{BUCKET}/big/part-0.csv", body)
    ranges, sizes = capture_gets(s3)
    result = run_preflight(s3, tabular(channel(f"s3://{BUCKET}/big/")))
    assert result.errors == []
    assert ranges == ["bytes=0-65535"]
    assert sum(sizes) == 65536


def test_large_gzip_csv_decompresses_a_bounded_amount(s3: Any) -> None:
    row = "c-1,12,basic,1.0,0\n"
    put(s3, f"s3://{BUCKET}/big/a.csv.gz", gzip.compress((CHURN_HEADER + row * 300_000).encode()))
    ranges, sizes = capture_gets(s3)
    req = tabular(channel(f"s3://{BUCKET}/big/", compression="Gzip"))
    result = run_preflight(s3, req, max_header_bytes=4096)
    assert result.errors == []
    assert ranges == ["bytes=0-4095"] and sum(sizes) <= 4096
    assert any("gunzipped to 4,096" in line for line in result.checked)


# --- Feature specification --------------------------------------------------------------------


def test_feature_specification(s3: Any) -> None:
    churn_data(s3)
    spec_uri = f"s3://{BUCKET}/spec/features.json"
    put(s3, spec_uri, json.dumps({"FeatureAttributeNames": ["tenure", "Plan"]}))
    req = example("churn-tabular.yaml")
    req["AutoMLProblemTypeConfig"][pt.TABULAR]["FeatureSpecificationS3Uri"] = spec_uri
    error = only(run_preflight(s3, req), "preflight.column_missing")
    assert error.loc == TABULAR + ("FeatureSpecificationS3Uri",)
    assert "names column 'Plan'" in error.message and "Did you mean 'plan'?" in error.message


@pytest.mark.parametrize(
    ("spec", "phrase"),
    [
        ({"FeatureAttributeNames": ["tenure", "churned"]}, "names the target column 'churned'"),
        ({"FeatureDataTypes": {"tenure": "float"}}, "the data type 'float'"),
        ({"Features": ["tenure"]}, "unknown key(s) 'Features'"),
        (["tenure"], "is a JSON list, not an object"),
    ],
)
def test_malformed_feature_specification(s3: Any, spec: Any, phrase: str) -> None:
    churn_data(s3)
    spec_uri = f"s3://{BUCKET}/spec/features.json"
    put(s3, spec_uri, json.dumps(spec))
    req = example("churn-tabular.yaml")
    req["AutoMLProblemTypeConfig"][pt.TABULAR]["FeatureSpecificationS3Uri"] = spec_uri
    error = only(run_preflight(s3, req), "preflight.feature_specification")
    assert phrase in error.message


def test_oversized_feature_specification_is_a_warning(s3: Any) -> None:
    churn_data(s3)
    spec_uri = f"s3://{BUCKET}/spec/features.json"
    names = [f"feature_{i:07}" for i in range(70_000)]
    put(s3, spec_uri, json.dumps({"FeatureAttributeNames": names}))
    req = example("churn-tabular.yaml")
    req["AutoMLProblemTypeConfig"][pt.TABULAR]["FeatureSpecificationS3Uri"] = spec_uri
    result = run_preflight(s3, req)
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["preflight.feature_specification_not_checked"]


def test_missing_feature_specification(s3: Any) -> None:
    _data_demand(s3)
    req = example("demand-forecast-timeseries.yaml")
    config = req["AutoMLProblemTypeConfig"][pt.TIME_SERIES]
    config["FeatureSpecificationS3Uri"] = f"s3://{BUCKET}/spec/none.json"
    error = only(run_preflight(s3, req), "preflight.object_missing")
    assert error.loc == ("AutoMLProblemTypeConfig", pt.TIME_SERIES, "FeatureSpecificationS3Uri")


# --- Robustness ---------------------------------------------------------------------------------


def test_s3_uri_forms() -> None:
    assert parse_s3_uri("s3://b/k/x.csv") == ("b", "k/x.csv")
    assert parse_s3_uri("s3://b") == ("b", "")
    assert parse_s3_uri("https://b.s3.eu-west-1.amazonaws.com/k%20x.csv") == ("b", "k x.csv")
    assert parse_s3_uri("https://s3.us-east-1.amazonaws.com/b/k") == ("b", "k")
    assert parse_s3_uri("https://example.com/data.csv") is None


def test_non_s3_https_uri_is_a_warning(s3: Any) -> None:
    result = run_preflight(s3, tabular(channel("https://example.com/data/")))
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["preflight.uri_not_checked"]


def test_invalid_bucket_name_is_an_error_not_an_exception(s3: Any) -> None:
    result = run_preflight(s3, tabular(channel("s3://bad bucket/x/")))
    assert [e.code for e in result.errors] == ["preflight.s3_uri"]


@pytest.mark.parametrize(
    "req",
    [
        {},
        {"AutoMLJobInputDataConfig": "nope"},
        {"AutoMLJobInputDataConfig": [None, {"DataSource": {}}]},
        {"AutoMLProblemTypeConfig": {pt.TABULAR: {}}, "AutoMLJobInputDataConfig": [{}]},
    ],
)
def test_malformed_requests_never_raise(s3: Any, req: dict[str, Any]) -> None:
    result = run_preflight(s3, copy.deepcopy(req))
    assert result.errors == [] and result.checked == []


# --- Deployment.Strategy: the rollback alarms exist (CloudWatch DescribeAlarms) -----------------


@pytest.fixture
def cloudwatch(s3: Any) -> Any:
    """A CloudWatch client in the same moto account as ``s3`` (whose fixture starts moto)."""
    return SESSION.client(
        "cloudwatch",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def put_alarm(cloudwatch: Any, name: str) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": "demand-forecast"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def with_alarms(*names: str) -> dict[str, Any]:
    """A Deployment section whose canary is watched by ``names``."""
    return {
        "EndpointName": "demand-forecast",
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 2,
        "Strategy": {"Type": "Canary", "StepPercent": 10, "AutoRollbackAlarmNames": list(names)},
    }


def count_describe_alarms(cloudwatch: Any) -> list[list[str]]:
    """The AlarmNames of every DescribeAlarms call the client makes."""
    calls: list[list[str]] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        calls.append(list(params["AlarmNames"]))

    cloudwatch.meta.events.register("provide-client-params.cloudwatch.DescribeAlarms", seen)
    return calls


def check_alarms(cloudwatch: Any, *names: str, backoff: Backoff | None = None) -> PreflightResult:
    alarms = preflight.rollback_alarms(with_alarms(*names))
    return preflight.check_rollback_alarms(
        cloudwatch, backoff or Backoff(sleep=lambda seconds: None), alarms
    )


def alarm_loc(index: int) -> tuple[Any, ...]:
    return ("Deployment", "Strategy", "AutoRollbackAlarmNames", index)


def test_rollback_alarms_that_exist_pass_in_one_call(cloudwatch: Any) -> None:
    put_alarm(cloudwatch, "demand-5xx")
    put_alarm(cloudwatch, "demand-latency")
    calls = count_describe_alarms(cloudwatch)
    result = check_alarms(cloudwatch, "demand-5xx", "demand-latency")
    assert result.errors == [] and not result.retryable
    assert result.checked == ["alarm demand-5xx: exists", "alarm demand-latency: exists"]
    assert calls == [["demand-5xx", "demand-latency"]]


def test_a_missing_rollback_alarm_is_an_error_at_its_own_path(cloudwatch: Any) -> None:
    put_alarm(cloudwatch, "demand-5xx")
    result = check_alarms(cloudwatch, "demand-5xx", "Demand-Latency")
    assert [(e.loc, e.code) for e in result.errors] == [(alarm_loc(1), "preflight.alarm_missing")]
    assert "'Demand-Latency'" in result.errors[0].message
    assert not result.retryable


def test_several_missing_alarms_are_all_reported_from_one_call(cloudwatch: Any) -> None:
    put_alarm(cloudwatch, "demand-5xx")
    calls = count_describe_alarms(cloudwatch)
    result = check_alarms(cloudwatch, "demand-5xz", "demand-5xx", "demand-latency", "demand-5xz")
    assert [(e.loc, e.code) for e in result.errors] == [
        (alarm_loc(0), "preflight.alarm_missing"),
        (alarm_loc(2), "preflight.alarm_missing"),
        (alarm_loc(3), "preflight.alarm_missing"),
    ]
    assert "Did you mean 'demand-5xx'?" in result.errors[0].message
    # One call, each name once (a name listed twice is reported at both places).
    assert calls == [["demand-5xx", "demand-5xz", "demand-latency"]]


def test_alarm_names_are_asked_for_a_hundred_at_a_time(cloudwatch: Any) -> None:
    names = [f"alarm-{i:03}" for i in range(150)]
    put_alarm(cloudwatch, "alarm-149")
    calls = count_describe_alarms(cloudwatch)
    alarms = [(alarm_loc(i), name) for i, name in enumerate(names)]
    result = preflight.check_rollback_alarms(
        cloudwatch, Backoff(sleep=lambda seconds: None), alarms
    )
    assert [len(names) for names in calls] == [100, 50]
    assert len(result.errors) == 149
    assert all(e.code == "preflight.alarm_missing" for e in result.errors)
    assert result.checked == ["alarm alarm-149: exists"]


def test_no_strategy_no_alarm_check() -> None:
    assert preflight.rollback_alarms(None) == []
    assert preflight.rollback_alarms({"InstanceType": "ml.m5.large"}) == []
    assert preflight.rollback_alarms({"Strategy": {"Type": "AllAtOnce"}}) == []


def test_alarms_cloudwatch_refuses_to_describe_are_refused_not_assumed(s3: Any) -> None:
    @set_initial_no_auth_action_count(2)
    def as_user_without_permissions() -> PreflightResult:
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="no-alarm-access")
        key = iam.create_access_key(UserName="no-alarm-access")["AccessKey"]
        client = boto3.client(
            "cloudwatch",
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            aws_session_token=None,
        )
        return check_alarms(client, "demand-5xx", "demand-latency")

    result = as_user_without_permissions()
    assert [(e.loc, e.code) for e in result.errors] == [
        (("Deployment", "Strategy", "AutoRollbackAlarmNames"), "preflight.alarms_unverified")
    ]
    assert "cloudwatch:DescribeAlarms" in result.errors[0].message
    assert not result.retryable


def test_throttled_alarm_check_is_retried_then_retryable(cloudwatch: Any) -> None:
    put_alarm(cloudwatch, "demand-5xx")
    answered: list[str] = []

    def throttle(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        answered.append("Throttling")
        parsed = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}
        return AWSResponse("https://monitoring", 400, {}, None), parsed

    cloudwatch.meta.events.register("before-call.cloudwatch.DescribeAlarms", throttle)
    slept: list[float] = []  # a recording sleep, injected
    result = check_alarms(cloudwatch, "demand-5xx", backoff=Backoff(attempts=3, sleep=slept.append))
    assert [e.code for e in result.errors] == ["preflight.alarms_unavailable"]
    assert result.retryable
    assert len(answered) == 3 and len(slept) == 2


def test_cloudwatch_unreachable_is_retryable_and_never_raises(s3: Any) -> None:
    unreachable = SESSION.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    result = check_alarms(unreachable, "demand-5xx")
    assert [e.code for e in result.errors] == ["preflight.alarms_unavailable"]
    assert result.retryable


def test_every_reported_code_is_documented() -> None:
    used = set(re.findall(r'"(preflight\.[a-z_0-9]+)"', Path(preflight.__file__).read_text()))
    assert used == set(CODES)
    endpoint = set(re.findall(r'"(deployment\.[a-z_0-9]+)"', Path(preflight.__file__).read_text()))
    assert endpoint == set(preflight.ENDPOINT_CODES)
