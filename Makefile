# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= site

.PHONY: setup run test test-fast bench lock clean server deploy worker

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.13,<0.14"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/ogp run --out $(OUT)

test: $(STAMP)
	$(BIN)/pytest

# Unit, property and golden tests only: no Prefect, no servers.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

# Rows per second and peak memory against frictionless alone (see bench/run.py).
bench: $(STAMP)
	$(BIN)/python -m bench.run

# Regenerates the pinned dependency set from pyproject.toml's ranges.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11 --quiet -o requirements.lock

# Scheduled runs on a local Prefect server (see README, "Scheduling").
PREFECT_LOCAL := PREFECT_API_URL=http://127.0.0.1:4200/api PREFECT_SERVER_ANALYTICS_ENABLED=false
server: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/prefect server start --host 127.0.0.1 --port 4200

deploy: $(STAMP)
	$(PREFECT_LOCAL) $(BIN)/prefect work-pool create ogp-process --type process --overwrite
	$(PREFECT_LOCAL) $(BIN)/prefect --no-prompt deploy --all

worker: $(STAMP)
	$(PREFECT_LOCAL) $(BIN)/prefect worker start --pool ogp-process

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
