"""Soak: thousands of messages through a faulty Tropo and a killed app, then recovery.

The example project runs on Django's threaded server in a subprocess; senders
(``manage.py demo_send``) and a cron stand-in (``tropo_send_queued`` every
second) run beside it on the same database; the emulator fails about a third of
the launches in every way it knows. The app server is SIGKILLed twice while
launched sessions wait for their callback and started again on the same port
and database. Then the faults stop and ``tropo_send_queued --now`` runs until
every row is sent. Every message must reach its phone exactly once.
"""

from __future__ import annotations

import collections
import logging
import time

import pytest

from rtropo.emulator import Emulator
from tests.end_to_end.conftest import (
    FAILURE_MARKERS,
    NUMBER,
    SECRET,
    TOKEN,
    AppServer,
    free_port,
    run,
)

from .harness import Cron, Sender, Sessions
from .report import record

pytestmark = pytest.mark.soak

BACKEND_OPTIONS = {
    "timeout": 0.5,  # Session API timeout
    "lease": 4,  # a launch whose callback never came is requeued after this
    "retry_base": 0.2,
    "retry_cap": 2,
    "max_attempts": 10_000,  # nothing fails terminally
    "batch_size": 10,  # many launches: one per ten rows at most
}
LAUNCH_TIMEOUT_SECONDS = 0.8  # the emulator's timeout faults outlast the backend's timeout
SLOW_CALLBACK_SECONDS = 1.0
FAULT_RATES = {
    "http_500": 0.13,
    "success_false": 0.1,
    "timeout": 0.07,
    "timeout_then_callback": 0.08,
    "no_callback": 0.12,
    "duplicate_callback": 0.08,
    "slow_callback": 0.08,
}
SEED = 20240601
# (text, numbers, count, messages a second): single- and multi-recipient sends at a
# steady pace for about 110 s, 2,598 rows in all.
SENDS = [
    ("soak single a", ["+15550100001"], 700, 6.4),
    ("soak multi b", [f"+1555020000{n}" for n in range(1, 5)], 200, 1.8),
    ("soak single c", ["+15550300001"], 600, 5.5),
    ("soak multi d", [f"+1555040000{n}" for n in range(1, 4)], 166, 1.5),
]
# Kill the app server once this share of the rows is queued; each kill makes some
# callbacks slow first so that launched sessions wait for their callback. The first
# kill keeps the app down until those callbacks failed; after the second the app is
# started at once, so they reach the new worker.
KILLS = [
    {"at": 0.3, "slow": 1.5, "down": 2.5},
    {"at": 0.5, "slow": 3.0, "down": 0.0},
    {"at": 0.75, "slow": 1.5, "down": 1.0},
]
SOAK_TIMEOUT = 300.0
RECOVERY_RUNS = 40


