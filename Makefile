# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MINGA_DATABASE_URL ?= sqlite:///./minga.db

.PHONY: run test lint format bench clean

PIP := $(BIN)/python -m pip --quiet --quiet --disable-pip-version-check
URL := http://$${MINGA_HOST:-127.0.0.1}:$${MINGA_PORT:-8000}

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { echo "error: Minga needs Python >= 3.11 (found: $(PYTHON)); set PYTHON=/path/to/python3.11"; exit 1; }
	@echo "Installing Minga and its dependencies into $(VENV) (a few minutes the first time)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip
	@$(PIP) install --no-warn-script-location -e '.[dev]'
	@touch $(STAMP)

# The secrets are printed last, then one line says where to go; the server logs only warnings
# (set MINGA_LOG_LEVEL=info to see every request).
run: $(STAMP)
	@if [ ! -e .minga-initialised ]; then \
		$(BIN)/minga init && $(BIN)/minga demo-data && touch .minga-initialised || exit $$?; \
	else echo "Node already initialised (passwords and tokens were printed at first start; 'minga user set-password admin --generate' or 'minga token issue --user admin' makes a new one)."; fi
	@echo ""
	@echo "Minga is starting (Ctrl-C stops it)."
	@echo "open $(URL) and sign in with one of the accounts above (user name and password; the tokens above are for scripts and the API)"
	@MINGA_LOG_LEVEL=$${MINGA_LOG_LEVEL:-warning} $(BIN)/minga serve

lint: $(STAMP)
	$(BIN)/ruff check minga tests benchmarks
	$(BIN)/ruff format --check minga tests benchmarks
	$(BIN)/mypy minga

test: lint
	$(BIN)/python -m pytest -q -n auto --dist loadgroup --durations=25

format: $(STAMP)
	$(BIN)/ruff format minga tests benchmarks
	$(BIN)/ruff check --fix minga tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/ingest.py --quick

clean:
	rm -rf $(VENV) .minga-initialised minga.db minga.db-wal minga.db-shm
