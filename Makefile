# CloudQueue: the two commands a newcomer needs are `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: dev test test-fast venv lint diagram cost docs mutation mutation-clean screenshot screenshot-auth screenshot-controls

$(BIN)/cloudqueue: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(BIN)/cloudqueue

## Run the whole system locally: API, queue, Pipe, state machine, Lambdas, table, UI.
dev: venv
	$(BIN)/cloudqueue dev

## The test suite (unit, workflow, local end-to-end, template, browser). Needs Debian's chromium and npm.
## Two pytest-xdist workers, each file on one of them: the local-stack tests mostly wait (leases,
## visibility timeouts), so two run in about the time of one; each worker starts its own stacks
## on free ports. The unit and client tests run first, apart: moto's backends are process-wide, and
## a unit test's mock_aws must not share a worker with a running local stack.
test: venv sam-venv node_modules/axe-core/axe.min.js
	$(BIN)/python -m pytest -n 2 --dist loadfile tests/unit tests/client
	$(BIN)/python -m pytest -n 2 --dist loadfile tests/workflow tests/local tests/browser

## The fast tests: unit, contract, workflow and the Python client (no browser, no tool run for seconds), in under a minute.
test-fast: venv
	$(BIN)/python -m pytest -q -n 2 -m "not slow" tests/unit tests/workflow tests/client

# axe-core, which the accessibility test injects into the page (pinned by package-lock.json).
node_modules/axe-core/axe.min.js: package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## Redraw diagrams/architecture.{dot,svg,png} from template.yaml (needs Graphviz: apt-get install graphviz).
diagram: venv
	$(BIN)/python -m cloudqueue_local.ops.diagram .

## Build the docs site (docs/, mkdocs.yml) into site/, failing on any broken link or anchor.
docs: venv
	$(BIN)/mkdocs build --strict

## The monthly AWS bill for 1 M jobs at ExecutionLogLevel ERROR and ALL (see docs/cost.md).
cost: venv
	$(BIN)/cloudqueue cost

## Mutation testing (cosmic-ray, plus the DynamoDB expressions in strings) of the guarded writes,
## each module against the fast tests that cover it; niced, one mutant at a time. Slow (tens of
## minutes); CI does not run it. See tests/mutation/README.md.
mutation: venv
	nice -n 19 $(BIN)/python tests/mutation/run.py
	nice -n 19 $(BIN)/python tests/mutation/expressions.py

mutation-clean:
	rm -rf .mutation

## Refresh the README's picture, frontend/demo-screenshot.png (the tests write theirs to a temporary path).
screenshot: venv
	CLOUDQUEUE_SCREENSHOT=$(CURDIR)/frontend/demo-screenshot.png $(BIN)/python -m pytest -q tests/browser -k shows_its_retries_in_the_graph

## Refresh the docs' picture of the page signed in (AuthMode=jwt), docs/assets/signed-in.png.
screenshot-auth: venv
	CLOUDQUEUE_AUTH_SCREENSHOT=$(CURDIR)/docs/assets/signed-in.png $(BIN)/python -m pytest -q tests/browser/test_sign_in.py

## Refresh the docs' pictures of the page's time and control features: docs/assets/delayed-job.png,
## progress-cancel.png and schedules.png.
screenshot-controls: venv
	CLOUDQUEUE_CONTROLS_SCREENSHOTS=$(CURDIR)/docs/assets $(BIN)/python -m pytest -q tests/browser/test_time_controls.py

lint: venv
	$(BIN)/ruff check functions local clients tests
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

# --- AWS SAM: its own venv, since aws-sam-cli pins an older boto3 than the project's ---------
SAM_VENV := .venv-sam
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam

.PHONY: sam-venv build validate

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli>=1.103,<2'
	touch $@

# The AWS CLI, for the README's `aws --endpoint-url ...` commands (tests/local/test_quick_start.py
# runs them): beside the SAM CLI, whose botocore it shares, not in the project's venv.
$(SAM_VENV)/bin/aws: $(SAM_VENV)/bin/sam
	$(SAM_VENV)/bin/pip install --quiet 'awscli>=1.29,<2'
	touch $@

sam-venv: $(SAM_VENV)/bin/sam $(SAM_VENV)/bin/aws

## Build the functions and their one layer of libraries for Lambda (python3.12, arm64) into .aws-sam/:
## no Docker, no local python3.12 (one, on the PATH or RUNTIME_PYTHON=, adds the bytecode).
build: sam-venv
	$(SAM) build

## Check template.yaml with SAM's translator and cfn-lint; needs no AWS credentials.
validate: sam-venv
	$(SAM) validate --lint --region us-east-1
