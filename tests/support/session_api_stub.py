"""A Session API stand-in on loopback, so that the real ``requests`` code path runs.

``POST /sessions`` records the launch and answers like Tropo; ``GET /launches``
lists the references launched so far, which the answering processes play back
as callbacks. A launch can be made to fail (HTTP 500), to time out (answered
after the client gave up, but listed: Tropo may still call back), or to be
listed late (its callback comes after the lease ran out).
"""

import threading
import time
from http.server import HTTPServer, ThreadingHTTPServer

from tests.support.http_stub import JSONHandler


class SessionAPIStub:
    """Answers launches; ``fail_every``/``timeout_every``/``late_every`` pick the faulty ones.

    Setting ``fail_next = n`` makes the next n launches fail with HTTP 500.
    ``threaded=False`` answers one request at a time in the server's own thread,
    for launches made at interpreter exit, when no new thread may start.
    """

    def __init__(
        self,
        fail_every=0,
        timeout_every=0,
        late_every=0,
        late_seconds=0.0,
        stall=0.0,
        threaded=True,
    ):
        self.fail_every = fail_every
        self.timeout_every = timeout_every
        self.late_every = late_every
        self.late_seconds = late_seconds
        self.stall = stall
        self.fail_next = 0
        self.lock = threading.Lock()
        self.launches = []
        self.outcomes = {"ok": 0, "http_500": 0, "timeout": 0, "late": 0}
        stub = self

        class Handler(JSONHandler):
            def do_POST(self):
                status, reply = stub.launch(self.read_json())
                self.send_json(status, reply)

            def do_GET(self):
                self.send_json(200, stub.visible_references())

        class Server(ThreadingHTTPServer if threaded else HTTPServer):
            daemon_threads = True
            # Clients may open many connections at once (the race tests' workers);
            # the default backlog of 5 would reset some of them.
            request_queue_size = 128

            def handle_error(self, request, client_address):
                """A client that timed out closed the socket: nothing to report."""

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def launch(self, body):
        with self.lock:
            number = len(self.launches) + 1
            kind = self._kind(number)
            self.outcomes[kind] += 1
            listed_at = time.monotonic() + (self.late_seconds if kind == "late" else 0)
            if kind != "http_500":
                self.launches.append((body["rtropo_ref"], listed_at))
            else:
                self.launches.append((None, listed_at))
        if kind == "http_500":
            return 500, {"success": False}
        if kind == "timeout":
            time.sleep(self.stall)
        return 200, {"success": True, "token": body["token"], "id": f"{number:032x}\n"}

    def visible_references(self):
        now = time.monotonic()
        with self.lock:
            return [ref for ref, listed_at in self.launches if ref and listed_at <= now]

    @property
    def references(self):
        with self.lock:
            return [ref for ref, _ in self.launches if ref]

    def _kind(self, number):
        if self.fail_next:
            self.fail_next -= 1
            return "http_500"
        for kind, every in (
            ("http_500", self.fail_every),
            ("timeout", self.timeout_every),
            ("late", self.late_every),
        ):
            if every and number % every == 0:
                return kind
        return "ok"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
