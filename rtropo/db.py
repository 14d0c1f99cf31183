"""Database helpers shared by the outbox and the inbox: write transactions and inserts."""

from __future__ import annotations

import contextlib

from django.db import connection, transaction

from rtropo.models import Launch


@contextlib.contextmanager
def write_transaction(*, reads_first: bool = True):
    """A transaction that holds the database's write lock from its first statement.

    On SQLite a transaction that reads and then writes fails with "database is
    locked" when another connection wrote meanwhile; one that writes first
    waits its turn instead. ``reads_first=False`` says the first statement is
    a write already.
    """
    with transaction.atomic():
        if reads_first and connection.vendor == "sqlite":
            Launch.objects.filter(pk__lt=0).update(status=Launch.Status.PENDING)
        yield


def insert(model, rows: list) -> None:
    """Insert ``rows`` of ``model``, setting their ids: one statement where the database
    returns the ids of a bulk insert."""
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(rows)
        return
    with transaction.atomic(savepoint=False):
        for row in rows:
            row.save(force_insert=True)
