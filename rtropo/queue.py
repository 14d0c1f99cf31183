"""The outbound queue: the only code that changes a message's status.

Every status change happens in a short transaction, and nothing here talks to
the network: :mod:`rtropo.dispatch` calls the Session API between
:func:`take_due` and :func:`record_session` (or :func:`release`). Rows move
``queued`` → ``launched`` (a session was asked for) → ``sent`` (handed to
Tropo in a TropoML answer), or end ``failed`` after ``max_attempts`` launches
that came to nothing. With delivery confirmation a ``sent`` row awaits Tropo's
result: it becomes ``confirmed``, ``failed`` (Tropo's error), or, with no result
within ``lease``, ``unconfirmed``, and is then queued again unless the backend
sets ``resend_unconfirmed: False`` or the row used its ``max_attempts``.
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

from rtropo import inline, signals
from rtropo.conf import BackendConfig
from rtropo.confirmation import ResultReading, Verdict
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
def write_transaction(*, reads_first: bool = True):
    """A transaction that takes the write lock before it reads.

    On SQLite a deferred transaction that reads and then writes fails at once
    with "database is locked" when another connection writes meanwhile; taking
    the write lock first (with a write that changes nothing) makes it wait for
    its turn instead. A transaction whose first statement is a write takes the
    lock, waiting its turn, with that statement: it passes ``reads_first=False``
    and skips the extra write.
    """
    with transaction.atomic():
        if reads_first and connection.vendor == "sqlite":
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
    go), so that no launch takes them meanwhile; they are noted, as inserted,
    in the thread's inline capture (``rows``), if any.
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
    capture = inline.current(config.name) if held else None
    if capture is not None:
        capture.rows.update((row.pk, row) for row in rows)
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
    config: BackendConfig, reference: str, session_id: str, *, result_digest: str = ""
) -> list[OutboundMessage] | None:
    """Answer the callback of launch ``reference``: mark its rows sent and return them.

    Also takes other due rows of the backend, up to ``batch_size`` in all.
    Returns None when the reference is unknown, expired or already answered.
    ``result_digest`` (the answer's result reference, hashed) is stored with
    the rows when the answer asks for a result.
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
        return _mark_sent(own + extra, session_id, result_digest=result_digest)


def claim_inline(
    config: BackendConfig,
    message_ids: list[int],
    session_id: str,
    *,
    result_digest: str = "",
    held: dict[int, OutboundMessage] | None = None,
) -> list[OutboundMessage]:
    """Mark up to ``batch_size`` of these held rows sent in an inbound answer.

    The rows beyond ``batch_size`` are made due for the launch path. A row that
    is no longer ``queued`` (an admin failed it, say) is left as it is. Both
    statements are writes, so on SQLite the first one takes the write lock; in
    the caller's transaction no savepoint is needed, since nothing here is
    undone on its own. ``held`` (the rows as this request inserted them, by id)
    spares reading the rows back, see :func:`_mark_sent`.
    """
    with transaction.atomic(savepoint=False):
        make_due(message_ids[config.batch_size :])
        return _mark_sent(
            message_ids[: config.batch_size],
            session_id,
            only_queued=True,
            count_attempt=True,
            result_digest=result_digest,
            held=held,
        )


@dataclasses.dataclass(frozen=True)
class Settled:
    """What one result did to the rows of its answer (``resent``: queued again)."""

    confirmed: int = 0
    failed: int = 0
    unconfirmed: int = 0
    resent: int = 0


def record_result(
    config: BackendConfig, result_digest: str, session_id: str, reading: ResultReading
) -> Settled | None:
    """Apply Tropo's result to the rows of the answer whose reference has this digest.

    Only rows of session ``session_id`` that still await it (``sent``, or
    ``unconfirmed`` and not sent again) count. Their verdicts are set and the
    reference consumed (the digest cleared) in one transaction; a replay finds
    nothing. Rows the result says nothing of are unconfirmed, as after the
    lease. Returns None when no row matched.

    The common result confirms every row it names: then one UPDATE confirms
    them without reading them (nothing is logged per confirmed row), unless
    ``message_confirmed`` has receivers; only the rows it leaves out, if any,
    are read and settled one by one.
    """
    now = timezone.now()
    awaiting = OutboundMessage.objects.filter(
        backend_name=config.name,
        result_digest=result_digest,
        session_id=session_id,
        status__in=[Status.SENT, Status.UNCONFIRMED],
    )
    confirming = _confirmed_in_bulk(reading)
    with write_transaction(reads_first=confirming is None):
        confirmed = 0
        if confirming is not None:
            named = awaiting.filter(pk__in=confirming) if confirming else awaiting
            confirmed = named.update(
                status=Status.CONFIRMED, last_error="", result_at=now, result_digest=""
            )
        may_leave_rows = confirming is None or bool(confirming)
        rows = list(awaiting.select_for_update().order_by("pk")) if may_leave_rows else []
        if not rows and not confirmed:
            return None
        for row in rows:
            verdict = reading.verdict(row.pk)
            row.result_digest = ""
            if verdict.delivered is None:
                _unconfirm(config, row, "Tropo's result did not report this message", now)
            else:
                row.status = Status.CONFIRMED if verdict.delivered else Status.FAILED
                row.last_error = verdict.error
                row.result_at = now
        OutboundMessage.objects.bulk_update(rows, [*_UNCONFIRM_FIELDS, "result_at"])
    settled = [row for row in rows if row.status == Status.CONFIRMED]
    failed = [row for row in rows if row.status == Status.FAILED]
    for row in failed:
        logger.error("Message %s to %s failed: %s", row.pk, row.identity, row.last_error)
    _announce(signals.message_confirmed, settled)
    _announce_failed(failed)
    resent, kept = _announce_unconfirmed(config, rows)
    return Settled(confirmed + len(settled), len(failed), len(kept), len(resent))


def _confirmed_in_bulk(reading: ResultReading) -> list[int] | None:
    """The rows ``reading`` confirms with one UPDATE: the ids it names ([]: every row).

    None when it does not confirm every row it speaks for, or when
    ``message_confirmed`` has receivers (they get each row as stored).
    """
    if signals.message_confirmed.has_listeners(OutboundMessage):
        return None
    verdicts = set(reading.named.values()) if reading.named else {reading.others}
    if verdicts != {_DELIVERED}:
        return None
    return list(reading.named)


_DELIVERED = Verdict(True)


def result_mismatch(config: BackendConfig, result_digest: str) -> str:
    """Why a result with this reference digest matched no row (for the log)."""
    if OutboundMessage.objects.filter(
        backend_name=config.name, result_digest=result_digest
    ).exists():
        return "its sessionId is not the answered session's, or the messages were sent again"
    return "its reference is unknown or was used already"


def expire_unconfirmed(config: BackendConfig) -> tuple[int, int]:
    """Make sent rows whose result did not come within ``lease`` unconfirmed.

    Each is queued again (due now) unless the backend sets
    ``resend_unconfirmed: False`` or the row used its ``max_attempts``, and is
    logged and signalled. Returns (rows unconfirmed, of which sent again).
    """
    unconfirmed = resent = 0
    while batch := _expire_batch(config):
        unconfirmed += len(batch)
        resent += sum(1 for row in batch if row.status == Status.QUEUED)
    return unconfirmed, resent


def _expire_batch(config: BackendConfig) -> list[OutboundMessage]:
    now = timezone.now()
    with write_transaction():
        rows = list(
            OutboundMessage.objects.filter(
                backend_name=config.name,
                status=Status.SENT,
                sent_at__lte=now - timedelta(seconds=config.lease),
            )
            .exclude(result_digest="")
            .select_for_update(skip_locked=True)
            .order_by("pk")[: config.batch_size]
        )
        for row in rows:
            _unconfirm(config, row, "Tropo sent no result within the lease", now)
        OutboundMessage.objects.bulk_update(rows, _UNCONFIRM_FIELDS)
    _announce_unconfirmed(config, rows)
    return rows


_UNCONFIRM_FIELDS = [
    "status",
    "unconfirmed_count",
    "last_error",
    "next_attempt_at",
    "launch",
    "session_id",
    "result_digest",
]


def _unconfirm(config: BackendConfig, row: OutboundMessage, reason: str, now) -> None:
    """Mark ``row`` unconfirmed for ``reason``; queue it again when the backend resends."""
    if row.status == Status.SENT:
        row.unconfirmed_count += 1
    row.last_error = reason
    if config.resend_unconfirmed and row.attempts < config.max_attempts:
        row.status = Status.QUEUED
        row.next_attempt_at = now
        row.launch = None
        row.session_id = ""
        row.result_digest = ""
    else:
        row.status = Status.UNCONFIRMED


def _announce_unconfirmed(config: BackendConfig, rows: list[OutboundMessage]):
    """Log and signal the rows :func:`_unconfirm` changed; return (resent, kept) rows."""
    resent = [row for row in rows if row.status == Status.QUEUED]
    kept = [row for row in rows if row.status == Status.UNCONFIRMED]
    if config.resend_unconfirmed:
        keeping = f"not sending it again: it used its {config.max_attempts} attempts"
    else:
        keeping = "not sending it again (resend_unconfirmed is off)"
    for outcome, changed in (("sending it again", resent), (keeping, kept)):
        for row in changed:
            logger.warning(
                "Message %s to %s is unconfirmed (%s): %s",
                row.pk,
                row.identity,
                row.last_error,
                outcome,
            )
    _announce(signals.message_unconfirmed, resent, resent=True)
    _announce(signals.message_unconfirmed, kept, resent=False)
    return resent, kept


def make_due(message_ids: list[int]) -> int:
    """Make these queued rows due now (held rows that no inline answer will carry)."""
    if not message_ids:
        return 0
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
    _announce_failed(failed)
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
    """Make queued, failed and unconfirmed rows of ``messages`` due now, with fresh attempts."""
    return messages.filter(status__in=[Status.QUEUED, Status.FAILED, Status.UNCONFIRMED]).update(
        status=Status.QUEUED, next_attempt_at=timezone.now(), attempts=0, result_digest=""
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
    ids: list[int],
    session_id: str,
    *,
    only_queued: bool = False,
    count_attempt: bool = False,
    result_digest: str = "",
    held: dict[int, OutboundMessage] | None = None,
) -> list[OutboundMessage]:
    """Mark these rows sent in ``session_id``; return the ones this call marked.

    When the UPDATE marked every row and ``held`` has them all, they are not
    read back: ``held`` is updated with what the UPDATE set. The number, text
    and id an answer needs never change after the INSERT; the rows are read
    back all the same when ``message_sent`` has receivers, which get the rows
    as stored.
    """
    rows = OutboundMessage.objects.filter(pk__in=ids)
    changes = {
        "status": Status.SENT,
        "sent_at": timezone.now(),
        "session_id": session_id,
        "last_error": "",
        "result_digest": result_digest,
    }
    attempt = {"attempts": F("attempts") + 1} if count_attempt else {}
    updated = (rows.filter(status=Status.QUEUED) if only_queued else rows).update(
        **changes, **attempt
    )
    if (
        held is not None
        and updated == len(ids)
        and all(pk in held for pk in ids)
        and not signals.message_sent.has_listeners(OutboundMessage)
    ):
        marked = [held[pk] for pk in sorted(ids)]
        for row in marked:
            for name, value in changes.items():
                setattr(row, name, value)
            if count_attempt:
                row.attempts += 1
        return marked
    marked = list(rows.filter(status=Status.SENT, session_id=session_id).order_by("pk"))
    _announce(signals.message_sent, marked)
    return marked


def _announce_failed(rows: list[OutboundMessage]) -> None:
    """Send ``message_failed`` for each row, with its error as ``reason``."""

    def announce():
        for row in rows:
            signals.message_failed.send(sender=OutboundMessage, message=row, reason=row.last_error)

    if rows:
        transaction.on_commit(announce)


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
