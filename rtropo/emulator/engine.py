"""The session engine: launches, callbacks, TropoML execution, delivery, debugger log."""

import copy
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from . import sms, tropoml
from .faults import Faults

logger = logging.getLogger(__name__)

STATE_LIMIT = 200
INBOUND_HEADERS = {"CSeq": "1 INVITE", "Content-Type": "application/sdp"}


class WaitTimeout(AssertionError, TimeoutError):
    """A ``wait_for_*`` call did not see what it waited for in time."""


@dataclass(frozen=True)
class Delivery:
    """One SMS Tropo sent: numbers carry "+"; ``delivered_at`` is a ``time.time()``."""

    session_id: str
    to: str
    from_: str
    text: str
    parts: int
    delivered_at: float
    network: str = "SMS"

    def as_json(self):
        data = asdict(self)
        data["from"] = data.pop("from_")
        return data


@dataclass(frozen=True)
class LaunchRecord:
    """One Session API request: ``outcome`` is "created", a fault kind or a refusal."""

    received_at: float
    reply_format: str
    params: dict
    outcome: str
    session_id: str | None


@dataclass(frozen=True)
class InboundResult:
    """What ``send_sms`` did: the session, the app's HTTP status (None: unreachable)
    and the deliveries its answer made."""

    session_id: str
    status: int | None
    deliveries: tuple


@dataclass(frozen=True)
class LaunchReply:
    """How the HTTP layer should answer a launch."""

    status: int
    success: bool
    session_id: str | None = None
    reason: str | None = None


@dataclass
class Session:
    """A session and its Application Debugger lines."""

    id: str
    kind: str
    created_at: float
    caller: str | None = None
    ended: bool = False
    lines: list = field(default_factory=list)


