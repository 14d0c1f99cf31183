"""A database outage in the middle of the SIGKILL fault harness: phones keep texting
while the database is unreachable, the app server is still SIGKILLed at random
points, and no inbound SMS is lost.

The run is :mod:`tests.faults.test_sigkill`'s without the sender: once the apps
received the first SMS, the cron stand-in pauses and the database goes away
(:mod:`tests.faults.outage`: PostgreSQL's connections are cut at a forwarder,
the server itself keeps running; SQLite's file is held locked) until the app
has spooled enough SMS; then it comes back and the cron resumes. After the
kills stop, ``tropo_send_queued --now`` runs until everything settled.

Promised, and asserted: every SMS the app answered 200 or recorded reaches the
apps, the reply to each reaches its phone, an SMS answered an error status was
recorded (the database went away after its INSERT), the spool ends empty, and no
outbound row is left unsettled. The counts go to the terminal summary, pass or fail.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from urllib.parse import urlparse

import pytest

from .outage import SqliteLock, TcpCut
from .report import LINES, record
from .run import FaultRun
from .test_sigkill import PLAN as SIGKILL_PLAN
from .test_sigkill import RECOVERY_SECONDS, SEED, observe, record_counts

pytestmark = pytest.mark.soak

PLAN = {
    **SIGKILL_PLAN,
    "max_kills": 12,
    "inbound": 60,
    "phones": ["+15550630001", "+15550630002", "+15550630003"],
    "send": None,
}
#: The outage starts once the apps received this many SMS ...
RECEIVED_BEFORE = 6
#: ... and ends once the app spooled this many (SQLite: each waits out its 5 s busy
#: time-out), or after OUTAGE_LIMIT seconds.
SPOOLED_DURING = 9
OUTAGE_LIMIT = 60.0
_SPOOLED = "spooled, the database could not record it"


@pytest.fixture
def outage_run(workdir, fault_database):
    """``(FaultRun, outage)``: the app reaches PostgreSQL through a cut-able forwarder."""
    settings_env, database = fault_database
    if database.postgres_url:
        url = urlparse(database.postgres_url)
        outage = TcpCut((url.hostname, url.port or 5432)).start()
        user = url.netloc.rpartition("@")[0]
        forwarded = url._replace(netloc=f"{user}@127.0.0.1:{outage.port}".lstrip("@"))
        settings_env = {**settings_env, "FAULT_DATABASE_URL": forwarded.geturl()}
    else:
        outage = SqliteLock(database.sqlite_path)
    run = FaultRun(workdir, settings_env, database, PLAN)
    try:
        yield run.start(), outage
    finally:
        run.stop()
        outage.stop()


def test_a_database_outage_under_sigkills_loses_no_inbound_sms(outage_run):
    run, outage = outage_run
    started = time.monotonic()
    database = "PostgreSQL" if run.database.postgres_url else "SQLite"
    LINES.append(f"{database} outage: seed {SEED!r} (RTROPO_FAULT_SEED picks another)")
    phase = OutagePhase(run, outage)
    thread = threading.Thread(target=phase.cut_and_restore, name="database-outage", daemon=True)
    thread.start()

    run.text_through_kills()
    thread.join(timeout=OUTAGE_LIMIT + 60)
    kills = run.kills()
    recovery_runs = run.recover(lambda: observe(run).settled(), RECOVERY_SECONDS)
    outcome = observe(run)
    record_counts(run, outcome, kills, recovery_runs, time.monotonic() - started)
    record(
        "outage",
        seconds=f"{phase.seconds:.1f}",
        spooled=spooled(run),
        spool_left=len(spool_entries(run)),
        answers=dict(collections.Counter(str(t.status) for t in run.texted)),
        cron_before=phase.cron_status,
        error=repr(phase.error),
    )

    assert phase.error is None, phase.error
    assert phase.cron_status == 0, "the cron failed before the outage"
    assert spooled(run) >= SPOOLED_DURING, "the outage spooled too few SMS"
    # An error status only for an SMS recorded before the database went away mid-request.
    refused = [t.text for t in run.texted if t.status not in (200, None)]
    assert set(refused) <= set(outcome.recorded), refused
    assert not outcome.inbound_lost, f"{len(outcome.inbound_lost)} lost: {outcome.inbound_lost}"
    assert not spool_entries(run), spool_entries(run)
    assert not outcome.outbound_lost, f"{len(outcome.outbound_lost)} lost: {outcome.outbound_lost}"
    assert not outcome.unsettled, dict(outcome.unsettled)
    assert not outcome.unexpected, outcome.unexpected
    assert run.cron_status == 0, run.cron.log()


class OutagePhase:
    """Cut the database once the apps received :data:`RECEIVED_BEFORE` SMS, restore it
    once :data:`SPOOLED_DURING` more were spooled; the cron pauses meanwhile."""

    def __init__(self, run: FaultRun, outage):
        self.run, self.outage = run, outage
        self.seconds = 0.0
        self.cron_status: int | None = None
        self.error: str | None = None

    def cut_and_restore(self) -> None:
        if not _wait(lambda: sum(self.run.received.texts().values()) >= RECEIVED_BEFORE, 120):
            self.error = f"the apps did not receive {RECEIVED_BEFORE} SMS"
            return
        self.cron_status = self.run.pause_cron()
        self.outage.cut()
        began = time.monotonic()
        try:
            _wait(lambda: spooled(self.run) >= SPOOLED_DURING, OUTAGE_LIMIT)
        finally:
            self.outage.restore()
            self.seconds = time.monotonic() - began
            self.run.resume_cron()


def _wait(condition, timeout: float) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def spooled(run: FaultRun) -> int:
    """How many SMS the app servers logged as spooled."""
    return run.server.log().count(_SPOOLED)


def spool_entries(run: FaultRun) -> list[str]:
    """The spool's entries; not the temporary file of a write that a kill cut off (its
    SMS was not answered)."""
    if not run.spool_dir.exists():
        return []
    return sorted(name for name in os.listdir(run.spool_dir) if not name.startswith("."))
