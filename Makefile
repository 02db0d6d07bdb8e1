# The same commands for people and CI.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv

.PHONY: run test lint format bench docs generate screenshots clean

$(BIN)/hubbub: pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(BIN)/pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
	UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --inexact --quiet
	touch $(BIN)/hubbub

## run: start the hub on 127.0.0.1 with the embedded SQLite database
run: $(BIN)/hubbub
	$(BIN)/hubbub serve

## test: the whole suite
test: $(BIN)/hubbub
	$(BIN)/pytest

## lint: ruff (lint + format check) and mypy strict
lint: $(BIN)/hubbub
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/python scripts/unasync.py --check
	$(BIN)/mypy

format: $(BIN)/hubbub
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## bench: throughput and latency against this machine's ceilings
bench: $(BIN)/hubbub
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench

## docs: regenerate the generated reference pages
docs: $(BIN)/hubbub
	$(BIN)/python -m hubbub.docgen

## screenshots: the dashboard pictures in docs/images (a real hub and Debian's Chromium)
screenshots: $(BIN)/hubbub
	$(BIN)/python scripts/screenshots.py

## generate: the sync SDK client from the async one
generate: $(BIN)/hubbub
	$(BIN)/python scripts/unasync.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
