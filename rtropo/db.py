"""Write transactions that hold the database's write lock from their first statement."""

from __future__ import annotations

import contextlib

from django.db import connection, transaction

from rtropo.models import Launch


@contextlib.contextmanager
def write_transaction(*, reads_first: bool = True):
    """A transaction that holds the write lock from its first statement
    (``reads_first=False``: that statement is a write already)."""
    # On SQLite a transaction that reads, then writes after another connection
    # wrote, fails with "database is locked"; one that writes first waits its turn.
    with transaction.atomic():
        if reads_first and connection.vendor == "sqlite":
            Launch.objects.filter(pk__lt=0).update(status=Launch.Status.PENDING)
        yield
