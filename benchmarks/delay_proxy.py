"""An HTTP forwarder that holds every request for a fixed time: a stand-in for the internet.

The emulator answers on the loopback interface in well under a millisecond; Tropo
was an internet round trip away. Putting a ``DelayProxy`` in front of the Session
API and in front of the app's messaging URL adds that round trip to each launch
and each Tropo request.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class DelayProxy(ThreadingHTTPServer):
    """Forward to ``target`` (host, port) after ``delay`` seconds; change target at will."""

    daemon_threads = True
    # Clients may open many connections at once; keep them all queued.
    request_queue_size = 128

    def __init__(self, target: tuple[str, int] | None, delay: float):
        self.target = target
        self.delay = delay
        super().__init__(("127.0.0.1", 0), _ForwardHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> DelayProxy:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


class _ForwardHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._forward()

    def do_POST(self):
        self._forward()

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.server.delay)
        host, port = self.server.target
        upstream = http.client.HTTPConnection(host, port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            upstream.close()

    def log_message(self, format, *args):
        """Quiet: no access log."""
