"""The data the example manifests point at, for the offline demo and the tests.

Small CSV, Parquet, gzip, JSON Lines and image objects whose headers name exactly the
columns the examples use, so that the data preflight passes for every example.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

DATA_BUCKET = "amzn-s3-demo-ml-data"
OUTPUT_BUCKET = "amzn-s3-demo-ml-output"

DATA: dict[str, bytes] = {
    "churn/train/part-0.csv": b"customer_id,tenure,plan,monthly_charges,account_weight,churned\n"
    b"c1,12,basic,30.5,1.0,0\n",
    "churn/validation/part-0.csv": b"customer_id,tenure,plan,monthly_charges,account_weight,"
    b"churned\nc9,3,pro,80.0,1.0,1\n",
    "housing/train/part-0.parquet": b"PAR1" + b"\x00" * 64 + b"PAR1",
    "catalog/products.csv.gz": gzip.compress(b"sku,title,price,category\nA1,Mug,4.5,kitchen\n"),
    "retail/demand/2026.csv": b"date,product_id,store_id,demand,price\n2026-01-01,p1,s1,4,2.5\n",
    "support/tickets/train/part-0.csv": b"ticket_text,queue\nCannot log in,auth\n",
    "support/tickets/validation/part-0.csv": b"ticket_text,queue\nRefund please,billing\n",
    "inspection/labels/output.manifest": json.dumps(
        {
            "source-ref": f"s3://{DATA_BUCKET}/inspection/images/1.jpg",
            "label": 0,
            "label-metadata": {"class-name": "ok"},
        }
    ).encode()
    + b"\n",
    "inspection/images/1.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 32,
    "support/qa-pairs/pairs.csv": b"input,output\nHow do I reset?,Use the portal.\n",
}


def upload_example_data(s3: Any) -> None:
    """Create the examples' data and output buckets and fill the data bucket."""
    for bucket in (DATA_BUCKET, OUTPUT_BUCKET):
        s3.create_bucket(Bucket=bucket)
    for key, body in DATA.items():
        s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=body)
