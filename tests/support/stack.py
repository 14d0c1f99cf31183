"""A stack: the example project and the emulator wired to each other, driven and read."""

from __future__ import annotations

import collections
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from rtropo.emulator import Emulator
from tests.support.project import (
    EXAMPLE,
    FAULT_SECONDS,
    NUMBER,
    SECRET,
    SETTLE_TIMEOUT,
    TOKEN,
    AppServer,
    assert_no_failures,
    free_port,
    project_env,
    run,
)


class Stack:
    """The example project and the emulator, wired to each other."""

    def __init__(self, workdir: Path, template_db: Path, options: dict):
        workdir.mkdir(parents=True)
        self.database = workdir / "db.sqlite3"
        shutil.copyfile(template_db, self.database)
        self.log_path = workdir / "server.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.emulator = Emulator(f"{self.url}/tropo/?secret={SECRET}", TOKEN, number=NUMBER)
        self.emulator.faults.timeout_seconds = FAULT_SECONDS
        self.emulator.faults.slow_callback_seconds = 0.5
        self.options = options
        self.env = None
        self.server: AppServer | None = None

    def start(self) -> Stack:
        self.emulator.start()
        emulator_port = int(self.emulator.url.rsplit(":", 1)[1])
        self.env = project_env(self.database, emulator_port, self.options)
        self.server = AppServer(self.env, self.port, self.log_path).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
        self.emulator.stop()

    def server_log(self) -> str:
        return self.server.log()

    # -- driving it ---------------------------------------------------------------

    def text(self, number, text):
        """A phone texts the app; returns the emulator's InboundResult."""
        return self.emulator.send_sms(number, text)

    def send(self, text, *numbers, repeat=0) -> subprocess.CompletedProcess:
        """The app sends ``text`` to ``numbers`` through ``rapidsms.router.send``."""
        args = ["demo_send", text, *numbers]
        return run([*args, "--repeat", str(repeat)] if repeat else args, self.env)

    def popen(self, *args) -> subprocess.Popen:
        """Start a command of the project without waiting for it (output piped)."""
        return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, str(EXAMPLE / "manage.py"), *args],
            env=self.env,
            cwd=EXAMPLE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def send_queued(self, *args, check=True) -> subprocess.CompletedProcess:
        """Run ``manage.py tropo_send_queued``."""
        return run(["tropo_send_queued", *args], self.env, check=check)

    def settle(self, timeout=SETTLE_TIMEOUT):
        """Wait until every session at the emulator has ended (callbacks answered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sessions = self.emulator.engine.state(limit=100_000)["sessions"]
            if all(session["ended"] for session in sessions):
                return
            time.sleep(0.05)
        raise AssertionError(f"sessions still running after {timeout}s")

    # -- looking at it ------------------------------------------------------------

    def delivered(self) -> collections.Counter:
        """How often each (number, text) reached a phone."""
        return collections.Counter((d.to, d.text) for d in self.emulator.deliveries)

    def query(self, sql, *params) -> list[tuple]:
        """Rows from the project's database (read-only)."""
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def statuses(self) -> collections.Counter:
        """How many outbound rows are in each status."""
        rows = self.query("SELECT status, COUNT(*) FROM rtropo_outboundmessage GROUP BY status")
        return collections.Counter(dict(rows))

    @property
    def final_status(self) -> str:
        """The status of a delivered row: ``confirmed``, or ``sent`` without confirmation."""
        return "sent" if self.options.get("confirm_delivery") is False else "confirmed"

    def assert_no_failed_requests(self):
        assert_no_failures(self.server_log(), "the project's server")


def expect_once(stack: Stack, messages) -> None:
    """Every (number, text) in ``messages`` was delivered exactly once, and nothing else;
    each has exactly one outbound row, and it is delivered (:attr:`Stack.final_status`)."""
    expected = collections.Counter(messages)
    assert max(expected.values()) == 1, "expectations must be distinct"
    stack.emulator.wait_for_deliveries(len(expected), timeout=SETTLE_TIMEOUT)
    stack.settle()
    assert stack.delivered() == expected
    rows = stack.query("SELECT to_number, text, status FROM rtropo_outboundmessage")
    assert sorted(rows) == sorted((to, text, stack.final_status) for to, text in expected)
