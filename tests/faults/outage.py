"""Database outages for the fault harness, without stopping the database server.

PostgreSQL: the app reaches the server through :class:`TcpCut`, a TCP forwarder
on loopback; cutting it closes every connection through it and refuses new
ones, as a server that went away does, while the harness (and other users of
the server) still reach it directly. SQLite: :class:`SqliteLock` holds the
file's exclusive lock, so that every statement of the app waits out its busy
time-out and fails with "database is locked".
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
from pathlib import Path


class TcpCut:
    """Forward 127.0.0.1:``port`` to ``target`` (host, port) until cut; restore at will."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._stopped = False

    def start(self) -> TcpCut:
        threading.Thread(target=self._accept, name="tcp-cut", daemon=True).start()
        return self

    def cut(self) -> None:
        """Close every connection through the forwarder; refuse new ones until restored."""
        with self._lock:
            self._cut = True
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            _close(sock)
            with self._lock:
                self._open.discard(sock)


class SqliteLock:
    """Hold the exclusive lock of a SQLite database while cut: no other connection can
    read or write it."""

    def __init__(self, path: Path):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def cut(self) -> None:
        self._db = sqlite3.connect(
            self.path, timeout=60, isolation_level=None, check_same_thread=False
        )
        self._db.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        if self._db is not None:
            self._db.execute("ROLLBACK")
            self._db.close()
            self._db = None

    def stop(self) -> None:
        self.restore()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
