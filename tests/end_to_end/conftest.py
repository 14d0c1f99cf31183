"""Real servers on loopback, nothing mocked between them.

Each test gets its own stack: the example project (``example/``) served by
Django's threaded development server in a subprocess, on its own copy of a
migrated SQLite file with the ``startproject`` DATABASES setting, and the Tropo
emulator as a real HTTP server in this process. The project's management
commands (``demo_send``, ``tropo_send_queued``) run as further subprocesses on
the same database, as cron or a shell would run them.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rtropo.emulator import Emulator

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "example"
TOKEN = "e2e-messaging-token-0123456789abcdef"
SECRET = "e2e-inbound-secret"
NUMBER = "+15555550000"
STARTUP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0
SETTLE_TIMEOUT = 30.0
# Launch faults wait a bit longer than the backend's Session API timeout.
BACKEND_TIMEOUT = 1.0
FAULT_SECONDS = 1.5
# Rows that do not fit back off for a while, so recovery needs ``--now``.
RETRY_BASE = 60.0
# What a process of the project prints when something failed.
FAILURE_MARKERS = ("Traceback", "database is locked", "Internal Server Error")
# Our own servers are reached directly, whatever proxy the environment names.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def project_env(database: Path, emulator_port: int, options: dict) -> dict:
    """The environment of every process of the example project in one stack."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        DJANGO_SETTINGS_MODULE="demo_project.settings",
        DEMO_DATABASE=str(database),
        DEMO_EMULATOR_HOST="127.0.0.1",
        DEMO_EMULATOR_PORT=str(emulator_port),
        DEMO_TROPO_TOKEN=TOKEN,
        DEMO_TROPO_SECRET=SECRET,
        DEMO_TROPO_NUMBER=NUMBER,
        DEMO_TROPO_OPTIONS=json.dumps(options),
        DEMO_LOG_LEVEL="WARNING",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def run(args, env, timeout=COMMAND_TIMEOUT, check=True) -> subprocess.CompletedProcess:
    """Run a command of the example project and return its result."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, str(EXAMPLE / "manage.py"), *args],
        env=env,
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode:
        raise AssertionError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    assert_no_failures(result.stderr, f"manage.py {' '.join(args)}")
    return result


def assert_no_failures(output: str, source: str) -> None:
    """Fail when a process logged a traceback, a locked database or a server error."""
    found = [marker for marker in FAILURE_MARKERS if marker in output]
    assert not found, f"{source} logged {found}:\n{output}"


class AppServer:
    """The example project on Django's threaded development server, in a subprocess.

    It can be stopped, or SIGKILLed, and started again on the same port and database.
    """

    def __init__(self, env: dict, port: int, log_path: Path):
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0

    def start(self) -> AppServer:
        """Start serving and wait until the server answers."""
        with self.log_path.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [
                    sys.executable,
                    str(EXAMPLE / "manage.py"),
                    "runserver",
                    "--noreload",
                    "--skip-checks",
                    f"127.0.0.1:{self.port}",
                ],
                env=self.env,
                cwd=EXAMPLE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the project's server exited:\n{self.log()}")
            try:
                with DIRECT.open(f"{self.url}/admin/login/", timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the project's server did not start:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the server: requests in flight die with it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


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

    def assert_no_failed_requests(self):
        assert_no_failures(self.server_log(), "the project's server")


def expect_once(stack: Stack, messages) -> None:
    """Every (number, text) in ``messages`` was delivered exactly once, and nothing else;
    each has exactly one outbound row, and it is ``sent``."""
    expected = collections.Counter(messages)
    assert max(expected.values()) == 1, "expectations must be distinct"
    stack.emulator.wait_for_deliveries(len(expected), timeout=SETTLE_TIMEOUT)
    stack.settle()
    assert stack.delivered() == expected
    rows = stack.query("SELECT to_number, text, status FROM rtropo_outboundmessage")
    assert sorted(rows) == sorted((to, text, "sent") for to, text in expected)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A migrated SQLite file of the example project, copied by every stack."""
    database = tmp_path_factory.mktemp("e2e-template") / "db.sqlite3"
    run(["migrate", "--noinput"], project_env(database, free_port(), {}))
    return database


@pytest.fixture
def start_stack(tmp_path, template_db):
    """Factory: ``start_stack(**backend_options)`` -> a running Stack; stopped at teardown.

    Backend options default to a 1 s Session API timeout and a long back-off;
    teardown fails the test if the server logged a failed request.
    """
    stacks = []

    def start(**options):
        config = {"timeout": BACKEND_TIMEOUT, "retry_base": RETRY_BASE, **options}
        stack = Stack(tmp_path / f"stack{len(stacks)}", template_db, config)
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.stop()
    for stack in stacks:
        stack.assert_no_failed_requests()


@pytest.fixture
def stack(start_stack):
    """A running stack with the default settings (inline replies on)."""
    return start_stack()
