"""Start-up time of the local commands against ``python -c "import boto3"``.

Local commands (``--version``, ``--help``, ``validate``, ``schema``, ``skeleton``, ``rules``)
never call AWS, so they must not import boto3: each must cost less than half of importing
boto3 on the same machine. Each command runs in a fresh interpreter; the median CPU time of
several runs is printed, with the ratio to the boto3 import. Exit 1 when a command misses
the target.

    .venv/bin/python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "examples" / "manifests" / "churn-tabular.yaml"
CLI = "from autopilot_flow.cli import main; raise SystemExit(main())"
COMMANDS = {
    "--version": ["--version"],
    "--help": ["--help"],
    "validate": ["validate", str(MANIFEST)],
    "schema": ["schema"],
    "skeleton": ["skeleton", "--problem-type", "tabular"],
    "rules": ["rules"],
}


def _seconds(argv: list[str]) -> float:
    """CPU seconds (user + system) of one run: on a shared machine wall-clock time mostly
    measures the neighbours."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median_seconds(argv: list[str], runs: int) -> float:
    return statistics.median(_seconds(argv) for _ in range(runs))


def _median_ratio(argv: list[str], baseline: list[str], runs: int) -> tuple[float, float]:
    """The command's median time, and its ratio to the baseline's median over runs
    interleaved with it (so that a busy machine slows both alike)."""
    times, references = [], []
    for _ in range(runs):
        references.append(_seconds(baseline))
        times.append(_seconds(argv))
    took = statistics.median(times)
    return took, took / statistics.median(references)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    boto3_import = [sys.executable, "-c", "import boto3"]
    baseline = _median_seconds(boto3_import, args.runs)
    bare = _median_seconds([sys.executable, "-c", "pass"], args.runs)
    print(f"{'python -c pass':24} {bare * 1000:7.1f} ms")
    print(f"{'python -c import boto3':24} {baseline * 1000:7.1f} ms  (target: < half)")
    failed = False
    for label, command in COMMANDS.items():
        took, ratio = _median_ratio([sys.executable, "-c", CLI, *command], boto3_import, args.runs)
        ok = ratio < 0.5
        failed |= not ok
        print(
            f"autopilot-flow {label:9} {took * 1000:7.1f} ms  {ratio:4.2f}x  "
            + ("ok" if ok else "SLOW")
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
