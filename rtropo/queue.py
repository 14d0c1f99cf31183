"""The outbound queue: the only code that changes a message's status.

Every status change happens in a short transaction, and nothing here talks to
the network: :mod:`rtropo.dispatch` calls the Session API between
:func:`take_due` and :func:`record_session` (or :func:`release`). Rows move
``queued`` → ``launched`` (a session was asked for) → ``sent`` (handed to
Tropo in a TropoML answer), or end ``failed`` after ``max_attempts`` launches
that came to nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from rtropo import signals
from rtropo.conf import BackendConfig
from rtropo.models import Launch, OutboundMessage
from rtropo.reference import new_reference

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status


@dataclasses.dataclass(frozen=True)
class Recipient:
    """A RapidSMS identity and the number Tropo should text."""

    identity: str
    number: str


@contextlib.contextmanager
def write_transaction():
    """A transaction that takes the write lock before it reads.

    On SQLite a deferred transaction that reads and then writes fails at once
    with "database is locked" when another connection writes meanwhile; taking
    the write lock first makes it wait for its turn instead.
    """
    with transaction.atomic():
        if connection.vendor == "sqlite":
            Launch.objects.filter(pk__lt=0).update(status=Launch.Status.PENDING)
        yield


def enqueue(
    config: BackendConfig,
    recipients: list[Recipient],
    text: str,
    message_id: object = "",
    context: dict | None = None,
    *,
    held: bool = False,
) -> list[int]:
    """Queue ``text`` for each recipient in one transaction; return the new row ids.

    A single row is one INSERT, which commits by itself outside a transaction.

    ``held`` rows are kept for an inline answer: they become due only after
    ``lease`` seconds (or when :func:`claim_inline` or :func:`make_due` lets them
    go), so that no launch takes them meanwhile.
    """
    context = context or {}
    now = timezone.now()
    due = now + timedelta(seconds=config.lease) if held else now
    rows = [
        OutboundMessage(
            backend_name=config.name,
            identity=recipient.identity,
            to_number=recipient.number,
            text=text,
            message_id=str(message_id or ""),
            in_response_to=_context_value(context, "in_response_to"),
            external_id=_context_value(context, "external_id"),
            next_attempt_at=due,
            created_at=now,
        )
        for recipient in recipients
    ]
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        with transaction.atomic(savepoint=False):
            if connection.features.can_return_rows_from_bulk_insert:
                OutboundMessage.objects.bulk_create(rows)
            else:
                for row in rows:
                    row.save(force_insert=True)
    logger.info("Queued message %s for %d recipient(s) on %s", message_id, len(rows), config.name)
    return [row.pk for row in rows]


def take_due(config: BackendConfig, *, include_backing_off: bool = False) -> Launch | None:
    """Mark up to ``batch_size`` due rows launched in a new launch; None when none is due."""
    now = timezone.now()
    with write_transaction():
        ids = _due_ids(config, None if include_backing_off else now, config.batch_size)
        if not ids:
            return None
        launch = Launch.objects.create(
            backend_name=config.name,
            reference=new_reference(),
            size=len(ids),
            created_at=now,
            expires_at=now + timedelta(seconds=config.lease),
        )
        OutboundMessage.objects.filter(pk__in=ids).update(
            status=Status.LAUNCHED, launch=launch, attempts=F("attempts") + 1
        )
    return launch


def record_session(launch: Launch, session_id: str) -> None:
    """Note the session Tropo launched for ``launch`` on it and on its launched rows."""
    Launch.objects.filter(pk=launch.pk).update(session_id=session_id)
    OutboundMessage.objects.filter(launch=launch, status=Status.LAUNCHED).update(
        session_id=session_id
    )
    launch.session_id = session_id


def claim_for_callback(
    config: BackendConfig, reference: str, session_id: str
) -> list[OutboundMessage] | None:
    """Answer the callback of launch ``reference``: mark its rows sent and return them.

    Also takes other due rows of the backend, up to ``batch_size`` in all.
    Returns None when the reference is unknown, expired or already answered.
    """
    now = timezone.now()
    with write_transaction():
        answered = Launch.objects.filter(
            backend_name=config.name,
            reference=reference,
            status=Launch.Status.PENDING,
            expires_at__gt=now,
        ).update(status=Launch.Status.ANSWERED, answered_at=now, session_id=session_id)
        if not answered:
            return None
        launch = Launch.objects.get(reference=reference)
        own = list(
            OutboundMessage.objects.filter(launch=launch, status=Status.LAUNCHED)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        extra = _due_ids(config, timezone.now(), config.batch_size - len(own))
        OutboundMessage.objects.filter(pk__in=extra).update(
            launch=launch, attempts=F("attempts") + 1
        )
        return _mark_sent(own + extra, session_id)


def claim_inline(
    config: BackendConfig, message_ids: list[int], session_id: str
) -> list[OutboundMessage]:
    """Mark up to ``batch_size`` of these held rows sent in an inbound answer.

    The rows beyond ``batch_size`` are made due for the launch path. A row that
    is no longer ``queued`` (an admin failed it, say) is left as it is. Both
    statements are writes, so on SQLite the first one takes the write lock.
    """
    with transaction.atomic():
        make_due(message_ids[config.batch_size :])
        return _mark_sent(
            message_ids[: config.batch_size],
            session_id,
            only_queued=True,
            attempts=F("attempts") + 1,
        )


def make_due(message_ids: list[int]) -> int:
    """Make these queued rows due now (held rows that no inline answer will carry)."""
    return OutboundMessage.objects.filter(pk__in=message_ids, status=Status.QUEUED).update(
        next_attempt_at=timezone.now()
    )


def has_due(config: BackendConfig) -> bool:
    """Whether rows of this backend wait for a launch now."""
    return OutboundMessage.objects.filter(
        backend_name=config.name, status=Status.QUEUED, next_attempt_at__lte=timezone.now()
    ).exists()


def release(config: BackendConfig, launch: Launch, error: str) -> int:
    """Give up on a launch: requeue its rows with back-off, or fail them.

    Does nothing when the launch was answered meanwhile (its rows are sent).
    Returns the number of rows released.
    """
    now = timezone.now()
    with write_transaction():
        gave_up = Launch.objects.filter(pk=launch.pk, status=Launch.Status.PENDING).update(
            status=Launch.Status.FAILED, error=error
        )
        if not gave_up:
            return 0
        rows = list(
            OutboundMessage.objects.filter(
                launch=launch, status=Status.LAUNCHED
            ).select_for_update()
        )
        failed = []
        for row in rows:
            row.last_error = error
            row.launch = None
            row.session_id = ""
            if row.attempts >= config.max_attempts:
                row.status = Status.FAILED
                failed.append(row)
            else:
                row.status = Status.QUEUED
                row.next_attempt_at = now + timedelta(seconds=backoff(config, row.attempts))
        OutboundMessage.objects.bulk_update(
            rows, ["status", "last_error", "launch", "session_id", "next_attempt_at"]
        )
    for row in failed:
        logger.error(
            "Message %s to %s failed after %d attempts: %s",
            row.pk,
            row.identity,
            row.attempts,
            error,
        )
    _announce(signals.message_failed, failed, reason=error)
    return len(rows)


def release_expired(config: BackendConfig) -> int:
    """Release launches of this backend whose callback did not come within the lease.

    The expired launches are read in full before the first release: an open read
    cursor under each release's write transaction deadlocks SQLite against a
    concurrent writer.
    """
    expired = list(
        Launch.objects.filter(
            backend_name=config.name,
            status=Launch.Status.PENDING,
            expires_at__lte=timezone.now(),
        ).order_by("pk")
    )
    released = 0
    for launch in expired:
        released += release(config, launch, "Tropo did not call back within the lease")
    return released


def retry_now(messages) -> int:
    """Make queued and failed rows of ``messages`` due now, with fresh attempts."""
    return messages.filter(status__in=[Status.QUEUED, Status.FAILED]).update(
        status=Status.QUEUED, next_attempt_at=timezone.now(), attempts=0
    )


def backoff(config: BackendConfig, attempts: int) -> float:
    """Seconds to wait before the next launch after ``attempts`` failed ones.

    Exponential from ``retry_base``, capped at ``retry_cap``, with full jitter
    over the upper half so that many failed rows do not come back at once.
    """
    delay = min(config.retry_cap, config.retry_base * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.5, 1.0)


def _due_ids(config: BackendConfig, until, limit: int) -> list[int]:
    """Lock and return up to ``limit`` queued rows due by ``until`` (None: all), oldest first."""
    if limit <= 0:
        return []
    due = OutboundMessage.objects.filter(backend_name=config.name, status=Status.QUEUED)
    if until is not None:
        due = due.filter(next_attempt_at__lte=until)
    return list(
        due.order_by("next_attempt_at", "pk")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:limit]
    )


def _mark_sent(
    ids: list[int], session_id: str, *, only_queued: bool = False, **changes
) -> list[OutboundMessage]:
    """Mark these rows sent in ``session_id``; return the ones this call marked."""
    rows = OutboundMessage.objects.filter(pk__in=ids)
    (rows.filter(status=Status.QUEUED) if only_queued else rows).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        session_id=session_id,
        last_error="",
        **changes,
    )
    marked = list(rows.filter(status=Status.SENT, session_id=session_id).order_by("pk"))
    _announce(signals.message_sent, marked)
    return marked


def _announce(signal, rows: list[OutboundMessage], **kwargs) -> None:
    """Send ``signal`` for each row once the status change is committed."""

    def announce():
        for row in rows:
            signal.send(sender=OutboundMessage, message=row, **kwargs)

    if rows:
        transaction.on_commit(announce)


def _context_value(context: dict, key: str) -> str:
    value = context.get(key)
    return "" if value is None else str(value)[:64]
