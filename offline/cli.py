"""`autopilot-flow offline up|demo` (the subcommands live in the core CLI; the work here)."""

from __future__ import annotations

import argparse
import faulthandler
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from offline.demo import run_demo
from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack, OfflineStartError

EXIT_USAGE = 2  # as the core CLI: the stack could not start as asked
STOP_DIAGNOSIS_AFTER = 20.0  # seconds; a stop takes about 5 at most


def options_from(args: argparse.Namespace) -> OfflineOptions:
    return OfflineOptions(
        port=args.port,
        api_port=getattr(args, "api_port", 0) or 0,
        speed=args.speed,
        quota=args.quota,
        throttle_rate=args.throttle_rate,
        fail_rate=args.fail_rate,
        policy=Path(args.policy) if args.policy else None,
        state_dir=Path(args.state_dir),
    )


def _print_how_to_connect(description: dict[str, Any], out: TextIO, state_dir: str) -> None:
    endpoint = description["endpoint_url"]
    bucket = description["resources"]["ManifestsBucket"]
    out.write(
        f"Autopilot Flow is running offline at {endpoint} ({description['region']}).\n\n"
        "Point the AWS CLI or boto3 at it:\n"
        f"  export AWS_ENDPOINT_URL={endpoint} AWS_DEFAULT_REGION={description['region']}\n"
        "  export AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline\n"
        f"  aws s3 cp examples/manifests/churn-tabular.yaml s3://{bucket}/manifests/\n"
        "  aws sagemaker list-auto-ml-jobs\n"
        "  # boto3.client('sagemaker', endpoint_url=...) works the same way\n\n"
    )
    if description.get("api_url"):
        api = description["api_url"]
        out.write(
            f"The jobs API is at {api} (offline: no SigV4 check):\n"
            f"  curl -X POST {api}/jobs -H 'Content-Type: application/yaml' \\\n"
            "       --data-binary @examples/manifests/churn-tabular.yaml\n"
            "  autopilot-flow submit examples/manifests/churn-tabular.yaml --via api --offline "
            f"{_state_dir_option(state_dir)}--wait\n\n"
        )
    out.write("Resources (also in stack.json):\n")
    for logical_id, physical in sorted(description["resources"].items()):
        out.write(f"  {logical_id:32} {physical}\n")
    for logical_id, reason in sorted(description["not_emulated"].items()):
        out.write(f"  {logical_id:32} not emulated: {reason}\n")
    out.write("\nCtrl-C stops it.\n")
    out.flush()


def _state_dir_option(state_dir: str) -> str:
    """``--state-dir DIR `` unless it is the default: the printed command must work as is."""
    return "" if state_dir == ".offline" else f"--state-dir {shlex.quote(state_dir)} "


def up(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    stopped = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stopped.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    stack = OfflineStack(options_from(args))
    try:
        try:
            description = stack.start()
        except OfflineStartError as exc:
            err.write(f"autopilot-flow offline: {exc}\n")
            return EXIT_USAGE
        # The example manifests' data, so that the printed commands work as they stand.
        upload_example_data(stack.client("s3"))
        _print_how_to_connect(description, out, str(args.state_dir))
        stopped.wait()
        out.write("Stopping...\n")
        out.flush()
    finally:
        # A stop is bounded (stack.stop's deadlines); should it ever hang, the threads'
        # stacks go to stderr, so the hang explains itself instead of just timing out.
        stream = sys.__stderr__
        if stream is not None:
            faulthandler.dump_traceback_later(STOP_DIAGNOSIS_AFTER, file=stream)
        try:
            stack.stop()
        finally:
            if stream is not None:
                faulthandler.cancel_dump_traceback_later()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        stack = OfflineStack(options_from(args)).__enter__()
    except OfflineStartError as exc:
        err.write(f"autopilot-flow offline: {exc}\n")
        return EXIT_USAGE
    try:
        return run_demo(stack, out)
    finally:
        stack.stop()


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    return up(args, out, err) if args.mode == "up" else demo(args, out, err)
