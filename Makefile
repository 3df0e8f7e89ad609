# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= site

TOOL_LOCKS := tools/harvest_check/udata.lock tools/harvest_check/ckan.lock
TOOL_STAMPS := .venv-tools/udata/.installed-stamp .venv-tools/ckan/.installed-stamp

.PHONY: setup tools browser systemd bytecode run test test-fast lint messages bench bench-full lock tools-lock clean server deploy worker guide-images

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

# The harvester checks' venvs (udata, CKAN), in the checkout, from their lock files. The
# tests use them and never install anything themselves.
.venv-tools/%/.installed-stamp: tools/harvest_check/%.lock tools/harvest_check/setup_tool.sh $(STAMP)
	PYTHON=$(PYTHON) bash tools/harvest_check/setup_tool.sh $*

tools: $(TOOL_STAMPS)

# Debian's Chromium for the page tests (headless, driven by Playwright, which downloads no
# browser of its own). Needs root or sudo; .ci/run calls it before `make test`.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's systemd, for `systemd-analyze verify` of the units of deploy/systemd (a test holds
# them to it). Needs root or sudo; .ci/run calls it before `make test`.
systemd:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends systemd >/dev/null; }

# The project venv: all `make run`, `make lint` and `make test-fast` need.
setup: $(STAMP)

run: setup bytecode
	$(BIN)/ogp run --out $(OUT)

# The whole suite also drives udata's and CKAN's own code (their venvs first), Debian's
# Chromium and systemd-analyze (installed when missing).
test: setup tools browser systemd lint
	$(BIN)/pytest

# The checks that are not tests: ruff (with import sorting), the import-layer contract
# (import-linter, pyproject.toml) and mypy, strict, on the lower layers.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Unit, property and golden tests only: no Prefect, no servers.
test-fast: setup
	$(BIN)/pytest -m "not slow"

# The four measures of issue 30, each a ratio to a baseline of the same run (see bench/headline.py).
bench: $(STAMP) bytecode
	$(BIN)/python -m bench.headline

# The detailed tables: rows/s, MB/s, peak memory per case and size, the door's uploads.
bench-full: $(STAMP) bytecode
	$(BIN)/python -m bench.run

# The screenshots of docs/guide-campagne.md, from the guide's own commands on an invented
# campaign (a relay on loopback, Debian's Chromium for the status page).
guide-images: $(STAMP)
	$(BIN)/python -m tools.guide_images

# The French texts of click and typer (help, errors), compiled from their .po catalogue.
messages: $(STAMP)
	$(BIN)/python -m tools.compile_messages pipelines/locale/fr/LC_MESSAGES/messages.po

# Regenerates the pinned dependency set from pyproject.toml's ranges.
# Locks resolve for Python 3.11.2 (Debian 12's own, the oldest the project supports).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra test --python-version 3.11.2 --quiet -o requirements.lock

tools-lock: $(STAMP)
	for tool in udata ckan; do \
	  $(BIN)/uv pip compile tools/harvest_check/$$tool.in --python-version 3.11.2 --quiet \
	    -o tools/harvest_check/$$tool.lock || exit 1; done

# Scheduled runs on a local Prefect server (see README, "Scheduling"). Prefect's database and
# settings live in the checkout (.prefect/), not in the account's shared ~/.prefect.
# `server` and `worker` run under pipelines.io.service, exec'd so that it is make's own child:
# one SIGTERM (make forwards it) or one Ctrl-C stops the server or the worker and every
# process it started, flow runs included.
PREFECT_HOME ?= $(CURDIR)/.prefect
PREFECT_PORT ?= 4200
PREFECT_API_URL ?= http://127.0.0.1:$(PREFECT_PORT)/api
PREFECT_ENV := env PREFECT_HOME=$(PREFECT_HOME) PREFECT_API_URL=$(PREFECT_API_URL) PREFECT_SERVER_ANALYTICS_ENABLED=false
SERVICE := $(BIN)/python -m pipelines.io.service --

server: $(STAMP)
	exec $(PREFECT_ENV) PREFECT_API_URL= $(SERVICE) $(BIN)/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT)

deploy: $(STAMP)
	$(PREFECT_ENV) $(BIN)/prefect work-pool create ogp-process --type process --overwrite
	$(PREFECT_ENV) $(BIN)/prefect --no-prompt deploy --all

worker: $(STAMP)
	exec $(PREFECT_ENV) $(SERVICE) $(BIN)/prefect worker start --pool ogp-process

clean:
	rm -rf $(VENV) .venv-tools $(OUT) .pytest_cache .prefect
