"""Launch sessions off the sender's thread, a batch at a time.

``send()`` only writes rows; :func:`schedule` (called once they are committed)
wakes a per-process thread that waits ``launch_delay`` seconds, so that rows
sent meanwhile share one launch, then runs :func:`rtropo.dispatch.request_launch`.
With ``launch_delay = 0`` the launch runs at once in the caller's thread.

Nothing is lost if the process dies first: the rows are committed and
``tropo_send_queued`` launches them. Launches still scheduled when the
interpreter exits run in the exiting thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.db import close_old_connections, connection

from rtropo import dispatch
from rtropo.conf import BackendConfig

logger = logging.getLogger(__name__)


class Launcher:
    """One background thread per process that launches for scheduled backends."""

    def __init__(self):
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._due: dict[str, BackendConfig] = {}
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def schedule(self, config: BackendConfig) -> None:
        """Have a session launched for the due rows of ``config``'s backend."""
        if config.launch_delay == 0:
            dispatch.request_launch(config)
            return
        with self._lock:
            self._due[config.name] = config
            if self._thread is None or self._pid != os.getpid():
                self._start()
        self._wake.set()

    def flush(self) -> None:
        """Launch now, in this thread, for every backend still scheduled."""
        for config in self._take():
            _launch(config)

    def _start(self):
        if self._pid is None:
            atexit.register(self.flush)
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="rtropo-launcher", daemon=True)
        self._thread.start()

    def _take(self) -> list[BackendConfig]:
        with self._lock:
            self._wake.clear()
            configs, self._due = list(self._due.values()), {}
        return configs

    def _run(self):
        while True:
            self._wake.wait()
            with self._lock:
                delay = min((c.launch_delay for c in self._due.values()), default=0)
            time.sleep(delay)
            close_old_connections()
            self.flush()
            if not self._wake.is_set():
                connection.close()


def _launch(config: BackendConfig) -> None:
    try:
        dispatch.request_launch(config)
    except Exception:
        logger.exception(
            "Launching for %s failed; tropo_send_queued will retry the rows", config.name
        )


launcher = Launcher()
schedule = launcher.schedule
