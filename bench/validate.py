"""Validation speed: our validator vs botocore's client-side ParamValidator.

Both run on the same documents (the example manifests; botocore sees the request part only,
without our Deployment/Notifications sections). Prints microseconds per manifest and the
ratio. Target (issue 2): ours at most 2x botocore's time while checking far more.

    .venv/bin/python bench/validate.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import botocore.session
from botocore.validate import ParamValidator

from autopilot_flow.manifest import OUR_SECTIONS, derive_job_name, parse_document
from autopilot_flow.validate import validate_document

ROOT = Path(__file__).resolve().parent.parent


def _per_call_us(func, repeat: int, rounds: int = 7) -> float:
    """Median over rounds of the mean time of ``repeat`` calls, in microseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            func()
        samples.append((time.perf_counter() - start) / repeat * 1e6)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()

    shape = (
        botocore.session.get_session()
        .get_service_model("sagemaker")
        .operation_model("CreateAutoMLJobV2")
        .input_shape
    )
    validator = ParamValidator()
    files = sorted((ROOT / "examples" / "manifests").iterdir())
    print(f"{'manifest':45} {'ours us':>9} {'botocore us':>12} {'ratio':>6}")
    ratios, ours_all, theirs_all = [], [], []
    for path in files:
        data = path.read_bytes()
        document = parse_document(data, path.name)
        name = derive_job_name(path.name, data)
        request = {"AutoMLJobName": name, **document}
        request = {k: v for k, v in request.items() if k not in OUR_SECTIONS}
        assert validate_document(document, default_job_name=name).valid, path
        assert not validator.validate(request, shape).has_errors(), path
        ours = _per_call_us(
            lambda d=document, n=name: validate_document(d, default_job_name=n), args.repeat
        )
        theirs = _per_call_us(lambda r=request: validator.validate(r, shape), args.repeat)
        ratios.append(ours / theirs)
        ours_all.append(ours)
        theirs_all.append(theirs)
        print(f"{path.name:45} {ours:9.1f} {theirs:12.1f} {ours / theirs:6.2f}")
    mean_ours, mean_theirs = statistics.mean(ours_all), statistics.mean(theirs_all)
    print(
        f"{'mean':45} {mean_ours:9.1f} {mean_theirs:12.1f} {mean_ours / mean_theirs:6.2f}"
        f"   (target: ratio <= 2.0)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
