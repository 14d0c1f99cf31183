"""Fault harness setup: a directory and a database per run (SQLite file, or PostgreSQL
when DATABASE_URL says so) and the terminal summary that shows the counts, pass or fail."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

from tests.soak.harness import AppDatabase

from .report import LINES


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        item.fault_run_failed = True
    return report


@pytest.fixture
def workdir(request):
    """A directory of its own for the database, the stores and the logs (other pytest
    runs on this machine prune the shared basetemp); kept, and named, on failure."""
    path = Path(tempfile.mkdtemp(prefix="rtropo-faults-"))
    yield path
    if getattr(request.node, "fault_run_failed", False):
        LINES.append(f"database, stores and logs kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fault_database(workdir):
    """``(settings environment, AppDatabase)`` of a fresh database for the killed project.

    SQLite: a file in ``workdir``. PostgreSQL (DATABASE_URL is ``postgres://...``): a
    database created for this run next to DATABASE_URL's, dropped after.
    """
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith(("postgres://", "postgresql://")):
        yield {}, AppDatabase(sqlite_path=workdir / "db.sqlite3")
        return
    import psycopg

    name = f"rtropo_faults_{uuid.uuid4().hex[:8]}"
    url = urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"FAULT_DATABASE_URL": url}, AppDatabase(postgres_url=url)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pytest_terminal_summary(terminalreporter):
    if LINES:
        terminalreporter.section("SIGKILL fault harness counts")
        for line in LINES:
            terminalreporter.write_line(line)
