"""Fixtures of the served project: its environment, database, and gunicorn with the docs' config."""

import shutil
import subprocess
import sys

import pytest

from tests.support.gunicorn import Gunicorn
from tests.support.project import COMMAND_TIMEOUT, REPO, project_env

APP = "tests.served.wsgi:application"


@pytest.fixture(scope="session")
def served_template(tmp_path_factory):
    """A migrated SQLite file of the served project, copied by every test."""
    database = tmp_path_factory.mktemp("served-template") / "db.sqlite3"
    env = served_env(database, database.parent / "reports.jsonl")
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=COMMAND_TIMEOUT,
    )
    return database


def served_env(database, reports) -> dict:
    env = project_env(database, 0, {})
    env.update(
        DJANGO_SETTINGS_MODULE="tests.served.settings",
        SERVED_DATABASE=str(database),
        SERVED_REPORTS=str(reports),
    )
    return env


@pytest.fixture
def served(tmp_path, served_template):
    """The served project's environment, on a database of its own (``SERVED_DATABASE``)."""
    database = tmp_path / "db.sqlite3"
    shutil.copyfile(served_template, database)
    return served_env(database, tmp_path / "reports.jsonl")


@pytest.fixture
def gunicorn_config(tmp_path):
    """The docs' gunicorn.conf.py (docs/deployment.rst), as a file."""
    from tests.test_docs import sample

    config = tmp_path / "gunicorn.conf.py"
    config.write_text(sample("sample-gunicorn-conf"), encoding="utf-8")
    return config


@pytest.fixture
def gunicorn(served, gunicorn_config, tmp_path):
    """gunicorn serving the served project with the docs' config; stopped at teardown."""
    server = Gunicorn(gunicorn_config, APP, served, tmp_path, probe="/tropo/").start()
    yield server
    server.stop()
