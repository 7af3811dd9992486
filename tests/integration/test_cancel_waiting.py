"""Stopping a submission still WAITING_FOR_CAPACITY cancels it: the queued manifest, when it
comes back, is answered in rejections/ with the code cancelled, no job is created and the
name is free again. Through the real JobsApi handler (stop) and the real IngestManifest
handler with its queue (the S3 door), on the stack provisioned in moto.
"""

# ruff: noqa: F401, F811 - the fixtures api, simulator and subscriber are test_jobs_api's

from __future__ import annotations

from offline.autopilot_simulator import AutopilotSimulator
from tests.integration.jobs_api_harness import ApiHarness, for_job, sample
from tests.integration.test_ingest import _deliver_visible, events_of, visibility_timeout_passes
from tests.integration.test_jobs_api import (
    api,
    creates,
    manifest,
    post_json,
    simulator,
    subscriber,
)

JOB = "churn-binary-2026-11"  # examples/manifests/churn-tabular.yaml


def test_stop_cancels_a_submission_waiting_for_capacity(
    api: ApiHarness, simulator: AutopilotSimulator, subscriber: str
) -> None:
    harness = api.ingest
    simulator.quota = 0
    harness.upload_example("churn-tabular.yaml")
    messages, response = _deliver_visible(harness)
    assert len(response["batchItemFailures"]) == 1
    assert harness.record(JOB)["status"] == "WAITING_FOR_CAPACITY"  # type: ignore[index]
    tried = creates(simulator)  # the attempt the quota refused

    answer = api.call(for_job(sample("post-stop.json"), JOB))
    assert answer.status == 202
    assert answer.body["status"] == "Cancelling"
    assert answer.body["previousStatus"] == "WAITING_FOR_CAPACITY"

    # Capacity frees, the message comes back: it finds the cancel instead of creating.
    simulator.quota = None
    visibility_timeout_passes(harness, messages)
    harness.source.drain()
    assert creates(simulator) == tried
    assert harness.client("sagemaker").list_auto_ml_jobs()["AutoMLJobSummaries"] == []
    report = harness.read_json("rejections/churn-tabular.yaml.json")
    assert [e["code"] for e in report["errors"]] == ["cancelled"]
    assert "cancelled" in report["errors"][0]["message"]
    assert harness.record(JOB)["status"] == "REJECTED"  # type: ignore[index]
    assert harness.queue_depth("IngestQueue") == 0
    kinds = [e["detail-type"] for e in events_of(harness, subscriber)]
    assert kinds == ["AutoML Job Waiting For Capacity", "AutoML Job Rejected"]
    # The name is free again.
    assert api.call(post_json(manifest("churn-tabular.yaml"))).status == 202
    assert creates(simulator) == tried + 1


def test_stop_of_a_job_that_already_exists_still_stops_it(
    api: ApiHarness, simulator: AutopilotSimulator
) -> None:
    assert api.call(post_json(manifest("churn-tabular.yaml"))).status == 202
    answer = api.call(for_job(sample("post-stop.json"), JOB))
    assert answer.status == 202 and answer.body["status"] == "Stopping"
    assert not harness_flag(api)


def harness_flag(api: ApiHarness) -> bool:
    return bool((api.ingest.record(JOB) or {}).get("cancelRequested"))
