# cspbill: `make run` sets everything up and runs the demo; `make test` runs lint, layering checks and the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TEST_WORKERS ?= auto
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/cspbill init
	$(BIN)/cspbill demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Compiled once up front: the tests start hundreds of CLI processes, and where PYTHONDONTWRITEBYTECODE is set each
# of them would otherwise compile every module again. ``loadfile``: one worker runs a module's tests, in file order (some
# modules are steps of one story: the browser desk, the month of nights), and its module fixtures are set up once.
test: lint
	$(BIN)/python -m compileall -q -x '/(\.venv|var|artifacts)/' . >/dev/null
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

bench: setup
	@for b in bench/[a-z]*.py; do \
	  mod=$$(basename $$b .py); [ "$$mod" = common ] && continue; \
	  echo "== $$mod"; $(BIN)/python -m bench.$$mod || exit 1; \
	done

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .ruff_cache
