# Two commands for a newcomer: `make demo` and `make test` (see README.rst).
PYTHON ?= python3
DJANGO ?= 5.2
VENV ?= .venv-django$(subst .,,$(DJANGO))
PY := $(VENV)/bin/python
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: demo test lint docs bench bench-quick clean

$(VENV)/.installed: requirements/*.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/test.txt -r requirements/docs.txt \
		-r requirements/bench.txt \
		-r requirements/django$(subst .,,$(DJANGO)).txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

demo: $(VENV)/.installed
	$(PY) example/demo.py

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest --ignore=tests/postgres -m "not celery"
	DATABASE_URL=$(DATABASE_URL) $(PY) -m pytest tests/postgres tests/celery_worker tests/faults

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

bench-quick: $(VENV)/.installed
	$(PY) benchmarks/run.py --quick

clean:
	rm -rf .venv-django* docs/_build example/*.sqlite3

docs: $(VENV)/.installed
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html
	@echo "Open docs/_build/html/index.html"
