"""What the worst 1 MiB inputs cost to read and validate: CPU seconds and peak memory.

Each flood (``tests/gauntlet/floods.py``: a YAML flow list of 524k scalars, 60k unknown
JSON fields, 1 MiB of nesting...) runs through ``validate_bytes`` (parse + structure + rules,
what both doors do) in a fresh interpreter, once per YAML loader. CPU is the child's user +
system time for that one call; peak is the child's maximum resident set size, next to the
same interpreter's peak after reading a normal example manifest (the reference). The ratio
column is the flood's CPU over the reference's (a normal manifest, read 100 times, per read).

    .venv/bin/python bench/parse_cost.py [--loader libyaml|python|both] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _measure(name: str, loader: str) -> dict[str, object]:
    """In this (fresh) interpreter: validate one flood, report CPU and peak memory."""
    from autopilot_flow import manifest
    from autopilot_flow.validate import validate_bytes
    from tests.gauntlet.floods import FLOODS, NORMAL_BYTES, NORMAL_NAME

    select = getattr(manifest, "use_yaml_loader", None)
    if select is not None:
        select(loader)
    elif loader != "python":
        return {"skipped": "this version has only the pure-Python loader"}
    validate_bytes(NORMAL_BYTES, NORMAL_NAME)  # warm: imports, compiled patterns
    if name == "reference":
        data, filename, repeat = NORMAL_BYTES, NORMAL_NAME, 100
    else:
        flood = FLOODS[name]
        data, filename, repeat = flood.build(), flood.filename, 1
    started = time.process_time()
    for _ in range(repeat):
        result = validate_bytes(data, filename)
    cpu = (time.process_time() - started) / repeat
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    codes = sorted({e.code for e in result.errors})
    return {
        "cpu": cpu,
        "peak_mib": peak_kib / 1024,
        "errors": len(result.errors),
        "codes": codes[:3] + (["..."] if len(codes) > 3 else []),
        "bytes": len(data),
    }


def _run_child(name: str, loader: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--loader", loader],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loader", default="both", choices=["libyaml", "python", "both"])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.loader)))
        return 0

    from tests.gauntlet.floods import FLOODS

    loaders = ["libyaml", "python"] if args.loader == "both" else [args.loader]
    names = args.only or list(FLOODS)
    print(
        f"{'input':26} {'loader':8} {'bytes':>9} {'CPU s':>8} {'x ref':>8} {'peak MiB':>9}  answer"
    )
    for loader in loaders:
        reference = _run_child("reference", loader)
        if "skipped" in reference:
            print(f"{'(all)':26} {loader:8} skipped: {reference['skipped']}")
            continue
        ref_cpu = float(reference["cpu"])  # type: ignore[arg-type]
        print(
            f"{'reference (per read)':26} {loader:8} {reference['bytes']:>9,} {ref_cpu:8.5f} "
            f"{1:8.0f} {reference['peak_mib']:9.1f}  valid"
        )
        for name in names:
            row = _run_child(name, loader)
            cpu = float(row["cpu"])  # type: ignore[arg-type]
            answer = f"{row['errors']} error(s): {', '.join(row['codes'])}"  # type: ignore[arg-type]
            print(
                f"{name:26} {loader:8} {row['bytes']:>9,} {cpu:8.3f} {cpu / ref_cpu:8.0f} "
                f"{row['peak_mib']:9.1f}  {answer}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
