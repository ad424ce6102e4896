# One command for each thing a newcomer needs. Every target installs what it uses.
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench clean messages fuzz

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Linli needs Python 3.12 or newer on PATH."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)
	$(BIN)/python -m linli.i18n

run: install
	$(BIN)/linli up

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy platform api tenants tests

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

fuzz: install
	LINLI_FUZZ=1 LINLI_FUZZ_EXAMPLES=$${LINLI_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest tests/api/test_schemathesis.py

bench: install
	$(BIN)/python tests/perf/run.py $(BENCH_ARGS)
	$(BIN)/python tests/perf/rollout.py $(ROLLOUT_ARGS)
	$(BIN)/python tests/perf/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info

# Extract translatable strings from every package into platform/linli/locale.
messages: install
	$(BIN)/linli manage makemessages -l zh_Hans -l zh_Hant -l en --no-obsolete \
	  --ignore ".venv/*" --ignore "build/*" --ignore "tests/*" --ignore ".linli/*"
