"""The sweep of sent rows no result confirmed within the lease: ``unconfirmed``, and
queued again only when results are seen to reach the view."""

from __future__ import annotations

import logging
from collections.abc import Set
from datetime import datetime, timedelta

from django.utils import timezone

from rtropo import db, signals
from rtropo.conf import BackendConfig
from rtropo.models import OutboundMessage

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status


def expire_unconfirmed(
    config: BackendConfig, *, resend_sent_by: datetime | None
) -> tuple[int, int]:
    """Make sent rows whose result did not come within ``lease`` unconfirmed; return
    (rows unconfirmed, of which queued again, due now).

    A row is not queued again when ``resend_unconfirmed`` is off, it used its
    ``max_attempts``, or it was not sent by ``resend_sent_by`` (None: not sent by any
    time), until a later run's ``resend_sent_by`` is past its send.
    """
    _release_held(config, resend_sent_by)
    unconfirmed = resent = held = 0
    while batch := _expire_batch(config, resend_sent_by):
        rows, kept_back = batch
        unconfirmed += len(rows)
        resent += sum(1 for row in rows if row.status == Status.QUEUED)
        held += kept_back
    if held:
        logger.warning(
            "%d message(s) on %s are unconfirmed (Tropo sent no result within the lease), not "
            "sent again: no result was accepted since they were sent; check that Tropo's "
            "result posts reach the messaging URL",
            held,
            config.name,
        )
    return unconfirmed, resent


def _release_held(config: BackendConfig, resend_sent_by: datetime | None) -> None:
    """Queue again, due now, the rows :func:`expire_unconfirmed` kept that were sent by
    ``resend_sent_by``: a result accepted since shows that results arrive again."""
    if resend_sent_by is None or not config.resend_unconfirmed:
        return
    released = OutboundMessage.objects.filter(
        backend_name=config.name,
        status=Status.UNCONFIRMED,
        sent_at__lte=resend_sent_by,
        attempts__lt=config.max_attempts,
        result_requested=True,
    ).update(status=Status.QUEUED, next_attempt_at=timezone.now(), launch=None, session_id="")
    if released:
        logger.warning(
            "%d unconfirmed message(s) on %s are sent again: a result was accepted since",
            released,
            config.name,
        )


def _expire_batch(
    config: BackendConfig, resend_sent_by: datetime | None
) -> tuple[list[OutboundMessage], int] | None:
    """One batch of :func:`expire_unconfirmed`: its rows and how many the limit kept."""
    now = timezone.now()
    with db.write_transaction():
        rows = list(
            OutboundMessage.objects.of_backend(config.name)
            .awaiting_result()
            .filter(sent_at__lte=now - timedelta(seconds=config.lease))
            .select_for_update(skip_locked=True)
            .order_by("pk")[: config.batch_size]
        )
        held = set()
        for row in rows:
            resend = resend_sent_by is not None and row.sent_at <= resend_sent_by
            unconfirm(config, row, "Tropo sent no result within the lease", now, resend=resend)
            if not resend and config.resend_unconfirmed and row.attempts < config.max_attempts:
                held.add(row.pk)
        OutboundMessage.objects.bulk_update(rows, UNCONFIRM_FIELDS)
    if not rows:
        return None
    announce_unconfirmed(config, rows, quiet=held)
    return rows, len(held)


UNCONFIRM_FIELDS = [
    "status",
    "unconfirmed_count",
    "last_error",
    "next_attempt_at",
    "launch",
    "session_id",
]


def unconfirm(
    config: BackendConfig, row: OutboundMessage, reason: str, now, *, resend: bool = True
) -> None:
    """Mark ``row`` unconfirmed for ``reason``; queue it again when the backend resends."""
    if row.status == Status.SENT:
        row.unconfirmed_count += 1
    row.last_error = reason
    if resend and config.resend_unconfirmed and row.attempts < config.max_attempts:
        row.status = Status.QUEUED
        row.next_attempt_at = now
        row.launch = None
        row.session_id = ""
    else:
        row.status = Status.UNCONFIRMED


def announce_unconfirmed(
    config: BackendConfig, rows: list[OutboundMessage], *, quiet: Set[int] = frozenset()
):
    """Signal the rows :func:`unconfirm` changed, and log those not in ``quiet`` (ids);
    return (resent, kept) rows."""
    resent = [row for row in rows if row.status == Status.QUEUED]
    kept = [row for row in rows if row.status == Status.UNCONFIRMED]
    if config.resend_unconfirmed:
        keeping = f"not sending it again: it used its {config.max_attempts} attempts"
    else:
        keeping = "not sending it again (resend_unconfirmed is off)"
    for outcome, changed in (("sending it again", resent), (keeping, kept)):
        for row in (row for row in changed if row.pk not in quiet):
            logger.warning(
                "Message %s to %s is unconfirmed (%s): %s",
                row.pk,
                row.identity,
                row.last_error,
                outcome,
            )
    signals.announce(signals.message_unconfirmed, resent, resent=True)
    signals.announce(signals.message_unconfirmed, kept, resent=False)
    return resent, kept
