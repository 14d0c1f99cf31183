"""The documented settings leave ``makemigrations --check`` clean with RapidSMS's apps.

RapidSMS's apps set no ``default_auto_field``; the project's ``DEFAULT_AUTO_FIELD``
decides whether their migrations match their models.
"""

import os
import subprocess
import sys

import pytest

from tests.test_docs import settings_sample
from tests.test_readme import python_samples
from tests.test_readme import run as run_readme_sample

RAPIDSMS_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django_tables2",
    "selectable",
    "rapidsms.backends.database",
    "rapidsms.backends.kannel",
    "rapidsms.router.db",
    "rapidsms.contrib.handlers",
    "rapidsms.contrib.messagelog",
    "rapidsms.contrib.httptester",
    "rapidsms.contrib.registration",
    "rapidsms.contrib.default",
]


def documented_settings(source):
    if source == "README":
        return run_readme_sample(next(s for s in python_samples() if "INSTALLED_BACKENDS" in s))
    return settings_sample("sample-settings-nested")


@pytest.mark.parametrize("source", ["README", "quickstart"])
def test_makemigrations_has_nothing_to_write(source, tmp_path):
    namespace = documented_settings(source)
    apps = [app for app in namespace["INSTALLED_APPS"] if app is not Ellipsis]
    (tmp_path / "project_settings.py").write_text(
        "SECRET_KEY = 'x'\nUSE_TZ = True\n"
        f"INSTALLED_APPS = {RAPIDSMS_APPS + apps!r}\n"
        f"DEFAULT_AUTO_FIELD = {namespace['DEFAULT_AUTO_FIELD']!r}\n"
        f"INSTALLED_BACKENDS = {namespace['INSTALLED_BACKENDS']!r}\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project_settings",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
    }
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "django", "makemigrations", "--check", "--dry-run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
