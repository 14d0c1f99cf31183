"""The pool of numbers: which of a backend's numbers texts each recipient (sticky).

A recipient keeps one number, recorded as a :class:`~rtropo.models.NumberAssignment`:
chosen at the first message to it, the number with the fewest recipients (ties: the
first listed), or the number it texted since. A number taken out of
``numbers`` loses its recipients, and its queued rows, to the others at their next launch.
"""

from __future__ import annotations

import heapq
import logging

from django.db.models import Count
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.db import write_transaction
from rtropo.models import NumberAssignment, OutboundMessage

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status

#: Due rows given their number per transaction.
ASSIGN_CHUNK = 1000


def first_number(config: BackendConfig, recipient: str, *, sender: str, number: str) -> str:
    """The number a row gets when queued: the only one of a pool of one; ``number`` for
    a reply to ``sender``, who texted it; else none yet ("", chosen at its launch)."""
    if len(config.numbers) == 1:
        return config.number
    return number if number and recipient == sender else ""


def inbound_number(config: BackendConfig, to_number: str) -> str:
    """The pool number an inbound SMS to ``to_number`` is answered from ("" when it is not
    one of the pool's: each reply then goes from its recipient's number)."""
    if len(config.numbers) == 1:
        return config.number
    return to_number if to_number in config.numbers else ""


def stick(config: BackendConfig, recipient: str, number: str) -> None:
    """Make ``number`` the one that texts ``recipient`` from now on."""
    if number and len(config.numbers) > 1:
        _record(config, {recipient: number}, replace=True)


def heard(config: BackendConfig, rows) -> None:
    """Record, for the recipients of these rows (just sent) who have no number yet, the
    number that texted them: a pool that grows keeps them there."""
    numbers = {row.to_number: row.from_number for row in rows if row.from_number and row.to_number}
    if numbers:
        _record(config, numbers, replace=False)


def assign_due(config: BackendConfig) -> int:
    """Give every queued message without a pool number (none yet, or one taken out of the
    pool) its recipient's number; return how many were given one."""
    given = 0
    while chunk := _assign_chunk(config):
        given += chunk
    if given:
        logger.info("Gave %d queued message(s) a number of the pool of %s", given, config.name)
    return given


def _assign_chunk(config: BackendConfig) -> int:
    with write_transaction():
        rows = list(
            OutboundMessage.objects.of_backend(config.name)
            .filter(status=Status.QUEUED, program__isnull=True)
            .exclude(from_number__in=config.numbers)
            .order_by("next_attempt_at", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "to_number")[:ASSIGN_CHUNK]
        )
        if not rows:
            return 0
        numbers = numbers_for(config, {to for _, to in rows})
        by_number: dict[str, list[int]] = {}
        for pk, to in rows:
            by_number.setdefault(numbers[to], []).append(pk)
        for number, ids in by_number.items():
            OutboundMessage.objects.filter(pk__in=ids).update(from_number=number)
    return len(rows)


def numbers_for(config: BackendConfig, recipients: set[str]) -> dict[str, str]:
    """The pool number of each recipient, choosing one for those that have none in the pool."""
    assigned = _assignments(config, recipients)
    valid = {r: n for r, n in assigned.items() if n in config.numbers}
    unplaced = sorted(recipients - valid.keys())
    if not unplaced:
        return valid
    chosen = _spread(config, unplaced)
    NumberAssignment.objects.bulk_create(
        [_assignment(config, r, n) for r, n in chosen.items() if r not in assigned],
        ignore_conflicts=True,
    )
    _move(config, {r: n for r, n in chosen.items() if r in assigned})
    return {**valid, **_assignments(config, set(unplaced))}


def _move(config: BackendConfig, chosen: dict[str, str]) -> None:
    """Give these recipients, whose number left the pool, the number chosen for each."""
    for number in set(chosen.values()):
        NumberAssignment.objects.filter(
            backend_name=config.name, recipient__in=[r for r, n in chosen.items() if n == number]
        ).exclude(number__in=config.numbers).update(number=number, assigned_at=timezone.now())


def load(config: BackendConfig) -> dict[str, int]:
    """How many recipients each number of the pool serves."""
    counts = dict.fromkeys(config.numbers, 0)
    rows = (
        NumberAssignment.objects.filter(backend_name=config.name, number__in=config.numbers)
        .values_list("number")
        .annotate(recipients=Count("pk"))
    )
    counts.update(dict(rows))
    return counts


def _spread(config: BackendConfig, recipients: list[str]) -> dict[str, str]:
    """Give each recipient the number with the fewest recipients so far (ties: pool order)."""
    heap = [(count, index, n) for index, (n, count) in enumerate(load(config).items())]
    heapq.heapify(heap)
    chosen = {}
    for recipient in recipients:
        count, index, number = heap[0]
        chosen[recipient] = number
        heapq.heapreplace(heap, (count + 1, index, number))
    return chosen


def _assignments(config: BackendConfig, recipients: set[str]) -> dict[str, str]:
    found = NumberAssignment.objects.filter(backend_name=config.name, recipient__in=recipients)
    return dict(found.values_list("recipient", "number"))


def _assignment(config: BackendConfig, recipient: str, number: str) -> NumberAssignment:
    return NumberAssignment(
        backend_name=config.name, recipient=recipient, number=number, assigned_at=timezone.now()
    )


def _record(config: BackendConfig, numbers: dict[str, str], *, replace: bool) -> None:
    """Store these recipients' numbers, replacing those they had only if ``replace`` (in
    recipient order, so that concurrent writers of the same recipients wait for one
    another instead of deadlocking)."""
    rows = [_assignment(config, r, numbers[r]) for r in sorted(numbers)]
    if not replace:
        NumberAssignment.objects.bulk_create(rows, ignore_conflicts=True)
        return
    NumberAssignment.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["backend_name", "recipient"],
        update_fields=["number", "assigned_at"],
    )
