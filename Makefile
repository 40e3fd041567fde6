# The two commands a newcomer needs: `make dev` (run Kontakt) and `make test` (run the tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := requirements/lambda.txt

.PHONY: dev test lint unit integration e2e perf docs build lock clean

# The runtime dependencies install at the versions the functions deploy with (the lock). uv
# installs the same set as pip in a third of the time (parallel downloads): the install counts in
# `make test`'s ten minutes. --compile-bytecode as pip does: the function workers run with -B, so
# without the .pyc files every cold start compiled its libraries again (a fresh clone's suite took
# 11 min 57 s instead of about 9). pip stays in the venv: `kontakt build` builds the layer with it.
$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv==0.13.8
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]' -c $(LOCK)
	touch $(STAMP)

dev: $(STAMP)
	$(BIN)/kontakt dev

lint: $(STAMP)
	$(BIN)/ruff check shared services infra tests
	$(BIN)/ruff format --check shared services infra tests
	$(BIN)/mypy shared services infra
	$(BIN)/cfn-lint template.yaml
	$(BIN)/kontakt check-template

# Three workers on two cores: most of an e2e test's time is waiting on the emulator and the local
# runtime's pumps, so a third worker fills those waits (8m16s instead of 10m45s for the suite).
# Whole files per worker (a file's module fixtures are made once), taken in collection order:
# the slow e2e files first, the quick unit files last (tests/conftest.py; docs/testing.md has
# the budget). The ten slowest tests are printed.
# compileall first: where PYTHONDONTWRITEBYTECODE is set (the build machines here set it) nothing
# writes the project's bytecode, so every test worker and every cold start of a function compiled
# the modules it imports again (about 4 % of the suite's CPU). The lint runs beside the tests (the
# suite leaves about a tenth of the two cores idle, waiting on pumps and sockets) and its output
# follows theirs; either failing fails `make test`. pytest's rewritten test modules are written
# once before, as compileall writes the project's (tests/assertion_cache.py): each of the three
# workers collects every file, and rewrote all of them (a worker's collection: 17 CPU s, now 10).
test: $(STAMP)
	$(BIN)/python -m compileall -q shared services infra tests
	$(BIN)/python -m tests.assertion_cache
	@lint_log=$$(mktemp); $(MAKE) --no-print-directory lint > $$lint_log 2>&1 & linting=$$!; \
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=10 tests --ignore=tests/perf; \
	tested=$$?; wait $$linting; linted=$$?; \
	echo "---------------- make lint"; cat $$lint_log; rm -f $$lint_log; \
	if [ $$linted -ne 0 ]; then echo "make lint failed"; fi; \
	exit $$(( tested != 0 || linted != 0 ))

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

perf: $(STAMP)
	$(BIN)/pytest -s tests/perf

docs: $(STAMP)
	$(BIN)/kontakt docs

# What `sam deploy` uploads: build/layer (the locked dependencies for Lambda) and build/<service>.
build: $(STAMP)
	$(BIN)/kontakt build

# Re-pin the functions' dependencies after a change to pyproject.toml's [project] dependencies.
# Not through $(STAMP): its install is constrained by the lock that is about to change.
lock:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet 'packaging>=24'
	$(BIN)/python -m infra.cli lock

clean:
	rm -rf $(VENV) .kontakt .pytest_cache .mypy_cache .ruff_cache build
