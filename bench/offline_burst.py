"""A burst through the whole offline service: N manifests, throttling injected, a quota.

Uploads N manifests to the manifests bucket at once (a share of them with a `Deployment`
section, each to its own instance endpoint), prints progress every few seconds, waits until
every manifest is answered, every job has ended and FinalizeJob has settled, then prints:

- jobs created (must equal N), duplicates (SageMaker jobs beyond one per manifest version:
  must be 0), unanswered (manifest versions with neither a receipt nor a rejection: 0),
  manifests in the ingest DLQ;
- FinalizeJob: executions failed, ended jobs it never started for (when no execution starts
  or ends for --finalize-stall seconds), and deployments done / skipped / failed, with the
  failed ones whose cause was throttling (the registry's `deployment` record, code
  `sagemaker.throttled`, or a throttling error in the execution's failure);
- manifests/s end to end and SageMaker API calls per job (every call the simulator received,
  throttled ones included).

    .venv/bin/python bench/offline_burst.py [--manifests 1000] [--throttle-rate 0.2]
        [--quota 50] [--speed 6000] [--deploy-share 0.0] [--progress-every 5] [--over-http]

Exit status 0 when jobs == N and duplicates, unanswered, DLQ, ended jobs never finalized
and throttled deployment failures are all 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autopilot_flow.ingest import RECEIPTS_PREFIX, REJECTIONS_PREFIX, answer_key
from offline.demo_data import upload_example_data
from offline.stack import OfflineOptions, OfflineStack

MANIFEST = ROOT / "examples/manifests/support-tickets-text.json"
PREFIX = "manifests/burst/"
TERMINAL = {"Completed", "Failed", "Stopped"}
THROTTLED_CODE = "sagemaker.throttled"


@dataclass
class Manifest:
    key: str
    body: bytes
    endpoint: str | None  # the endpoint its Deployment section names, if any


def manifests(count: int, deploy_share: float) -> list[Manifest]:
    """``count`` manifests (the text example without a name: each derives its own); an even
    spread of ``deploy_share`` of them deploys, each to an endpoint of its own."""
    document = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    del document["AutoMLJobName"]
    deployment = document.pop("Deployment")
    plain = json.dumps(document).encode()
    out = []
    for index in range(count):
        key = f"{PREFIX}ticket-{index:05}.json"
        if int((index + 1) * deploy_share) > int(index * deploy_share):
            endpoint = f"burst-ticket-{index:05}"
            section = {
                "EndpointName": endpoint,
                "InstanceType": deployment["InstanceType"],
                "InferenceResponseKeys": deployment["InferenceResponseKeys"],
            }
            body = json.dumps({**document, "Deployment": section}).encode()
            out.append(Manifest(key, body, endpoint))
        else:
            out.append(Manifest(key, plain, None))
    return out


@dataclass
class Observer:
    """What the bench reads while the burst runs. Nothing here calls SageMaker (a throttle
    meant for the service would hit the bench, and the call counts would include it)."""

    stack: OfflineStack
    resources: dict[str, Any]
    s3: Any = None
    sqs: Any = None
    dynamodb: Any = None
    sfn: Any = None
    uploaded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.s3 = self.stack.client("s3")
        self.sqs = self.stack.client("sqs")
        self.dynamodb = self.stack.client("dynamodb")
        self.sfn = self.stack.client("stepfunctions")

    def keys(self, prefix: str) -> set[str]:
        found: set[str] = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.resources["ManifestsBucket"], Prefix=prefix
        ):
            found.update(item["Key"] for item in page.get("Contents", []))
        return found

    def answers(self) -> tuple[set[str], set[str]]:
        """Keys of the receipts and of the rejections filed for the burst's manifests."""
        below = PREFIX.removeprefix("manifests/")
        return self.keys(RECEIPTS_PREFIX + below), self.keys(REJECTIONS_PREFIX + below)

    def job_statuses(self) -> dict[str, str]:
        """Every AutoML job the simulator created, with its status (from its transitions:
        reading them does not move a job, as Describe/List would)."""
        assert self.stack.simulator is not None
        statuses: dict[str, str] = {}
        for transition in list(self.stack.simulator.transitions):
            statuses[transition.job_name] = transition.status
        return statuses

    def queue_depth(self, logical_id: str) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.resources[logical_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def executions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.resources["FinalizeJobStateMachine"]
        ):
            found += page["executions"]
        return found

    def last_step(self, execution: dict[str, Any]) -> str:
        """The latest history event of an execution, with how long ago it happened."""
        # moto answers the whole history at once, oldest first (it ignores reverseOrder).
        events = self.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
        if not events:
            return "no history yet"
        event = events[-1]
        details = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        what = details.get("name") or details.get("error") or ""
        age = time.time() - event["timestamp"].timestamp()
        return f"{event['type']} {what} ({age:.0f} s ago)".replace("  ", " ")

    def registry(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.dynamodb.get_paginator("scan").paginate(
            TableName=self.resources["JobsTable"]
        ):
            items += page["Items"]
        return items


def throttling(text: str) -> bool:
    return "Throttl" in text or "Rate exceeded" in text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--throttle-rate", type=float, default=0.2)
    parser.add_argument("--quota", type=int, default=50)
    parser.add_argument("--speed", type=float, default=6000)
    parser.add_argument(
        "--deploy-share",
        type=float,
        default=0.0,
        help="share of the manifests with a Deployment section (0..1), each its own endpoint",
    )
    parser.add_argument("--progress-every", type=float, default=5.0, help="seconds")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds")
    parser.add_argument(
        "--finalize-stall",
        type=float,
        default=120,
        help="seconds without a new or finished FinalizeJob execution, once every job ended",
    )
    parser.add_argument(
        "--over-http",
        action="store_true",
        help="the stack's own calls over loopback HTTP, as before offline/in_process_http.py",
    )
    args = parser.parse_args()
    if not 0.0 <= args.deploy_share <= 1.0:
        parser.error("--deploy-share must be between 0 and 1")

    burst = manifests(args.manifests, args.deploy_share)
    options = OfflineOptions(
        state_dir=Path(tempfile.mkdtemp()),
        speed=args.speed,
        quota=args.quota,
        throttle_rate=args.throttle_rate,
        parameters={"EndpointPollSeconds": "1"},
        in_process_calls=not args.over_http,
    )
    starting = time.monotonic()
    with OfflineStack(options) as stack:
        assert stack.simulator is not None
        started_in = time.monotonic() - starting
        resources = stack.describe()["resources"]
        observer = Observer(stack, resources)
        upload_example_data(observer.s3)
        upload_client = stack.client("s3")

        def upload(manifest: Manifest) -> None:
            upload_client.put_object(
                Bucket=resources["ManifestsBucket"], Key=manifest.key, Body=manifest.body
            )
            with observer.lock:
                observer.uploaded += 1

        start = time.monotonic()
        uploads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bench-upload")
        futures = [uploads.submit(upload, manifest) for manifest in burst]

        def progress() -> bool:
            """Print a line; True once the burst has settled. FinalizeJob's executions are
            listed only once every manifest is answered and every job has ended (listing a
            thousand executions every few seconds would slow the burst it measures)."""
            receipts, rejections = observer.answers()
            statuses = observer.job_statuses()
            dlq = observer.queue_depth("IngestDeadLetterQueue")
            ended = sum(status in TERMINAL for status in statuses.values())
            answered = len(receipts) + len(rejections)
            ingested = (
                observer.uploaded == len(burst)
                and answered + dlq >= len(burst)
                and ended == len(statuses)
            )
            line = (
                f"[{time.monotonic() - start:7.1f} s] uploaded {observer.uploaded}/"
                f"{len(burst)}  answered {answered} ({len(receipts)} receipts, "
                f"{len(rejections)} rejections)  jobs created {len(statuses)} ({ended} ended)"
                f"  in DLQ {dlq}"
            )
            if not ingested:
                print(line, flush=True)
                return False
            executions = observer.executions()
            running = sum(e["status"] == "RUNNING" for e in executions)
            print(f"{line}  FinalizeJob {len(executions) - running} done, {running} running")
            if 0 < running <= 3:  # the last few: say where each one is (a retry's wait...)
                for execution in executions:
                    if execution["status"] == "RUNNING":
                        print(f"    {execution['name']}: {observer.last_step(execution)}")
            if running == 0 and len(executions) >= ended:
                return True
            # Every job has ended: FinalizeJob should start for each within a few watcher
            # ticks. When nothing moves for --finalize-stall seconds, stop waiting and report.
            state = (len(executions), running)
            if state != finalize_seen["state"]:
                finalize_seen.update(state=state, since=time.monotonic())
            elif time.monotonic() - finalize_seen["since"] > args.finalize_stall:
                print(
                    f"FinalizeJob did not move for {args.finalize_stall:.0f} s: "
                    f"{ended - len(executions)} ended jobs have no execution"
                )
                return True
            return False

        finalize_seen: dict[str, Any] = {"state": None, "since": 0.0}
        deadline = start + args.timeout
        while True:
            if progress():
                break
            if time.monotonic() > deadline:
                print(f"timed out after {args.timeout:.0f} s: the numbers below are partial")
                break
            time.sleep(args.progress_every)
        wall = time.monotonic() - start
        uploads.shutdown(wait=True)
        for future in futures:
            future.result()

        receipts, rejections = observer.answers()
        statuses = observer.job_statuses()
        items = {item["jobKey"]["S"]: item for item in observer.registry()}
        executions = observer.executions()
        dlq = observer.queue_depth("IngestDeadLetterQueue")
        trigger_failures = observer.queue_depth("FinalizeTriggerFailureQueue")
        calls = sum(stack.simulator.calls.values())
        throttled = sum(stack.simulator.throttled.values())

        # Jobs per manifest version (the registry's sourceId), and jobs no record explains.
        per_source: Counter[str] = Counter()
        unexplained = 0
        for name in statuses:
            item = items.get(name.lower())
            if item is None or "sourceId" not in item:
                unexplained += 1
            else:
                per_source[item["sourceId"]["S"]] += 1
        duplicates = sum(n - 1 for n in per_source.values()) + unexplained
        unanswered = [
            m.key
            for m in burst
            if answer_key(RECEIPTS_PREFIX, m.key) not in receipts
            and answer_key(REJECTIONS_PREFIX, m.key) not in rejections
        ]

        # FinalizeJob's outcomes: the registry's deployment record of each job.
        failed_executions = [e for e in executions if e["status"] == "FAILED"]
        failure_text = {}
        for execution in failed_executions:
            described = observer.sfn.describe_execution(executionArn=execution["executionArn"])
            failure_text[execution["name"]] = (
                f"{described.get('error', '')} {described.get('cause', '')}"
            )
        by_source_key = {
            item["source"]["M"]["key"]["S"]: item
            for item in items.values()
            if "key" in item.get("source", {}).get("M", {})
        }
        outcomes: Counter[str] = Counter()
        throttled_deployments = 0
        for manifest in burst:
            if manifest.endpoint is None:
                continue
            item = by_source_key.get(manifest.key)
            record = (item or {}).get("deployment", {}).get("M", {})
            state = record.get("state", {}).get("S", "PENDING")
            outcomes[state] += 1
            if state == "FAILED":
                code = record.get("code", {}).get("S", "")
                job = item["jobName"]["S"] if item else ""
                texts = [t for name, t in failure_text.items() if name.startswith(job)]
                if code == THROTTLED_CODE or any(throttling(t) for t in texts):
                    throttled_deployments += 1
        throttled_finalize = sum(throttling(t) for t in failure_text.values())
        # Ended jobs that FinalizeJob never saw, by the registry's status of the job.
        finalized = {e["name"].rsplit("-", 1)[0].lower() for e in executions}
        unfinalized: Counter[str] = Counter(
            str(items.get(name.lower(), {}).get("status", {}).get("S", "no record"))
            for name, status in statuses.items()
            if status in TERMINAL and name.lower() not in finalized
        )

    jobs = len(statuses)
    per_job = calls / max(1, jobs)
    deploys = sum(m.endpoint is not None for m in burst)
    print()
    print(f"manifests:               {len(burst)} ({deploys} with a Deployment section)")
    print(f"jobs created:            {jobs} ({Counter(statuses.values()).most_common()})")
    print(f"duplicates:              {duplicates}")
    print(f"unanswered:              {len(unanswered)} {unanswered[:5] if unanswered else ''}")
    print(f"answers:                 {len(receipts)} receipts, {len(rejections)} rejections")
    print(f"manifests in the DLQ:    {dlq}")
    print(
        f"FinalizeJob executions:  {len(executions)}, {len(failed_executions)} failed "
        f"({throttled_finalize} by throttling); trigger failures queued: {trigger_failures}"
    )
    print(
        f"ended, never finalized:  {sum(unfinalized.values())} "
        f"(registry status: {dict(unfinalized) or '-'})"
    )
    print(
        f"deployments:             {outcomes['DEPLOYED']} done, {outcomes['SKIPPED']} skipped, "
        f"{outcomes['FAILED']} failed ({throttled_deployments} by throttling), "
        f"{outcomes['PENDING']} without an outcome"
    )
    print(f"wall time:               {wall:.1f} s ({len(burst) / wall:.2f} manifests/s end to end)")
    print(f"stack start:             {started_in:.1f} s (before the wall time above)")
    print(f"SageMaker API calls:     {calls} ({throttled} throttled), {per_job:.1f} per job")
    print(
        f"settings:                throttle rate {args.throttle_rate}, quota {args.quota}, "
        f"speed {args.speed}x, deploy share {args.deploy_share}"
        + (", calls over HTTP" if args.over_http else "")
    )
    ok = (
        jobs == len(burst)
        and not unfinalized
        and duplicates == 0
        and not unanswered
        and dlq == 0
        and throttled_deployments == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
