# Two commands for a newcomer: `make demo` and `make test` (see README.rst).
# DJANGO picks the Django of the test run; each one runs on the Python that CI gives it.
DJANGO ?= 5.2
PYTHON_FOR_42 := 3.11
PYTHON_FOR_52 := 3.11
PYTHON_FOR_60 := 3.12
PYTHON_FOR_61 := 3.13
DJANGO_ID := $(subst .,,$(DJANGO))
PYTHON_VERSION := $(PYTHON_FOR_$(DJANGO_ID))
ifeq ($(PYTHON_VERSION),)
$(error DJANGO=$(DJANGO) is not supported: use 4.2, 5.2, 6.0 or 6.1)
endif
# pyenv's interpreter of a version when pyenv has one, else pythonX.Y from PATH.
python_of = $(shell prefix=$$(pyenv prefix $(1) 2>/dev/null) \
	&& echo "$$prefix/bin/python$(1)" || echo "python$(1)")
PYTHON ?= $(call python_of,$(PYTHON_VERSION))
DEMO_PYTHON ?= $(call python_of,$(PYTHON_FOR_52))
VENV ?= .venv-django$(DJANGO_ID)
PY := $(VENV)/bin/python
DEMO_VENV := .venv-demo
# The PostgreSQL pass's database; the SQLite pass runs without DATABASE_URL, wherever it is set.
# Its name is this checkout's own (a hash of its path), so that two checkouts testing on one
# server never drop each other's test database ("test_" + the name); it need not exist.
CHECKOUT_ID := $(shell printf '%s' '$(CURDIR)' | cksum | cut -d' ' -f1)
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rtropo_$(CHECKOUT_ID)
# The Celery worker test's broker.
REDIS_URL ?= redis://127.0.0.1:6379/9
# QUICK=1 leaves out the slow passes (soak, fault harness, quick benchmark, browser, the
# project served by gunicorn and nginx), which CI runs once, on Django 5.2, rather than on
# every Django.
SLOW := --ignore=tests/soak --ignore=tests/faults --ignore=tests/test_benchmarks_quick.py \
	--ignore=tests/served \
	-m "not celery and not browser"
SQLITE_SELECTION := $(if $(QUICK),$(SLOW),-m "not celery")
POSTGRES_SLOW := $(if $(QUICK),,tests/faults)

.PHONY: demo test docs bench bench-quick clean python-path database-url

$(VENV)/.installed: requirements/*.txt setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/test.txt -r requirements/docs.txt \
		-r requirements/bench.txt -r requirements/django$(DJANGO_ID).txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(DEMO_VENV)/.installed: requirements/demo.txt requirements/base.txt setup.py pyproject.toml
	$(DEMO_PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet -r requirements/demo.txt
	$(DEMO_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/python example/demo.py

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	env -u DATABASE_URL $(PY) -m pytest --ignore=tests/postgres $(SQLITE_SELECTION)
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) \
		$(PY) -m pytest tests/postgres tests/celery_worker $(POSTGRES_SLOW)

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

bench-quick: $(VENV)/.installed
	$(PY) benchmarks/run.py --quick

python-path:  # the interpreter DJANGO's environment is made with
	@echo $(PYTHON)

database-url:  # the PostgreSQL pass's DATABASE_URL
	@echo $(DATABASE_URL)

clean:
	rm -rf .venv-django* $(DEMO_VENV) docs/_build example/*.sqlite3 build dist

docs: $(VENV)/.installed
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html
	@echo "Open docs/_build/html/index.html"
