# Switchboard. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
INSTALLED := $(VENV)/.installed
PROTOS := $(shell find protos -name '*.proto')
GENERATED := build/.generated
BUF := tools/buf/node_modules/.bin/buf
PYTEST_ARGS ?=
BREAKING_AGAINST ?= HEAD
IMAGE = $(PY) -m grpc_tools.protoc --descriptor_set_in=build/protovalidate.binpb --include_imports --include_source_info

.PHONY: help
help: ## List the targets with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(PY) --quiet --require-hashes -r requirements.lock
	@touch $@

$(GENERATED): $(INSTALLED) $(PROTOS) tools/protovalidate_descriptors.py
	@$(MAKE) --no-print-directory proto

.PHONY: setup
setup: $(INSTALLED) $(GENERATED) ## Create .venv from the lock file and generate the protobuf code (quick when nothing changed)

.PHONY: proto
proto: $(INSTALLED) ## Generate Python modules and type stubs from protos/ (reproducible)
	@$(PY) tools/protovalidate_descriptors.py build/protovalidate.binpb
	@$(PY) tools/gen_protos.py build/protovalidate.binpb
	@# After generating: the editable install maps only the top-level packages present now (buf/ is generated).
	@$(UV) pip install --python $(PY) --quiet --no-deps -e .
	@touch $(GENERATED)

.PHONY: lock
lock: $(INSTALLED) ## Re-resolve requirements.lock from pyproject.toml (exact versions with hashes)
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o requirements.lock

.PHONY: run
run: setup ## Start the whole suite: embedded (SQLite, in-process bus) or, with SWITCHBOARD_BROKER_URL and SWITCHBOARD_DATABASE_URL, one process per role
	$(VENV)/bin/switchboard up

.PHONY: test
test: setup ## Run every test: unit, integration (real RabbitMQ and PostgreSQL) and end to end
	$(PY) -m pytest $(PYTEST_ARGS)

$(BUF): tools/buf/package.json tools/buf/package-lock.json
	cd tools/buf && npm ci --no-audit --no-fund --silent
	@touch $@

.PHONY: lint
lint: setup $(BUF) ## ruff, mypy, import-linter contracts, buf lint and buf breaking (against BREAKING_AGAINST=HEAD)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(IMAGE) -Iprotos --descriptor_set_out=build/switchboard.binpb $(patsubst protos/%,%,$(PROTOS))
	cd protos && ../$(BUF) lint ../build/switchboard.binpb --config buf.yaml --path switchboard
	@# buf breaking: the protos as they are against the protos at $(BREAKING_AGAINST) (default HEAD).
	rm -rf build/against && mkdir -p build/against && git archive $(BREAKING_AGAINST) protos | tar -x -C build/against
	$(IMAGE) -Ibuild/against/protos --descriptor_set_out=build/against.binpb \
		$$(cd build/against/protos && find switchboard -name '*.proto')
	cd protos && ../$(BUF) breaking ../build/switchboard.binpb --against ../build/against.binpb --config buf.yaml --path switchboard

.PHONY: bench
bench: setup ## Benchmarks: CreateTicket to event applied, embedded and on RabbitMQ and PostgreSQL
	$(PY) -m bench

.PHONY: bench-desk
bench-desk: setup ## Benchmark: ticketing with 1M existing tickets on PostgreSQL (creates, queue listings, counts)
	$(PY) -m bench desk

.PHONY: bench-sla
bench-sla: setup ## Benchmark: 100,000 running SLA clocks on PostgreSQL, delay from due time to event
	$(PY) -m bench sla

.PHONY: bench-routing
bench-routing: setup ## Benchmark: call-centre simulation vs Erlang C, strategies and fairness, decision latency at 10k agents x 100k tasks
	$(PY) -m bench routing

.PHONY: bench-dispatch
bench-dispatch: setup ## Benchmark: technician recommendation latency, day plans vs best known Solomon VRPTW solutions
	$(PY) -m bench dispatch

.PHONY: bench-customer360
bench-customer360: setup ## Benchmark: GetCustomerView with 1M customers and 10M timeline entries on PostgreSQL, event-to-view visibility, ingest rate
	$(PY) -m bench customer360 --customers 1000000 --entries 10000000

.PHONY: bench-anomalies
bench-anomalies: setup ## Benchmark: precision and recall of the unusual-behaviour detectors on synthetic customers
	$(PY) -m bench anomalies

.PHONY: bench-notifications
bench-notifications: setup ## Benchmark: notifications per second end to end, live-feed latency from event to console
	$(PY) -m bench notifications

.PHONY: clean
clean: ## Remove generated code, build output and ./var (keeps .venv)
	rm -rf build var buf $(addprefix switchboard/,common events ticketing routing customer360 notifications)
