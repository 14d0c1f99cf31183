"""nginx in a subprocess on loopback, serving a site's config inside a minimal main config."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.support import processes
from tests.support.project import STARTUP_TIMEOUT

STOP_TIMEOUT = 30.0
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str | None:
    """The nginx executable, or None when it is not installed."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


class Nginx:
    """nginx running ``site`` (the ``http`` context of a config) in the foreground.

    Its pid file, temporary files and error log (level ``error``, nginx's
    default) live in ``workdir``.
    """

    def __init__(self, site: str, workdir: Path):
        self.workdir = workdir
        self.error_log = workdir / "nginx-error.log"
        self.config = workdir / "nginx.conf"
        self.config.write_text(self._main(site), encoding="utf-8")
        self.process: subprocess.Popen | None = None

    def _main(self, site: str) -> str:
        temp = "\n".join(f"    {name}_temp_path {self.workdir / name};" for name in _TEMP_PATHS)
        # Workers run as root when the tests do: nobody could not enter the test's directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        return (
            f"{user}daemon off;\nworker_processes 1;\npid {self.workdir / 'nginx.pid'};\n"
            f"error_log {self.error_log} error;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp}\n{site}\n}}\n"
        )

    def start(self, port: int) -> Nginx:
        """Start nginx; return once it accepts connections on ``port``."""
        command = [nginx_binary(), "-p", str(self.workdir), "-e", str(self.error_log)]
        self.process = subprocess.Popen(  # noqa: S603 - the system's nginx
            [*command, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"nginx exited:\n{self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"nginx did not start:\n{self.errors()}")

    def stop(self) -> None:
        """Stop nginx (SIGTERM: a fast shutdown), failing the test if it does not stop."""
        if self.process is not None:
            processes.stop(self.process, timeout=STOP_TIMEOUT)

    def errors(self) -> str:
        if not self.error_log.exists():
            return ""
        return self.error_log.read_text(encoding="utf-8", errors="replace")
