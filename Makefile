# The two commands of the README: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: run test test-fast lint install browser clean

run: install  ## set up, ingest the sample corpus if the store is empty, start the chat UI
	$(BIN)/newsrag ingest --samples --if-empty
	$(BIN)/newsrag serve

test: install lint browser  ## lint, every test (unit, slow end-to-end, browser), then the eval gate
	$(BIN)/python -m pytest
	$(BIN)/newsrag eval --gate

test-fast: install  ## the quick tests only, while you work
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: install  ## ruff (lint and import order) on the whole tree, mypy on rag/ and ingest/ (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/mypy

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

browser:  ## Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) .newsrag tests/artifacts .pytest_cache
