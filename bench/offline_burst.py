"""A burst through the whole offline service: N manifests, throttling injected, a quota.

Prints jobs created (must equal N), duplicates (0), manifests in the DLQ (0), wall time,
and SageMaker API calls per job (every call the simulator received, throttled ones too).

    .venv/bin/python bench/offline_burst.py [--manifests 1000] [--throttle-rate 0.2]
                                           [--quota 50] [--speed 6000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--throttle-rate", type=float, default=0.2)
    parser.add_argument("--quota", type=int, default=50)
    parser.add_argument("--speed", type=float, default=6000)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    document = yaml.safe_load((ROOT / "examples/manifests/support-tickets-text.json").read_text())
    del document["AutoMLJobName"], document["Deployment"]
    body = json.dumps(document).encode()
    options = OfflineOptions(
        state_dir=Path(tempfile.mkdtemp()),
        speed=args.speed,
        quota=args.quota,
        throttle_rate=args.throttle_rate,
        parameters={"EndpointPollSeconds": "1"},
    )
    with OfflineStack(options) as stack:
        s3, sagemaker, sqs = stack.client("s3"), stack.client("sagemaker"), stack.client("sqs")
        assert stack.simulator is not None
        upload_example_data(s3)
        resources = stack.describe()["resources"]
        start = time.monotonic()
        for index in range(args.manifests):
            s3.put_object(
                Bucket=resources["ManifestsBucket"],
                Key=f"manifests/burst/ticket-{index:04}.json",
                Body=body,
            )

        def jobs() -> list[dict]:
            found, token = [], None
            while True:
                kwargs = {"MaxResults": 100, **({"NextToken": token} if token else {})}
                try:
                    page = sagemaker.list_auto_ml_jobs(**kwargs)
                except Exception:  # a throttle meant for the service; ask again
                    time.sleep(0.2)
                    continue
                found += page["AutoMLJobSummaries"]
                token = page.get("NextToken")
                if not token:
                    return found

        def settled() -> bool:
            listed = jobs()
            return len(listed) >= args.manifests and all(
                j["AutoMLJobStatus"] == "Completed" for j in listed
            )

        stack.wait_for(settled, timeout=args.timeout, interval=2.0)
        wall = time.monotonic() - start
        listed = jobs()
        names = [j["AutoMLJobName"] for j in listed]
        dlq = sqs.get_queue_attributes(
            QueueUrl=resources["IngestDeadLetterQueue"],
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]["ApproximateNumberOfMessages"]
        calls = sum(stack.simulator.calls.values())
        throttled = sum(stack.simulator.throttled.values())
    print(f"manifests:             {args.manifests}")
    print(f"jobs created:          {len(set(names))}")
    print(f"duplicates:            {len(names) - len(set(names))}")
    print(f"manifests in the DLQ:  {dlq}")
    print(f"wall time:             {wall:.1f} s")
    per_job = calls / max(1, len(names))
    print(f"SageMaker API calls:   {calls} ({throttled} throttled), {per_job:.1f} per job")
    print(
        f"settings:              throttle rate {args.throttle_rate}, quota {args.quota}, "
        f"speed {args.speed}x"
    )
    ok = len(set(names)) == args.manifests == len(names) and dlq == "0"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
