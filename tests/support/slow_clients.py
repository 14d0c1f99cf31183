"""Clients that POST to a server as slowly as they like, and one that stalls: raw sockets."""

from __future__ import annotations

import contextlib
import socket
import threading

#: The pause between two bytes of a slow client's body.
BYTE_INTERVAL = 0.5


def request_head(path: str, length: int) -> bytes:
    """The head of a JSON POST to ``path`` announcing a body of ``length`` bytes."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode("ascii")


class SlowClients:
    """``count`` connections to ``port`` that each send a ``length``-byte body, one byte
    every :data:`BYTE_INTERVAL` seconds, until the body is sent or the block ends."""

    def __init__(self, port: int, path: str, count: int, length: int):
        self.port = port
        self.head = request_head(path, length)
        self.length = length
        self.stopping = threading.Event()
        self.connected = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self._trickle) for _ in range(count)]

    def __enter__(self) -> SlowClients:
        """Start the clients; return once each has sent its head (or failed to connect)."""
        for thread in self.threads:
            thread.start()
        for _ in self.threads:
            self.connected.acquire(timeout=30)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()

    def _trickle(self) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            sock.sendall(self.head)
        except OSError:
            return
        finally:
            self.connected.release()
        with contextlib.suppress(OSError), sock:
            for _ in range(self.length):
                if self.stopping.wait(BYTE_INTERVAL):
                    return
                sock.sendall(b" ")


def stalled_after(port: int, data: bytes, timeout: float) -> bytes | None:
    """Connect, send ``data``, then nothing: what the server sends before it closes
    the connection, or None if it kept it open for ``timeout`` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except TimeoutError:
            return None
        except ConnectionResetError:
            pass
        return received
