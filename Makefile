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

# The tests' temporary files (lakes, Dagster homes and their SQLite databases) go to the RAM file system when the
# machine has one with room: every Dagster event is an fsync'ed SQLite commit, and on tmpfs an fsync costs nothing
# (test_control_plane 166 s -> 142 s, test_noop_run 104 s -> 85 s, each pair measured back to back). A killed
# process loses nothing from the page cache either way, so the crash tests check the same. Without a writable
# /dev/shm with 4 GiB free (Docker gives 64 MiB), the system's temporary directory as before.
TEST_TMPDIR ?= $(shell test -w /dev/shm && df -Pk /dev/shm | awk 'NR == 2 && $$4 > 4194304 {print "/dev/shm"}')

test: $(STAMP) chromium lint
	$(if $(TEST_TMPDIR),TMPDIR=$(TEST_TMPDIR) )$(BIN)/python -m pytest -m "" -n 2 --dist loadfile --durations=25

test-fast: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check pipeline assets newslake
	$(BIN)/mypy

clean-lake:
	rm -rf data/lake data/dagster/storage data/dagster/history data/dagster/schedules data/dagster/logs
