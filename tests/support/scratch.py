"""Scratch places of the slow harnesses (soak, faults): a directory kept when the test
failed, and a PostgreSQL database of its own next to DATABASE_URL's."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

#: The attribute ``note_failure`` sets on a test item whose call failed.
FAILED = "rtropo_run_failed"


def note_failure(item, report) -> None:
    """Mark ``item`` failed when ``report`` is a failure (call from a makereport hook)."""
    if report.failed:
        setattr(item, FAILED, True)


@contextlib.contextmanager
def directory(request, prefix: str, lines: list[str], what: str):
    """A directory of its own (other pytest runs on this machine prune the shared
    basetemp); removed after the test, or kept and named in ``lines`` if it failed."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    yield path
    if getattr(request.node, FAILED, False):
        lines.append(f"{what} kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


def postgres_admin_url() -> str | None:
    """DATABASE_URL when it names a PostgreSQL database, else None."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _on_server(url: str, name: str) -> str:
    """``url`` with its database name replaced by ``name``."""
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def postgres_database(admin_url: str, prefix: str):
    """Create a database named ``prefix`` plus a random part on ``admin_url``'s server;
    yield its URL; drop it after.

    It is created from the server's ``postgres`` database, as Django creates its test
    database: the one ``admin_url`` names need not exist (``make test`` names one per
    checkout).
    """
    import psycopg

    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    url = _on_server(admin_url, name)
    admin_url = _on_server(admin_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
