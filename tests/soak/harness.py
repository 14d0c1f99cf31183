"""The processes and observations of a soak run.

Builds on the end-to-end helpers (``tests.support.project``): the example
project's environment, ``manage.py`` runner and app server (which can be
SIGKILLed and started again on the same port and database). Adds senders
running beside it and a read-only view of the database on SQLite or PostgreSQL.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.project import EXAMPLE, REPO


def _with_example(env: dict) -> dict:
    """``env`` with the example project importable by ``python -m`` from the repository."""
    path = os.pathsep.join(filter(None, [str(EXAMPLE), env.get("PYTHONPATH")]))
    return {**env, "PYTHONPATH": path}


class Sender:
    """``python -m tests.soak.sender``: ``"TEXT #1"`` .. ``"TEXT #COUNT"`` to every number,
    ``rate`` messages a second, through ``rapidsms.router.send``."""

    def __init__(self, env, text, numbers, count, rate, log_path: Path):
        self.text, self.numbers, self.count = text, numbers, count
        self.log_path = log_path
        command = ["-m", "tests.soak.sender", text, *numbers, "--count", str(count)]
        with log_path.open("w", encoding="utf-8") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter
                [sys.executable, *command, "--rate", str(rate)],
                env=_with_example(env),
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def expected(self) -> list[tuple[str, str]]:
        """Every (number, text) this sender sends."""
        return [
            (number, f"{self.text} #{n}")
            for n in range(1, self.count + 1)
            for number in self.numbers
        ]

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)


class Cron:
    """``python -m tests.soak.cron``: ``tropo_send_queued`` every ``interval`` seconds."""

    def __init__(self, env: dict, interval: float, log_path: Path):
        self.log_path = log_path
        with log_path.open("w", encoding="utf-8") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter
                [sys.executable, "-m", "tests.soak.cron", "--interval", str(interval)],
                env=_with_example(env),
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM: finish the run in progress and exit; returns the exit status."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class AppDatabase:
    """Read-only queries on the app's database: a SQLite file or a PostgreSQL URL."""

    def __init__(self, sqlite_path: Path | None = None, postgres_url: str | None = None):
        self.sqlite_path, self.postgres_url = sqlite_path, postgres_url

    def query(self, sql: str) -> list[tuple]:
        if self.postgres_url:
            import psycopg

            with psycopg.connect(self.postgres_url) as db:
                return [tuple(row) for row in db.execute(sql).fetchall()]
        db = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
        with contextlib.closing(db):
            return db.execute(sql).fetchall()

    def statuses(self) -> collections.Counter:
        rows = self.query("SELECT status, COUNT(*) FROM rtropo_outboundmessage GROUP BY status")
        return collections.Counter(dict(rows))

    def rows(self) -> list[tuple[str, str, str, int]]:
        """(to_number, text, status, attempts) of every outbound row."""
        return self.query("SELECT to_number, text, status, attempts FROM rtropo_outboundmessage")


class Sessions:
    """What the emulator's launched sessions are doing, from their debugger logs."""

    def __init__(self, emulator):
        self.emulator = emulator

    def all(self) -> list[dict]:
        state = self.emulator.engine.state(limit=1_000_000)
        return [session for session in state["sessions"] if session["kind"] == "launch"]

    def waiting(self) -> tuple[int, int]:
        """Launched sessions whose callback is still to come (it will), and those
        whose callback was POSTed and is not answered yet."""
        awaiting = in_flight = 0
        for session in self.all():
            if session["ended"] or _has(session, "Fault no_callback"):
                continue
            if not _has(session, "Sending TropoML Payload"):
                awaiting += 1
            elif not _has(session, "Received new TropoML document"):
                in_flight += 1
        return awaiting, in_flight

    def all_ended(self) -> bool:
        return all(session["ended"] for session in self.all())

    def tally(self) -> collections.Counter:
        """Callback-stage faults and outcomes over all launched sessions."""
        counts = collections.Counter()
        for session in self.all():
            lines = session["log"]
            counts["sessions"] += 1
            counts["no_callback"] += _has(session, "Fault no_callback")
            counts["slow_callback"] += _has(session, "Fault slow_callback")
            posts = sum("Sending TropoML Payload" in line for line in lines)
            counts["duplicate_callback"] += posts > 1
            counts["callbacks posted"] += posts
            counts["callbacks to a dead app"] += sum(
                "Failed to reach application URL" in line for line in lines
            )
            counts["app 5xx answers"] += sum(
                "Received non-2XX status code" in line and "code=5" in line for line in lines
            )
        return counts


def _has(session: dict, text: str) -> bool:
    return any(text in line for line in session["log"])
