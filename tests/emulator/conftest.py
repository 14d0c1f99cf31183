import json
import threading
import xml.etree.ElementTree as ET
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from rtropo.emulator import running_emulator
from tests.support.http_stub import JSONHandler

TOKEN = "a1b2c3d4" * 11
SHARED_FIXTURES = Path(__file__).parents[1] / "fixtures"
HANGUP = {"tropo": [{"hangup": {}}]}
JSON_UTF8 = "application/json; charset=utf-8"


def message(to, text, sender="+15555550000"):
    return {"message": {"say": {"value": text}, "to": to, "from": sender, "network": "SMS"}}


class FakeApp:
    """A tiny app server: records each POSTed session or result object and answers TropoML.

    ``answer`` is a TropoML dict, raw bytes, or a callable ``(payload) -> (status, body)``
    or ``(status, body, content_type)``, given to requests under the messaging URL's path;
    ``routes`` maps a request path (with its query) to an answer for that path only; any
    other path is answered with a hangup.
    """

    def __init__(self):
        self.requests = []
        self.answer = HANGUP
        self.routes = {}
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        app = self

        class Handler(JSONHandler):
            def do_POST(self):
                payload = self.read_json()
                with app.arrived:
                    app.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "payload": payload}
                    )
                    app.arrived.notify_all()
                status, data, content_type = app.respond(self.path, payload)
                self.send_body(status, data, content_type)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tropo/?secret=s3"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def respond(self, path, payload):
        default = self.answer if path.startswith("/tropo/?") else HANGUP
        answer = self.routes.get(path, default)
        if callable(answer):
            answer = answer(payload)
            return answer if len(answer) == 3 else (*answer, JSON_UTF8)
        if isinstance(answer, bytes):
            return 200, answer, JSON_UTF8
        return 200, json.dumps(answer).encode(), JSON_UTF8

    @property
    def sessions(self):
        with self.lock:
            return [r["payload"]["session"] for r in self.requests if "session" in r["payload"]]

    @property
    def results(self):
        """``(path, result object)`` of every result POSTed, in order."""
        with self.lock:
            return [
                (r["path"], r["payload"]["result"])
                for r in self.requests
                if "result" in r["payload"]
            ]

    def wait_for_requests(self, count, timeout=5.0):
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"app got {len(self.requests)} requests, wanted {count}")
        return self.sessions


@pytest.fixture
def app():
    fake = FakeApp()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def emulator(app):
    with running_emulator(app_url=app.url, token=TOKEN) as tropo:
        tropo.faults.timeout_seconds = 0.2
        tropo.faults.slow_callback_seconds = 0.2
        yield tropo


def xml_reply(data):
    """Parse an XML reply from the emulator (trusted: our own process)."""
    return ET.fromstring(data)  # noqa: S314


def load_fixture(name):
    return json.loads((SHARED_FIXTURES / name).read_text(encoding="utf-8"))
