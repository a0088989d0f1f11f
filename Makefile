# supportflow — the two commands of the README, and the tooling around them.
#   make run    the whole stack (Temporal dev server, worker, API, console) on 127.0.0.1
#   make test   the test suite (SQLite; set DATABASE_URL for PostgreSQL, or use make test-pg)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstalled only when pyproject.toml changes; the venv itself is created only if absent.
STAMP  := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: install run test test-pg lint bench chaos clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: install
	$(BIN)/supportflow dev

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-pg: install
	DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/python -m bench --quick

# The long fault run: 2,000 events, two APIs and two workers on PostgreSQL, repeated kills.
chaos: install
	DATABASE_URL=$(PG_URL) $(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV)
