# obsscale: the table of contents. `make help` lists the targets.
# Every target runs the CLI from the project's own virtual environment (.venv).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data
REPORTS ?= reports
# Serve ../shared/upstream (or any mirror of the upstream URLs) and point MIRROR at it:
#   make mirror   then   make fetch MIRROR=http://127.0.0.1:8765   then   make mirror-stop
MIRROR ?= $(OBSSCALE_MIRROR)
MIRROR_DIR ?= ../shared/upstream
MIRROR_PORT ?= 8765
MIRROR_PID ?= .mirror.pid
MIRROR_LOG ?= .mirror.log
# exit status 0 if the port can be bound (as http.server binds it), else 1
export MIRROR_PORT_FREE := import socket, sys; s = socket.socket(); \
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))
# exit status 0 once the port answers (within 10 s)
export MIRROR_UP := import socket, sys, time; \
	sys.exit(not any(socket.socket().connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 \
	or time.sleep(0.1) for _ in range(100)))
# exact versions of every dependency (make lock refreshes it from pyproject.toml)
LOCK := requirements.lock
UV = $(BIN)/uv

.PHONY: help install lock fetch harmonize fit report bench test test-min test-latest readme-examples lint format mirror \
	mirror-stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create .venv with the locked versions (requirements.lock) and obsscale

# uv at the lock's version (bootstrapped by pip), then exactly the lock, then obsscale itself.
# --compile-bytecode: uv writes no .pyc files, and where PYTHONDONTWRITEBYTECODE is set (as on
# the machines here) Python never does, so every command recompiled scikit-learn, SciPy and pandas:
# 3.0 s to import sklearn.base instead of 1.0 s
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$$(grep -E '^uv==' $(LOCK) | cut -d' ' -f1)"
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

lock: install ## refresh requirements.lock: the newest versions pyproject.toml allows
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes --upgrade \
		--extra dev pyproject.toml -o $(LOCK)

fetch: install ## download the sources and build data/processed/models.csv
	$(BIN)/obsscale fetch --data-dir $(DATA) $(if $(MIRROR),--mirror $(MIRROR))

harmonize: install ## rebuild data/processed/ from the raw files already fetched
	$(BIN)/obsscale harmonize --data-dir $(DATA)

fit: install ## fit capabilities, back-test the targets, then render reports/index.html
	$(BIN)/obsscale fit --data-dir $(DATA) --out $(REPORTS) --quiet --report

report: install ## re-render reports/index.html from the artifacts of the last fit
	$(BIN)/obsscale report --data-dir $(DATA) --out $(REPORTS)

bench: install ## accuracy suite, speed and scale -> reports/bench/ (after make fetch)
	$(BIN)/obsscale bench --data-dir $(DATA) --out $(REPORTS)/bench $(if $(MIRROR),--mirror $(MIRROR))

test: install ## run the test suite (mirror tests skip when ../shared is absent)
	$(BIN)/pytest

readme-examples: install ## rerun README.md's console examples on $(DATA) and write their outputs
	$(BIN)/python tests/test_readme.py --data-dir $(DATA)

# the same suite in a scratch environment: $(1) its folder, $(2) uv's resolution flags
define scratch_test
	$(PYTHON) -m venv $(1)
	$(1)/bin/pip install --quiet "$$(grep -E '^uv==' $(LOCK) | cut -d' ' -f1)"
	$(1)/bin/uv pip compile --quiet --python-version 3.11 $(2) --extra dev pyproject.toml \
		-o $(1)/requirements.txt
	$(1)/bin/uv pip sync --quiet --compile-bytecode --python $(1)/bin/python $(1)/requirements.txt
	$(1)/bin/uv pip install --quiet --python $(1)/bin/python --no-deps -e .
	$(1)/bin/pytest -p no:cacheprovider
endef

test-min: ## the test suite on the lowest versions pyproject.toml declares (.venv-min)
	$(call scratch_test,.venv-min,--resolution lowest-direct)

test-latest: ## the test suite on the newest versions the index serves (.venv-latest)
	$(call scratch_test,.venv-latest,--upgrade)

lint: install ## ruff lint, format check, mypy and the import layers (lint-imports)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# The mirror runs in the background: its PID in $(MIRROR_PID), its log in $(MIRROR_LOG), so that
# `make mirror-stop` stops it from any shell (scripts and CI included).
mirror: ## serve ../shared/upstream on 127.0.0.1:8765 (MIRROR_PORT) in the background
	@if [ -f $(MIRROR_PID) ] && kill -0 "$$(cat $(MIRROR_PID))" 2>/dev/null; then \
		echo "mirror already running (PID $$(cat $(MIRROR_PID))); make mirror-stop stops it"; \
	elif [ ! -d "$(MIRROR_DIR)" ]; then \
		echo "make mirror: $(MIRROR_DIR) not found; set MIRROR_DIR=<folder>" >&2; exit 1; \
	elif ! $(PYTHON) -c "$$MIRROR_PORT_FREE" $(MIRROR_PORT) 2>/dev/null; then \
		echo "make mirror: port $(MIRROR_PORT) is in use; choose another: MIRROR_PORT=<port> make mirror" >&2; \
		exit 1; \
	else \
		nohup $(PYTHON) -m http.server $(MIRROR_PORT) --bind 127.0.0.1 --directory "$(MIRROR_DIR)" \
			> $(MIRROR_LOG) 2>&1 & echo $$! > $(MIRROR_PID); \
		$(PYTHON) -c "$$MIRROR_UP" $(MIRROR_PORT) || { rm -f $(MIRROR_PID); \
			echo "make mirror: the server did not start, see $(MIRROR_LOG)" >&2; exit 1; }; \
		echo "mirror: http://127.0.0.1:$(MIRROR_PORT) serves $(MIRROR_DIR) (PID $$(cat $(MIRROR_PID)); make mirror-stop)"; \
	fi

mirror-stop: ## stop the mirror that make mirror started
	@if [ ! -f $(MIRROR_PID) ]; then echo "no mirror running ($(MIRROR_PID) not found)"; \
	elif kill "$$(cat $(MIRROR_PID))" 2>/dev/null; then echo "mirror stopped (PID $$(cat $(MIRROR_PID)))"; \
	else echo "no mirror running (PID $$(cat $(MIRROR_PID)) had already ended)"; fi
	@rm -f $(MIRROR_PID)

clean: ## remove derived data and reports (keeps downloads in data/raw)
	rm -rf $(DATA)/processed $(REPORTS)/*.html $(REPORTS)/*.json $(REPORTS)/bench
