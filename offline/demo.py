"""`make demo`: every example manifest through the whole offline service, watched live.

An outside team's view: an SQS queue subscribed to the service's bus receives every event;
the demo drops the example manifests (all five problem types) and one broken manifest into
the bucket, prints each event as it arrives, then a table of how each flow ended. It exits
non-zero when any flow did not end as expected.

A governed example (``Registry.ApprovalRequired``) registers its model and waits; once the
endpoint it updates is live (another example deploys it), the demo approves the package as a
person would, with ``autopilot-flow approve NAME --note ... --offline``, and the model is
rolled out onto that endpoint by the manifest's canary.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from autopilot_flow.cli import main as cli_main
from autopilot_flow.manifest import derive_job_name, parse_document
from autopilot_flow.subscriptions import Bus, Subscriber
from autopilot_flow.vocabulary import TERMINAL, ProblemType
from offline.demo_data import upload_example_data
from offline.provision import ACCOUNT
from offline.stack import OfflineStack

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "manifests"
FINAL_DEPLOYMENT_EVENTS = (
    "AutoML Model Deployed",
    "AutoML Deployment Skipped",
    "AutoML Deployment Failed",
)

BROKEN_MANIFEST = b"""# A manifest with three mistakes: the demo expects a rejection naming each.
AutoMLJobName: broken-forecast
AutoMLJobInputDataConfig:
  - ContentType: text/csv
    DataSource: {S3DataSource: {S3DataType: S3Prefix, S3Uri: "s3://amzn-s3-demo-ml-data/retail/demand/"}}
OutputDataConfig: {S3OutputPath: "s3://amzn-s3-demo-ml-output/autopilot/broken/"}
AutoMLProblemTypeConfig:
  TimeSeriesForecastingJobConfig:
    ForecastFrequency: 60min
    ForecastHorizon: 14
    TimeSeriesConfig: {TargetAttributeName: demand, TimestampAttributeName: date,
                       ItemIdentifierAttributeName: product_id}
RoleArn: arn:aws:iam::111122223333:role/AutopilotExecution
Tagz: [{Key: team, Value: forecasting}]
"""


@dataclass
class Flow:
    """What one manifest should do, and what it did."""

    key: str
    job_name: str
    problem_type: str
    expect_rejection: bool = False
    expect_deployment: bool = False
    endpoint: str | None = None
    strategy: str | None = None
    expect_approval: bool = False
    approved: bool = False
    approve_exit: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [e["detail-type"] for e in self.events]

    def last_state(self) -> dict[str, Any] | None:
        changes = [e for e in self.events if e["detail-type"] == "AutoML Job State Change"]
        return changes[-1]["detail"] if changes else None

    def finished(self, finalizes: bool) -> bool:
        if self.expect_rejection:
            return "AutoML Job Rejected" in self.kinds()
        state = self.last_state()
        if state is None or state["current"]["status"] not in TERMINAL:
            return False
        if finalizes and self.expect_approval:
            if self.approve_exit not in (None, 0):
                return True
            return self.approved and any(k in FINAL_DEPLOYMENT_EVENTS for k in self.kinds())
        if finalizes and self.expect_deployment:
            return any(k in FINAL_DEPLOYMENT_EVENTS for k in self.kinds())
        return True

    def awaits_approval(self) -> bool:
        """Registered pending a person's approval, not yet approved."""
        return (
            self.expect_approval
            and not self.approved
            and any(
                e["detail-type"] == "AutoML Model Registered"
                and e["detail"]["approvalStatus"] == "PendingManualApproval"
                for e in self.events
            )
        )

    def problems(self, finalizes: bool) -> list[str]:
        found = []
        kinds = self.kinds()
        if self.expect_rejection:
            if "AutoML Job Rejected" not in kinds:
                found.append("was not rejected")
            if "AutoML Job Submitted" in kinds:
                found.append("became a job")
            return found
        if "AutoML Job Submitted" not in kinds:
            found.append("was not submitted")
        state = self.last_state()
        if state is None or state["current"]["status"] != "Completed":
            found.append(f"did not complete ({state and state['current']})")
        if finalizes and self.expect_deployment and "AutoML Model Deployed" not in kinds:
            found.append("was not deployed")
        if finalizes and self.expect_approval:
            found.extend(self._release_problems(kinds))
        return found

    def _release_problems(self, kinds: list[str]) -> list[str]:
        """Registered, nothing deployed before the approval, then the manifest's rollout."""
        if "AutoML Model Registered" not in kinds:
            return ["was not registered"]
        if self.approve_exit not in (None, 0):
            return [f"autopilot-flow approve exited {self.approve_exit}"]
        if self.awaits_approval():
            return [f"waited for approval; {self.endpoint} never went live to approve it onto"]
        if not self.approved:
            return ["was never awaiting approval"]
        registered = kinds.index("AutoML Model Registered")
        deployed = [e for e in self.events if e["detail-type"] == "AutoML Model Deployed"]
        if not deployed:
            return []  # "was not deployed" says it
        change = deployed[-1]["detail"].get("change")
        strategy = _strategy_type(deployed[-1]["detail"].get("strategy"))
        found = []
        if kinds.index("AutoML Model Deployed") < registered:
            found.append("was deployed before it was registered")
        if change != "approved":
            found.append(f"was deployed by {change}, not by its approval")
        if self.strategy and strategy != self.strategy:
            found.append(f"was rolled out {strategy}, not {self.strategy}")
        return found


