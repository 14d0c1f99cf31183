"""Soak test setup: the app's database (SQLite file, or PostgreSQL when DATABASE_URL
says so) and the terminal summary that shows the soak's counts, pass or fail."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.support.project import free_port, project_env, run

from .harness import AppDatabase
from .report import LINES


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.soak_failed = True
    return report


@pytest.fixture
def workdir(request):
    """A directory of its own for the run's database and logs (other pytest runs on
    this machine prune the shared basetemp); kept, and its path shown, on failure."""
    path = Path(tempfile.mkdtemp(prefix="rtropo-soak-"))
    yield path
    if getattr(request.node, "soak_failed", False):
        LINES.append(f"database and logs kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def app_database(workdir):
    """``(env_for(emulator_port, options), AppDatabase)`` of a fresh, migrated database.

    SQLite: the example project's file setting, pointed at a file in ``tmp_path``.
    PostgreSQL: a database created for this run next to DATABASE_URL's, dropped after.
    """
    admin_url = _postgres_url()
    database_url = None
    if admin_url:
        import psycopg

        name = f"rtropo_soak_{uuid.uuid4().hex[:8]}"
        database_url = urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    sqlite_path = workdir / "db.sqlite3"

    def env_for(emulator_port: int, options: dict) -> dict:
        env = project_env(sqlite_path, emulator_port, options)
        env["DEMO_LOG_LEVEL"] = "INFO"
        if database_url:
            env["DJANGO_SETTINGS_MODULE"] = "tests.soak.app_settings"
            env["SOAK_DATABASE_URL"] = database_url
        return env

    run(["migrate", "--noinput"], env_for(free_port(), {}))
    yield env_for, AppDatabase(sqlite_path=sqlite_path, postgres_url=database_url)
    if admin_url:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter):
    if LINES:
        terminalreporter.section("soak counts")
        for line in LINES:
            terminalreporter.write_line(line)
