# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= site

.PHONY: setup bytecode run test test-fast bench lock clean server deploy worker

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.13,<0.14"
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	$(MAKE) --no-print-directory bytecode
	touch $(STAMP)

# Bytecode written once, at install: these machines set PYTHONDONTWRITEBYTECODE=1, so
# without it every command compiles some 1 600 modules from source at each start (2 s).
# compileall skips modules whose bytecode is up to date.
bytecode:
	$(BIN)/python -m compileall -q pipelines publish bench > /dev/null

setup: $(STAMP)

run: $(STAMP) bytecode
	$(BIN)/ogp run --out $(OUT)

test: $(STAMP)
	$(BIN)/pytest

# Unit, property and golden tests only: no Prefect, no servers.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not slow"

# Rows per second and peak memory against frictionless alone (see bench/run.py).
bench: $(STAMP) bytecode
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
