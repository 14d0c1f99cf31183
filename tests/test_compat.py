"""The django-tables2 check (rtropo.E010): RapidSMS 2.2's table pages need ``{% querystring %}``."""

from importlib.metadata import version

import pytest
from django.core import checks
from django_tables2.templatetags.django_tables2 import register

from rtropo.checks import check_django_tables2


@pytest.fixture
def with_tables2(settings):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_tables2"]


@pytest.fixture
def tables2_3x(monkeypatch):
    """The tag library as django-tables2 3.0 ships it: ``querystring`` renamed."""
    monkeypatch.setitem(register.tags, "querystring_replace", register.tags["querystring"])
    monkeypatch.delitem(register.tags, "querystring")


def test_the_pinned_django_tables2_passes(with_tables2):
    assert check_django_tables2() == []


def test_a_django_tables2_without_querystring_is_an_error(with_tables2, tables2_3x):
    [error] = check_django_tables2()
    assert error.id == "rtropo.E010"
    assert error.level == checks.ERROR
    assert f"django-tables2 {version('django-tables2')} has no" in error.msg
    assert "django-tables2<2.9" in error.hint


def test_the_check_runs_with_djangos_checks(with_tables2, tables2_3x):
    found = checks.run_checks(tags=[checks.Tags.compatibility])
    assert "rtropo.E010" in [message.id for message in found]


def test_a_project_without_the_tables_app_is_not_concerned(tables2_3x):
    assert check_django_tables2() == []
