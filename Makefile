# obsscale: the table of contents. `make help` lists the targets.
# Every target runs the CLI from the project's own virtual environment (.venv).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data
REPORTS ?= reports
# Serve ../shared/upstream (or any mirror of the upstream URLs) and point MIRROR at it:
#   make mirror &   then   make fetch MIRROR=http://127.0.0.1:8765
MIRROR ?= $(OBSSCALE_MIRROR)
MIRROR_DIR ?= ../shared/upstream
MIRROR_PORT ?= 8765

.PHONY: help install fetch harmonize fit report bench test lint format mirror clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv and install obsscale with its test extras

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

fetch: install ## download the sources and build data/processed/models.csv
	$(BIN)/obsscale fetch --data-dir $(DATA) $(if $(MIRROR),--mirror $(MIRROR))

harmonize: install ## rebuild data/processed/ from the raw files already fetched
	$(BIN)/obsscale harmonize --data-dir $(DATA)

fit: install ## fit capabilities, back-test the targets, then render reports/index.html
	$(BIN)/obsscale fit --data-dir $(DATA) --out $(REPORTS) --quiet > /dev/null
	$(BIN)/obsscale report --data-dir $(DATA) --out $(REPORTS)

report: install ## re-render reports/index.html from the artifacts of the last fit
	$(BIN)/obsscale report --data-dir $(DATA) --out $(REPORTS)

bench: install ## accuracy suite, speed and scale -> reports/bench/ (after make fetch)
	$(BIN)/obsscale bench --data-dir $(DATA) --out $(REPORTS)/bench $(if $(MIRROR),--mirror $(MIRROR))

test: install ## run the test suite (mirror tests skip when ../shared is absent)
	$(BIN)/pytest

lint: install ## ruff lint, format check and mypy
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

mirror: ## serve ../shared/upstream on 127.0.0.1:8765 (Ctrl-C to stop)
	$(PYTHON) -m http.server $(MIRROR_PORT) --bind 127.0.0.1 --directory $(MIRROR_DIR)

clean: ## remove derived data and reports (keeps downloads in data/raw)
	rm -rf $(DATA)/processed $(REPORTS)/*.html $(REPORTS)/*.json $(REPORTS)/bench
