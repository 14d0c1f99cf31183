"""The outbound queue: the code that changes a message's status (with
:mod:`rtropo.results`, which applies Tropo's results).

Every status change happens in a short transaction, and nothing here talks to
the network: :mod:`rtropo.dispatch` calls the Session API between
:func:`take_due` and :func:`record_sessions` (or :func:`release`). Rows move
``queued`` → ``launched`` (a session was asked for) → ``sent`` (handed to
Tropo in a TropoML answer), or end ``failed`` after ``max_attempts`` launches
that came to nothing. With delivery confirmation a ``sent`` row awaits Tropo's
result: it becomes ``confirmed``, ``failed`` (Tropo's error), or, with no result
within ``lease``, ``unconfirmed``, and is then queued again unless the backend
sets ``resend_unconfirmed: False`` or the row used its ``max_attempts``. A
result that comes later still confirms it (see :mod:`rtropo.results`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    F,
    PositiveIntegerField,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from rtropo import inline, signals
from rtropo import window as in_flight_window
from rtropo.conf import BackendConfig
from rtropo.models import AnswerReference, Launch, OutboundMessage
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


#: Most rows one :func:`take_due` of several launches takes (at least one batch):
#: keeps its UPDATE's parameters within SQLite's limit of 32,766.
MOST_ROWS_PER_TAKE = 10_000


def take_due(
    config: BackendConfig, *, include_backing_off: bool = False, batches: int = 1
) -> list[Launch]:
    """Mark up to ``batches`` launches of ``batch_size`` due rows launched; [] when none is due.

    No more than :data:`MOST_ROWS_PER_TAKE` rows (or one batch), no more than
    the in-flight window has room for, and no more launches than leave the
    backend at most ``launch_concurrency`` awaiting their callback: the
    answers to those launch the rest, so that a large queue never sends Tropo
    more sessions than the app can answer in time. One short transaction: one
    COUNT of the pending launches, one SELECT locks the due ids, one INSERT
    creates the launches, one UPDATE gives every row its launch.
    """
    now = timezone.now()
    with write_transaction():
        pending = Launch.objects.filter(
            backend_name=config.name, status=Launch.Status.PENDING, expires_at__gt=now
        ).count()
        batches = min(batches, config.launch_concurrency - pending)
        if batches <= 0:
            return []
        limit = max(config.batch_size, min(config.batch_size * batches, MOST_ROWS_PER_TAKE))
        ids = _due_ids(config, None if include_backing_off else now, limit)
        if not ids:
            return []
        ids.sort()
        chunks = [ids[i : i + config.batch_size] for i in range(0, len(ids), config.batch_size)]
        launches = [
            Launch(
                backend_name=config.name,
                reference=new_reference(),
                size=len(chunk),
                created_at=now,
                expires_at=now + timedelta(seconds=config.lease),
            )
            for chunk in chunks
        ]
        _insert(launches)
        OutboundMessage.objects.filter(pk__in=ids).update(
            status=Status.LAUNCHED,
            launch_id=_launch_of(chunks, launches),
            attempts=F("attempts") + 1,
        )
    return launches


def _insert(launches: list[Launch]) -> None:
    """Insert ``launches`` in one statement where the database returns their ids."""
    if connection.features.can_return_rows_from_bulk_insert:
        Launch.objects.bulk_create(launches)
    else:
        for launch in launches:
            launch.save(force_insert=True)


def _launch_of(chunks: list[list[int]], launches: list[Launch]):
    """The launch id of each row: chunks of ascending ids, one launch per chunk."""
    if len(launches) == 1:
        return Value(launches[0].pk)
    cases = [
        When(pk__lte=chunk[-1], then=Value(launch.pk))
        for chunk, launch in zip(chunks, launches, strict=True)
    ]
    return Case(*cases, output_field=BigIntegerField())


def record_sessions(launched: list[tuple[Launch, str]]) -> None:
    """Note the session Tropo launched for each launch on it and on its launched rows.

    Two UPDATEs in one transaction, however many launches.
    """
    if not launched:
        return
    by_launch = {launch.pk: session_id for launch, session_id in launched}
    with transaction.atomic():
        Launch.objects.filter(pk__in=by_launch).update(session_id=_session_of("pk", by_launch))
        OutboundMessage.objects.filter(launch__in=by_launch, status=Status.LAUNCHED).update(
            session_id=_session_of("launch_id", by_launch)
        )
    for launch, session_id in launched:
        launch.session_id = session_id


def _session_of(field: str, by_launch: dict[int, str]):
    if len(by_launch) == 1:
        return Value(next(iter(by_launch.values())))
    cases = [When(**{field: pk}, then=Value(session_id)) for pk, session_id in by_launch.items()]
    return Case(*cases, output_field=CharField())


def claim_for_callback(
    config: BackendConfig, reference: str, session_id: str, *, result_digest: str = ""
) -> list[OutboundMessage] | None:
    """Answer the callback of launch ``reference``: mark its rows sent and return them.

    Also takes other due rows of the backend, up to ``batch_size`` in all and
    within the in-flight window. Returns None when the reference is unknown,
    expired or already answered. ``result_digest`` (the answer's result
    reference, hashed) is noted with the rows (an :class:`AnswerReference`)
    when the answer asks for a result.

    Statements: the launch's UPDATE, its rows' SELECT, the due rows' SELECT
    (none when the launch is full) and :func:`_answer_rows`', which also give
    the due rows their launch and attempt.
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
        this_launch = Launch.objects.filter(reference=reference).values("pk")
        own = list(
            OutboundMessage.objects.filter(launch__in=this_launch, status=Status.LAUNCHED)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        extra = _due_ids(config, now, config.batch_size - len(own))
        changes = {}
        if extra:
            changes = {
                "launch_id": Subquery(this_launch[:1]),
                "attempts": Case(
                    When(pk__in=extra, then=F("attempts") + 1),
                    default=F("attempts"),
                    output_field=PositiveIntegerField(),
                ),
            }
        return _answer_rows(config, own + extra, session_id, result_digest, **changes)


def claim_inline(
    config: BackendConfig,
    message_ids: list[int],
    session_id: str,
    *,
    result_digest: str = "",
    held: dict[int, OutboundMessage] | None = None,
) -> list[OutboundMessage]:
    """Mark the first of these held rows sent in an inbound answer: as many as
    ``batch_size`` and the in-flight window's room allow.

    The others are made due for the launch path, which sends them as the
    window makes room. A row that is no longer ``queued`` (an admin failed it,
    say) is left as it is. Call it in a transaction that already wrote (on
    SQLite, holding the write lock): the window is counted before the writes.
    In the caller's transaction no savepoint is needed, since nothing here is
    undone on its own. ``held`` (the rows as this request inserted them, by id)
    spares reading the rows back, see :func:`_mark_sent`.
    """
    with transaction.atomic(savepoint=False):
        inline_now = in_flight_window.room(config, min(config.batch_size, len(message_ids)))
        make_due(message_ids[inline_now:])
        return _answer_rows(
            config,
            message_ids[:inline_now],
            session_id,
            result_digest,
            only_queued=True,
            count_attempt=True,
            held=held,
        )


def expire_unconfirmed(
    config: BackendConfig, *, resend_sent_by: datetime | None = None
) -> tuple[int, int]:
    """Make sent rows whose result did not come within ``lease`` unconfirmed.

    Each is queued again (due now) unless the backend sets
    ``resend_unconfirmed: False``, the row used its ``max_attempts``, or it
    was sent after ``resend_sent_by`` (None: no such limit). The rows that
    limit keeps are said in one log line; every other row is logged; all
    are signalled. Rows it kept earlier that were sent by ``resend_sent_by``
    are queued again first (results arrive again). Returns (rows
    unconfirmed, of which sent again).
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
            "%d message(s) on %s are unconfirmed (Tropo sent no result within the lease): "
            "not sending them again, since no result was accepted for %s after they were "
            "sent; check that Tropo's result posts reach the messaging URL",
            held,
            config.name,
            config.name,
        )
    return unconfirmed, resent


def _release_held(config: BackendConfig, resend_sent_by: datetime | None) -> int:
    """Queue again, due now, the unconfirmed rows still awaiting a result sent by then.

    Those are the rows :func:`expire_unconfirmed` kept for its time limit: a
    result accepted since they were sent shows that results arrive again.
    One UPDATE, one log line.
    """
    if resend_sent_by is None or not config.resend_unconfirmed:
        return 0
    released = (
        OutboundMessage.objects.filter(
            backend_name=config.name,
            status=Status.UNCONFIRMED,
            sent_at__lte=resend_sent_by,
            attempts__lt=config.max_attempts,
        )
        .filter(result_requested=True)
        .update(
            status=Status.QUEUED,
            next_attempt_at=timezone.now(),
            launch=None,
            session_id="",
        )
    )
    if released:
        logger.warning(
            "%d unconfirmed message(s) on %s are sent again: a result was accepted since",
            released,
            config.name,
        )
    return released


def _expire_batch(
    config: BackendConfig, resend_sent_by: datetime | None
) -> tuple[list[OutboundMessage], int] | None:
    """One batch of :func:`expire_unconfirmed`: its rows and how many the limit kept."""
    now = timezone.now()
    with write_transaction():
        rows = list(
            OutboundMessage.objects.filter(
                backend_name=config.name,
                status=Status.SENT,
                sent_at__lte=now - timedelta(seconds=config.lease),
            )
            .filter(result_requested=True)
            .select_for_update(skip_locked=True)
            .order_by("pk")[: config.batch_size]
        )
        held = set()
        for row in rows:
            resend = resend_sent_by is None or row.sent_at <= resend_sent_by
            _unconfirm(config, row, "Tropo sent no result within the lease", now, resend=resend)
            if not resend and config.resend_unconfirmed and row.attempts < config.max_attempts:
                held.add(row.pk)
        OutboundMessage.objects.bulk_update(rows, _UNCONFIRM_FIELDS)
    if not rows:
        return None
    _announce_unconfirmed(config, rows, quiet=held)
    return rows, len(held)


_UNCONFIRM_FIELDS = [
    "status",
    "unconfirmed_count",
    "last_error",
    "next_attempt_at",
    "launch",
    "session_id",
]


def _unconfirm(
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


def _announce_unconfirmed(
    config: BackendConfig, rows: list[OutboundMessage], *, quiet: set[int] = frozenset()
):
    """Signal the rows :func:`_unconfirm` changed, and log those not in ``quiet`` (ids).

    Returns (resent, kept) rows.
    """
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
        status=Status.QUEUED, next_attempt_at=timezone.now(), attempts=0
    )


def backoff(config: BackendConfig, attempts: int) -> float:
    """Seconds to wait before the next launch after ``attempts`` failed ones.

    Exponential from ``retry_base``, capped at ``retry_cap``, with equal jitter
    (a random point in the upper half) so that many failed rows do not come
    back at once.
    """
    delay = min(config.retry_cap, config.retry_base * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.5, 1.0)


def _due_ids(config: BackendConfig, until, limit: int) -> list[int]:
    """Lock and return up to ``limit`` queued rows due by ``until`` (None: all), oldest first.

    With an in-flight window (:mod:`rtropo.window`) no more rows than it has
    room for: the same SELECT counts the rows in flight, under the window's
    lock.
    """
    if limit <= 0:
        return []
    due = OutboundMessage.objects.filter(backend_name=config.name, status=Status.QUEUED)
    if until is not None:
        due = due.filter(next_attempt_at__lte=until)
    due = due.order_by("next_attempt_at", "pk").select_for_update(skip_locked=True)
    window = config.in_flight_window
    if window is None:
        return list(due.values_list("pk", flat=True)[:limit])
    in_flight_window.lock(config)
    in_flight = in_flight_window.in_flight(config)
    rows = list(due.annotate(in_flight=in_flight).values_list("pk", "in_flight")[:limit])
    room = window - rows[0][1] if rows else 0
    return [pk for pk, _ in rows[: max(room, 0)]]


#: What an answer reads of the rows it sends; ``message_sent`` receivers get whole rows.
ANSWER_FIELDS = ("pk", "to_number", "text")


def _answer_rows(
    config: BackendConfig, ids: list[int], session_id: str, result_digest: str, **options
) -> list[OutboundMessage]:
    """Mark these rows sent in one answer (see :func:`_mark_sent` for ``options``).

    When the answer asks for a result (``result_digest``, its reference
    hashed), the rows it carries are noted under that digest.
    """
    marked = _mark_sent(ids, session_id, result_requested=bool(result_digest), **options)
    if result_digest and marked:
        AnswerReference.objects.create(
            backend_name=config.name,
            digest=result_digest,
            session_id=session_id,
            message_ids=[row.pk for row in marked],
            created_at=timezone.now(),
        )
    return marked


def _mark_sent(
    ids: list[int],
    session_id: str,
    *,
    only_queued: bool = False,
    count_attempt: bool = False,
    result_requested: bool = False,
    held: dict[int, OutboundMessage] | None = None,
    **expressions,
) -> list[OutboundMessage]:
    """Mark these rows sent in ``session_id``; return the ones this call marked.

    ``expressions`` are more columns the same UPDATE sets (a callback gives
    the due rows it takes their launch and attempt that way).
    When the UPDATE marked every row and ``held`` has them all, they are not
    read back: ``held`` is updated with what the UPDATE set. The number, text
    and id an answer needs never change after the INSERT. Rows read back
    carry only the :data:`ANSWER_FIELDS`, unless ``message_sent`` has
    receivers, which get the rows as stored.
    """
    rows = OutboundMessage.objects.filter(pk__in=ids)
    changes = {
        "status": Status.SENT,
        "sent_at": timezone.now(),
        "session_id": session_id,
        "last_error": "",
        "result_requested": result_requested,
    }
    attempt = {"attempts": F("attempts") + 1} if count_attempt else {}
    updated = (rows.filter(status=Status.QUEUED) if only_queued else rows).update(
        **changes, **attempt, **expressions
    )
    if (
        held is not None
        and not expressions
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
    marked = rows.filter(status=Status.SENT, session_id=session_id).order_by("pk")
    if not signals.message_sent.has_listeners(OutboundMessage):
        return list(marked.only(*ANSWER_FIELDS))
    marked = list(marked)
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
