"""Launch sessions off the sender's thread, after ``launch_delay`` so that rows sent
meanwhile share a launch; launches still scheduled at interpreter exit run then. If the
process dies first, ``tropo_send_queued`` launches the committed rows."""

from __future__ import annotations

import atexit
import logging
import os
import threading

from django.db import close_old_connections, connection

from rtropo.conf import BackendConfig
from rtropo.outbox import launching

logger = logging.getLogger(__name__)


class Scheduler:
    """One background thread per process that launches for scheduled backends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._due: dict[str, BackendConfig] = {}
        self._now: set[str] = set()
        self._hurry = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def schedule(self, config: BackendConfig, *, now: bool = False) -> None:
        """Have a session launched for the due rows of ``config``'s backend (``now``: a full
        batch is due, so launch without waiting ``launch_delay`` or joining)."""
        if config.launch_delay == 0:
            launching.request_launch(config, join=not now)
            return
        with self._lock:
            self._due[config.name] = config
            if now:
                self._now.add(config.name)
                self._hurry.set()
            if self._thread is None or self._pid != os.getpid():
                self._start()
        self._wake.set()

    def flush(self) -> None:
        """Launch now, in this thread, for every backend still scheduled, once a flush under
        way in another thread is done (the interpreter's exit must not cut it off)."""
        with self._flushing:
            for config, now in self._take():
                try:
                    launching.request_launch(config, join=not now)
                except Exception:
                    logger.exception(
                        "Launching for %s failed; tropo_send_queued will retry the rows",
                        config.name,
                    )

    def _start(self):
        if self._pid is None:
            atexit.register(self.flush)
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="rtropo-launcher", daemon=True)
        self._thread.start()

    def _take(self) -> list[tuple[BackendConfig, bool]]:
        with self._lock:
            self._wake.clear()
            self._hurry.clear()
            taken = [(config, name in self._now) for name, config in self._due.items()]
            self._due, self._now = {}, set()
        return taken

    def _run(self):
        while True:
            self._wake.wait()
            with self._lock:
                delays = [
                    0.0 if name in self._now else c.launch_delay for name, c in self._due.items()
                ]
            self._hurry.wait(min(delays, default=0))
            close_old_connections()
            self.flush()
            if not self._wake.is_set():
                connection.close()


scheduler = Scheduler()
schedule = scheduler.schedule
