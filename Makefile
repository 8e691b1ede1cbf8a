# cardano-fleet — every target installs what it needs; `make test` and `make demo` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := openssh-server openssh-sftp-server iproute2 sudo
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install test test-unit test-process lint demo demo-current lab-up lab-down bench clean

install: $(VENV)/.installed
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing </dev/null; \
	fi

# The package index is reached over a network that sometimes fails to resolve names for a while:
# retry the whole install a few times before giving up.
$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@for attempt in 1 2 3 4 5; do \
		$(BIN)/pip install -q --retries 10 --timeout 60 -e '.[test]' && exit 0; \
		echo "pip install failed (attempt $$attempt); retrying in 10 s" >&2; sleep 10; \
	done; exit 1
	touch $@

test: install
	$(BIN)/python -m pytest -q

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-process: install
	$(BIN)/python -m pytest -q tests/process

lint: install
	$(BIN)/ruff check orchestrator tests bench
	$(BIN)/mypy

demo: install
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/python -m orchestrator.demo; \
	else sudo -E $(BIN)/python -m orchestrator.demo; fi

# The same rehearsal on a current release: 10.6.4 (its shipped config, new tracing) → 11.0.1 with the
# default upgrade playbook. DEMO_FROM/DEMO_TO given on the command line win.
demo-current: DEMO_FROM ?= 10.6.4
demo-current: DEMO_TO ?= 11.0.1
demo-current: install
	@if [ "$$(id -u)" = 0 ]; then DEMO_FROM=$(DEMO_FROM) DEMO_TO=$(DEMO_TO) $(BIN)/python -m orchestrator.demo; \
	else sudo -E DEMO_FROM=$(DEMO_FROM) DEMO_TO=$(DEMO_TO) $(BIN)/python -m orchestrator.demo; fi

lab-up: install
	$(BIN)/cardano-fleet lab up --dir .lab

lab-down: install
	$(BIN)/cardano-fleet lab down --dir .lab

# BENCH_ARGS: e.g. "--subnets 4,5 --runs 1" (bench/README.md)
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	-$(BIN)/cardano-fleet lab down 2>/dev/null
	rm -rf $(VENV) .lab .cardano-fleet .pytest_cache .mypy_cache .ruff_cache *.egg-info build dist
