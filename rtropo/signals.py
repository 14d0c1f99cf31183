"""Signals sent once per message when its status changes for good or needs attention,
with ``sender=OutboundMessage`` and ``message=<the row>``, after the change committed."""

from django.db import transaction
from django.dispatch import Signal

message_sent = Signal()
message_confirmed = Signal()
message_failed = Signal()
message_unconfirmed = Signal()


def announce(signal, rows: list, **kwargs) -> None:
    """Send ``signal`` for each row once the transaction that changed it commits."""

    def send():
        for row in rows:
            signal.send(sender=type(row), message=row, **kwargs)

    if rows:
        transaction.on_commit(send)


def announce_failed(rows: list) -> None:
    """Send ``message_failed`` for each row, with its error as ``reason``, after commit."""
    for row in rows:
        announce(message_failed, [row], reason=row.last_error)
