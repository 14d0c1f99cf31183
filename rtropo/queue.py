"""The outbound queue: enqueueing, and taking due rows for launches.

A message's status changes here, in :mod:`rtropo.answers` (sent),
:mod:`rtropo.release` (a launch given up), :mod:`rtropo.sweep` (unconfirmed)
and :mod:`rtropo.results` (Tropo's results). Every change happens in a short
transaction, and none of these talks to the network: :mod:`rtropo.dispatch`
calls the Session API between :func:`take_due` and :func:`record_sessions` (or
:func:`rtropo.release.release`). Rows move
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
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    F,
    Value,
    When,
)
from django.utils import timezone

from rtropo import inline
from rtropo import window as in_flight_window
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
        ids = due_ids(config, None if include_backing_off else now, limit)
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


def due_ids(config: BackendConfig, until, limit: int) -> list[int]:
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


def _context_value(context: dict, key: str) -> str:
    value = context.get(key)
    return "" if value is None else str(value)[:64]
