"""One vocabulary (autopilot_flow.vocabulary): the words are the contracts' words, every
module uses the same objects, and people read and type one word per problem type."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from autopilot_flow import client, finalize, ingest, jobs, observability, registry, watcher
from autopilot_flow import problem_types as pt
from autopilot_flow.vocabulary import (
    FINAL_STATUSES,
    JOB_PARTITIONS,
    JOB_STATUSES,
    LIFECYCLE_STATUSES,
    RELEASED,
    TERMINAL,
    DeployedBy,
    DeploymentAction,
    DeploymentOutcome,
    DeploymentState,
    IngestOutcome,
    JobStatus,
    Lifecycle,
    ProblemType,
    problem_type_of,
)
from offline.template import ROOT

SCHEMAS = ROOT / "schemas"


def _enum(schema_file: str, *path: str) -> list[Any]:
    node: Any = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    for key in path:
        node = node[key]
    while "enum" not in node:  # an anyOf [object, null]
        node = next(n for n in node["anyOf"] if n.get("type") != "null")
    return [v for v in node["enum"] if v is not None]


def test_the_wire_values_are_pinned() -> None:
    """Table items, events and answers carry these strings: changing one breaks a contract."""
    assert [s.value for s in Lifecycle] == [
        "SUBMITTED",
        "CREATED",
        "WAITING_FOR_CAPACITY",
        "REJECTED",
        "SUBMISSION_FAILED",
        "EXTERNAL",
    ]
    assert [s.value for s in JobStatus] == [
        "InProgress",
        "Stopping",
        "Completed",
        "Failed",
        "Stopped",
    ]
    assert {"Completed", "Failed", "Stopped"} == TERMINAL
    assert FINAL_STATUSES == ("Completed", "Failed", "Stopped")
    assert set(RELEASED) == {"REJECTED", "SUBMISSION_FAILED"}
    assert JOB_PARTITIONS == ("CREATED", "EXTERNAL")
    assert [o.value for o in IngestOutcome] == ["created", "already_created", "rejected", "ignored"]
    assert [a.value for a in DeploymentAction] == [
        "deploy",
        "skip",
        "sagemaker",
        "awaiting_approval",
        "none",
        "rolled_back",
    ]
    assert [s.value for s in DeploymentState] == [
        "DEPLOYED",
        "SKIPPED",
        "FAILED",
        "AWAITING_APPROVAL",
        "ROLLED_BACK",
        "REJECTED",
    ]
    assert [o.value for o in DeploymentOutcome] == ["Done", "Skipped", "Failed", "RolledBack"]


def test_the_words_are_the_event_schemas_words() -> None:
    detail = ("properties", "detail", "properties")
    for schema in (
        "automl-job-submitted.json",
        "automl-job-state-change.json",
        "automl-model-deployed.json",
        "automl-deployment-skipped.json",
        "automl-deployment-failed.json",
    ):
        assert _enum(schema, *detail, "problemType") == [p.value for p in ProblemType], schema
    state = json.loads((SCHEMAS / "automl-job-state-change.json").read_text(encoding="utf-8"))
    sides = state["properties"]["detail"]["properties"]
    previous = next(n for n in sides["previous"]["anyOf"] if n.get("type") != "null")
    for side in (sides["current"], previous):
        assert set(side["properties"]["status"]["enum"]) == set(JobStatus)
    assert _enum("automl-deployment-failed.json", *detail, "jobStatus") == list(FINAL_STATUSES)
    assert _enum("automl-notification-failed.json", *detail, "jobStatus") == list(FINAL_STATUSES)
    assert set(_enum("automl-notification-failed.json", *detail, "outcome")) == set(
        DeploymentAction
    )
    assert set(_enum("automl-model-deployed.json", *detail, "deployedBy")) == set(DeployedBy)


def test_the_api_filters_are_the_vocabulary() -> None:
    document = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/jobs"]["get"]["parameters"]}
    status = next(s for s in parameters["status"]["anyOf"] if "enum" in s)
    problem = next(s for s in parameters["problemType"]["anyOf"] if "enum" in s)
    assert status["enum"] == [*LIFECYCLE_STATUSES, *JOB_STATUSES]
    assert problem["enum"] == list(ProblemType)


def test_every_module_uses_the_same_objects() -> None:
    """No copies: the modules' names are the vocabulary's own objects."""
    assert jobs.LIFECYCLE_STATUSES is client.LIFECYCLE_STATUSES is LIFECYCLE_STATUSES
    assert jobs.JOB_STATUSES is client.JOB_STATUSES is JOB_STATUSES
    assert watcher.TERMINAL is finalize.TERMINAL is client.TERMINAL is TERMINAL
    assert registry.RELEASED is RELEASED
    assert registry.CREATED is Lifecycle.CREATED and watcher.EXTERNAL is Lifecycle.EXTERNAL
    assert ingest.CREATED is IngestOutcome.CREATED and ingest.REJECTED is IngestOutcome.REJECTED
    assert observability.DeploymentOutcome is DeploymentOutcome
    assert finalize.DEPLOY is DeploymentAction.DEPLOY
    assert tuple(ProblemType) == pt.PROBLEM_CONFIGS
    assert all(type(p) is str for p in pt.PROBLEM_CONFIGS)  # plain strings (YAML manifests)


LITERALS = re.compile(
    r"\"(SUBMITTED|WAITING_FOR_CAPACITY|SUBMISSION_FAILED|already_created|InProgress"
    r"|TabularJobConfig|TimeSeriesForecastingJobConfig)\""
)


def test_no_module_spells_a_word_of_its_own() -> None:
    """The words are written once, in vocabulary.py (the API model's data and the rules that
    read the manifest's own field names aside)."""
    core = ROOT / "layers" / "core" / "autopilot_flow"
    own = {"vocabulary.py"}
    # Modules that read a manifest name its fields as the API spells them (not our words).
    manifest_readers = {"policy.py", "rules.py", "preflight.py", "api_model.py", "sections.py"}
    found: list[str] = []
    for path in sorted(core.glob("*.py")):
        if path.name in own | manifest_readers:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if LITERALS.search(line):
                found.append(f"{path.name}:{number}: {line.strip()}")
    assert found == []


@pytest.mark.parametrize("member", list(ProblemType))
def test_each_problem_type_is_read_in_three_spellings_and_printed_in_one(
    member: ProblemType,
) -> None:
    for spelling in (member.word, member.short, member.value, member.value.upper()):
        assert ProblemType.parse(spelling) is member
        assert ProblemType.display(spelling) == member.word
    assert pt.CLI_NAMES[member.word] == member.value  # skeleton --problem-type takes the word
    assert client.problem_type(member.short) == member.value


def test_an_unknown_problem_type_is_none_and_printed_as_it_is() -> None:
    assert ProblemType.parse("tabularish") is None
    assert ProblemType.display("SomethingNewJobConfig") == "SomethingNewJobConfig"
    assert ProblemType.display(None) is None and ProblemType.display("") is None


def test_members_serialise_as_their_plain_value() -> None:
    """StrEnum members serialise as their plain value (JSON answers, events, table items)."""
    data = {"status": Lifecycle.CREATED, "job": JobStatus.COMPLETED, "p": ProblemType.TABULAR}
    assert json.loads(json.dumps(data)) == {
        "status": "CREATED",
        "job": "Completed",
        "p": "TabularJobConfig",
    }
    assert f"{Lifecycle.WAITING_FOR_CAPACITY}" == "WAITING_FOR_CAPACITY"


def test_a_jobs_problem_type_is_the_key_of_its_config() -> None:
    described = {"AutoMLProblemTypeConfig": {"TimeSeriesForecastingJobConfig": {}}}
    assert problem_type_of(described) == ProblemType.TIME_SERIES
    assert problem_type_of({}) is None
    assert problem_type_of({"AutoMLProblemTypeConfig": "not a map"}) is None
    # Every module reads it the same way (one function, not a copy per module).
    assert watcher.problem_type_of is jobs.problem_type_of is finalize.problem_type_of
