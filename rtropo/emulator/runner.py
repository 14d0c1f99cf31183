"""``Emulator``: the engine and its HTTP server, run in a background thread."""

import contextlib
import threading

from .engine import Engine
from .faults import Faults
from .server import EmulatorServer


class Emulator:
    """A Tropo WebAPI stand-in that calls back ``app_url`` and accepts ``token``.

    ``enforce_rate`` limits each sending number to one SMS per ``rate_interval``
    seconds (Tropo's US long-code rate is one a second). ``faults`` is the fault
    injection control (see ``rtropo.emulator.faults``).
    """

    def __init__(
        self,
        app_url,
        token,
        number="+15555550000",
        host="127.0.0.1",
        port=0,
        enforce_rate=False,
        account_id="12345",
        rate_interval=1.0,
        callback_timeout=10.0,
    ):
        self.faults = Faults()
        self.engine = Engine(
            app_url,
            token,
            number=number,
            account_id=account_id,
            enforce_rate=enforce_rate,
            rate_interval=rate_interval,
            callback_timeout=callback_timeout,
            faults=self.faults,
        )
        self._address = (host, port)
        self._server = None
        self._thread = None

    def start(self):
        """Bind and serve in a daemon thread; return self."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = EmulatorServer(self._address, self.engine)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="tropo-emulator-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving, wake waiting sessions and close the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self.engine.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        """Base URL, e.g. ``http://127.0.0.1:54321`` (needs a started emulator)."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def session_api_url(self):
        """The Session API endpoint to configure in the backend."""
        return f"{self.url}/1.0/sessions"

    @property
    def app_url(self):
        """The app's messaging URL; may be changed while running."""
        return self.engine.app_url

    @app_url.setter
    def app_url(self, value):
        self.engine.app_url = value

    @property
    def number(self):
        """The app's phone number, with "+"."""
        return self.engine.number

    @property
    def deliveries(self):
        """Delivered SMS so far, oldest first (a copy)."""
        return self.engine.deliveries

    @property
    def launches(self):
        """Session API requests so far (``LaunchRecord`` objects, refused ones included)."""
        return self.engine.launches

    @property
    def callbacks(self):
        """How many launched-session callbacks were POSTed to the app."""
        return self.engine.callbacks

    def send_sms(self, from_number, text):
        """A phone texts the app; blocks until its answer ran; returns ``InboundResult``."""
        return self.engine.send_sms(from_number, text)

    def wait_for_deliveries(self, count, timeout=10.0):
        """Wait for at least ``count`` deliveries; return all; raise WaitTimeout if late."""
        return self.engine.wait_for_deliveries(count, timeout)

    def wait_for_session(self, session_id, timeout=10.0):
        """Wait until a session ended (its answer fully run); return its debugger log."""
        return self.engine.wait_for_session(session_id, timeout)

    def debugger_log(self, session_id):
        """Application Debugger lines of one session."""
        return self.engine.debugger_log(session_id)

    def state(self):
        """The snapshot served at ``/emulator/api/state``."""
        return self.engine.state()

    def reset(self):
        """Forget everything recorded and clear faults."""
        self.engine.reset()


@contextlib.contextmanager
def running_emulator(**kwargs):
    """Run an ``Emulator(**kwargs)`` (free port by default) for the duration of a block."""
    emulator = Emulator(**kwargs)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
