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
import dataclasses
import logging
import time

import pytest

from rtropo.emulator import Emulator
from tests.support.project import (
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


class SoakRun:
    """The emulator, the app server, the cron stand-in and the senders of one run."""

    def __init__(self, workdir, env_for, database):
        self.workdir = workdir
        self.env_for = env_for
        self.database = database
        self.port = free_port()
        self.emulator = Emulator(
            f"http://127.0.0.1:{self.port}/tropo/?secret={SECRET}",
            TOKEN,
            number=NUMBER,
            history=100_000,
        )
        self.emulator.faults.timeout_seconds = LAUNCH_TIMEOUT_SECONDS
        self.emulator.faults.slow_callback_seconds = SLOW_CALLBACK_SECONDS
        self.sessions = Sessions(self.emulator)
        self.env = self.server = self.cron = None
        self.senders = []

    def start(self) -> SoakRun:
        """Start the emulator and the app, then the faults, the cron and the senders."""
        self.emulator.start()
        self.env = self.env_for(int(self.emulator.url.rsplit(":", 1)[1]), BACKEND_OPTIONS)
        self.server = AppServer(self.env, self.port, self.workdir / "server.log")
        self.server.start()
        self.emulator.faults.set_rates(FAULT_RATES, seed=SEED)
        self.cron = Cron(self.env, 1.0, self.workdir / "cron.log")
        self.senders = [
            Sender(self.env, text, numbers, count, rate, self.workdir / f"sender{index}.log")
            for index, (text, numbers, count, rate) in enumerate(SENDS)
        ]
        return self

    def expected(self) -> collections.Counter:
        """Every (number, text) the senders send; each is unique."""
        expected = collections.Counter(key for s in self.senders for key in s.expected())
        assert max(expected.values()) == 1, "every (number, text) must be unique"
        return expected

    def send_through_kills(self, total: int) -> list[dict]:
        """Kill and restart the app at each share of :data:`KILLS` while the senders run."""
        kills = []
        for kill in KILLS:
            _wait_for_rows(self.database, self.senders, kill["at"] * total)
            kills.append(_kill_and_restart(self.server, self.emulator, self.sessions, **kill))
        for sender in self.senders:
            assert sender.wait(timeout=SOAK_TIMEOUT) == 0, sender.log_path.read_text()
        return kills

    def stop_cron(self) -> None:
        assert self.cron.stop() == 0, self.cron.log()

    def stop(self) -> None:
        """Kill whatever still runs; stop the app and the emulator."""
        for sender in self.senders:
            if sender.running():
                sender.process.kill()
                sender.process.wait()
        if self.cron is not None and self.cron.process.poll() is None:
            self.cron.process.kill()
            self.cron.process.wait()
        if self.server is not None:
            self.server.stop()
        self.emulator.stop()


@dataclasses.dataclass
class Outcome:
    """What reached the phones and the database, against what was sent."""

    expected: collections.Counter
    delivered: collections.Counter
    rows: list[tuple]
    launches: list
    tally: collections.Counter

    @classmethod
    def of(cls, soak: SoakRun, expected: collections.Counter) -> Outcome:
        return cls(
            expected=expected,
            delivered=collections.Counter((d.to, d.text) for d in soak.emulator.deliveries),
            rows=soak.database.rows(),
            launches=soak.emulator.launches,
            tally=soak.sessions.tally(),
        )

    @property
    def statuses(self) -> collections.Counter:
        return collections.Counter(status for _, _, status, _ in self.rows)

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self.delivered.values() if count > 1)

    @property
    def lost(self) -> list:
        return [key for key in self.expected if key not in self.delivered]

    @property
    def unexpected(self) -> list:
        return [key for key in self.delivered if key not in self.expected]

    @property
    def launch_outcomes(self) -> collections.Counter:
        return collections.Counter(launch.outcome for launch in self.launches)


def test_every_message_delivered_once_through_faults_and_kills(soak):
    started = time.monotonic()
    expected = soak.expected()
    kills = soak.send_through_kills(len(expected))
    sent_during_soak = soak.database.statuses()["sent"]
    soak.stop_cron()

    soak.emulator.faults.clear()
    recovery_runs = _recover(soak.env, soak.database, len(expected))
    _settle(soak.emulator, soak.sessions, expected)
    outcome = Outcome.of(soak, expected)
    _record_counts(outcome, sent_during_soak, recovery_runs, kills)
    record("elapsed", seconds=f"{time.monotonic() - started:.1f}")

    assert not outcome.lost, _explain_lost(soak.database, soak.emulator, outcome.lost)
    assert outcome.duplicates == 0, [k for k, n in outcome.delivered.items() if n > 1][:10]
    assert not outcome.unexpected, outcome.unexpected[:5]
    assert len(outcome.rows) == len(expected)
    assert outcome.statuses == {"sent": len(expected)}
    assert outcome.tally["app 5xx answers"] == 0, "the app answered a callback with a 5xx"
    assert any(kill["awaiting_callback"] for kill in kills), kills
    log = soak.server.log()
    assert not [marker for marker in FAILURE_MARKERS if marker in log]


@pytest.fixture
def soak(workdir, app_database, caplog):
    """A running :class:`SoakRun`; whatever still runs is stopped at teardown."""
    caplog.set_level(logging.WARNING, logger="rtropo.emulator")
    env_for, database = app_database
    soak_run = SoakRun(workdir, env_for, database)
    try:
        yield soak_run.start()
    finally:
        soak_run.stop()


def _record_counts(outcome: Outcome, sent_during_soak, recovery_runs, kills) -> None:
    """Put the run's counts in the terminal summary, pass or fail."""
    rows, outcomes, tally = outcome.rows, outcome.launch_outcomes, outcome.tally
    failed_launches = sum(
        outcomes[kind] for kind in ("http_500", "success_false", "timeout", "timeout_then_callback")
    )
    record(
        "messages",
        expected=len(outcome.expected),
        rows=len(rows),
        sent=outcome.statuses["sent"],
        sent_before_recovery=sent_during_soak,
        not_sent=len(rows) - outcome.statuses["sent"],
        delivered=len(outcome.delivered),
        duplicates=outcome.duplicates,
        lost=len(outcome.lost),
        unexpected=len(outcome.unexpected),
    )
    record(
        "launches",
        total=len(outcome.launches),
        **{kind: count for kind, count in sorted(outcomes.items())},
        failed_at_launch=failed_launches,
        no_callback=tally["no_callback"],
        failing_share=f"{(failed_launches + tally['no_callback']) / len(outcome.launches):.0%}",
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
