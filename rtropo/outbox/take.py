"""Taking due rows for a launch (``queued`` → ``launched``), and noting the session Tropo
launched for it."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.db import write_transaction
from rtropo.models import Launch, OutboundMessage
from rtropo.outbox import pool
from rtropo.outbox import window as in_flight_window
from rtropo.outbox.references import new_reference

Status = OutboundMessage.Status

#: Most launches of one number awaiting their callback: the answers to those launch the
#: rest, so that Tropo never holds more sessions than the app answers in time.
MOST_PENDING_LAUNCHES = 10


def take_due(
    config: BackendConfig, number: str, *, include_backing_off: bool = False
) -> Launch | None:
    """Mark up to ``batch_size`` due rows launched in a new launch; None when none is taken.

    A due Tropo program first, alone in its launch; else messages texted from
    ``number``. No more rows than its in-flight window has room for, and none
    while :data:`MOST_PENDING_LAUNCHES` launches of the number await their callback.
    """
    now = timezone.now()
    with write_transaction():
        pending = Launch.objects.filter(
            backend_name=config.name,
            number=number,
            status=Launch.Status.PENDING,
            expires_at__gt=now,
        )
        if pending.count() >= MOST_PENDING_LAUNCHES:
            return None
        until = None if include_backing_off else now
        # A program first: it is one row, and a campaign's messages must not hold it up.
        ids = due_ids(config, until, 1, "", programs=True)
        program = bool(ids)
        if not program and number:
            ids = due_ids(config, until, config.batch_size, number)
        if not ids:
            return None
        launch = Launch.objects.create(
            backend_name=config.name,
            reference=new_reference(),
            size=len(ids),
            created_at=now,
            expires_at=now + timedelta(seconds=config.lease),
            program=program,
            number="" if program else number,
        )
        OutboundMessage.objects.filter(pk__in=ids).update(
            status=Status.LAUNCHED, launch=launch, attempts=F("attempts") + 1
        )
    return launch


def record_session(launch: Launch, session_id: str) -> None:
    """Note the session Tropo launched for ``launch`` on it and on its launched rows."""
    with transaction.atomic():
        Launch.objects.filter(pk=launch.pk).update(session_id=session_id)
        OutboundMessage.objects.filter(launch=launch, status=Status.LAUNCHED).update(
            session_id=session_id
        )
    launch.session_id = session_id


def has_due(config: BackendConfig) -> bool:
    """Whether rows of this backend wait for a launch now."""
    return OutboundMessage.objects.of_backend(config.name).due().exists()


def numbers_due(config: BackendConfig, *, include_backing_off: bool = False) -> list[str]:
    """The pool numbers whose messages are due (each given its number first), in pool
    order, after ``""`` when a Tropo program may be."""
    pool.assign_due(config)
    due = OutboundMessage.objects.of_backend(config.name)
    due = due.filter(status=Status.QUEUED) if include_backing_off else due.due()
    found = set(due.values_list("from_number", flat=True).distinct())
    return [number for number in ("", *config.numbers) if number in found]


def due_ids(
    config: BackendConfig, until, limit: int, number: str, *, programs: bool = False
) -> list[int]:
    """Lock and return up to ``limit`` queued messages texted from ``number`` (``programs``:
    Tropo programs) due by ``until`` (None: all), oldest first, and no more than the
    number's in-flight window has room for. Call inside a transaction."""
    limit = in_flight_window.room(config, limit, number)
    if limit == 0:
        return []
    due = OutboundMessage.objects.of_backend(config.name).filter(from_number=number)
    due = due.filter(status=Status.QUEUED) if until is None else due.due(until)
    due = due.filter(program__isnull=not programs)
    due = due.order_by("next_attempt_at", "pk").select_for_update(skip_locked=True)
    return list(due.values_list("pk", flat=True)[:limit])
