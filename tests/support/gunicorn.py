"""gunicorn serving a project on a loopback port, in a subprocess, with its logs in files."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
from pathlib import Path

from tests.support import processes
from tests.support.project import DIRECT, REPO, STARTUP_TIMEOUT, free_port

STOP_TIMEOUT = 30.0


class Gunicorn:
    """gunicorn with the config file ``config`` serving ``app`` (``module:callable``).

    The command line adds only the loopback port and the two log files, so
    every other option is the config file's. ``error_log`` and ``access_log``
    hold what it wrote; read them after :meth:`stop` for every line. It is
    up once ``probe`` (a path) gets an HTTP answer.
    """

    def __init__(self, config: Path, app: str, env: dict, logs: Path, probe: str = "/"):
        self.config = config
        self.probe = probe
        self.app = app
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.error_log = logs / "gunicorn-error.log"
        self.access_log = logs / "gunicorn-access.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        """Start serving; return once it answers HTTP."""
        command = [sys.executable, "-m", "gunicorn", "--config", str(self.config)]
        command += ["--bind", f"127.0.0.1:{self.port}", "--error-logfile", str(self.error_log)]
        command += ["--access-logfile", str(self.access_log), self.app]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and gunicorn
            command, cwd=REPO, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.logs()}")
            try:
                DIRECT.open(f"{self.url}{self.probe}", timeout=2).close()
                return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"gunicorn did not start:\n{self.logs()}")

    def stop(self) -> None:
        """Stop gracefully, so that its logs are complete; failing to stop fails the test."""
        if self.process is not None:
            processes.stop(self.process, timeout=STOP_TIMEOUT)

    def logs(self) -> str:
        """The error log, then the access log (empty where gunicorn wrote none)."""
        return "".join(
            path.read_text(encoding="utf-8", errors="replace")
            for path in (self.error_log, self.access_log)
            if path.exists()
        )
