"""The request handler of the small stub servers in the tests and the benchmarks."""

import json
from http.server import BaseHTTPRequestHandler


class JSONHandler(BaseHTTPRequestHandler):
    """Reads and writes JSON bodies, and writes no access log."""

    def read_json(self):
        """The request's JSON body; ``{}`` when it has none."""
        length = int(self.headers["Content-Length"] or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def send_body(self, status: int, data: bytes, content_type: str = "application/json"):
        """Answer ``status`` with ``data`` as the whole body."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_json(self, status: int, document):
        """Answer ``status`` with ``document`` as JSON."""
        self.send_body(status, json.dumps(document).encode())

    def log_message(self, format, *args):
        """Quiet: the callers check what they need, not an access log."""
