# Autopilot Flow. Two commands matter: `make demo` and `make test` (see README.md).
# Everything else is what they are built from. Python 3.11 on PATH is the only prerequisite.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
SAM_BIN := $(SAM_VENV)/bin
CHECKOV_BIN := $(CHECKOV_VENV)/bin
STAMP := .make
BUILD_DIR := .aws-sam/build

.PHONY: demo test setup lint typecheck unit template-lint security-scan build package-size \
	bench clean api-model openapi event-schemas

demo: $(STAMP)/venv
	@echo "== 1. Validate every example manifest =="
	$(BIN)/autopilot-flow validate examples/manifests/*
	@echo
	@echo "== 2. Run them through the whole service, offline (moto + Autopilot simulator) =="
	$(BIN)/autopilot-flow offline demo

test: setup lint typecheck template-lint security-scan unit build package-size

setup: $(STAMP)/venv $(STAMP)/sam $(STAMP)/checkov

# uv installs the three virtualenvs' requirements: the same packages pip resolves from the
# same pins, with parallel downloads and unpacking (measured from a cold cache: about 40 s
# for all three, against pip's 3 to 4 minutes). It is itself installed from PyPI, pinned,
# into .venv by pip. Native TLS: the system's certificate store, as pip uses here.
# --compile-bytecode: pip's default, so that no process compiles the packages again.
UV_VERSION := 0.13.9
UV_INSTALL := UV_NATIVE_TLS=1 $(BIN)/uv pip install --quiet --compile-bytecode

$(STAMP)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@mkdir -p $(STAMP) && touch $@

$(STAMP)/venv: requirements-dev.txt pyproject.toml layers/core/requirements.txt $(STAMP)/uv
	$(UV_INSTALL) --python $(BIN)/python -r requirements-dev.txt -e .
	@mkdir -p $(STAMP) && touch $@

# SAM CLI pins older boto3/pydantic, so it lives in a virtualenv of its own.
$(STAMP)/sam: requirements-sam.txt $(STAMP)/uv
	$(PYTHON) -m venv $(SAM_VENV)
	$(UV_INSTALL) --python $(SAM_BIN)/python -r requirements-sam.txt
	@mkdir -p $(STAMP) && touch $@

# checkov pins its own dependency tree (boto3, pydantic, ...): a third virtualenv.
$(STAMP)/checkov: requirements-checkov.txt $(STAMP)/uv
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_BIN)/python -r requirements-checkov.txt
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

# checkov reads template.yaml as written: Globals are merged into the AWS::Serverless::*
# resources it checks (Function, Api). Exits non-zero on any finding not suppressed on its
# resource (Metadata: {checkov: {skip: [{id: CKV_AWS_..., comment: why}]}}). No network:
# --skip-download (no Prisma Cloud calls), CKV_SKIP_PACKAGE_UPDATE_CHECK (no PyPI check).
security-scan: $(STAMP)/checkov
	CKV_SKIP_PACKAGE_UPDATE_CHECK=true $(CHECKOV_BIN)/checkov --file template.yaml \
		--framework cloudformation --compact --quiet --skip-download

# One pytest worker per core (pytest-xdist); each test file runs whole in one worker, in
# order, as it would alone (module-scoped offline stacks never interleave with other files).
# Files are handed out in collection order, longest directories first (tests/conftest.py).
unit: $(STAMP)/venv
	$(BIN)/pytest -n auto --dist loadfile --no-loadscope-reorder

# sam build without a container: SAM fetches the layer's requirements for the functions'
# platform (arm64, CPython 3.12 wheels), and needs a python3.12 on PATH to do so. pyenv's
# 3.12 is not active by default: it is added next to the active version. Output: .aws-sam/.
build: $(STAMP)/sam
	@if ! python3.12 --version >/dev/null 2>&1 && command -v pyenv >/dev/null 2>&1; then \
		v=$$(pyenv versions --bare --skip-aliases | grep -E '^3\.12\.[0-9]+$$' | sort -V | tail -n 1); \
		if [ -n "$$v" ]; then export PYENV_VERSION="$$(pyenv version-name 2>/dev/null || echo system):$$v"; fi; \
	fi; \
	if ! python3.12 --version >/dev/null 2>&1; then \
		echo "make build: no python3.12 found. sam build (without a container) needs the functions' runtime, Python 3.12, on PATH: install it (e.g. pyenv install 3.12), or set PYENV_VERSION to include an installed 3.12 (e.g. PYENV_VERSION=3.11.7:3.12.1)." >&2; \
		exit 1; \
	fi; \
	echo "sam build with $$(python3.12 -c 'import sys; print(sys.executable, sys.version.split()[0])')"; \
	SAM_CLI_TELEMETRY=0 $(SAM_BIN)/sam build --template template.yaml --build-dir $(BUILD_DIR) \
		--cache-dir .aws-sam/cache --cached --parallel

# Sizes of the layer and of each function against Lambda's limits; fails when one is over,
# when a function bundles a dependency (Powertools and the rest come from the core layer
# only) or when a compiled extension is not for arm64 / CPython 3.12.
package-size: build $(STAMP)/venv
	$(BIN)/python scripts/package_size.py $(BUILD_DIR)

bench: $(STAMP)/venv
	$(BIN)/python bench/validate.py

# Regenerate the shipped API model after upgrading botocore in requirements-dev.txt.
api-model: $(STAMP)/venv
	$(BIN)/python -m autopilot_flow.api_model --write

# Regenerate openapi.json from the HTTP API's routes and models (a test checks it is current).
openapi: $(STAMP)/venv
	$(BIN)/python -m autopilot_flow.http_api --write

# Regenerate template.yaml's Schema Registry resources from schemas/*.json (a test checks them).
event-schemas: $(STAMP)/venv
	$(BIN)/python scripts/event_schemas.py --write

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(STAMP) .pytest_cache .mypy_cache .ruff_cache \
		.aws-sam
