"""`make demo`'s judgement of the governed example: it passes only when the model was
registered, waited, was approved by the CLI and then rolled out by its own strategy; any other
order or outcome is reported (the end-to-end run, tests/e2e/test_offline_flow.py, sees only
the happy path)."""

from __future__ import annotations

from typing import Any

import yaml

from offline.demo import EXAMPLES, Flow, _flows, _release

JOB = "churn-governed-2026-12"


def event(kind: str, **detail: Any) -> dict[str, Any]:
    return {"detail-type": kind, "detail": {"jobName": JOB, **detail}}


SUBMITTED = event("AutoML Job Submitted")
COMPLETED = event(
    "AutoML Job State Change", current={"status": "Completed", "secondaryStatus": "Completed"}
)
REGISTERED = event(
    "AutoML Model Registered",
    approvalStatus="PendingManualApproval",
    modelPackageGroupName="churn-models",
    modelPackageVersion=1,
)


def deployed(change: str = "approved", strategy: Any = "Canary") -> dict[str, Any]:
    return event(
        "AutoML Model Deployed", endpointName="demand-forecast", change=change, strategy=strategy
    )


def governed(*events: dict[str, Any], approved: bool = True) -> Flow:
    flow = Flow(
        "manifests/examples/churn-governed.yaml",
        JOB,
        "TabularJobConfig",
        expect_deployment=True,
        endpoint="demand-forecast",
        strategy="Canary",
        expect_approval=True,
    )
    flow.events.extend(events)
    flow.approved = approved
    flow.approve_exit = 0 if approved else None
    return flow


def test_the_example_is_read_as_a_governed_canary_onto_a_live_endpoint() -> None:
    flows = {f.job_name: f for f in _flows()}
    flow = flows[JOB]
    assert flow.expect_approval and flow.strategy == "Canary"
    assert flow.endpoint == "demand-forecast"
    # Another example deploys that endpoint without approval: the canary is an update.
    others = [f for f in flows.values() if f.endpoint == flow.endpoint and f is not flow]
    assert [f.expect_approval for f in others] == [False]
    document = yaml.safe_load((EXAMPLES / "churn-governed.yaml").read_text())
    assert document["Deployment"]["Strategy"]["AutoRollbackAlarmNames"] == ["demand-forecast-5xx"]


def test_registered_waited_approved_and_rolled_out_by_canary_is_as_expected() -> None:
    flow = governed(SUBMITTED, COMPLETED, REGISTERED, deployed())
    assert flow.finished(finalizes=True)
    assert flow.problems(finalizes=True) == []
    assert _release(flow) == "registered>waited>approved(CLI)>Canary"
    # The strategy as an object reads the same.
    flow = governed(SUBMITTED, COMPLETED, REGISTERED, deployed(strategy={"type": "Canary"}))
    assert flow.problems(finalizes=True) == []


def test_waiting_for_approval_is_not_finished() -> None:
    flow = governed(SUBMITTED, COMPLETED, REGISTERED, approved=False)
    assert flow.awaits_approval()
    assert not flow.finished(finalizes=True)
    assert flow.problems(finalizes=True) == [
        "was not deployed",
        "waited for approval; demand-forecast never went live to approve it onto",
    ]
    # Approved without ever waiting (registered Approved): not the governed release.
    registered_approved = event("AutoML Model Registered", approvalStatus="Approved")
    flow = governed(SUBMITTED, COMPLETED, registered_approved, approved=False)
    assert not flow.awaits_approval()
    assert "was never awaiting approval" in flow.problems(finalizes=True)
    assert not governed(SUBMITTED, COMPLETED, REGISTERED).awaits_approval()  # approved


def test_every_other_release_is_reported() -> None:
    early = governed(SUBMITTED, COMPLETED, deployed(), REGISTERED)
    assert "was deployed before it was registered" in early.problems(finalizes=True)
    by_finalize = governed(SUBMITTED, COMPLETED, REGISTERED, deployed(change="finalize"))
    assert "was deployed by finalize, not by its approval" in by_finalize.problems(True)
    at_once = governed(SUBMITTED, COMPLETED, REGISTERED, deployed(strategy="AllAtOnce"))
    assert "was rolled out AllAtOnce, not Canary" in at_once.problems(True)
    unregistered = governed(SUBMITTED, COMPLETED, deployed())
    assert "was not registered" in unregistered.problems(True)
    rolled_back = governed(SUBMITTED, COMPLETED, REGISTERED, event("AutoML Deployment Rolled Back"))
    assert "was not deployed" in rolled_back.problems(True)
    assert _release(rolled_back) == "registered>waited>approved(CLI)>rolled-back"


def test_a_refused_approval_ends_the_wait_and_is_reported() -> None:
    flow = governed(SUBMITTED, COMPLETED, REGISTERED, approved=False)
    flow.approve_exit = 1
    assert flow.finished(finalizes=True)
    assert "autopilot-flow approve exited 1" in flow.problems(finalizes=True)
