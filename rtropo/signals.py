"""Signals sent once per message when its status changes for good or needs attention.

Each is sent with ``sender=OutboundMessage`` and ``message=<the row>``, after
the status change has been committed:

``message_sent``
    handed to Tropo in an answer (final when delivery confirmation is off);
``message_confirmed``
    Tropo's result reported the message delivered;
``message_failed``
    it will not be sent: launches came to nothing, or Tropo's result reported
    a failure; ``reason`` is the last error text;
``message_unconfirmed``
    no result came for it within the lease, or the result left it out: it may
    or may not have reached the phone; ``resent`` says whether it is queued
    to be sent again.
"""

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

    def send():
        for row in rows:
            message_failed.send(sender=type(row), message=row, reason=row.last_error)

    if rows:
        transaction.on_commit(send)
