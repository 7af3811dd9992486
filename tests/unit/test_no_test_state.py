"""Production objects keep no record of what they did for tests to read (it would grow for
the life of a warm Lambda): tests observe the calls through botocore's event hooks
(``tests/published_events.py``), moto's own records, or a recording adapter they inject."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from autopilot_flow import events as ev
from autopilot_flow.sagemaker import Backoff
from tests.published_events import PublishedEvents


def _state(obj: Any) -> dict[str, Any]:
    return {k: copy.copy(v) for k, v in vars(obj).items() if isinstance(v, list | dict | set)}


def test_the_publisher_keeps_nothing_and_the_hooks_see_every_accepted_entry() -> None:
    with mock_aws():
        client = boto3.client("events", region_name="us-east-1")
        client.create_event_bus(Name="bus")
        published = PublishedEvents()
        publisher = ev.EventPublisher(published.watch(client), "bus", sleep=lambda s: None)
        before = _state(publisher)
        events = [(ev.JOB_SUBMITTED, {"jobName": f"j{i}"}, []) for i in range(12)]
        publisher.publish_many(events)  # two PutEvents calls (10 entries at most each)
        assert _state(publisher) == before
        assert not any(isinstance(v, list) for v in vars(publisher).values())
    entries = published.of(client)
    assert [e["DetailType"] for e in entries] == [ev.JOB_SUBMITTED] * 12
    assert [e["Detail"] for e in entries][:2] == [
        '{"schemaVersion": "1.0", "jobName": "j0"}',
        '{"schemaVersion": "1.0", "jobName": "j1"}',
    ]


def test_an_entry_the_bus_refused_is_recorded_only_once_accepted() -> None:
    with mock_aws():
        client = boto3.client("events", region_name="us-east-1")
        client.create_event_bus(Name="bus")
        published = PublishedEvents()
        published.watch(client)
        spoiled = {"left": 1}

        def spoil_first_entry(params: dict[str, Any], **_: Any) -> None:
            # A copy of the first entry with a Detail EventBridge (moto) refuses: that entry
            # alone fails, and the publisher sends it again.
            if spoiled["left"]:
                spoiled["left"] -= 1
                params["Entries"] = [{**params["Entries"][0], "Detail": "not json"}] + params[
                    "Entries"
                ][1:]

        client.meta.events.register("before-parameter-build.events.PutEvents", spoil_first_entry)
        slept: list[float] = []
        publisher = ev.EventPublisher(client, "bus", sleep=slept.append)
        publisher.publish_many([(ev.JOB_SUBMITTED, {"jobName": f"j{i}"}, []) for i in range(12)])
    assert spoiled["left"] == 0
    names = [json.loads(e["Detail"])["jobName"] for e in published.of(client)]
    assert names == [f"j{i}" for i in range(1, 12)] + ["j0"]
    assert len(slept) == 1  # one retry, through the injected sleep


def _throttle() -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "Op")


def test_the_backoff_keeps_nothing_and_sleeps_through_the_injected_sleep() -> None:
    slept: list[float] = []
    backoff = Backoff(attempts=4, base=1.0, sleep=slept.append, rng=lambda: 0.5)
    failures = [_throttle(), _throttle()]

    def call() -> str:
        if failures:
            raise failures.pop()
        return "done"

    before = _state(backoff)
    assert backoff.call(call) == "done"
    assert slept == [0.5, 1.0]  # full jitter: rng * base * 2**attempt
    assert _state(backoff) == before
    assert not hasattr(backoff, "slept")
    assert not hasattr(ev.EventPublisher(None, "bus"), "published")
