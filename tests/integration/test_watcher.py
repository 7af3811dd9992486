"""WatchJobs against moto + the Autopilot simulator, with the real handler and template.

moto keeps AutoML jobs InProgress forever; the simulator advances them as SageMaker does, on
a clock the test controls, so every transition can be observed and counted.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from moto import mock_aws

from autopilot_flow.manifest import OUR_SECTIONS
from autopilot_flow.registry import Registry
from offline.autopilot_simulator import AutopilotSimulator, ManualClock
from offline.lambda_runtime import context_for, lambda_environment, load_handler
from offline.moto_fixes import moto_as_aws
from offline.provision import Provisioner, Stack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
SCHEMA = json.loads((ROOT / "schemas" / "automl-job-state-change.json").read_text())


def example_request(name: str, job_name: str | None = None) -> dict[str, Any]:
    document = yaml.safe_load((EXAMPLES / name).read_text())
    request = {k: v for k, v in document.items() if k not in OUR_SECTIONS}
    request["AutoMLJobName"] = job_name or request.get("AutoMLJobName", "job")
    return request


@dataclass
class WatchHarness:
    session: Any
    stack: Stack
    sim: AutopilotSimulator
    handler: Any
    context: Any
    subscriber: str

    @functools.cached_property
    def sagemaker(self) -> Any:
        return self.session.client("sagemaker")

    @property
    def watcher(self) -> Any:
        return self.handler.module.watcher

    def tick(self) -> dict[str, Any]:
        result: dict[str, Any] = self.handler({}, self.context)
        return result

    def managed(self, request: dict[str, Any]) -> None:
        """Create a job the way the ingest path does: registry first, then SageMaker."""
        registry = Registry(self.session.client("dynamodb"), self.stack.physical("JobsTable"))
        name = request["AutoMLJobName"]
        source = f"s3://manifests/{name}.yaml#v1"
        registry.claim(
            job_name=name,
            source_id=source,
            source={"type": "s3", "bucket": "manifests", "key": f"{name}.yaml"},
            request=request,
            problem_type=next(iter(request["AutoMLProblemTypeConfig"])),
            defaults_applied=[],
            warnings=[],
        )
        arn = self.sagemaker.create_auto_ml_job_v2(**request)["AutoMLJobArn"]
        registry.mark_created(name, source, arn)

    def events(self) -> list[dict[str, Any]]:
        sqs = self.session.client("sqs")
        found = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.subscriber, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return found
            for message in messages:
                event = json.loads(message["Body"])
                jsonschema.validate(event, SCHEMA)
                found.append(event)
                sqs.delete_message(QueueUrl=self.subscriber, ReceiptHandle=message["ReceiptHandle"])

    def run_ticking_at_every_transition(self) -> None:
        """Tick now and right after each scheduled transition, so each is observed alone."""
        self.tick()
        while (wait := self.sim.seconds_until_next_event()) is not None:
            self.sim.advance(wait)
            self.tick()


@pytest.fixture
def harness() -> Iterator[WatchHarness]:
    with (
        lambda_environment(),
        mock_aws(),
        moto_as_aws(),
        AutopilotSimulator(clock=ManualClock(), seed=11) as sim,
    ):
        session = boto3.session.Session(region_name="us-east-1")
        stack = Provisioner(session).provision()
        spec = stack.functions["WatchJobsFunction"]
        handler = load_handler(spec)
        sqs = session.client("sqs")
        url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = session.client("events")
        bus = stack.physical("EventBus")
        events.put_rule(
            Name="state-changes",
            EventBusName=bus,
            EventPattern=json.dumps({"detail-type": ["AutoML Job State Change"]}),
        )
        events.put_targets(
            Rule="state-changes", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}]
        )
        yield WatchHarness(session, stack, sim, handler, context_for(spec), url)


def transitions_by_job(events: list[dict[str, Any]]) -> dict[str, list[tuple[Any, Any]]]:
    found: dict[str, list[tuple[Any, Any]]] = {}
    for event in events:
        detail = event["detail"]
        previous = detail["previous"]
        found.setdefault(detail["jobName"], []).append(
            (
                (previous["status"], previous["secondaryStatus"]) if previous else None,
                (detail["current"]["status"], detail["current"]["secondaryStatus"]),
            )
        )
    return found


def expected_transitions(sim: AutopilotSimulator, name: str) -> list[tuple[Any, Any]]:
    history = sim.history(name)
    return [(None, history[0])] + list(itertools.pairwise(history))


FIVE_JOBS = {
    "watch-tabular": "churn-tabular.yaml",
    "watch-hpo": "house-prices-regression.json",
    "watch-forecast": "demand-forecast-timeseries.yaml",
    "watch-text": "support-tickets-text.json",
    "watch-llm": "support-assistant-textgen.yaml",
}


def test_five_jobs_one_event_per_transition_in_order(harness: WatchHarness) -> None:
    for name, example in FIVE_JOBS.items():
        harness.managed(example_request(example, name))
    harness.run_ticking_at_every_transition()
    by_job = transitions_by_job(harness.events())
    assert set(by_job) == set(FIVE_JOBS)
    for name in FIVE_JOBS:
        assert by_job[name] == expected_transitions(harness.sim, name), name
        assert by_job[name][-1][1][0] == "Completed"


def test_the_registry_keeps_every_state_published_in_order(harness: WatchHarness) -> None:
    harness.managed(example_request("churn-tabular.yaml", "watch-history"))
    harness.run_ticking_at_every_transition()
    published = transitions_by_job(harness.events())["watch-history"]
    item = harness.session.client("dynamodb").get_item(
        TableName=harness.stack.physical("JobsTable"),
        Key={"jobKey": {"S": "watch-history"}},
    )["Item"]
    history = [
        (e["M"]["status"]["S"], e["M"]["secondaryStatus"]["S"], e["M"]["at"]["S"])
        for e in item["stateHistory"]["L"]
    ]
    assert [(status, secondary) for status, secondary, _ in history] == [
        current for _, current in published
    ]
    times = [at for _, _, at in history]
    assert times == sorted(times)
    described = harness.sagemaker.describe_auto_ml_job_v2(AutoMLJobName="watch-history")
    assert datetime.fromisoformat(times[-1]) == described["EndTime"]
    assert all(at.endswith("Z") and len(at) == len("2026-01-01T00:00:00.000Z") for at in times)


def test_terminal_events_carry_the_best_candidate(harness: WatchHarness) -> None:
    harness.managed(example_request("churn-tabular.yaml", "watch-best"))
    harness.sim.run_until_idle()
    harness.tick()
    (event,) = harness.events()
    detail = event["detail"]
    assert detail["managed"] is True
    assert detail["terminal"] is True
    described = harness.sagemaker.describe_auto_ml_job_v2(AutoMLJobName="watch-best")
    best = described["BestCandidate"]
    assert detail["bestCandidate"] == {
        "candidateName": best["CandidateName"],
        "metricName": best["FinalAutoMLJobObjectiveMetric"]["MetricName"],
        "value": best["FinalAutoMLJobObjectiveMetric"]["Value"],
    }


def test_failed_job_has_a_reason_and_no_best_candidate(harness: WatchHarness) -> None:
    harness.managed(example_request("churn-tabular.yaml", "watch-fails"))
    harness.sim.fail_job("watch-fails", "ClientError: the target column has a single value")
    harness.sim.run_until_idle()
    harness.tick()
    (event,) = harness.events()
    assert event["detail"]["current"] == {"status": "Failed", "secondaryStatus": "Failed"}
    assert "single value" in event["detail"]["failureReason"]
    assert event["detail"]["bestCandidate"] is None


def test_jobs_created_outside_the_stack_are_reported_unmanaged(harness: WatchHarness) -> None:
    harness.managed(example_request("churn-tabular.yaml", "watch-ours"))
    harness.sagemaker.create_auto_ml_job_v2(**example_request("churn-tabular.yaml", "console-job"))
    harness.tick()
    managed = {e["detail"]["jobName"]: e["detail"]["managed"] for e in harness.events()}
    assert managed == {"watch-ours": True, "console-job": False}
    # Seen again with no change: nothing new.
    harness.tick()
    assert harness.events() == []


def test_overlapping_ticks_never_emit_a_transition_twice(harness: WatchHarness) -> None:
    for index in range(6):
        harness.managed(example_request("churn-tabular.yaml", f"watch-race-{index}"))
    second = load_handler(harness.stack.functions["WatchJobsFunction"])
    for _ in range(4):
        harness.sim.advance(120)
        threads = [
            threading.Thread(target=handler, args=({}, harness.context))
            for handler in (harness.handler, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    events = harness.events()
    keys = [
        (
            e["detail"]["jobName"],
            json.dumps(e["detail"]["previous"]),
            json.dumps(e["detail"]["current"]),
        )
        for e in events
    ]
    assert len(keys) == len(set(keys))
    # Every job's events chain: each one starts where the previous one ended.
    for chain in transitions_by_job(events).values():
        for (_, before), (after, _) in itertools.pairwise(chain):
            assert before == after


@pytest.mark.slow
def test_thousand_jobs_ten_changes_one_list_and_ten_describes(harness: WatchHarness) -> None:
    base = example_request("product-categories-multiclass.yaml")
    for index in range(1000):
        harness.sagemaker.create_auto_ml_job_v2(**{**base, "AutoMLJobName": f"bulk-{index}"})
    harness.sim.run_until_idle()
    harness.tick()  # learns all 1,000 (each a first sighting)
    # Drop those 1,000 events unread: moto's ReceiveMessage is slow on long queues.
    harness.session.client("sqs").purge_queue(QueueUrl=harness.subscriber)
    harness.sim.advance(3600)  # well past the overlap window
    for index in range(10):
        harness.sagemaker.create_auto_ml_job_v2(**{**base, "AutoMLJobName": f"fresh-{index}"})
    lists, describes = harness.sim.calls["ListAutoMLJobs"], harness.sim.calls["DescribeAutoMLJobV2"]
    report = harness.tick()
    assert harness.sim.calls["ListAutoMLJobs"] - lists == 1
    assert harness.sim.calls["DescribeAutoMLJobV2"] - describes == 10
    assert report["list_calls"] == 1
    assert report["describe_calls"] == 10
    assert report["published"] == 10
    assert sorted(e["detail"]["jobName"] for e in harness.events()) == [
        f"fresh-{index}" for index in range(10)
    ]


def test_a_tick_with_nothing_changed_writes_nothing(harness: WatchHarness) -> None:
    harness.managed(example_request("churn-tabular.yaml", "watch-idle"))
    harness.run_ticking_at_every_transition()
    calls: list[str] = []
    harness.watcher.dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    report = harness.tick()
    # the finished job is listed again (it is within the overlap) and found unchanged
    assert report["listed"] == 1 and report["changed"] == 0
    # the watermark and the job's state are read; the watermark did not move, so nothing is
    # written (a refused conditional write every minute would show in DynamoDB's metrics)
    assert calls == ["GetItem", "BatchGetItem"]


def test_put_events_partial_failure_is_retried(harness: WatchHarness) -> None:
    harness.managed(example_request("churn-tabular.yaml", "watch-retry"))
    events_client = harness.watcher.publisher.client
    failures = {"left": 1}

    def fail_first_entry(params: dict[str, Any], **_: Any) -> None:
        # The first entry of the first call is spoiled on its way out (a copy: the
        # publisher's own entry stays intact), so EventBridge (moto) fails that entry alone.
        if failures["left"] and params.get("Entries"):
            failures["left"] -= 1
            params["Entries"] = [{**params["Entries"][0], "Detail": "not json"}] + params[
                "Entries"
            ][1:]

    events_client.meta.events.register("before-parameter-build.events.PutEvents", fail_first_entry)
    harness.watcher.publisher.sleep = lambda seconds: None
    harness.tick()
    events = harness.events()
    assert failures["left"] == 0
    assert [e["detail"]["jobName"] for e in events] == ["watch-retry"]


def test_a_job_throttled_past_every_retry_is_seen_again_and_nothing_is_lost(
    harness: WatchHarness,
) -> None:
    names = ["watch-a", "watch-b", "watch-c"]
    for name in names:
        harness.managed(example_request("churn-tabular.yaml", name))
    harness.sim.run_until_idle()
    listed = harness.sagemaker.list_auto_ml_jobs(SortBy="LastModifiedTime", SortOrder="Ascending")
    order = [s["AutoMLJobName"] for s in listed["AutoMLJobSummaries"]]
    assert sorted(order) == names
    middle = order[1]  # jobs before it are recorded when its describe fails

    watcher = harness.watcher
    watcher.backoff.sleep = lambda seconds: None
    throttling = {"on": True}

    def throttle_the_middle_job(params: dict[str, Any], **_: Any) -> None:
        # The simulator itself answers ThrottlingException: the hook only says when.
        if throttling["on"] and params.get("AutoMLJobName") == middle:
            harness.sim.throttle_next(1, "DescribeAutoMLJobV2")

    watcher.sagemaker.meta.events.register(
        "before-parameter-build.sagemaker.DescribeAutoMLJobV2", throttle_the_middle_job
    )
    first = harness.tick()
    assert first["deferred"] == 1
    assert first["published"] == 2
    assert sorted(e["detail"]["jobName"] for e in harness.events()) == sorted(
        n for n in names if n != middle
    )

    # Far past the overlap window: only a watermark kept at the deferred job finds it again.
    throttling["on"] = False
    harness.sim.advance(3600)
    second = harness.tick()
    assert second["deferred"] == 0
    (event,) = harness.events()
    assert event["detail"]["jobName"] == middle
    assert event["detail"]["current"]["status"] == "Completed"
    assert harness.tick()["published"] == 0
