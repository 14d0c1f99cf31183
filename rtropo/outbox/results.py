"""Tropo's results: what one result does to the rows of the answer it reports on (an
:class:`~rtropo.models.AnswerReference`, found by its reference's digest). A result that
comes after the lease still confirms a row queued, launched or sent again meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from django.db.models import Max
from django.utils import timezone

from rtropo import db, signals
from rtropo.conf import BackendConfig
from rtropo.models import AnswerReference, OutboundMessage
from rtropo.outbox import sweep
from rtropo.outbox.references import row_of_verb
from rtropo.payloads import TropoResult

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status
#: Statuses a result changes no more.
SETTLED = (Status.CONFIRMED, Status.FAILED)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a result says of a row: ``delivered`` True, False (with ``error``) or None
    (the result says nothing of it: unconfirmed)."""

    delivered: bool | None
    error: str = ""


@dataclasses.dataclass(frozen=True)
class ResultReading:
    """A result read row by row: ``named`` verdicts by row id, ``others`` for the rest."""

    named: dict[int, Verdict]
    others: Verdict

    def verdict(self, row_id: int) -> Verdict:
        """The verdict on row ``row_id``."""
        return self.named.get(row_id, self.others)


def read_result(result: TropoResult) -> ResultReading:
    """What ``result`` says of each row of the answer.

    It speaks for the rows whose verbs it names (``SUCCESS`` confirms, any other
    disposition fails with Tropo's words), the others unconfirmed; naming none, for
    all: complete it confirms them, with an error fails them, else leaves them unconfirmed.
    """
    named = {}
    for action in result.actions:
        row_id = row_of_verb(action.name)
        if row_id is not None:
            named[row_id] = _action_verdict(action.disposition, result.error)
    if named:
        return ResultReading(named, Verdict(None))
    if result.error:
        return ResultReading({}, Verdict(False, f"Tropo reported an error: {result.error}"))
    return ResultReading({}, Verdict(True if result.complete else None))


def _action_verdict(disposition: str | None, error: str | None) -> Verdict:
    if disposition == "SUCCESS":
        return Verdict(True)
    if disposition is None and not error:
        return Verdict(None)
    reason = f"Tropo reported {disposition or 'an error'}"
    return Verdict(False, f"{reason}: {error}" if error else reason)


@dataclasses.dataclass(frozen=True)
class Settled:
    """What one result did to the rows of its answer (``resent``: queued again); all
    zero when it changed nothing (a replay)."""

    confirmed: int = 0
    failed: int = 0
    unconfirmed: int = 0
    resent: int = 0

    @property
    def changed(self) -> bool:
        """Whether the result changed any row."""
        return any(dataclasses.astuple(self))

    def __str__(self):
        return (
            f"{self.confirmed} confirmed, {self.failed} failed, "
            f"{self.unconfirmed} unconfirmed, {self.resent} to send again"
        )


def last_result_at(config: BackendConfig) -> datetime | None:
    """When a result of Tropo's last confirmed or failed a row of this backend (None: never):
    the evidence that result posts reach the view."""
    latest = OutboundMessage.objects.filter(
        backend_name=config.name, result_at__isnull=False
    ).aggregate(latest=Max("result_at"))
    return latest["latest"]


def answer_of(config: BackendConfig, result_digest: str) -> AnswerReference | None:
    """The answer of this backend whose reference has this digest, if we issued it."""
    try:
        return AnswerReference.objects.get(backend_name=config.name, digest=result_digest)
    except AnswerReference.DoesNotExist:
        return None


def record_result(
    config: BackendConfig, answer: AnswerReference, reading: ResultReading
) -> Settled:
    """Apply Tropo's result to the rows ``answer`` carried that are not settled yet.

    A row reported delivered is confirmed whatever became of it since. A
    failure, or silence (unconfirmed, as after the lease), applies only to a
    row whose latest send was this answer: a later copy may still arrive.
    Rows confirmed or failed already are left alone, so a replay changes nothing.
    """
    now = timezone.now()
    with db.write_transaction():
        rows = list(
            OutboundMessage.objects.filter(pk__in=answer.message_ids)
            .exclude(status__in=SETTLED)
            .select_for_update()
            .order_by("pk")
        )
        changed = [row for row in rows if _apply(config, row, answer, reading.verdict(row.pk), now)]
        OutboundMessage.objects.bulk_update(changed, [*sweep.UNCONFIRM_FIELDS, "result_at"])
    return _announce(config, changed)


def _apply(
    config: BackendConfig, row: OutboundMessage, answer: AnswerReference, verdict: Verdict, now
) -> bool:
    """Set ``row`` as ``verdict`` says; whether it changed."""
    if verdict.delivered:
        row.status, row.last_error, row.result_at = Status.CONFIRMED, "", now
        return True
    latest = row.session_id == answer.session_id and row.status in (Status.SENT, Status.UNCONFIRMED)
    if not latest:
        return False
    if verdict.delivered is False:
        row.status, row.last_error, row.result_at = Status.FAILED, verdict.error, now
        return True
    if row.status == Status.SENT:
        sweep.unconfirm(config, row, "Tropo's result did not report this message", now)
        return True
    return False


def _announce(config: BackendConfig, rows: list[OutboundMessage]) -> Settled:
    """Log and signal what :func:`_apply` changed; return the tally."""
    confirmed = [row for row in rows if row.status == Status.CONFIRMED]
    failed = [row for row in rows if row.status == Status.FAILED]
    for row in failed:
        logger.error("Message %s to %s failed: %s", row.pk, row.identity, row.last_error)
    signals.announce(signals.message_confirmed, confirmed)
    signals.announce_failed(failed)
    resent, kept = sweep.announce_unconfirmed(config, rows)
    return Settled(len(confirmed), len(failed), len(kept), len(resent))
