# Two commands for a newcomer: `make demo` and `make test` (see README.rst).
# `make test` runs tox (tox.ini), from an environment of its own (.venv-tox). DJANGO picks
# the Django of the test run; each one runs on the Python that CI gives it.
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
TOX_PYTHON ?= $(call python_of,3.11)
DEMO_VENV := .venv-demo
TOX_VENV := .venv-tox
TOX := $(TOX_VENV)/bin/tox
# tox makes each environment with the interpreter this Makefile names for its Python.
DISCOVER := --discover $(foreach version,3.11 3.12 3.13,$(call python_of,$(version)))
# The PostgreSQL pass's database; the SQLite pass runs without DATABASE_URL, wherever it is set.
# Its name is this checkout's own (a hash of its path), so that two checkouts testing on one
# server never drop each other's test database ("test_" + the name); it need not exist.
CHECKOUT_ID := $(shell printf '%s' '$(CURDIR)' | cksum | cut -d' ' -f1)
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/rtropo_$(CHECKOUT_ID)
# The Celery worker test's broker.
REDIS_URL ?= redis://127.0.0.1:6379/9
# The tox environments of `make test`: DJANGO's suite, the quick benchmark's check, mypy and
# the pre-commit hooks. QUICK=1 picks DJANGO's -quick environment, which leaves out the slow
# passes (soak, fault harness, browser, the project served by gunicorn and nginx) and the
# quick benchmark, which CI runs once, on Django 5.2, rather than on every Django.
comma := ,
TEST_ENVS := $(if $(QUICK),django$(DJANGO_ID)-quick,django$(DJANGO_ID)$(comma)bench-tests)$(comma)typing$(comma)lint
# Every environment CI tests in: `make test-envs` makes them side by side.
CI_ENVS := django42-quick,django52,django60-quick,django61-quick,bench-tests,typing,lint

.PHONY: demo test test-envs docs bench bench-quick clean python-path database-url

$(TOX_VENV)/.installed: requirements/tox.txt
	$(TOX_PYTHON) -m venv $(TOX_VENV)
	$(TOX_VENV)/bin/python -m pip install --quiet -r requirements/tox.txt
	touch $@

$(DEMO_VENV)/.installed: requirements/demo.txt requirements/base.txt setup.py pyproject.toml
	$(DEMO_PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet -r requirements/demo.txt
	$(DEMO_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

demo: $(DEMO_VENV)/.installed
	$(DEMO_VENV)/bin/python example/demo.py

test: $(TOX_VENV)/.installed
	DATABASE_URL=$(DATABASE_URL) REDIS_URL=$(REDIS_URL) \
		$(TOX) run -e $(TEST_ENVS) $(DISCOVER)

test-envs: $(TOX_VENV)/.installed
	$(TOX) run-parallel --notest --parallel 4 --parallel-no-spinner -e $(CI_ENVS) $(DISCOVER)

bench: $(TOX_VENV)/.installed
	$(TOX) run -e bench $(DISCOVER)

bench-quick: $(TOX_VENV)/.installed
	$(TOX) run -e bench $(DISCOVER) -- --quick

docs: $(TOX_VENV)/.installed
	$(TOX) run -e docs $(DISCOVER)
	@echo "Open docs/_build/html/index.html"

python-path:  # the interpreter DJANGO's environment is made with
	@echo $(PYTHON)

database-url:  # the PostgreSQL pass's DATABASE_URL
	@echo $(DATABASE_URL)

clean:
	rm -rf .venv-* .tox .coverage .mypy_cache docs/_build example/*.sqlite3 build dist
