# The two commands of the README:
#   make run    create .venv, install newslake (pinned by constraints.txt), run the pipeline on data/inbox
#   make test   create .venv if needed, install test tools (and Chromium for the browser test), lint, run every test
#               on two pytest-xdist workers (--dist loadfile: a module's tests stay on one worker, sharing its fixtures)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast install chromium lint clean-lake

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/newslake run

chromium:
	@bash scripts/ensure-chromium.sh

test: $(STAMP) chromium lint
	$(BIN)/python -m pytest -m "" -n 2 --dist loadfile --durations=25

test-fast: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check pipeline assets newslake
	$(BIN)/mypy

clean-lake:
	rm -rf data/lake data/dagster/storage data/dagster/history data/dagster/schedules data/dagster/logs
