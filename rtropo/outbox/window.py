"""The in-flight window: how many rows of a backend may await Tropo at once.

A row is in flight from its launch until Tropo's result for the answer that
carried it, whether a launch or an inline answer sent it. Every path that sends
rows (a launch, a callback taking due rows, an inline answer) takes no more
than :func:`room` leaves (see :attr:`BackendConfig.in_flight_window`), so that
Tropo, texting at the number's rate, reports on each answer within the lease.
"""

from __future__ import annotations

import zlib

from django.db import connection
from django.db.models import Count, Q, Subquery
from django.db.models.functions import Coalesce

from rtropo.conf import BackendConfig
from rtropo.models import OutboundMessage

Status = OutboundMessage.Status


def lock(config: BackendConfig) -> None:
    """Make the window's counts of concurrent transactions come one after another.

    On PostgreSQL an advisory lock of the backend, held to the end of the
    transaction; SQLite's write lock already does it. Call inside a transaction.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(config)])


def in_flight_rows(config: BackendConfig):
    """The rows of the backend in flight: launched, or sent awaiting a result."""
    return OutboundMessage.objects.filter(backend_name=config.name).filter(
        Q(status=Status.LAUNCHED) | Q(status=Status.SENT, result_requested=True)
    )


def in_flight(config: BackendConfig):
    """A subquery: how many :func:`in_flight_rows` the backend has."""
    rows = (
        in_flight_rows(config)
        .order_by()
        .values("backend_name")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(rows), 0)


def room(config: BackendConfig, wanted: int) -> int:
    """How many of ``wanted`` rows the backend may send now: all without a window.

    Locks the window (:func:`lock`) and counts; call inside the transaction
    that sends them.
    """
    window = config.in_flight_window
    if window is None or wanted <= 0:
        return max(wanted, 0)
    lock(config)
    return max(0, min(wanted, window - in_flight_rows(config).count()))


def _lock_key(config: BackendConfig) -> int:
    """The advisory lock key of the backend's in-flight window."""
    return zlib.crc32(f"rtropo-window:{config.name}".encode())
