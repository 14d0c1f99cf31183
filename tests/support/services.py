"""Skip a test whose service is missing, or fail it when RTROPO_REQUIRE_SERVICES=1."""

import os

import pytest


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``; fail instead when the run requires every service (CI)."""
    if os.environ.get("RTROPO_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}; RTROPO_REQUIRE_SERVICES=1 forbids skipping", pytrace=False)
    pytest.skip(reason)
