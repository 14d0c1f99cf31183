"""PostgreSQL-only tests: skipped (or failed, with RTROPO_REQUIRE_SERVICES=1) elsewhere."""

import os

import pytest

from tests.support.services import skip_or_fail

from .report import LINES


def _postgres_configured() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.fixture(autouse=True)
def _needs_postgres():
    if _postgres_configured():
        return
    reason = (
        "PostgreSQL concurrency tests need DATABASE_URL=postgres://... "
        "(e.g. postgres://postgres@127.0.0.1:5432/rtropo; make test names one per checkout)"
    )
    skip_or_fail(reason)


def pytest_terminal_summary(terminalreporter):
    if LINES:
        terminalreporter.section("PostgreSQL concurrency counts")
        for line in LINES:
            terminalreporter.write_line(line)
