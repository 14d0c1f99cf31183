"""Taking due rows for a launch, and noting the session Tropo launched for it.

A launch takes rows ``queued`` → ``launched`` in one short transaction;
:mod:`rtropo.outbox.launch` calls the Session API between :func:`take_due`
and :func:`record_sessions` (or :func:`rtropo.outbox.release.release`).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import BigIntegerField, Case, CharField, F, Value, When
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.db import insert, write_transaction
from rtropo.models import Launch, OutboundMessage
from rtropo.outbox import window as in_flight_window
from rtropo.outbox.references import new_reference

Status = OutboundMessage.Status


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
        insert(Launch, launches)
        OutboundMessage.objects.filter(pk__in=ids).update(
            status=Status.LAUNCHED,
            launch_id=_launch_of(chunks, launches),
            attempts=F("attempts") + 1,
        )
    return launches


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


def has_due(config: BackendConfig) -> bool:
    """Whether rows of this backend wait for a launch now."""
    return OutboundMessage.objects.filter(
        backend_name=config.name, status=Status.QUEUED, next_attempt_at__lte=timezone.now()
    ).exists()


def due_ids(config: BackendConfig, until, limit: int) -> list[int]:
    """Lock and return up to ``limit`` queued rows due by ``until`` (None: all), oldest first.

    With an in-flight window (:mod:`rtropo.outbox.window`) no more rows than it has
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
