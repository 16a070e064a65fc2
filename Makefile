# The two commands of the README: `make demo` and `make test`.
# Both create .venv when absent and install the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.perfkit-installed

.PHONY: install demo test benchmark clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "perfkit needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/perfkit demo

test: install
	$(BIN)/python -m pytest -n 2

benchmark: install
	$(BIN)/python benchmarks/bench_frontier.py

clean:
	rm -rf $(VENV) data/*.duckdb data/demo reports/*.html reports/*.xlsx
