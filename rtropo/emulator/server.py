"""HTTP routes: the Session API, the emulator's JSON API and the page.

- ``GET|POST /1.0/sessions``: Tropo's Session API (launch).
- ``GET /``: the web page; ``GET /favicon.ico``: its icon.
- ``GET /emulator/api/state``: conversations, deliveries, sessions with logs, counters;
  ``?limit=&offset=&conversation_offset=`` page through them.
- ``POST /emulator/api/inbound``: ``{"from": "+1555...", "text": "hi"}`` delivers an SMS to the app
  (``"to"``: which of its numbers, default the first).
- ``GET|POST /emulator/api/faults``: read or change fault injection (see ``Faults.configure``).
- ``POST /emulator/api/reset``: forget everything recorded.

Everything but the Session API is guarded (see ``guard``).
"""

import json
import logging
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import guard
from .engine import STATE_LIMIT, Engine
from .favicon import FAVICON
from .page import render_page
from .redaction import redact_query_values
from .session_api import LaunchParseError, parse_launch, render_reply

logger = logging.getLogger(__name__)

SESSIONS_PATHS = ("/1.0/sessions", "/1.0/sessions/")
MAX_BODY = 1024 * 1024
#: Connections the kernel queues while every handler thread is starting (default 5).
REQUEST_QUEUE_SIZE = 1024
MAX_STATE_LIMIT = 1000


class EmulatorServer(ThreadingHTTPServer):
    """A threaded server bound to an Engine (a launch may overlap its own callback).

    ``allowed_hosts`` are the ``Host`` names the page and control API answer to.
    """

    daemon_threads = True
    request_queue_size = REQUEST_QUEUE_SIZE

    def __init__(self, address: tuple, engine: Engine, allowed_hosts: tuple = (), hint: str = ""):
        self.engine = engine
        self.allowed_hosts = guard.allowed_hosts(address[0], allowed_hosts)
        self.page = render_page(hint).encode("utf-8")
        super().__init__(address, EmulatorHandler)

    def handle_error(self, request, client_address) -> None:
        """A client that gave up (e.g. during a timeout fault) is not an emulator error."""
        logger.debug("Request from %s failed: %r", client_address, sys.exc_info()[1])


class EmulatorHandler(BaseHTTPRequestHandler):
    """Routes one request to the engine."""

    server_version = "TropoEmulator/1.0"
    server: "EmulatorServer"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path in SESSIONS_PATHS:
            self._launch("GET", b"")
        elif self._refused("GET"):
            return
        elif url.path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", self.server.page)
        elif url.path == "/favicon.ico":
            self._send(200, "image/x-icon", FAVICON)
        elif url.path == "/emulator/api/state":
            self._state(url.query)
        elif url.path == "/emulator/api/faults":
            self._json(200, self.server.engine.faults.snapshot())
        else:
            self._json(404, {"error": f"no route for GET {url.path}"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        if body is None:
            return
        if path in SESSIONS_PATHS:
            self._launch("POST", body)
        elif self._refused("POST"):
            return
        elif path == "/emulator/api/inbound":
            self._inbound(body)
        elif path == "/emulator/api/faults":
            self._faults(body)
        elif path == "/emulator/api/reset":
            self.server.engine.reset()
            self._json(200, {"reset": True})
        else:
            self._json(404, {"error": f"no route for POST {path}"})

    def _refused(self, method):
        refusal = guard.refusal(method, self.headers, self.server.allowed_hosts)
        if refusal is None:
            return False
        status, reason = refusal
        logger.warning("Refused %s %s: %s", method, urlsplit(self.path).path, reason)
        self._json(status, {"error": reason})
        return True

    def _launch(self, method, body):
        engine = self.server.engine
        try:
            request = parse_launch(
                method, urlsplit(self.path).query, self.headers.get("Content-Type"), body
            )
        except LaunchParseError as exc:
            self._json(400, {"success": False, "reason": f"Malformed request: {exc}"})
            return
        reply, start = engine.launch(request)
        content_type, data = render_reply(
            request.reply_format,
            success=reply.success,
            token=request.token if reply.success else None,
            session_id=reply.session_id,
            reason=reply.reason,
        )
        self._send(reply.status, content_type, data)
        if start:
            start()

    def _state(self, query):
        values = parse_qs(query)
        try:
            limit, offset, conversation_offset = (
                int(values.get(name, [default])[0])
                for name, default in (
                    ("limit", STATE_LIMIT),
                    ("offset", 0),
                    ("conversation_offset", 0),
                )
            )
        except ValueError:
            self._json(400, {"error": "limit and offsets must be integers"})
            return
        if not (0 < limit <= MAX_STATE_LIMIT and offset >= 0 and conversation_offset >= 0):
            self._json(400, {"error": f"limit must be 1 to {MAX_STATE_LIMIT}, offsets >= 0"})
            return
        self._json(200, self.server.engine.state(limit, offset, conversation_offset))

    def _inbound(self, body):
        try:
            data = json.loads(body.decode("utf-8"))
            sender, text = str(data["from"]), str(data["text"])
            to = None if data.get("to") is None else str(data["to"])
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            self._json(400, {"error": f'expected JSON {{"from": ..., "text": ...}}: {exc}'})
            return
        if not sender.strip():
            self._json(400, {"error": "from must not be empty"})
            return
        try:
            result = self.server.engine.send_sms(sender, text, to)
        except ValueError as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(
            200,
            {
                "session_id": result.session_id,
                "status": result.status,
                "error": result.error,
                "deliveries": [d.as_json() for d in result.deliveries],
            },
        )

    def _faults(self, body):
        faults = self.server.engine.faults
        try:
            faults.configure(json.loads(body.decode("utf-8") or "{}"))
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(200, faults.snapshot())

    def _body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._json(400, {"error": "bad Content-Length"})
            return None
        return self.rfile.read(length)

    def _json(self, status, data):
        self._send(status, "application/json", json.dumps(data).encode("utf-8"))

    def _send(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        """Requests at DEBUG, query-string values (a GET launch's token) shortened."""
        logger.debug("%s - %s", self.address_string(), redact_query_values(format % args))