def utc_timestamp(when=None):
    """ISO-8601 UTC with milliseconds and "Z", as in Tropo session objects."""
    moment = datetime.fromtimestamp(time.time() if when is None else when, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def redact(token):
    """A token shortened for logs: at most four characters and a quarter of it."""
    return f"{token[: min(4, len(token) // 4)]}…" if token else "<none>"


def redact_url(url):
    """``url`` with every query value shortened: a messaging URL often carries a secret."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    shown = "&".join(f"{key}={redact(value)}" for key, value in query)
    return urllib.parse.urlunsplit(parts._replace(query=shown))


class Engine:
    """Tropo's side of the protocol; thread-safe; the HTTP server and ``Emulator`` drive it."""

    def __init__(
        self,
        app_url,
        token,
        number="+15555550000",
        account_id="12345",
        enforce_rate=False,
        rate_interval=1.0,
        callback_timeout=10.0,
        faults=None,
    ):
        self.app_url = app_url
        self.token = token
        self.number = sms.e164(number)
        self.account_id = str(account_id)
        self.enforce_rate = enforce_rate
        self.rate_interval = rate_interval
        self.callback_timeout = callback_timeout
        self.faults = faults or Faults()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._threads = set()
        self._clear_records()

    def _clear_records(self):
        self._sessions = {}
        self._launches = []
        self._deliveries = []
        self._conversation = []
        self._callbacks = 0
        self._inbound = 0
        self._next_slot = {}

    # -- launches ---------------------------------------------------------------

    def launch(self, request):
        """Handle a parsed launch; return ``(LaunchReply, start)``.

        ``start`` is None or a callable the HTTP layer calls after replying; it runs
        the session (callback and TropoML) in a background thread.
        """
        refusal = self._refusal(request)
        if refusal:
            self._record_launch(request, refusal, None)
            logger.warning("Launch refused (%s), token=%s", refusal, redact(request.token))
            return LaunchReply(200, False, reason=refusal), None
        fault = self.faults.draw("launch")
        kind = fault.kind if fault else None
        if kind == "http_500":
            self._record_launch(request, kind, None)
            return LaunchReply(500, False, reason="Internal Server Error"), None
        if kind == "success_false":
            self._record_launch(request, kind, None)
            return LaunchReply(200, False, reason="FAILED TO ROUTE TOKEN"), None
        if kind == "timeout":
            self._record_launch(request, kind, None)
            self._stopping.wait(fault.seconds)
            return LaunchReply(504, False, reason="Gateway Timeout"), None
        session = self._new_session("launch")
        self._record_launch(request, kind or "created", session.id)
        self._log(session, f"HTTPDriver.doGet(): action = {request.action or 'create'}")
        self._log(session, f"HTTPDriver.doGet(): token = {redact(request.token)}")
        parameters = {"token": request.token, "action": request.action or "create"}
        parameters.update(request.params)
        payload = {
            "session": {
                "id": session.id,
                "accountId": self.account_id,
                "timestamp": utc_timestamp(session.created_at),
                "userType": "NONE",
                "initialText": None,
                "callId": None,
                "parameters": parameters,
            }
        }

        def start():
            self._spawn(self._run_launched, session, payload)

        reply = LaunchReply(200, True, session_id=session.id + "\n")
        if kind == "timeout_then_callback":
            start()
            self._stopping.wait(fault.seconds)
            return reply, None
        return reply, start

    def _refusal(self, request):
        if not request.token:
            return "Missing token"
        if not secrets.compare_digest(request.token.encode(), self.token.encode()):
            return "Invalid token"
        if request.action not in (None, "create"):
            return f"Unsupported action {request.action!r}"
        return None

    def _record_launch(self, request, outcome, session_id):
        record = LaunchRecord(
            time.time(), request.reply_format, request.params, outcome, session_id
        )
        with self._changed:
            self._launches.append(record)
            self._changed.notify_all()

    def _run_launched(self, session, payload):
        fault = self.faults.draw("callback")
        kind = fault.kind if fault else None
        if kind == "no_callback":
            self._log(session, "Fault no_callback: application URL not called")
            self._end(session)
            return
        if kind == "slow_callback":
            self._log(session, f"Fault slow_callback: waiting {fault.seconds}s")
            if self._stopping.wait(fault.seconds):
                return
        for _ in range(2 if kind == "duplicate_callback" else 1):
            with self._lock:
                self._callbacks += 1
            _, actions = self._post(session, payload)
            if actions is not None:
                self._execute(session, actions)
        self._end(session)

    # -- inbound ----------------------------------------------------------------

    def send_sms(self, from_number, text):
        """Deliver an SMS from a phone to the app, run its answer, return InboundResult."""
        caller = sms.e164(from_number)
        session = self._new_session("inbound", caller=caller)
        with self._changed:
            self._inbound += 1
            self._conversation.append(
                {
                    "number": caller,
                    "direction": "inbound",
                    "text": text,
                    "at": time.time(),
                    "session_id": session.id,
                }
            )
            self._changed.notify_all()
        self._log(
            session,
            f"Matched application URL {redact_url(self.app_url)} for inbound SMS "
            f"from {sms.digits(caller)}",
        )
        payload = {
            "session": {
                "id": session.id,
                "accountId": self.account_id,
                "timestamp": utc_timestamp(session.created_at),
                "userType": "HUMAN",
                "initialText": text,
                "callId": secrets.token_hex(16),
                "to": sms.phone(self.number),
                "from": sms.phone(caller),
                "headers": dict(INBOUND_HEADERS),
            }
        }
        status, actions = self._post(session, payload)
        deliveries = self._execute(session, actions, caller=caller) if actions is not None else []
        self._end(session)
        return InboundResult(session.id, status, tuple(deliveries))

    # -- talking to the app -------------------------------------------------------

    def _post(self, session, payload):
        """POST a session object to the app; return ``(status, actions or None)``."""
        url = self.app_url
        shown_url = redact_url(url)
        shown = copy.deepcopy(payload)
        params = shown["session"].get("parameters")
        if params and "token" in params:
            params["token"] = redact(params["token"])
        shown = json.dumps(shown, ensure_ascii=False)
        self._log(
            session, f"Sending TropoML Payload on Session {session.id} [url={shown_url}]: {shown}"
        )
        request = urllib.request.Request(  # noqa: S310 - the app URL is configured by the user
            url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.callback_timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            self._log(
                session, f"Received non-2XX status code on Session {session.id} code={exc.code}"
            )
            return exc.code, None
        except OSError as exc:
            self._log(
                session,
                f"Failed to reach application URL {shown_url} on Session {session.id}: {exc}",
            )
            return None, None
        if not 200 <= status < 300:
            self._log(
                session, f"Received non-2XX status code on Session {session.id} code={status}"
            )
            return status, None
        text = raw.decode("utf-8", errors="replace")
        self._log(session, f"Received new TropoML document from {shown_url}: {text}")
        try:
            return status, tropoml.parse_document(raw)
        except tropoml.TropoMLError as exc:
            self._log(session, f"Invalid TropoML document on Session {session.id}: {exc}")
            return status, None

    def _execute(self, session, actions, caller=None):
        deliveries = []
        for action in actions:
            if isinstance(action, tropoml.Hangup):
                self._log(session, "Hangup: ending session")
                break
            if isinstance(action, tropoml.Message):
                delivery = self._deliver(
                    session, action.to, action.from_, action.text, action.network
                )
            elif isinstance(action, tropoml.Say):
                if caller is None:
                    self._log(
                        session, f"Ignoring say with no caller in this session: {action.text!r}"
                    )
                    continue
                delivery = self._deliver(session, caller, self.number, action.text, "SMS")
            else:
                self._log(session, f"Skipping verb {action.verb}: {action.reason}")
                continue
            if delivery is None:
                break
            deliveries.append(delivery)
        return deliveries

    def _deliver(self, session, to, sender, text, network):
        """Send one SMS, waiting for the sender's rate slot; None if stopped meanwhile."""
        to, sender = sms.e164(to), sms.e164(sender or self.number)
        if sender != self.number:
            self._log(session, f"Warning: from {sender} is not this application's number")
        if self.enforce_rate:
            with self._lock:
                slot = max(time.monotonic(), self._next_slot.get(sender, 0.0))
                self._next_slot[sender] = slot + self.rate_interval
            if self._stopping.wait(max(0.0, slot - time.monotonic())):
                return None
        delivery = Delivery(
            session.id, to, sender, text, sms.count_parts(text), time.time(), network
        )
        with self._changed:
            self._deliveries.append(delivery)
            self._conversation.append(
                {
                    "number": to,
                    "direction": "outbound",
                    "text": text,
                    "at": delivery.delivered_at,
                    "session_id": session.id,
                }
            )
            self._changed.notify_all()
        self._log(session, f"Delivered SMS to {to} from {sender} ({delivery.parts} part(s))")
        return delivery

    # -- sessions and logs --------------------------------------------------------

    def _new_session(self, kind, caller=None):
        session = Session(secrets.token_hex(16), kind, time.time(), caller)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def _end(self, session):
        self._log(session, "Session ended")
        with self._changed:
            session.ended = True
            self._changed.notify_all()

    def _log(self, session, text):
        with self._lock:
            session.lines.append((time.time(), text))
        logger.info("[%s] %s", session.id, text)

    def _spawn(self, target, *args):
        def run():
            try:
                target(*args)
            except Exception:
                logger.exception("Session thread failed")
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, name="tropo-emulator-session", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def debugger_log(self, session_id):
        """The session's lines as ``"<timestamp> <text>"`` (the id may keep its newline)."""
        with self._lock:
            session = self._sessions.get(session_id.strip())
            lines = list(session.lines) if session else []
        return [f"{utc_timestamp(when)} {text}" for when, text in lines]

    # -- records ----------------------------------------------------------------

    @property
    def deliveries(self):
        with self._lock:
            return list(self._deliveries)

    @property
    def launches(self):
        with self._lock:
            return list(self._launches)

    @property
    def callbacks(self):
        with self._lock:
            return self._callbacks

    def wait_for_deliveries(self, count, timeout=10.0):
        """Block until at least ``count`` deliveries exist; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{d.to}: {d.text!r}" for d in self._deliveries]
                    raise WaitTimeout(
                        f"expected at least {count} deliveries within {timeout}s, "
                        f"got {len(seen)}: {seen}"
                    )
                self._changed.wait(remaining)
            return list(self._deliveries)

    def wait_for_session(self, session_id, timeout=10.0):
        """Block until the session has ended; return its debugger log."""
        with self._changed:
            session = self._sessions.get(session_id.strip())
            if session is None:
                raise KeyError(f"no session {session_id.strip()!r}")
            if not self._changed.wait_for(lambda: session.ended, timeout):
                raise WaitTimeout(f"session {session.id} still running after {timeout}s")
        return self.debugger_log(session_id)

    def state(self, limit=STATE_LIMIT):
        """A JSON-ready snapshot for the page; lists keep their ``limit`` newest entries."""
        with self._lock:
            conversations = {}
            for entry in self._conversation:
                conversations.setdefault(entry["number"], deque(maxlen=limit)).append(dict(entry))
            sessions = list(self._sessions.values())[-limit:]
            return {
                "number": self.number,
                "app_url": redact_url(self.app_url),
                "conversations": {number: list(items) for number, items in conversations.items()},
                "deliveries": [d.as_json() for d in self._deliveries[-limit:]],
                "sessions": [
                    {
                        "id": s.id,
                        "kind": s.kind,
                        "caller": s.caller,
                        "created_at": s.created_at,
                        "ended": s.ended,
                        "log": [f"{utc_timestamp(when)} {text}" for when, text in s.lines],
                    }
                    for s in sessions
                ],
                "counters": {
                    "launches": len(self._launches),
                    "sessions": len(self._sessions),
                    "callbacks": self._callbacks,
                    "inbound": self._inbound,
                    "deliveries": len(self._deliveries),
                },
                "faults": self.faults.snapshot(),
            }

    def reset(self):
        """Forget sessions, launches, deliveries, counters, rate slots and faults."""
        with self._changed:
            self._clear_records()
            self._changed.notify_all()
        self.faults.clear()

    def shutdown(self, timeout=5.0):
        """Wake any waiting session and join the session threads."""
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
