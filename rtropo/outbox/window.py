"""The in-flight window (:attr:`BackendConfig.in_flight_window`): how many rows of each
number of a backend may be launched or sent awaiting a result at once, so that Tropo,
texting at the number's rate, reports on each answer within the lease."""

from __future__ import annotations

import zlib

from django.db import connection

from rtropo.conf import BackendConfig
from rtropo.models import OutboundMessage


def lock(config: BackendConfig) -> None:
    """Make the window's counts of concurrent transactions come one after another, to the
    end of the transaction (on SQLite its write lock does it)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = zlib.crc32(f"rtropo-window:{config.name}".encode())
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def room(config: BackendConfig, wanted: int, number: str) -> int:
    """How many of ``wanted`` rows texted from ``number`` (``""``: Tropo programs) the
    backend may send now (all without a window); call inside the transaction that sends
    them."""
    window = config.in_flight_window
    if window is None or wanted <= 0:
        return max(wanted, 0)
    lock(config)
    rows = OutboundMessage.objects.of_backend(config.name).filter(from_number=number)
    in_flight_now = rows.in_flight().count()
    return max(0, min(wanted, window - in_flight_now))
