"""Start the app server again each time a kill point took it down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.support.project import AppServer


class Supervisor:
    """Watches the killable app server and starts it again after each SIGKILL.

    ``env_for(start, armed)`` is the environment of the ``start``-th server; the
    server is armed (kill points on) until ``max_kills`` kills happened.
    ``kills()`` counts the lines of the kill log: a server that died without
    one died of something else, and the supervisor stops with that error.
    """

    def __init__(
        self,
        server: AppServer,
        env_for: Callable[[int, bool], dict],
        kills: Callable[[], int],
        max_kills: int,
    ):
        self.server, self.env_for, self.kills, self.max_kills = server, env_for, kills, max_kills
        self._changed = threading.Condition()
        self._serving = 0  # the start number of the server that is up; 0 while none is
        self.error: str | None = None
        self.armed = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="fault-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._start_server()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; the server is left as it is."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def disarm(self) -> None:
        """Stop watching; leave a server without kill points running."""
        self.stop()
        if self.server.process.poll() is None and not self.armed:
            return
        if self.server.process.poll() is None:
            self.server.kill()
        self._start_server(armed=False)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            if self.server.process.poll() is None:
                time.sleep(0.02)
                continue
            self._set_serving(0)
            if self.kills() < self.server.starts:
                self.error = f"the app server died without a kill point:\n{self.server.log()}"
                self._stopping.set()
                return
            try:
                self._start_server()
            except AssertionError as exc:
                self.error = str(exc)
                self._stopping.set()

    def wait_until_up(self, timeout: float, after_start: int = 0) -> int:
        """Block until a server later than start number ``after_start`` is up; return its
        start number. Raise if none is within ``timeout``, or none can be."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._serving <= after_start:
                if self.error:
                    raise AssertionError(self.error)
                if time.monotonic() > deadline:
                    raise AssertionError(f"the app server was not up again within {timeout}s")
                self._changed.wait(0.1)
            return self._serving

    def _set_serving(self, start: int) -> None:
        with self._changed:
            self._serving = start
            self._changed.notify_all()

    def _start_server(self, armed: bool | None = None) -> None:
        self.armed = self.kills() < self.max_kills if armed is None else armed
        self.server.env = self.env_for(self.server.starts + 1, self.armed)
        try:
            self.server.start()
        except AssertionError:
            if self.server.process.poll() is None or self.kills() < self.server.starts:
                raise
            return  # killed at a kill point while starting: the watcher starts it again
        self._set_serving(self.server.starts)
