"""The processes of one fault run: the emulator, the killable app server and its
supervisor, the cron stand-in, a sender, and the phones."""

from __future__ import annotations

import collections
import json
import time
from pathlib import Path

from rtropo.emulator import Emulator
from tests.soak.harness import AppDatabase, Cron, Sender
from tests.support.project import NUMBER, SECRET, TOKEN, AppServer, free_port, project_env, run

from .phones import Texted, text_in_parallel
from .recorder.store import ReceivedStore
from .supervisor import Supervisor

STARTUP_SECONDS = 60.0
_HAS_UNCONFIRMED_COUNT = (
    "SELECT COUNT(*) FROM pragma_table_info('rtropo_outboundmessage') "
    "WHERE name = 'unconfirmed_count'"
)
_HAS_UNCONFIRMED_COUNT_PG = (
    "SELECT COUNT(*) FROM information_schema.columns "
    "WHERE table_name = 'rtropo_outboundmessage' AND column_name = 'unconfirmed_count'"
)


class FaultRun:
    """Everything one run starts, and what it observes; ``stop()`` ends whatever still runs."""

    def __init__(self, workdir: Path, settings_env: dict, database: AppDatabase, plan: dict):
        self.workdir, self.database, self.plan = workdir, database, plan
        self.kill_log = workdir / "kills.log"
        self.spool_dir = workdir / "spool"
        self.received = ReceivedStore(workdir / "received.sqlite3")
        self.port = free_port()
        self.emulator = Emulator(
            f"http://127.0.0.1:{self.port}/tropo/?secret={SECRET}", TOKEN, number=NUMBER
        )
        self.settings_env = settings_env
        self.base_env: dict = {}
        self.server = self.supervisor = self.cron = self.sender = None
        self.cron_starts = 0
        self.texted: list[Texted] = []
        self.cron_status: int | None = None

    # -- starting and stopping ----------------------------------------------------------

    def start(self) -> FaultRun:
        """Migrate, then start the emulator, the armed app server, the cron and the sender."""
        self.received.create()
        self.emulator.start()
        emulator_port = int(self.emulator.url.rsplit(":", 1)[1])
        sqlite_path = self.database.sqlite_path or self.workdir / "unused.sqlite3"
        self.base_env = {
            **project_env(sqlite_path, emulator_port, self.plan["backend"]),
            **self.settings_env,
            "DJANGO_SETTINGS_MODULE": "tests.faults.app_settings",
            "DEMO_LOG_LEVEL": "INFO",
            "FAULT_RECEIVED_DB": str(self.received.path),
            "FAULT_KILL_LOG": str(self.kill_log),
            "FAULT_SPOOL_DIR": str(self.spool_dir),
        }
        run(["migrate", "--noinput"], self.base_env)
        self.server = AppServer(self.base_env, self.port, self.workdir / "server.log")
        self.supervisor = Supervisor(
            self.server, self._server_env, self.kill_count, self.plan["max_kills"]
        ).start()
        self.resume_cron()
        if self.plan.get("send"):
            text, numbers, count, rate = self.plan["send"]
            self.sender = Sender(
                self.base_env, text, numbers, count, rate, self.workdir / "send.log"
            )
        return self

    def pause_cron(self) -> int:
        """Stop the cron stand-in after its run in progress; returns its exit status."""
        return self.cron.stop()

    def resume_cron(self) -> None:
        """Start the cron stand-in (again): ``tropo_send_queued`` every second."""
        self.cron = Cron(self.base_env, 1.0, self.workdir / f"cron-{self.cron_starts}.log")
        self.cron_starts += 1

    def stop(self) -> None:
        for process in (self.sender, self.cron):
            if process is not None and process.process.poll() is None:
                process.process.kill()
                process.process.wait()
        if self.supervisor is not None:
            self.supervisor.stop()
        if self.server is not None:
            self.server.stop()
        self.emulator.stop()

    def _server_env(self, start: int, armed: bool) -> dict:
        rates = json.dumps(self.plan["kill_rates"] if armed else {})
        seed = f"{self.plan['seed']}/{start}"
        return {**self.base_env, "FAULT_KILL_RATES": rates, "FAULT_KILL_SEED": seed}

    # -- the run ------------------------------------------------------------------------

    def text_through_kills(self) -> None:
        """The phones text the app while it is killed; then the sender must be done."""
        self.texted = text_in_parallel(
            self.emulator,
            self.plan["phones"],
            self.plan["inbound"],
            lambda after_start: self.supervisor.wait_until_up(STARTUP_SECONDS, after_start),
        )
        if self.sender is not None:
            assert self.sender.wait(timeout=STARTUP_SECONDS) == 0, self.sender.log_path.read_text()

    def recover(self, settled, seconds: float) -> int:
        """No more kills: ``tropo_send_queued --now`` until ``settled()``; returns the runs."""
        self.supervisor.disarm()
        assert self.supervisor.error is None, self.supervisor.error
        self.cron_status = self.cron.stop()
        deadline = time.monotonic() + seconds
        runs = 0
        while time.monotonic() < deadline:
            runs += 1
            # Exit 2 names a critical status, such as the results the kills lost.
            recovery = run(["tropo_send_queued", "--now"], self.base_env, check=False)
            assert recovery.returncode in (0, 2), recovery.stdout + recovery.stderr
            if settled():
                return runs
            time.sleep(0.5)
        return runs

    # -- what it observed ---------------------------------------------------------------

    def cron_error(self) -> str:
        """The last line of the cron stand-in's log when it exited with an error."""
        lines = self.cron.log().strip().splitlines()
        return lines[-1] if self.cron_status and lines else ""

    def kill_count(self) -> int:
        return len(self.kills())

    def kills(self) -> list[tuple[str, str]]:
        """(kind of request, point) of every kill point that fired, in order."""
        if not self.kill_log.exists():
            return []
        lines = self.kill_log.read_text(encoding="utf-8").splitlines()
        return [tuple(line.split("\t", 1)) for line in lines]

    def inbound_recorded(self) -> list[str]:
        """The text of every inbound session the backend recorded."""
        return [text for (text,) in self.database.query("SELECT text FROM rtropo_inboundsession")]

    def delivered(self) -> collections.Counter:
        return collections.Counter((d.to, d.text) for d in self.emulator.deliveries)

    def tropo_posts(self) -> collections.Counter:
        """What the emulator POSTed to the app and what it got back, over all sessions."""
        session_ids = {t.session_id for t in self.texted if t.session_id}
        session_ids.update(launch.session_id for launch in self.emulator.launches)
        counts = collections.Counter()
        for session_id in filter(None, session_ids):
            for line in self.emulator.debugger_log(session_id):
                counts["sessions posted"] += "Sending TropoML Payload" in line
                counts["results posted"] += "Sending result" in line
                counts["answered"] += "Received new TropoML document" in line
        counts["unanswered"] = (
            counts["sessions posted"] + counts["results posted"] - counts["answered"]
        )
        return counts

    def unconfirmed(self) -> dict:
        """How many rows went unconfirmed at least once, and how often in all; empty
        where the queue keeps no ``unconfirmed_count`` (no delivery confirmation)."""
        [(has_count,)] = self.database.query(
            _HAS_UNCONFIRMED_COUNT_PG if self.database.postgres_url else _HAS_UNCONFIRMED_COUNT
        )
        if not has_count:
            return {}
        [(rows, times)] = self.database.query(
            "SELECT COUNT(*), COALESCE(SUM(unconfirmed_count), 0) FROM rtropo_outboundmessage "
            "WHERE unconfirmed_count > 0"
        )
        return {"rows_unconfirmed": rows, "unconfirmed_in_all": times}
