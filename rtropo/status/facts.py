"""The facts ``tropo_status`` reports of a backend: indexed aggregates and its health row."""

import dataclasses
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q

from rtropo.conf import BackendConfig
from rtropo.inbox import spool
from rtropo.models import BackendHealth, Launch, OutboundMessage
from rtropo.outbox import pool, results
from rtropo.status import health

Status = OutboundMessage.Status

#: Health fields reported, with their labels.
HEALTH_FIELDS = {
    "last_callback_at": "last callback",
    "last_inbound_at": "last inbound SMS",
    "last_launch_at": "last launch",
    "last_refusal_at": "last launch refused",
    "last_refused_request_at": "last request refused",
    "last_run_at": "last tropo_send_queued",
}


@dataclasses.dataclass(frozen=True)
class Facts:
    """What :func:`gather` read of one backend at ``now``."""

    backend: str
    now: datetime
    rows: dict[str, int]
    due: int
    oldest_due_at: datetime | None
    awaiting_result: int
    oldest_awaiting_at: datetime | None
    pending_launches: int
    expired_launches: int
    oldest_launch_at: datetime | None
    results_overdue: int
    last_result_at: datetime | None
    spooled: spool.Summary
    health: BackendHealth
    numbers: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    def age(self, moment: datetime | None) -> float | None:
        """Seconds from ``moment`` to ``now`` (None for None)."""
        return None if moment is None else round((self.now - moment).total_seconds(), 1)

    def as_dict(self) -> dict:
        """The facts as JSON-ready values: times in ISO 8601, ages in seconds."""
        facts = {
            "rows": self.rows,
            "due": self.due,
            "oldest_due_seconds": self.age(self.oldest_due_at),
            "awaiting_result": self.awaiting_result,
            "oldest_awaiting_seconds": self.age(self.oldest_awaiting_at),
            "pending_launches": self.pending_launches,
            "expired_launches": self.expired_launches,
            "oldest_launch_seconds": self.age(self.oldest_launch_at),
            "results_overdue": self.results_overdue,
            "last_result_at": _iso(self.last_result_at),
            "spooled": self.spooled.entries,
            "oldest_spooled_seconds": self.spooled.oldest_age,
        }
        for field in HEALTH_FIELDS:
            facts[field] = _iso(getattr(self.health, field))
        facts["last_refusal_reason"] = self.health.last_refusal_reason
        facts["last_refused_request_reason"] = self.health.last_refused_request_reason
        facts["refused_requests"] = self.recent_refusals
        facts["numbers"] = self.numbers
        return facts

    @property
    def recent_refusals(self) -> int:
        """Requests the view refused in the current window of 10 minutes (0 when none)."""
        refused_at = self.health.last_refused_request_at
        if refused_at is None or refused_at <= self.now - health.REFUSALS_WINDOW:
            return 0
        return self.health.refused_requests


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def gather(config: BackendConfig, now: datetime) -> Facts:
    """Read the facts of ``config``'s backend at ``now``."""
    stored = health.read(config.name)
    last_result_at = results.last_result_at(config)
    rows = OutboundMessage.objects.of_backend(config.name)
    due = rows.due(now).aggregate(count=Count("pk"), oldest=Min("next_attempt_at"))
    awaiting = rows.awaiting_result().aggregate(count=Count("pk"), oldest=Min("sent_at"))
    launches = Launch.objects.filter(
        backend_name=config.name, status=Launch.Status.PENDING
    ).aggregate(
        count=Count("pk"),
        expired=Count("pk", filter=Q(expires_at__lte=now)),
        oldest=Min("created_at"),
    )
    return Facts(
        backend=config.name,
        now=now,
        rows=_by_status(rows),
        due=due["count"],
        oldest_due_at=due["oldest"],
        awaiting_result=awaiting["count"],
        oldest_awaiting_at=awaiting["oldest"],
        pending_launches=launches["count"],
        expired_launches=launches["expired"],
        oldest_launch_at=launches["oldest"],
        results_overdue=_results_overdue(config, rows, last_result_at, now),
        last_result_at=last_result_at,
        spooled=spool.summary(),
        health=stored,
        numbers=_by_number(config, rows, now),
    )


def _by_number(config: BackendConfig, rows, now: datetime) -> dict[str, dict[str, int]]:
    """Per number of the pool: its recipients, its messages due and those in flight."""
    recipients = pool.load(config)
    due = dict(rows.due(now).order_by().values_list("from_number").annotate(Count("pk")))
    flying = dict(rows.in_flight().order_by().values_list("from_number").annotate(Count("pk")))
    return {
        number: {
            "recipients": recipients[number],
            "due": due.get(number, 0),
            "in_flight": flying.get(number, 0),
        }
        for number in config.numbers
    }


def _by_status(rows) -> dict[str, int]:
    counts = dict.fromkeys(Status.values, 0)
    for status, count in rows.order_by().values_list("status").annotate(Count("pk")):
        counts[status] = count
    return counts


def _results_overdue(config: BackendConfig, rows, last_result_at, now: datetime) -> int:
    """Answers past the lease without a result, sent after the last result accepted."""
    if not config.confirm_delivery:
        return 0
    overdue = rows.filter(
        status__in=[Status.SENT, Status.UNCONFIRMED],
        sent_at__lte=now - timedelta(seconds=config.lease),
    ).filter(result_requested=True)
    if last_result_at is not None:
        overdue = overdue.filter(sent_at__gt=last_result_at)
    return overdue.count()