def _flows() -> list[Flow]:
    flows = []
    for path in sorted(EXAMPLES.iterdir()):
        data = path.read_bytes()
        document = parse_document(data, path.name)
        key = f"manifests/examples/{path.name}"
        name = document.get("AutoMLJobName") or derive_job_name(key, data)
        problem = next(iter(document["AutoMLProblemTypeConfig"]))
        deploys = "Deployment" in document and "ModelDeployConfig" not in document
        deployment = document.get("Deployment") or {}
        flows.append(
            Flow(
                key,
                name,
                problem,
                expect_deployment=deploys,
                endpoint=deployment.get("EndpointName", name) if deploys else None,
                strategy=(deployment.get("Strategy") or {}).get("Type"),
                expect_approval=bool((document.get("Registry") or {}).get("ApprovalRequired")),
            )
        )
    flows.append(Flow("manifests/examples/broken-forecast.yaml", "broken-forecast", "-", True))
    return flows


def _subscribe(stack: OfflineStack) -> tuple[str, str]:
    """The demo's queue, subscribed to every event as `autopilot-flow subscribe` does it (the
    same code: a rule on the bus and the queue policy for that rule)."""
    sqs = stack.client("sqs")
    url: str = sqs.create_queue(QueueName=f"demo-subscriber-{int(time.time())}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    resources = stack.describe()["resources"]
    bus = Bus(
        name=resources["EventBus"].split("/")[-1],
        arn=resources["EventBus"],
        archive_arn=resources.get("EventArchive"),
        stack_name=stack.stack.name if stack.stack else "autopilot-flow",
    )
    Subscriber(stack.client, bus, ACCOUNT).subscribe(arn, rule_name="demo-subscriber")
    return url, arn


def _describe_event(event: dict[str, Any]) -> str:
    detail = event["detail"]
    kind = event["detail-type"].replace("AutoML ", "")
    if event["detail-type"] == "AutoML Job State Change":
        current = detail["current"]
        text = f"{current['status']} / {current['secondaryStatus']}"
        best = detail.get("bestCandidate")
        if best:
            text += f"  best {best['metricName']}={best['value']:.4g}"
        return text
    if event["detail-type"] == "AutoML Job Rejected":
        return f"{kind}: {len(detail['errors'])} error(s), report {detail['report']}"
    if event["detail-type"] == "AutoML Model Registered":
        waiting = detail["approvalStatus"] == "PendingManualApproval"
        return f"{kind}: {detail['modelPackageGroupName']} v{detail['modelPackageVersion']}, " + (
            "WAITING FOR APPROVAL (nothing deployed)" if waiting else detail["approvalStatus"]
        )
    if event["detail-type"] == "AutoML Model Deployed":
        strategy = _strategy_type(detail.get("strategy"))
        how = f", {strategy}" if strategy else ""
        return f"{kind}: {detail['endpointName']} ({detail.get('change') or 'finalize'}{how})"
    return kind


def _strategy_type(strategy: Any) -> str | None:
    """A rollout strategy's type, from the events' ``strategy`` (an object or a word)."""
    if isinstance(strategy, dict):
        found = strategy.get("type") or strategy.get("Type")
        return str(found) if found else None
    return strategy if isinstance(strategy, str) else None


def _approve_when_ready(flows: list[Flow], stack: OfflineStack, out: TextIO, start: float) -> None:
    """Approve each governed flow's package once the endpoint it updates is live (so that its
    rollout is an update of a serving endpoint), as a person does: with the CLI."""
    live = {
        f.endpoint for f in flows if not f.expect_approval and "AutoML Model Deployed" in f.kinds()
    }
    for flow in flows:
        if not flow.awaits_approval() or flow.endpoint not in live:
            continue
        if any(k in FINAL_DEPLOYMENT_EVENTS for k in flow.kinds()):
            out.write(f"  {flow.job_name} was deployed before anyone approved it\n")
        argv = [
            "approve",
            flow.job_name,
            "--note",
            "Reviewed in the offline demo",
            "--offline",
            "--state-dir",
            str(stack.options.state_dir),
        ]
        elapsed = time.monotonic() - start
        command = f"autopilot-flow approve {flow.job_name} --note '{argv[3]}' --offline"
        out.write(f"[{elapsed:5.1f}s] $ {command}\n")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = cli_main(argv)
        out.flush()
        flow.approve_exit = code
        flow.approved = code == 0


def run_demo(stack: OfflineStack, out: TextIO, timeout: float = 90.0) -> int:
    start = time.monotonic()
    s3 = stack.client("s3")
    upload_example_data(s3)
    subscriber, subscriber_arn = _subscribe(stack)
    bucket = stack.describe()["resources"]["ManifestsBucket"]
    flows = _flows()
    by_name = {f.job_name.lower(): f for f in flows}
    finalizes = "FinalizeJobStateMachine" in stack.describe()["resources"]
    out.write(
        f"Offline stack at {stack.endpoint_url}; dropping {len(flows)} manifests into "
        f"s3://{bucket}/manifests/examples/\n"
        f"Every event goes to the queue {subscriber_arn}, subscribed as\n"
        f"  autopilot-flow subscribe --offline --state-dir {stack.options.state_dir}"
        f" --target-arn {subscriber_arn} --rule-name demo-subscriber\n\n"
    )
    for flow in flows:
        if flow.expect_rejection:
            body = BROKEN_MANIFEST
        else:
            body = (EXAMPLES / Path(flow.key).name).read_bytes()
        s3.put_object(Bucket=bucket, Key=flow.key, Body=body)

    sqs = stack.client("sqs")
    while time.monotonic() - start < timeout and not all(f.finished(finalizes) for f in flows):
        messages = sqs.receive_message(
            QueueUrl=subscriber, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            event = json.loads(message["Body"])
            sqs.delete_message(QueueUrl=subscriber, ReceiptHandle=message["ReceiptHandle"])
            name = str(event["detail"].get("jobName") or "")
            flow = by_name.get(name.lower())
            if flow is None:
                continue
            flow.events.append(event)
            elapsed = time.monotonic() - start
            out.write(f"[{elapsed:5.1f}s] {flow.job_name:34} {_describe_event(event)}\n")
            out.flush()
        if finalizes:
            _approve_when_ready(flows, stack, out, start)

    out.write("\n")
    _table(flows, out, stack)
    failures = {f.job_name: f.problems(finalizes) for f in flows if f.problems(finalizes)}
    elapsed = time.monotonic() - start
    if failures:
        out.write(f"\nNOT as expected after {elapsed:.1f}s:\n")
        for name, problems in failures.items():
            out.write(f"  {name}: {'; '.join(problems)}\n")
        return 1
    out.write(f"\nAll {len(flows)} flows ended as expected in {elapsed:.1f}s.\n")
    out.write(
        "\nSubscribe your own queue, function, topic or bus (here with `autopilot-flow offline "
        "up` running,\nor against a deployed stack without --offline; docs/subscribing.md):\n"
        "  autopilot-flow subscribe --offline --target-arn ARN "
        "[--detail-type 'AutoML Job Submitted' ...] [--job NAME]\n"
        "  autopilot-flow replay --offline --since 1h        # catch up from the archive\n"
        "  autopilot-flow unsubscribe --offline --rule-name NAME\n"
    )
    governed = [f for f in flows if f.approved]
    if governed:
        flow = governed[0]
        out.write(
            "\nThe governed release, yourself (`autopilot-flow offline up` running; "
            f"{flow.key.split('/')[-1]}\nregisters {flow.job_name} and waits for you; "
            f"{flow.endpoint} must be live first):\n"
            f"  autopilot-flow status {flow.job_name} --offline      # awaiting approval\n"
            f"  autopilot-flow approve {flow.job_name} --note 'looks good' --offline"
            "   # or reject\n"
            "  autopilot-flow endpoints --offline                     # live job, strategy\n"
            f"  autopilot-flow rollback {flow.endpoint} --offline   # the previous model back\n"
            f"  autopilot-flow undeploy {flow.endpoint} --offline   # stop paying for it\n"
            "  aws cloudwatch set-alarm-state --alarm-name demand-forecast-5xx "
            "--state-value ALARM\n      --state-reason test --endpoint-url URL   "
            "# during a canary's bake: rolled back\n"
        )
    return 0


def _word(problem_type: str) -> str:
    """The one word a problem type is printed as; a rejected manifest's ``-`` stays."""
    return ProblemType(problem_type).word if problem_type in set(ProblemType) else problem_type


def _release(flow: Flow) -> str:
    """How a model reached its endpoint: ``-`` unless it went through the Model Registry."""
    steps = []
    for event in flow.events:
        detail = event["detail"]
        if event["detail-type"] == "AutoML Model Registered":
            steps.append("registered")
            if detail["approvalStatus"] == "PendingManualApproval":
                steps.append("waited")
                if flow.approved:
                    steps.append("approved(CLI)")
        elif event["detail-type"] == "AutoML Model Deployed" and steps:
            steps.append(_strategy_type(detail.get("strategy")) or "deployed")
        elif event["detail-type"] == "AutoML Deployment Rolled Back":
            steps.append("rolled-back")
    return ">".join(steps) or "-"


def _table(flows: list[Flow], out: TextIO, stack: OfflineStack) -> None:
    rows = [
        (
            "job",
            "problem type",
            "status",
            "best objective",
            "endpoint",
            "release",
            "events",
            "answer",
        )
    ]
    for flow in flows:
        state = flow.last_state() or {}
        best = state.get("bestCandidate") or {}
        metric = (
            f"{best['metricName']}={best['value']:.4g}" if best.get("value") is not None else "-"
        )
        endpoint = "-"
        answer = "-"
        for event in flow.events:
            detail = event["detail"]
            endpoint = detail.get("endpointName", endpoint)
            answer = detail.get("report") or detail.get("receipt") or answer
            if detail.get("leaderboard"):
                answer += f" ; {detail['leaderboard']}"
        status = (
            "Rejected" if flow.expect_rejection else state.get("current", {}).get("status", "?")
        )
        rows.append(
            (
                flow.job_name,
                _word(flow.problem_type),
                status,
                metric,
                endpoint,
                _release(flow),
                str(len(flow.events)),
                answer,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join(cells) + "  " + row[-1] + "\n")
