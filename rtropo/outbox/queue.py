"""Queueing outgoing SMS: one row per recipient, durable once its transaction commits.

A row moves ``queued`` → ``launched`` (:mod:`~rtropo.outbox.take`) → ``sent``
(:mod:`~rtropo.outbox.answers`) → ``confirmed`` or ``failed`` by Tropo's result
(:mod:`~rtropo.outbox.results`) or ``unconfirmed`` (:mod:`~rtropo.outbox.sweep`);
launches that came to nothing requeue or fail it (:mod:`~rtropo.outbox.release`).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.inbox import inline
from rtropo.models import OutboundMessage
from rtropo.outbox import pool

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status


@dataclasses.dataclass(frozen=True)
class Recipient:
    """A RapidSMS identity and the number Tropo should text."""

    identity: str
    number: str


def enqueue(
    config: BackendConfig,
    recipients: list[Recipient],
    text: str,
    message_id: object = "",
    context: dict | None = None,
    *,
    held: inline.Capture | None = None,
) -> list[int]:
    """Queue ``text`` for each recipient in one transaction; return the new row ids.

    ``held`` rows are kept in that capture for an inline answer: no launch takes them
    until ``lease`` seconds have passed or :func:`make_due` lets them go.
    """
    context = context or {}
    now = timezone.now()
    sender, number = (held.sender, held.number) if held is not None else ("", "")
    rows = [
        OutboundMessage(
            backend_name=config.name,
            identity=recipient.identity,
            to_number=recipient.number,
            from_number=pool.first_number(config, recipient.number, sender=sender, number=number),
            text=text,
            message_id=str(message_id or ""),
            in_response_to=_context_value(context, "in_response_to"),
            external_id=_context_value(context, "external_id"),
            next_attempt_at=now if held is None else now + timedelta(seconds=config.lease),
            created_at=now,
        )
        for recipient in recipients
    ]
    _insert(rows)
    if held is not None:
        held.rows.update((row.pk, row) for row in rows)
    logger.info("Queued message %s for %d recipient(s) on %s", message_id, len(rows), config.name)
    return [row.pk for row in rows]


def make_due(message_ids: list[int]) -> int:
    """Make these queued rows due now (held rows that no inline answer will carry)."""
    if not message_ids:
        return 0
    return OutboundMessage.objects.filter(pk__in=message_ids, status=Status.QUEUED).update(
        next_attempt_at=timezone.now()
    )


def _insert(rows: list[OutboundMessage]) -> None:
    """Insert ``rows``, setting their ids, in one statement where the database allows."""
    if len(rows) == 1:
        # Outside a transaction, one INSERT commits by itself.
        rows[0].save(force_insert=True)
    elif connection.features.can_return_rows_from_bulk_insert:
        OutboundMessage.objects.bulk_create(rows)
    else:
        with transaction.atomic(savepoint=False):
            for row in rows:
                row.save(force_insert=True)


def _context_value(context: dict, key: str) -> str:
    value = context.get(key)
    return "" if value is None else str(value)[:64]
