# The two commands the README promises: `make test` and `make demo`. Both start from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_COLLECTION := demo-collection
DEMO_CASE := demo-case

.PHONY: install test demo lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

demo: install
	rm -rf $(DEMO_COLLECTION) $(DEMO_CASE)
	$(PY) -m vigil.synthetic $(DEMO_COLLECTION)
	$(VENV)/bin/vigil case create $(DEMO_CASE) --name "Demo case (benign generated images)"
	$(VENV)/bin/vigil ingest $(DEMO_CASE) $(DEMO_COLLECTION)

bench: install
	$(PY) benchmarks/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_COLLECTION) $(DEMO_CASE) .bench
