"""endpoint_ops' pure parts: the rollback's deploy-mode input (against the parser FinalizeJob
runs), its execution name, the approval description, the note, and an inventory row from
an endpoint record. The operations themselves run against moto through the real handler
(tests/integration/shared_stack/test_jobs_api_endpoints.py)."""

from __future__ import annotations

import re

import pytest

from autopilot_flow import endpoint_ops as eo
from autopilot_flow import finalize
from autopilot_flow import registry as reg

# Step Functions execution names: 1-80 characters, none of whitespace, brackets, wildcards,
# the punctuation "#%\^|~`$&,;:/ or control characters (StartExecution's name).
EXECUTION_NAME = re.compile(r'^[^\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$')


def test_the_rollback_input_is_the_deploy_mode_contract_finalize_reads() -> None:
    document = eo.rollback_input(
        job_name="churn-1",
        endpoint_name="churn-classifier",
        requested_by="arn:aws:sts::111122223333:assumed-role/MLEngineer/ml-engineer",
        model_package_arn=None,
    )
    assert document == {
        "mode": "deploy",
        "reason": "rollback",
        "jobName": "churn-1",
        "endpointName": "churn-classifier",
        "requestedBy": "arn:aws:sts::111122223333:assumed-role/MLEngineer/ml-engineer",
        "modelPackageArn": None,
    }
    # FinalizeJob's own reading of a deploy-mode input accepts it as it is.
    assert finalize.deploy_request({"deploy": document}) == document


def test_rollback_execution_names_are_valid_and_unique() -> None:
    longest = "a" * 32  # AutoML job names: at most 32 characters
    names = {eo.rollback_execution_name(longest) for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert EXECUTION_NAME.fullmatch(name), name
        assert name.startswith(f"{longest}-rollback-") and len(name) <= 80
    assert eo.rollback_execution_name("churn-1", "0123456789ab") == "churn-1-rollback-0123456789ab"


def test_the_approval_description_names_who_and_why_within_its_limit() -> None:
    assert eo.approval_description("arn:who", None) == "arn:who"
    assert eo.approval_description("arn:who", "F1 0.91") == "arn:who: F1 0.91"
    long = eo.approval_description("x" * 900, "y" * eo.NOTE_MAX)
    assert len(long) == eo.APPROVAL_DESCRIPTION_MAX


@pytest.mark.parametrize("note", [None, "", "ok", "n" * eo.NOTE_MAX])
def test_notes_within_the_limit(note: str | None) -> None:
    assert eo.check_note(note) == (note or None)


@pytest.mark.parametrize("note", ["n" * (eo.NOTE_MAX + 1), 5, ["a"], "nul\x00"])
def test_notes_beyond_it_are_refused(note: object) -> None:
    with pytest.raises(eo.Refused) as refused:
        eo.check_note(note)
    assert (refused.value.status, refused.value.code) == (400, "bad-request")


def test_an_inventory_row_shows_what_the_record_holds_and_null_for_the_rest() -> None:
    record: reg.EndpointItem = {
        "jobKey": reg.endpoint_key("Churn"),
        "endpointName": "Churn",
        "liveJob": "churn-2",
        "live": {"jobName": "churn-2", "metricName": "F1", "value": "0.91"},
        "previousLiveJob": "-",
        "deployedAt": "2026-12-05T08:00:00.000Z",
    }
    row = eo.endpoint_summary(record)
    assert row["state"] == "Live"
    assert (row["metricName"], row["value"]) == ("F1", 0.91)  # the machine copies text
    assert row["previousLiveJob"] is None  # "-": none before
    assert row["strategy"] is None and row["modelPackageArn"] is None
    undeployed = eo.endpoint_summary({**record, "undeployedAt": "2026-12-05T09:00:00.000Z"})
    assert undeployed["state"] == "Deleted"
    # Deployed again after the undeploy: live again.
    again = eo.endpoint_summary(
        {**record, "undeployedAt": "2026-12-05T07:00:00.000Z", "pendingJob": "churn-3"}
    )
    assert again["state"] == "Deploying"
