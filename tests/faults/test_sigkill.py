"""SIGKILL the app server at random points of inbound requests, callbacks and result
posts; then recover with ``tropo_send_queued`` and count what was lost.

The example project runs on Django's threaded server in a subprocess, with the
kill points of :mod:`tests.faults.kills` armed: before and after each SQL
statement of a Tropo request, and once its answer is built, the server SIGKILLs
itself with a seeded probability. A supervisor starts it again each time, on
the same port and database, until ``MAX_KILLS`` kills. Meanwhile phones text
the app (the echo handler replies to each), a sender queues messages through
the launch path, and ``tropo_send_queued`` runs every second. Then the kills
stop and ``tropo_send_queued --now`` runs until everything settled.

Promised, and asserted: no inbound SMS the backend took on (recorded, or
answered 200) fails to reach the apps, repeats are counted; every outbound row,
and the reply to each such SMS, reaches a phone, and no row is left ``sent``
(an answer cut off by a kill ends ``unconfirmed`` and is sent again), duplicates
are counted. The counts go to the terminal summary, pass or fail.
"""

from __future__ import annotations

import collections
import os
import time

import pytest

from .outcome import Outcome
from .report import LINES, record
from .run import FaultRun

pytestmark = pytest.mark.soak

SEED = os.environ.get("RTROPO_FAULT_SEED", "20261201")
PLAN = {
    "seed": SEED,
    # The chance of a kill at each kill point, by kind of request: an inbound SMS has
    # about 25 kill points, a callback about 20, a result post fewer.
    "kill_rates": {"inbound": 0.008, "callback": 0.02, "result": 0.03},
    "max_kills": 30,
    "inbound": 90,
    "phones": ["+15550610001", "+15550610002", "+15550610003"],
    "send": ("fault send", ["+15550620001", "+15550620002", "+15550620003"], 60, 3.0),
    "backend": {
        "timeout": 1.0,
        "lease": 3,  # short: callbacks, inbound routing and results time out quickly
        "retry_base": 0.2,
        "retry_cap": 1.0,
        "max_attempts": 10_000,
        "batch_size": 5,
        "sms_per_second": 0,  # the emulator enforces no rate: no in-flight window
    },
}
RECOVERY_SECONDS = 60.0


@pytest.fixture
def fault_run(workdir, fault_database):
    settings_env, database = fault_database
    run = FaultRun(workdir, settings_env, database, PLAN)
    try:
        yield run.start()
    finally:
        run.stop()


def test_sigkills_lose_no_inbound_sms_and_leave_no_answer_unconfirmed(fault_run):
    started = time.monotonic()
    database = "PostgreSQL" if fault_run.database.postgres_url else "SQLite"
    LINES.append(f"{database}: seed {SEED!r} (RTROPO_FAULT_SEED picks another)")

    fault_run.text_through_kills()
    kills = fault_run.kills()
    recovery_runs = fault_run.recover(lambda: observe(fault_run).settled(), RECOVERY_SECONDS)
    outcome = observe(fault_run)
    record_counts(fault_run, outcome, kills, recovery_runs, time.monotonic() - started)

    assert {kind for kind, _ in kills} >= {"inbound", "callback"}, kills
    if fault_run.tropo_posts()["results posted"]:
        assert "result" in {kind for kind, _ in kills}, kills
    assert not outcome.inbound_lost, f"{len(outcome.inbound_lost)} lost: {outcome.inbound_lost}"
    assert not outcome.outbound_lost, f"{len(outcome.outbound_lost)} lost: {outcome.outbound_lost}"
    assert not outcome.unsettled, dict(outcome.unsettled)
    assert not outcome.unexpected, outcome.unexpected
    assert fault_run.cron_status == 0, fault_run.cron.log()


def observe(run: FaultRun) -> Outcome:
    return Outcome(
        texted=run.texted,
        recorded=run.inbound_recorded(),
        received=run.received.texts(),
        sent=run.sender.expected() if run.sender is not None else [],
        rows=run.database.rows(),
        delivered=run.delivered(),
    )


def record_counts(run: FaultRun, outcome: Outcome, kills, recovery_runs, elapsed) -> None:
    """Put the run's counts in the terminal summary."""
    by_kind = {kind: sum(1 for k, _ in kills if k == kind) for kind in ("inbound", "callback")}
    by_kind["result"] = sum(1 for k, _ in kills if k == "result")
    record(
        "kills",
        total=len(kills),
        **by_kind,
        at_answer=sum(1 for _, point in kills if point.startswith("answer")),
        server_starts=run.server.starts,
    )
    record(
        "inbound",
        texted=len(outcome.texted),
        answered_200=sum(1 for t in outcome.texted if t.status == 200),
        recorded=len(outcome.recorded),
        accepted=len(outcome.accepted),
        never_recorded=len(outcome.texted) - len(outcome.accepted),  # Tropo got no 200
        reached_apps=sum(1 for text in outcome.accepted if outcome.received[text]),
        lost=len(outcome.inbound_lost),
        repeats=outcome.inbound_repeats,
    )
    record(
        "outbound",
        expected=len(outcome.expected),
        rows=len(outcome.rows),
        **{f"rows_{status}": n for status, n in sorted(outcome.statuses.items())},
        **run.unconfirmed(),
        delivered=sum(outcome.delivered.values()),
        lost=len(outcome.outbound_lost),
        duplicates=outcome.outbound_duplicates,
        unexpected=len(outcome.unexpected),
    )
    record("tropo posts", **run.tropo_posts())
    record("cron", exit_status=run.cron_status, error=repr(run.cron_error()))
    record("recovery", runs=recovery_runs, seconds=f"{elapsed:.1f}")
    for (kind, point), count in sorted(collections.Counter(kills).items()):
        LINES.append(f"  killed {count}x: {kind}, {point}")
