"""The deployment-target table: every row, every rule, and validation's reading of it.

Validation cases go through the real ``validate_document`` (and a real ``Policy``), from the
churn example, and assert the exact path and code of each refusal and warning.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from autopilot_flow import deploy_targets as targets
from autopilot_flow import problem_types as pt
from autopilot_flow.deploy_targets import (
    BATCH_TRANSFORM,
    INSTANCE_CPU,
    INSTANCE_GPU,
    SERVERLESS,
    TARGETS,
    Needs,
)
from autopilot_flow.policy import Policy
from autopilot_flow.rules import RULES
from autopilot_flow.validate import validate_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "manifests"
VPC = {"SecurityGroupIds": ["sg-0abc"], "Subnets": ["subnet-0abc"]}


def codes(target: str, **needs: Any) -> list[str]:
    return [r.code for r in targets.refusals(TARGETS[target], Needs(**needs))]


# --- the table, row by row ------------------------------------------------------------------


def test_serverless_row_hosts_one_cpu_container_outside_any_vpc() -> None:
    assert codes(SERVERLESS) == []
    assert codes(SERVERLESS, containers=2) == ["target.pipeline"]
    assert codes(SERVERLESS, containers=3) == ["target.pipeline"]
    assert codes(SERVERLESS, gpu=True) == ["target.gpu"]
    assert codes(SERVERLESS, vpc=True) == ["target.vpc"]
    assert codes(SERVERLESS, endpoint_kms_key=True) == ["target.kms_key"]
    assert codes(SERVERLESS, network_isolation=True) == ["target.network_isolation"]
    assert codes(SERVERLESS, variants=2) == ["target.multiple_variants"]
    assert codes(SERVERLESS, data_capture=True) == ["target.data_capture"]
    # Everything at once: every rule, in the table's order.
    assert codes(
        SERVERLESS,
        containers=3,
        gpu=True,
        vpc=True,
        endpoint_kms_key=True,
        network_isolation=True,
        variants=2,
        data_capture=True,
    ) == [e.code for e in targets.EXCLUSIONS if e.code != "target.serverless_update"]


def test_cpu_instance_row_hosts_pipelines_of_up_to_15_containers_but_no_gpu_model() -> None:
    full = {
        "vpc": True,
        "endpoint_kms_key": True,
        "network_isolation": True,
        "variants": 2,
        "data_capture": True,
    }
    assert codes(INSTANCE_CPU, containers=15, **full) == []
    assert codes(INSTANCE_CPU, containers=16) == ["target.pipeline"]
    assert codes(INSTANCE_CPU, gpu=True) == ["target.gpu"]
    assert TARGETS[INSTANCE_CPU].container_unit == "CPU"


def test_gpu_instance_row_hosts_everything_in_the_table() -> None:
    assert (
        codes(
            INSTANCE_GPU,
            containers=15,
            gpu=True,
            vpc=True,
            endpoint_kms_key=True,
            network_isolation=True,
            variants=2,
            data_capture=True,
        )
        == []
    )
    assert codes(INSTANCE_GPU, containers=16) == ["target.pipeline"]
    assert TARGETS[INSTANCE_GPU].container_unit == "GPU"
    assert TARGETS[SERVERLESS].container_unit == "CPU"


def test_batch_transform_row_is_documented_but_not_deployed_to_yet() -> None:
    batch = TARGETS[BATCH_TRANSFORM]
    assert not batch.deployed_by_finalize
    assert codes(BATCH_TRANSFORM, containers=15, gpu=True, vpc=True) == []
    assert codes(BATCH_TRANSFORM, variants=2) == ["target.multiple_variants"]
    assert all(TARGETS[k].deployed_by_finalize for k in (SERVERLESS, INSTANCE_CPU, INSTANCE_GPU))


def test_every_row_and_rule_names_the_aws_page_it_comes_from() -> None:
    for target in TARGETS.values():
        assert target.source.startswith("AWS docs, SageMaker Developer Guide"), target.key
    for exclusion in targets.EXCLUSIONS:
        assert "Serverless Inference" in exclusion.source, exclusion.code
    assert len({e.code for e in targets.EXCLUSIONS}) == len(targets.EXCLUSIONS)


def test_refusal_messages_say_the_way_out() -> None:
    (pipeline,) = targets.refusals(TARGETS[SERVERLESS], Needs(containers=3))
    assert "cannot host an inference pipeline (3 containers)" in pipeline.message
    assert "Deployment.InstanceType" in pipeline.message
    (gpu,) = targets.refusals(TARGETS[INSTANCE_CPU], Needs(gpu=True))
    assert "ml.g5.2xlarge" in gpu.message
    (wide,) = targets.refusals(TARGETS[INSTANCE_CPU], Needs(containers=16))
    assert "at most 15 containers, not 16" in wide.message


def test_only_instance_targets_replace_an_instance_endpoint() -> None:
    assert not TARGETS[SERVERLESS].replaces_instance_endpoint
    assert TARGETS[INSTANCE_CPU].replaces_instance_endpoint
    assert TARGETS[INSTANCE_GPU].replaces_instance_endpoint


def test_an_endpoint_on_instances_is_never_updated_to_serverless() -> None:
    on_instances = {
        "EndpointName": "churn",
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1}],
    }
    serverless_now = {
        "EndpointName": "churn",
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "CurrentServerlessConfig": {"MemorySizeInMB": 2048}}
        ],
    }
    refusal = targets.update_refusal(on_instances, {"Serverless": {}})
    assert refusal is not None and refusal.code == "target.serverless_update"
    assert "endpoint churn runs on instances" in refusal.message
    assert "Deployment.InstanceType" in refusal.message
    assert targets.update_refusal(on_instances, {"InstanceType": "ml.m5.large"}) is None
    # Serverless to instances (or to serverless) is an ordinary update.
    assert targets.update_refusal(serverless_now, {"InstanceType": "ml.m5.large"}) is None
    assert targets.update_refusal(serverless_now, {}) is None
    # No variants described: nothing to tell.
    assert targets.update_refusal({"EndpointName": "x"}, {}) is None
    assert targets.runs_on_instances([{"InstanceType": "ml.m5.large"}])
    assert not targets.runs_on_instances([{"ServerlessConfig": {}}])
    assert not targets.runs_on_instances([])


# --- choosing a target ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        (None, SERVERLESS),
        ({}, SERVERLESS),
        ({"Serverless": {"MemorySizeInMB": 2048}}, SERVERLESS),
        ({"InstanceType": "ml.m5.large"}, INSTANCE_CPU),
        ({"InstanceType": "ml.c5.xlarge"}, INSTANCE_CPU),
        ({"InstanceType": "ml.inf2.xlarge"}, INSTANCE_CPU),
        ({"InstanceType": "ml.g5.2xlarge"}, INSTANCE_GPU),
        ({"InstanceType": "ml.g4dn.xlarge"}, INSTANCE_GPU),
        ({"InstanceType": "ml.p4d.24xlarge"}, INSTANCE_GPU),
        ({"InstanceType": ""}, SERVERLESS),
    ],
)
def test_the_deployment_section_chooses_the_target(
    deployment: dict[str, Any] | None, expected: str
) -> None:
    assert targets.target_of(deployment).key == expected


def test_containers_for_the_target_use_cpu_or_gpu_definitions() -> None:
    best = {
        "InferenceContainers": [{"Image": "plain"}],
        "InferenceContainerDefinitions": {"CPU": [{"Image": "cpu"}], "GPU": [{"Image": "gpu"}]},
    }
    assert targets.chosen_containers(best, TARGETS[SERVERLESS]) == [{"Image": "cpu"}]
    assert targets.chosen_containers(best, TARGETS[INSTANCE_GPU]) == [{"Image": "gpu"}]
    plain = {"InferenceContainers": [{"Image": "a"}, {"Image": "b"}]}
    assert len(targets.chosen_containers(plain, TARGETS[INSTANCE_GPU])) == 2


def test_one_container_is_the_primary_container_and_a_pipeline_the_containers() -> None:
    one = [{"Image": "a", "ModelDataUrl": "s3://m/a"}]
    assert targets.container_fields(one) == {"PrimaryContainer": one[0]}
    three = [{"Image": "a"}, {"Image": "b"}, {"Image": "c"}]
    assert targets.container_fields(three) == {"Containers": three}


# --- the job's result (the planner) -----------------------------------------------------------


def _job(problem: str = pt.TABULAR, vpc: bool = False) -> dict[str, Any]:
    job: dict[str, Any] = {"AutoMLProblemTypeConfig": {problem: {}}}
    if vpc:
        job["SecurityConfig"] = {"VpcConfig": VPC}
    return job


PIPELINE = {"InferenceContainers": [{"Image": "dpp"}, {"Image": "xgb"}, {"Image": "inverse"}]}
ONE = {"InferenceContainers": [{"Image": "autogluon"}]}


def test_a_pipeline_candidate_is_refused_serverless_and_hosted_on_instances() -> None:
    refusal = targets.candidate_refusal(_job(), PIPELINE, {"Serverless": {}})
    assert refusal is not None
    assert refusal.code == "target.pipeline"
    assert "3 containers" in refusal.message
    assert targets.candidate_refusal(_job(), PIPELINE, {"InstanceType": "ml.m5.large"}) is None
    assert targets.candidate_refusal(_job(), ONE, {"Serverless": {}}) is None


def test_a_vpc_job_is_refused_serverless_with_every_reason_in_the_message() -> None:
    refusal = targets.candidate_refusal(_job(vpc=True), PIPELINE, {})
    assert refusal is not None
    assert refusal.code == "target.pipeline"  # the first reason's code
    assert "VPC" in refusal.message and "inference pipeline" in refusal.message
    only_vpc = targets.candidate_refusal(_job(vpc=True), ONE, {})
    assert only_vpc is not None and only_vpc.code == "target.vpc"
    assert targets.candidate_refusal(_job(vpc=True), ONE, {"InstanceType": "ml.m5.large"}) is None


def test_a_text_generation_candidate_needs_gpu_instances() -> None:
    job = _job(pt.TEXT_GENERATION)
    cpu = targets.candidate_refusal(job, ONE, {"InstanceType": "ml.m5.xlarge"})
    assert cpu is not None and cpu.code == "target.gpu"
    assert targets.candidate_refusal(job, ONE, {"InstanceType": "ml.g5.2xlarge"}) is None


# --- a CreateEndpointConfig request (the offline simulation) ---------------------------------


def test_endpoint_config_refusals_read_each_variants_model() -> None:
    models = {
        "pipeline": {"Containers": [{"Image": "a"}, {"Image": "b"}, {"Image": "c"}]},
        "one": {"PrimaryContainer": {"Image": "a"}},
        "in-vpc": {"PrimaryContainer": {"Image": "a"}, "VpcConfig": VPC},
        "isolated": {"PrimaryContainer": {"Image": "a"}, "EnableNetworkIsolation": True},
    }

    def refused(model: str, **kwargs: Any) -> list[str]:
        variant = {"ModelName": model, "ServerlessConfig": {"MemorySizeInMB": 2048}}
        return [r.code for r in targets.endpoint_config_refusals([variant], models, **kwargs)]

    assert refused("one") == []
    assert refused("pipeline") == ["target.pipeline"]
    assert refused("in-vpc") == ["target.vpc"]
    assert refused("isolated") == ["target.network_isolation"]
    assert refused("one", kms_key=True) == ["target.kms_key"]
    assert refused("one", data_capture=True) == ["target.data_capture"]
    two = [
        {"ModelName": "one", "ServerlessConfig": {"MemorySizeInMB": 2048}},
        {"ModelName": "one", "ServerlessConfig": {"MemorySizeInMB": 2048}},
    ]
    assert [r.code for r in targets.endpoint_config_refusals(two, models)] == [
        "target.multiple_variants"
    ]
    on_instances = [{"ModelName": "pipeline", "InstanceType": "ml.m5.large"}]
    assert targets.endpoint_config_refusals(on_instances, models, kms_key=True) == []


# --- the data size and AUTO ---------------------------------------------------------------------


def test_auto_mode_from_the_size_listed() -> None:
    limit = targets.AUTO_ENSEMBLING_LIMIT_BYTES
    assert limit == 100 * 1024 * 1024
    assert targets.auto_mode_for_size(limit, complete=False) == "HYPERPARAMETER_TUNING"
    assert targets.auto_mode_for_size(limit - 1, complete=True) == "ENSEMBLING"
    assert targets.auto_mode_for_size(limit - 1, complete=False) is None


# --- validation: what is certain at submit time -------------------------------------------------


def churn(**changes: Any) -> dict[str, Any]:
    """The churn example (tabular, ENSEMBLING, serverless) with top-level ``changes``."""
    document = yaml.safe_load((EXAMPLES / "churn-tabular.yaml").read_text())
    document.update(copy.deepcopy(changes))
    return document


def tabular(document: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    return config


def hpo(document: dict[str, Any]) -> dict[str, Any]:
    config = tabular(document)
    config["Mode"] = "HYPERPARAMETER_TUNING"
    config.pop("SampleWeightAttributeName")  # ENSEMBLING only
    config["CandidateGenerationConfig"]["AlgorithmsConfig"][0]["AutoMLAlgorithms"] = ["xgboost"]
    return document


def auto(document: dict[str, Any]) -> dict[str, Any]:
    config = tabular(document)
    config.pop("Mode")
    config.pop("SampleWeightAttributeName")
    config.pop("CandidateGenerationConfig")  # AlgorithmsConfig is not allowed in AUTO mode
    return document


def found(issues: list[Any]) -> list[tuple[str, str]]:
    return [(issue.path, issue.code) for issue in issues]


def test_serverless_with_hyperparameter_tuning_is_refused_with_the_way_out() -> None:
    result = validate_document(hpo(churn()))
    assert found(result.errors) == [("Deployment.Serverless", "target.pipeline")]
    message = result.errors[0].message
    assert "3-container inference pipelines" in message
    assert "Deployment.InstanceType" in message


def test_a_regression_pipeline_counts_two_containers() -> None:
    document = hpo(churn(AutoMLJobObjective={"MetricName": "MSE"}))
    tabular(document)["ProblemType"] = "Regression"
    document["Deployment"].pop("InferenceResponseKeys")
    result = validate_document(document)
    assert found(result.errors) == [("Deployment.Serverless", "target.pipeline")]
    assert "2-container" in result.errors[0].message


def test_the_default_target_is_serverless_too() -> None:
    document = hpo(churn())
    document["Deployment"].pop("Serverless")
    result = validate_document(document)
    assert found(result.errors) == [("Deployment", "target.pipeline")]


def test_hyperparameter_tuning_on_instances_is_valid() -> None:
    document = hpo(churn())
    document["Deployment"].pop("Serverless")
    document["Deployment"]["InstanceType"] = "ml.m5.large"
    result = validate_document(document)
    assert result.errors == [] and result.warnings == []


def test_serverless_with_a_vpc_from_the_manifest_is_refused() -> None:
    result = validate_document(churn(SecurityConfig={"VpcConfig": VPC}))
    assert found(result.errors) == [("Deployment.Serverless", "target.vpc")]
    assert "Deployment.InstanceType" in result.errors[0].message


def test_serverless_with_a_vpc_from_the_policy_defaults_is_refused() -> None:
    policy = Policy.from_document({"Defaults": {"SecurityConfig": {"VpcConfig": VPC}}})
    result = validate_document(churn(), policy=policy)
    assert found(result.errors) == [("Deployment.Serverless", "target.vpc")]


def test_serverless_under_a_policy_requiring_a_vpc_is_refused() -> None:
    policy = Policy.from_document(
        {
            "Defaults": {"SecurityConfig": {"VpcConfig": VPC}},
            "Guardrails": {"RequireVpc": True},
        }
    )
    result = validate_document(churn(), policy=policy)
    assert found(result.errors) == [("Deployment.Serverless", "target.vpc")]
    # Without a VPC the policy refuses the job itself, and says in the same answer that
    # the job, once in its VPC, cannot deploy serverless.
    requires = Policy.from_document({"Guardrails": {"RequireVpc": True}})
    bare = validate_document(churn(), policy=requires)
    assert found(bare.errors) == [
        ("SecurityConfig.VpcConfig", "policy.vpc_required"),
        ("Deployment.Serverless", "target.vpc"),
    ]
    on_instances = churn(SecurityConfig={"VpcConfig": VPC})
    on_instances["Deployment"] = {"InstanceType": "ml.m5.large"}
    assert validate_document(on_instances, policy=requires).errors == []


def test_a_vpc_model_on_instances_is_valid() -> None:
    document = churn(SecurityConfig={"VpcConfig": VPC})
    document["Deployment"].pop("Serverless")
    document["Deployment"]["InstanceType"] = "ml.m5.large"
    assert validate_document(document).errors == []


def test_serverless_and_hpo_and_vpc_report_both_reasons() -> None:
    result = validate_document(hpo(churn(SecurityConfig={"VpcConfig": VPC})))
    assert found(result.errors) == [
        ("Deployment.Serverless", "target.pipeline"),
        ("Deployment.Serverless", "target.vpc"),
    ]


def test_serverless_text_generation_stays_refused() -> None:
    document = yaml.safe_load((EXAMPLES / "support-assistant-textgen.yaml").read_text())
    document["Deployment"].pop("InstanceType")
    result = validate_document(document)
    assert found(result.errors) == [("Deployment.InstanceType", "deployment.problem_type")]
    assert "serverless endpoints cannot host them" in result.errors[0].message


def test_text_generation_on_a_cpu_instance_is_refused() -> None:
    document = yaml.safe_load((EXAMPLES / "support-assistant-textgen.yaml").read_text())
    document["Deployment"]["InstanceType"] = "ml.m5.xlarge"
    result = validate_document(document)
    assert found(result.errors) == [("Deployment.InstanceType", "deployment.problem_type")]
    assert "ml.m5.xlarge has none" in result.errors[0].message


def test_auto_mode_with_serverless_is_a_warning_that_says_what_decides() -> None:
    result = validate_document(auto(churn()))
    assert result.errors == []
    assert found(result.warnings) == [("Deployment.Serverless", "target.auto_mode")]
    message = result.warnings[0].message
    assert "Mode omitted" in message
    assert "below 100 MB" in message and "HYPERPARAMETER_TUNING" in message
    assert "preflight.auto_mode" in message


def test_explicit_auto_mode_warns_and_ensembling_or_instances_do_not() -> None:
    document = auto(churn())
    tabular(document)["Mode"] = "AUTO"
    explicit = validate_document(document)
    assert found(explicit.warnings) == [("Deployment.Serverless", "target.auto_mode")]
    assert "Mode omitted" not in explicit.warnings[0].message
    assert validate_document(churn()).warnings == []  # ENSEMBLING
    on_instances = auto(churn())
    on_instances["Deployment"] = {"InstanceType": "ml.m5.large"}
    assert validate_document(on_instances).warnings == []


def test_model_deploy_config_or_definitions_only_skip_the_target_rules() -> None:
    deploy = hpo(churn(ModelDeployConfig={"AutoGenerateEndpointName": True}))
    result = validate_document(deploy)
    assert "target.pipeline" not in [code for _, code in found(result.errors)]
    definitions = hpo(churn())
    tabular(definitions)["GenerateCandidateDefinitionsOnly"] = True
    codes_ = [code for _, code in found(validate_document(definitions).errors)]
    assert "target.pipeline" not in codes_ and "deployment.problem_type" in codes_


def test_the_rule_is_listed_with_its_aws_page() -> None:
    (registered,) = [r for r in RULES if "target.pipeline" in r.codes]
    assert set(registered.codes) == {"target.pipeline", "target.vpc", "target.auto_mode"}
    assert "Serverless Inference" in registered.cite
    assert "feature exclusions" in registered.cite


# --- the docs give the table ---------------------------------------------------------------------


def test_the_operations_doc_and_the_readme_give_the_table() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = doc.split("\n## Deployment targets: what each can host\n")[1].split("\n## ")[0]
    for key in (SERVERLESS, INSTANCE_CPU, INSTANCE_GPU, BATCH_TRANSFORM):
        name = TARGETS[key].name.removeprefix("a ").removeprefix("an ")
        assert name.lower() in section.lower(), name
    codes_ = {
        "target.pipeline",
        "target.gpu",
        "target.vpc",
        "target.auto_mode",
        "target.serverless_update",
    }
    for code in codes_ | {"preflight.auto_mode", "deployment.problem_type"}:
        assert f"`{code}`" in section, code
    assert "Serverless Inference" in section and "PrimaryContainer" in section
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/operations.md#deployment-targets-what-each-can-host" in readme
    assert "`target.pipeline`" in readme and "`target.auto_mode`" in readme
