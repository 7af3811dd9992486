"""The cost family: 1 MiB floods (floods.py) are answered in bounded CPU, through both doors.

Issue 11: a 1 MiB YAML flow list cost 15 CPU-seconds and 392 MB to read, past API Gateway's
29 s and, ten to an SQS batch, past the ingest function's 60 s. Every flood must now be
answered within FLOOD_BUDGET times the CPU of a fixed reference workload: validating a normal
example manifest with the pure-Python YAML parser (about 2 ms here, so the budget is about
0.8 s here). CPU time as a ratio: a slow or busy machine slows both sides alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autopilot_flow.manifest import YAML_LOADERS, use_yaml_loader, yaml_loader
from autopilot_flow.validate import ValidationResult, validate_bytes
from tests.cpu import cpu_of, cpu_seconds
from tests.gauntlet.doors import Gauntlet, check_dropped, check_posted
from tests.gauntlet.floods import FLOODS, NORMAL_BYTES, NORMAL_NAME, Flood
from tests.gauntlet.strategies import Case

FLOOD_BUDGET = 400  # reference workloads per flood, at most
# Through the HTTP door, a flood's 422 against a small broken manifest's 422 (both write a
# report and an event). Measured here: about 3 for the YAML floods, 17 for nested JSON (the
# C JSON parser builds all of it before it can be counted); before the limit, over 1,000.
API_FLOOD_RATIO = 40
INVALID = [flood for flood in FLOODS.values() if flood.code or flood.path]


@pytest.fixture(params=YAML_LOADERS)
def loader(request: pytest.FixtureRequest) -> Iterator[str]:
    before = yaml_loader()
    use_yaml_loader(request.param)
    yield str(request.param)
    use_yaml_loader(before)


@pytest.fixture(scope="module")
def reference_cpu() -> float:
    before = yaml_loader()
    use_yaml_loader("python")
    try:
        assert validate_bytes(NORMAL_BYTES, NORMAL_NAME).valid
        return cpu_seconds(lambda: validate_bytes(NORMAL_BYTES, NORMAL_NAME), repeat=50, rounds=5)
    finally:
        use_yaml_loader(before)


def check_answer(flood: Flood, result: ValidationResult) -> None:
    if flood.code:
        assert [(e.path, e.code) for e in result.errors] == [("", flood.code)]
    elif flood.path:
        assert flood.path in [e.path for e in result.errors]
    else:
        assert result.valid, result.errors[:3]


@pytest.mark.parametrize("flood", list(FLOODS.values()), ids=list(FLOODS))
def test_every_flood_is_answered_within_the_cpu_budget(
    flood: Flood, loader: str, reference_cpu: float
) -> None:
    data = flood.body
    assert len(data) <= 1024 * 1024
    answers: list[ValidationResult] = []  # each measured round's answer is checked
    spent = cpu_seconds(lambda: answers.append(validate_bytes(data, flood.filename)), rounds=2)
    assert len(answers) == 2
    for answer in answers:
        check_answer(flood, answer)
    assert spent <= FLOOD_BUDGET * reference_cpu, (
        f"{flood.name} with {loader}: {spent:.3f} s of CPU, "
        f"{spent / reference_cpu:.0f} reference workloads (budget {FLOOD_BUDGET})"
    )


def test_the_budget_would_catch_the_old_cost(reference_cpu: float) -> None:
    # The same ratio, for what the flow list cost before the value limit: building all of
    # it (here, by PyYAML's own safe loader) is far over budget, so the check above can fail.
    import yaml

    data = FLOODS["yaml_flow_list"].body
    _, eighth = cpu_of(lambda: yaml.load(data[: len(data) // 8] + b"1]\n", Loader=yaml.SafeLoader))
    assert eighth > FLOOD_BUDGET * reference_cpu / 8


@pytest.mark.parametrize("flood", INVALID, ids=[flood.name for flood in INVALID])
def test_every_flood_through_both_doors(gauntlet: Gauntlet, flood: Flood) -> None:
    """Each flood once through the S3 door and once through the HTTP door: a rejection, as
    the gauntlet's checks expect it (the random cases draw the floods too, less evenly)."""
    case = Case(
        "cost_flood",
        flood.name,
        flood.media,
        flood.body,
        expected_path=flood.path,
        expected_code=flood.code,
    )
    calls_before = gauntlet.calls.now()
    key = gauntlet.ingest_key(case)
    check_dropped(gauntlet, case, key, gauntlet.drop(key, case.body), calls_before)
    event, answer = gauntlet.post(case)
    check_posted(gauntlet, case, event, answer, calls_before)


def test_a_flood_posted_to_the_api_costs_about_what_a_small_rejection_costs(
    gauntlet: Gauntlet,
) -> None:
    """The HTTP door: the 1 MiB YAML flow list took 33 s there (API Gateway gives up at 29 s).
    Now its 422 costs a few times the CPU of a small broken manifest's 422."""
    small = Case(
        "cost_flood", "-", "json", b'{"AutoMLJobName": ', expected_code="parse.invalid_json"
    )
    calls_before = gauntlet.calls.now()

    def post(case: Case) -> float:
        (event, answer), spent = cpu_of(lambda: gauntlet.post(case))
        check_posted(gauntlet, case, event, answer, calls_before)
        return spent

    post(small)  # warm
    reference = min(post(small) for _ in range(5))
    for name in ("yaml_flow_list", "yaml_nested", "json_unknown_fields_60k", "json_nested"):
        flood = FLOODS[name]
        case = Case("cost_flood", name, flood.media, flood.body, expected_code=flood.code)
        spent = min(post(case) for _ in range(2))
        assert spent <= API_FLOOD_RATIO * reference, (name, spent, reference)
