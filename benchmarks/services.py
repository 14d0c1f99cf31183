"""The processes of one benchmark run: databases, the emulator host, gunicorn, workers."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
#: The server's maintenance database, which scratch databases are created from.
POSTGRES_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
#: The scratch PostgreSQL database of a run; ``BENCH_POSTGRES_URL`` names another one.
POSTGRES_BENCH = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/rtropo_bench"
)


def log(text: str) -> None:
    """Progress on stderr, so that stdout is the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(database: str, api_url: str = "") -> dict:
    """The environment every Django process of a run shares."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="benchmarks.settings",
        BENCH_DATABASE=database,
        BENCH_API_URL=api_url,
        BENCH_CACHE=str(CACHE),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def postgres_available() -> bool:
    """Whether PostgreSQL answers on 127.0.0.1:5432."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_ADMIN, connect_timeout=3).close()
    except Exception:
        return False
    return True


def sqlite_path(database: str) -> Path | None:
    """The file of a ``sqlite:`` or ``sqlite-rollback:`` URL; None for PostgreSQL."""
    scheme, _, path = database.partition(":")
    return Path(path) if scheme.startswith("sqlite") else None


def recreate_database(database: str) -> None:
    """Start from an empty scratch database (SQLite file or PostgreSQL rtropo_bench)."""
    path = sqlite_path(database)
    if path:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(path) + suffix).unlink()
        return
    import psycopg

    name = urlparse(database).path.lstrip("/")
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database: str) -> None:
    """Remove the scratch PostgreSQL database (SQLite files stay in the cache)."""
    if sqlite_path(database):
        return
    import psycopg

    name = urlparse(database).path.lstrip("/")
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_module(module: str, env: dict, *args: str, timeout: float = 900) -> dict:
    """Run ``python -m benchmarks.MODULE ARGS``; return the JSON of its last stdout line."""
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {args} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_worker(env: dict, *args: str, timeout: float = 900) -> dict:
    """Run one case of ``benchmarks.worker`` in a fresh process."""
    return run_module("worker", env, *args, timeout=timeout)


class EmulatorHost:
    """The emulator in its own process, driven through its control API."""

    def __init__(
        self,
        token: str,
        delay_ms: float,
        history: int = 2000,
        rate_interval: float | None = None,
        numbers: list[str] | None = None,
    ):
        """``history``: records kept; ``rate_interval``: enforce one SMS per that many
        seconds per number; ``numbers``: the application's numbers (default the emulator
        host's one number)."""
        rate = ["--enforce-rate", "--rate-interval", str(rate_interval)] if rate_interval else []
        rate += [arg for number in numbers or [] for arg in ("--number", number)]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.emulator_host",
                *("--token", token, "--delay-ms", str(delay_ms)),
                *("--history", str(history), *rate),
            ],
            cwd=ROOT,
            env=base_env(""),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        info = json.loads(self.process.stdout.readline())
        self.url = info["url"]
        self.session_api_url = info["session_api_url"]
        self.delayed_session_api_url = info["delayed_session_api_url"]
        self.control_port = info["control_port"]

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 900):
        """One request to the control API; returns its JSON."""
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def reset(self, app_url: str, delayed: bool = False) -> None:
        """Forget all records and call back ``app_url`` (``delayed``: via the proxy)."""
        self.call("POST", "/reset", {"app_url": app_url, "delayed": delayed})

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


class AppServer:
    """The benchmark project under gunicorn, by default one worker with four threads."""

    def __init__(self, env: dict, log_path: Path, threads: int = 4, workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-tmp-dir",
                "/dev/shm",
                "--graceful-timeout",
                "3",
                "benchmarks.wsgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
        )
        try:
            self._wait_ready()
        except RuntimeError:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log.name}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/empty/")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not start")

    def worker_pid(self) -> int | None:
        """The pid of gunicorn's (first) worker process."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = children.read_text().split() if children.exists() else []
        return int(pids[0]) if pids else None

    def worker_peak_kib(self) -> int | None:
        """Peak resident memory (VmHWM) of the worker so far, in KiB."""
        pid = self.worker_pid()
        if pid is None:
            return None
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
