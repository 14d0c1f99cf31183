"""The example project's processes on loopback: their environment, commands and server.

Shared by the end-to-end and soak tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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