def test_every_message_delivered_once_through_faults_and_kills(workdir, app_database, caplog):
    caplog.set_level(logging.WARNING, logger="rtropo.emulator")
    started = time.monotonic()
    env_for, database = app_database
    app_port = free_port()
    emulator = Emulator(
        f"http://127.0.0.1:{app_port}/tropo/?secret={SECRET}", TOKEN, number=NUMBER, history=100_000
    )
    emulator.faults.timeout_seconds = LAUNCH_TIMEOUT_SECONDS
    emulator.faults.slow_callback_seconds = SLOW_CALLBACK_SECONDS
    emulator.start()
    env = env_for(int(emulator.url.rsplit(":", 1)[1]), BACKEND_OPTIONS)
    server = AppServer(env, app_port, workdir / "server.log")
    sessions = Sessions(emulator)
    cron = senders = None
    kills = []
    try:
        server.start()
        emulator.faults.set_rates(FAULT_RATES, seed=SEED)
        cron = Cron(env, 1.0, workdir / "cron.log")
        senders = [
            Sender(env, text, numbers, count, rate, workdir / f"sender{index}.log")
            for index, (text, numbers, count, rate) in enumerate(SENDS)
        ]
        expected = collections.Counter(key for sender in senders for key in sender.expected())
        assert max(expected.values()) == 1, "every (number, text) must be unique"
        total = len(expected)

        for kill in KILLS:
            _wait_for_rows(database, senders, kill["at"] * total)
            kills.append(_kill_and_restart(server, emulator, sessions, **kill))
        for sender in senders:
            assert sender.wait(timeout=SOAK_TIMEOUT) == 0, sender.log_path.read_text()
        sent_during_soak = database.statuses()["sent"]
        assert cron.stop() == 0, cron.log()

        emulator.faults.clear()
        recovery_runs = _recover(env, database, total)
        _settle(emulator, sessions, expected)

        delivered = collections.Counter((d.to, d.text) for d in emulator.deliveries)
        rows = database.rows()
        statuses = collections.Counter(status for _, _, status, _ in rows)
        duplicates = sum(count - 1 for count in delivered.values() if count > 1)
        lost = [key for key in expected if key not in delivered]
        unexpected = [key for key in delivered if key not in expected]
        launches = emulator.launches
        outcomes = collections.Counter(launch.outcome for launch in launches)
        tally = sessions.tally()
        failed_launches = sum(
            outcomes[kind]
            for kind in ("http_500", "success_false", "timeout", "timeout_then_callback")
        )
        record(
            "messages",
            expected=total,
            rows=len(rows),
            sent=statuses["sent"],
            sent_before_recovery=sent_during_soak,
            not_sent=len(rows) - statuses["sent"],
            delivered=len(delivered),
            duplicates=duplicates,
            lost=len(lost),
            unexpected=len(unexpected),
        )
        record(
            "launches",
            total=len(launches),
            **{kind: count for kind, count in sorted(outcomes.items())},
            failed_at_launch=failed_launches,
            no_callback=tally["no_callback"],
            failing_share=f"{(failed_launches + tally['no_callback']) / len(launches):.0%}",
        )
        record(
            "callbacks",
            posted=tally["callbacks posted"],
            duplicate_callback=tally["duplicate_callback"],
            slow_callback=tally["slow_callback"],
            to_a_dead_app=tally["callbacks to a dead app"],
            app_5xx=tally["app 5xx answers"],
        )
        record(
            "retries",
            retried_rows=sum(1 for *_, attempts in rows if attempts > 1),
            max_attempts=max(attempts for *_, attempts in rows),
            recovery_runs=recovery_runs,
        )
        for index, kill in enumerate(kills, 1):
            record(f"kill {index}", **kill)
        record("elapsed", seconds=f"{time.monotonic() - started:.1f}")

        assert not lost, _explain_lost(database, emulator, lost)
        assert duplicates == 0, [key for key, count in delivered.items() if count > 1][:10]
        assert not unexpected, unexpected[:5]
        assert len(rows) == total
        assert statuses == {"sent": total}
        assert tally["app 5xx answers"] == 0, "the app answered a callback with a 5xx"
        assert any(kill["awaiting_callback"] for kill in kills), kills
        log = server.log()
        assert not [marker for marker in FAILURE_MARKERS if marker in log]
    finally:
        for sender in senders or ():
            if sender.running():
                sender.process.kill()
                sender.process.wait()
        if cron is not None and cron.process.poll() is None:
            cron.process.kill()
            cron.process.wait()
        server.stop()
        emulator.stop()


def _wait_for_rows(database, senders, count):
    """Wait until the senders queued ``count`` rows (or all finished)."""
    deadline = time.monotonic() + SOAK_TIMEOUT
    while time.monotonic() < deadline:
        if sum(database.statuses().values()) >= count:
            return
        if not any(sender.running() for sender in senders):
            raise AssertionError("the senders finished before the app server was killed")
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} rows queued after {SOAK_TIMEOUT}s")


def _kill_and_restart(server, emulator, sessions, at, slow, down):
    """SIGKILL the app while launched sessions wait for their callback; start it again.

    Not while a callback is being answered: an answer cut off after its rows were
    marked sent is lost, as documented (Tropo confirms nothing).
    """
    emulator.faults.queue("slow_callback", 5, seconds=slow)
    deadline = time.monotonic() + 20
    while True:
        awaiting, in_flight = sessions.waiting()
        if (awaiting >= 2 and in_flight == 0) or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    server.kill()
    time.sleep(down)
    server.start()
    return {"at_share": at, "awaiting_callback": awaiting, "callbacks_in_flight": in_flight}


def _recover(env, database, total):
    """``tropo_send_queued --now`` until every row is sent; returns the number of runs."""
    for runs in range(1, RECOVERY_RUNS + 1):
        run(["tropo_send_queued", "--now"], env, check=False)
        statuses = database.statuses()
        if statuses["sent"] == total:
            return runs
        time.sleep(1.0)
    raise AssertionError(f"rows not sent after {RECOVERY_RUNS} recovery runs: {statuses}")


def _settle(emulator, sessions, expected, timeout=60.0):
    """Wait until every expected message was delivered and every session has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivered = {(d.to, d.text) for d in emulator.deliveries}
        if delivered >= set(expected) and sessions.all_ended():
            return
        time.sleep(0.2)


def _explain_lost(database, emulator, lost):
    """Which rows were lost, and what their sessions did, as an assertion message."""
    lines = [f"{len(lost)} message(s) never delivered:"]
    lost = set(lost)
    rows = [
        row
        for row in database.query(
            "SELECT to_number, text, status, attempts, session_id, launch_id, sent_at "
            "FROM rtropo_outboundmessage ORDER BY id"
        )
        if row[:2] in lost
    ]
    sessions = []
    for row in rows:
        lines.append(f"  row {row}")
        if row[4] not in sessions:
            sessions.append(row[4])
    for session_id in sessions:
        lines.append(f"  session {session_id}:")
        lines.extend(f"    {line[:200]}" for line in emulator.debugger_log(session_id))
    return "\n".join(lines)
