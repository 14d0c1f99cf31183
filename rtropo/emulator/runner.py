"""``Emulator``: the engine and its HTTP server, run in a background thread."""

import contextlib
import threading
from collections.abc import Iterator

from . import voice
from .engine import Engine, InboundResult
from .faults import Faults
from .server import EmulatorServer
from .store import DEFAULT_HISTORY


class Emulator:
    """A Tropo WebAPI stand-in that calls back ``app_url`` and accepts ``token``.

    The application holds ``numbers`` (a pool; its ``message`` verbs may text from
    any of them) or the one ``number`` (default ``DEFAULT_APP_NUMBER``), not both.

    ``enforce_rate`` limits each sending number to one SMS per ``rate_interval``
    seconds, so a pool of N numbers texts at N times the rate (Tropo's US long-code
    rate is one a second; voice calls do not count).
    ``faults`` is the fault injection control (see ``rtropo.emulator.faults``).
    ``history`` is how many sessions, launches, deliveries, voice calls and
    conversation messages are kept (the oldest are
    forgotten; counters keep counting). The page and control API answer to the local
    host names, ``host`` and ``allowed_hosts``; ``hint`` is shown on the page above
    the send form (what the app understands).
    """

    def __init__(
        self,
        app_url: str,
        token: str,
        number: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_rate: bool = False,
        account_id: str = "12345",
        rate_interval: float = 1.0,
        callback_timeout: float = 10.0,
        history: int = DEFAULT_HISTORY,
        allowed_hosts: tuple = (),
        hint: str = "",
        numbers: list | None = None,
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
            history=history,
            numbers=numbers,
        )
        self._address = (host, port)
        self._allowed_hosts = tuple(allowed_hosts)
        self._hint = hint
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Emulator":
        """Bind and serve in a daemon thread; return self."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = EmulatorServer(
            self._address, self.engine, allowed_hosts=self._allowed_hosts, hint=self._hint
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="tropo-emulator-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake waiting sessions and close the socket."""
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self.engine.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (needs a started emulator)."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def session_api_url(self) -> str:
        """The Session API endpoint to configure in the backend."""
        return f"{self.url}/1.0/sessions"

    @property
    def app_url(self) -> str:
        """The app's messaging URL; may be changed while running."""
        return self.engine.app_url

    @app_url.setter
    def app_url(self, value: str) -> None:
        self.engine.app_url = value

    @property
    def number(self) -> str:
        """The app's (first) phone number, with "+"."""
        return self.engine.number

    @property
    def numbers(self) -> tuple:
        """The app's phone numbers, with "+", ``number`` first."""
        return self.engine.numbers

    @property
    def deliveries(self) -> list:
        """The last ``history`` delivered SMS, oldest first (a copy)."""
        return self.engine.deliveries

    @property
    def calls(self) -> list:
        """The last ``history`` voice calls placed (``PhoneCall``), oldest first (a copy)."""
        return self.engine.calls

    def calls_to(self, number: str) -> list:
        """The kept voice calls to ``number`` (a phone number in any form Tropo dialled,
        or a ``sip:`` address), oldest first."""
        address = voice.destination(number) or str(number)
        return [call for call in self.engine.calls if call.to == address]

    @property
    def launches(self) -> list:
        """The last ``history`` Session API requests (``LaunchRecord``, refused ones included)."""
        return self.engine.launches

    @property
    def callbacks(self) -> int:
        """How many launched-session callbacks were POSTed to the app."""
        return self.engine.callbacks

    def send_sms(self, from_number: str, text: str, to: str | None = None) -> InboundResult:
        """A phone texts the app's number ``to`` (one of ``numbers``, default the first;
        another raises ``ValueError``); blocks until its answer ran; returns
        ``InboundResult``."""
        return self.engine.send_sms(from_number, text, to)

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list:
        """Wait until ``count`` SMS were delivered in all; return the kept deliveries;
        raise WaitTimeout if late."""
        return self.engine.wait_for_deliveries(count, timeout)

    def wait_for_calls(self, count: int, timeout: float = 10.0) -> list:
        """Wait until ``count`` voice calls were placed in all and every kept call hung up
        (so its ``spoken`` texts are complete); return the kept calls; raise WaitTimeout
        if late."""
        return self.engine.wait_for_calls(count, timeout)

    def wait_for_session(self, session_id: str, timeout: float = 10.0) -> list:
        """Wait until a session ended (its answer fully run); return its debugger log."""
        return self.engine.wait_for_session(session_id, timeout)

    def debugger_log(self, session_id: str) -> list:
        """Application Debugger lines of one session."""
        return self.engine.debugger_log(session_id)

    def state(self) -> dict:
        """The snapshot served at ``/emulator/api/state``."""
        return self.engine.state()

    def reset(self) -> None:
        """Forget everything recorded and clear faults."""
        self.engine.reset()


@contextlib.contextmanager
def running_emulator(**kwargs) -> Iterator[Emulator]:
    """Run an ``Emulator(**kwargs)`` (free port by default) for the duration of a block."""
    emulator = Emulator(**kwargs)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
