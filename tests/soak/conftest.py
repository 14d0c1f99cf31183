"""Soak test setup: the app's database (SQLite file, or PostgreSQL when DATABASE_URL
says so) and the terminal summary that shows the soak's counts, pass or fail."""

from __future__ import annotations

import contextlib

import pytest

from tests.support import scratch
from tests.support.project import free_port, project_env, run

from .harness import AppDatabase
from .report import LINES


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    scratch.note_failure(item, report)
    return report


@pytest.fixture
def workdir(request):
    """A directory for the run's database and logs; kept, and its path shown, on failure."""
    with scratch.directory(request, "rtropo-soak-", LINES, "database and logs") as path:
        yield path


@pytest.fixture
def app_database(workdir):
    """``(env_for(emulator_port, options), AppDatabase)`` of a fresh, migrated database.

    SQLite: the example project's file setting, pointed at a file in ``workdir``.
    PostgreSQL: a database created for this run next to DATABASE_URL's, dropped after.
    """
    admin_url = scratch.postgres_admin_url()
    with contextlib.ExitStack() as stack:
        database_url = (
            stack.enter_context(scratch.postgres_database(admin_url, "rtropo_soak_"))
            if admin_url
            else None
        )
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


def pytest_terminal_summary(terminalreporter):
    if LINES:
        terminalreporter.section("soak counts")
        for line in LINES:
            terminalreporter.write_line(line)
