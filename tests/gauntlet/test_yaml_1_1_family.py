"""The YAML 1.1 family, each of its values once through both doors.

``MaxAutoMLJobRuntimeInSeconds: 4:00:00`` was read as 14400 and ``MaxCandidates: 010`` as 8,
and both passed. Each YAML 1.1 form (strategies.YAML_1_1_SCALARS, which the random cases
draw too) in a real example manifest must now be one ``parse.yaml_1_1_value`` error, in
the report of the S3 door and in the 422 of the HTTP door, with no SageMaker call.
"""

from __future__ import annotations

import pytest

from tests.gauntlet.doors import Gauntlet, check_dropped, check_posted
from tests.gauntlet.strategies import SEED_BYTES, YAML_1_1_SCALARS, Case

SEED = "churn-tabular.yaml"
FIELD = b"      MaxAutoMLJobRuntimeInSeconds: 14400\n"


@pytest.mark.parametrize("value", YAML_1_1_SCALARS)
def test_each_yaml_1_1_value_is_refused_at_both_doors(gauntlet: Gauntlet, value: str) -> None:
    assert FIELD in SEED_BYTES[SEED]
    body = SEED_BYTES[SEED].replace(
        FIELD, b"      MaxAutoMLJobRuntimeInSeconds: %s\n" % value.encode()
    )
    case = Case("yaml_1_1_value", SEED, "yaml", body, expected_code="parse.yaml_1_1_value")
    calls_before = gauntlet.calls.now()
    key = gauntlet.ingest_key(case)
    check_dropped(gauntlet, case, key, gauntlet.drop(key, case.body), calls_before)
    report = gauntlet.read_json(f"rejections/{key.removeprefix('manifests/')}.json")
    (error,) = report["errors"]
    where = "(AutoMLProblemTypeConfig.TabularJobConfig.CompletionCriteria."
    assert f"line 28 {where}MaxAutoMLJobRuntimeInSeconds): {value} " in error["message"]
    event, answer = gauntlet.post(case)
    check_posted(gauntlet, case, event, answer, calls_before)
    assert answer.body["errors"][0]["message"] == error["message"]  # the same words
