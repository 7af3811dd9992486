# Autopilot Flow. Two commands matter: `make demo` and `make test` (see README.md).
# Everything else is what they are built from. Python 3.11 on PATH is the only prerequisite.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM_BIN := $(SAM_VENV)/bin
STAMP := .make

.PHONY: demo test setup lint typecheck unit template-lint bench clean api-model openapi

demo: $(STAMP)/venv
	@echo "== 1. Validate every example manifest =="
	$(BIN)/autopilot-flow validate examples/manifests/*
	@echo
	@echo "== 2. Run them through the whole service, offline (moto + Autopilot simulator) =="
	$(BIN)/autopilot-flow offline demo

test: setup lint typecheck template-lint unit

setup: $(STAMP)/venv $(STAMP)/sam

$(STAMP)/venv: requirements-dev.txt pyproject.toml layers/core/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -e .
	@mkdir -p $(STAMP) && touch $@

# SAM CLI pins older boto3/pydantic, so it lives in a virtualenv of its own.
$(STAMP)/sam: requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_BIN)/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	@mkdir -p $(STAMP) && touch $@

lint: $(STAMP)/venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)/venv
	$(BIN)/mypy

# cfn-lint does not read DefinitionUri files: statelint checks the state machines themselves.
template-lint: $(STAMP)/sam $(STAMP)/venv
	$(SAM_BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(SAM_BIN)/sam validate --lint --template template.yaml --region us-east-1
	$(BIN)/statelint statemachines/*.asl.json

unit: $(STAMP)/venv
	$(BIN)/pytest

bench: $(STAMP)/venv
	$(BIN)/python bench/validate.py

# Regenerate the shipped API model after upgrading botocore in requirements-dev.txt.
api-model: $(STAMP)/venv
	$(BIN)/python -m autopilot_flow.api_model --write

# Regenerate openapi.json from the HTTP API's routes and models (a test checks it is current).
openapi: $(STAMP)/venv
	$(BIN)/python -m autopilot_flow.http_api --write

clean:
	rm -rf $(VENV) $(SAM_VENV) $(STAMP) .pytest_cache .mypy_cache .ruff_cache .aws-sam
