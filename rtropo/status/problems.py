"""The problems ``tropo_status`` names: each rule takes a backend's facts and returns a
:class:`Problem` (with a stable code, documented in docs/troubleshooting.rst) or None."""

import dataclasses
from datetime import timedelta

from rtropo.conf import BackendConfig
from rtropo.status.facts import Facts
from rtropo.status.health import launch_refusal_current

WARNING = "warning"
CRITICAL = "critical"

#: A callback later than this after its launch is late (Tropo calls back in seconds).
CALLBACK_GRACE = timedelta(seconds=60)

#: A due row waiting longer than this is late.
DUE_GRACE = timedelta(minutes=2)

#: Spooled SMS older than this are not being replayed (the command runs every minute).
SPOOL_GRACE = timedelta(minutes=5)

#: The periodic command is missing when it has not run for this long while rows are due.
COMMAND_GRACE = timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a backend: ``level`` is ``warning`` or ``critical``."""

    level: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"level": self.level, "code": self.code, "message": self.message}

    def line(self, backend: str) -> str:
        """The problem as one line: ``backend: level code: message``."""
        return f"{backend}: {self.level} {self.code}: {self.message}"


def duration(seconds: float) -> str:
    """``seconds`` as a short duration such as ``4m12s`` or ``2h05m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def launch_refused(config: BackendConfig, facts: Facts) -> Problem | None:
    health = facts.health
    if not launch_refusal_current(health):
        return None
    return Problem(
        CRITICAL,
        "launch_refused",
        f"Tropo refused the last launch {_ago(facts, health.last_refusal_at)} "
        f"({health.last_refusal_reason}); messages back off until a launch succeeds. "
        "Check 'messaging_token' (the application's messaging token at Tropo) and "
        "'api_url', then run tropo_send_queued --now.",
    )


def requests_refused(config: BackendConfig, facts: Facts) -> Problem | None:
    count = facts.recent_refusals
    if not count:
        return None
    health = facts.health
    return Problem(
        CRITICAL,
        "requests_refused",
        f"The view refused {count} request(s) from Tropo in the last 10 minutes "
        f"(last {_ago(facts, health.last_refused_request_at)}: "
        f"{health.last_refused_request_reason}). Make the messaging URL at Tropo end "
        "with ?secret=<one of 'inbound_secret'> and check that 'messaging_token' is "
        "this application's.",
    )


def callback_late(config: BackendConfig, facts: Facts) -> Problem | None:
    oldest = facts.oldest_launch_at
    if oldest is None or facts.now - oldest <= CALLBACK_GRACE:
        return None
    level = CRITICAL if facts.expired_launches else WARNING
    return Problem(
        level,
        "callback_late",
        f"{facts.pending_launches} launch(es) await Tropo's callback, the oldest "
        f"launched {_ago(facts, oldest)} ({facts.expired_launches} past the lease). "
        "Check that the messaging URL at Tropo points at this site's Tropo view and "
        "that Tropo reaches it (see requests_refused).",
    )


def due_late(config: BackendConfig, facts: Facts) -> Problem | None:
    """Rows are due and none has moved since: no launch accepted and no callback answered
    (a campaign's rows wait for the in-flight window while those go on)."""
    oldest = facts.oldest_due_at
    if oldest is None:
        return None
    health = facts.health
    moved = [t for t in (oldest, health.last_launch_at, health.last_callback_at) if t]
    if facts.now - max(moved) <= DUE_GRACE:
        return None
    late = facts.now - oldest
    level = CRITICAL if facts.now - max(moved) > timedelta(seconds=config.lease) else WARNING
    return Problem(
        level,
        "due_late",
        f"{facts.due} message(s) are due, the oldest for {duration(late.total_seconds())}. "
        "Run tropo_send_queued every minute (cron or celery beat) and check that "
        "launches succeed.",
    )


def results_missing(config: BackendConfig, facts: Facts) -> Problem | None:
    if not facts.results_overdue:
        return None
    last = facts.last_result_at
    return Problem(
        CRITICAL,
        "results_missing",
        f"{facts.results_overdue} answer(s) got no result from Tropo within the lease, and "
        f"no result was accepted since they were sent (last: "
        f"{'never' if last is None else _ago(facts, last)}); they are not sent again "
        "until a result is accepted. Make sure Tropo's result posts reach the messaging "
        "URL with their query string (proxies, firewalls, path prefixes).",
    )


def command_not_run(config: BackendConfig, facts: Facts) -> Problem | None:
    last = facts.health.last_run_at
    if not facts.due or (last is not None and facts.now - last <= COMMAND_GRACE):
        return None
    ran = "has never run" if last is None else f"last ran {_ago(facts, last)}"
    return Problem(
        WARNING,
        "command_not_run",
        f"tropo_send_queued {ran} while {facts.due} message(s) are due. Schedule "
        "'manage.py tropo_send_queued -v 0' every minute (cron or celery beat).",
    )


def spool_waiting(config: BackendConfig, facts: Facts) -> Problem | None:
    spooled = facts.spooled
    if spooled.error:
        return Problem(
            CRITICAL,
            "spool_waiting",
            f"The inbound spool ({spooled.directory}) cannot be read ({spooled.error}): "
            "SMS the database could not record would be lost. Give the web server's "
            "and tropo_send_queued's user read and write access to it.",
        )
    if not spooled.entries or spooled.oldest_age is None:
        return None
    late = spooled.oldest_age > SPOOL_GRACE.total_seconds()
    return Problem(
        CRITICAL if late else WARNING,
        "spool_waiting",
        f"{spooled.entries} inbound SMS wait in the spool ({spooled.directory}), the oldest "
        f"for {duration(spooled.oldest_age)}: the database could not record them. "
        "tropo_send_queued replays them once the database answers: check the database, "
        "and that tropo_send_queued runs every minute on this server.",
    )


def _ago(facts: Facts, moment) -> str:
    return f"{duration((facts.now - moment).total_seconds())} ago"


#: The rules :func:`rtropo.status.report` applies, in the order their problems are listed.
RULES = [
    launch_refused,
    requests_refused,
    callback_late,
    due_late,
    results_missing,
    command_not_run,
    spool_waiting,
]
