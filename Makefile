# wardcast: `make demo` runs the whole system here; `make test` runs every check CI runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest install install-test clean

# python3-venv (from scripts/system-deps.sh) must be there before the venv can be made
$(BIN)/python:
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	bash scripts/system-deps.sh
	$(BIN)/pip install --quiet .

install-test: $(BIN)/python
	bash scripts/system-deps.sh --test
	$(BIN)/pip install --quiet ".[test]"

demo: install
	$(BIN)/wardcast demo

# lint-imports: the layers' contracts in pyproject.toml ([tool.importlinter]); an upward
# import fails the build
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy

pytest: install-test
	WARDCAST_TEST_POSTGRES_URL=$${WARDCAST_TEST_POSTGRES_URL:-$$(bash scripts/test-postgres.sh)} \
	  PYTEST=$(BIN)/pytest bash scripts/run-tests.sh $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build *.egg-info wardcast-demo test-artifacts
