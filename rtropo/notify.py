"""The signals of :mod:`rtropo.signals`, sent for each row once its change is committed."""

from __future__ import annotations

from django.db import transaction

from rtropo import signals
from rtropo.models import OutboundMessage


def failed(rows: list[OutboundMessage]) -> None:
    """Send ``message_failed`` for each row, with its error as ``reason``."""

    def announce():
        for row in rows:
            signals.message_failed.send(sender=OutboundMessage, message=row, reason=row.last_error)

    if rows:
        transaction.on_commit(announce)


def after_commit(signal, rows: list[OutboundMessage], **kwargs) -> None:
    """Send ``signal`` for each row once the status change is committed."""

    def announce():
        for row in rows:
            signal.send(sender=OutboundMessage, message=row, **kwargs)

    if rows:
        transaction.on_commit(announce)
