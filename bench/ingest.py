"""Ingest benchmarks: the handler's cold start against the floor, and time per manifest.

Cold start = a fresh interpreter importing ``functions/ingest_manifest/app.py`` with the
template's environment (import + init: settings, policy, clients, Powertools). The floor is
``import boto3`` plus one client, measured in the same run. Target: at most 1.5x the floor.
Per-manifest time is the whole ingest path against moto (S3 notification -> SQS -> handler ->
validation, preflight, registry, CreateAutoMLJobV2, events, receipt).

    .venv/bin/python bench/ingest.py [--runs 7] [--manifests 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR = "import boto3; boto3.client('sagemaker')"
HANDLER = (
    "import importlib.util; "
    "spec = importlib.util.spec_from_file_location('app', 'functions/ingest_manifest/app.py'); "
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
)


def _timed(code: str, env: dict[str, str]) -> float:
    program = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1]) * 1000


def cold_start(runs: int) -> tuple[float, float]:
    import boto3
    from moto import mock_aws

    from offline.provision import Provisioner

    # The function's environment exactly as the template sets it (resolved offline).
    with mock_aws():
        stack = Provisioner(boto3.session.Session(region_name="us-east-1")).provision()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        **stack.functions["IngestManifestFunction"].environment,
    }
    floor, handler = [], []
    for _ in range(runs):  # alternate, so that drift on the machine hits both alike
        floor.append(_timed(FLOOR, env))
        handler.append(_timed(HANDLER, env))
    return statistics.median(floor), statistics.median(handler)


def per_manifest(count: int) -> tuple[float, float]:
    from offline.lambda_runtime import LAMBDA_ENVIRONMENT

    os.environ.update(LAMBDA_ENVIRONMENT)
    import yaml
    from moto import mock_aws

    from tests.integration.ingest_harness import EXAMPLES, build_harness

    base = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    with mock_aws():
        harness = build_harness()
        for index in range(count):
            base["AutoMLJobName"] = f"bench-{index}"
            harness.upload(f"manifests/bench-{index}.json", json.dumps(base).encode())
        start = time.perf_counter()
        harness.source.drain(max_batches=count)
        elapsed = time.perf_counter() - start
        created = len(harness.create_calls)
    return elapsed / count * 1000, float(created)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--manifests", type=int, default=50)
    args = parser.parse_args()
    floor, handler = cold_start(args.runs)
    print(f"cold start, floor (import boto3 + 1 client): {floor:7.1f} ms (median of {args.runs})")
    print(f"cold start, IngestManifest (import + init):  {handler:7.1f} ms (median of {args.runs})")
    print(f"ratio: {handler / floor:.2f} (target <= 1.5)")
    ms, created = per_manifest(args.manifests)
    print(f"per manifest against moto: {ms:.1f} ms ({int(created)} jobs from {args.manifests})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
