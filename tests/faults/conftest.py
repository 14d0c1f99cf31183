"""Fault harness setup: a directory and a database per run (SQLite file, or PostgreSQL
when DATABASE_URL says so) and the terminal summary that shows the counts, pass or fail."""

from __future__ import annotations

import pytest

from tests.soak.harness import AppDatabase
from tests.support import scratch

from .report import LINES


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    scratch.note_failure(item, report)
    return report


@pytest.fixture
def workdir(request):
    """A directory for the database, the stores and the logs; kept, and named, on failure."""
    with scratch.directory(request, "rtropo-faults-", LINES, "database, stores and logs") as path:
        yield path


@pytest.fixture
def fault_database(workdir):
    """``(settings environment, AppDatabase)`` of a fresh database for the killed project.

    SQLite: a file in ``workdir``. PostgreSQL (DATABASE_URL is ``postgres://...``): a
    database created for this run next to DATABASE_URL's, dropped after.
    """
    admin_url = scratch.postgres_admin_url()
    if admin_url is None:
        yield {}, AppDatabase(sqlite_path=workdir / "db.sqlite3")
        return
    with scratch.postgres_database(admin_url, "rtropo_faults_") as url:
        yield {"FAULT_DATABASE_URL": url}, AppDatabase(postgres_url=url)


def pytest_terminal_summary(terminalreporter):
    if LINES:
        terminalreporter.section("SIGKILL fault harness counts")
        for line in LINES:
            terminalreporter.write_line(line)
