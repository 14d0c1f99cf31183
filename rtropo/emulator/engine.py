"""The session engine: launches, callbacks, TropoML execution, result posts, delivery
of SMS and voice calls.

Every debugger line of a session is written here (``self._log``), in the words of
Tropo's Application Debugger.
"""

import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field

from . import events, sms, tropoml, voice
from .app_client import AppClient, checked_app_url
from .faults import Faults
from .redaction import redact, redact_parameters, redact_tropoml, redact_url
from .session_api import LaunchRequest
from .store import (
    DEFAULT_HISTORY,
    Delivery,
    LaunchRecord,
    PhoneCall,
    Session,
    Store,
    utc_timestamp,
)

logger = logging.getLogger(__name__)

STATE_LIMIT = 200
#: Documents one session may run (its first answer and the answers to its results).
MAX_DOCUMENTS = 50
INBOUND_HEADERS = {"CSeq": "1 INVITE", "Content-Type": "application/sdp"}


@dataclass(frozen=True)
class InboundResult:
    """What ``send_sms`` did: the session, the app's HTTP status (None: unreachable),
    the deliveries its answers made and the session's first failure to reach the app
    (None: none)."""

    session_id: str
    status: int | None
    deliveries: tuple
    error: str | None = None


@dataclass(frozen=True)
class LaunchReply:
    """How the HTTP layer should answer a launch."""

    status: int
    success: bool
    session_id: str | None = None
    reason: str | None = None


@dataclass
class Outcome:
    """How a document's verbs ended: the event to fire, its error, the named verbs'
    reports and the SMS sent. ``event`` "stopped" means the emulator is shutting down."""

    event: str = "continue"
    error: str | None = None
    actions: list = field(default_factory=list)
    deliveries: list = field(default_factory=list)


class Engine:
    """Tropo's side of the protocol; thread-safe; the HTTP server and ``Emulator`` drive it."""

    def __init__(
        self,
        app_url: str,
        token: str,
        number: str | None = None,
        account_id: str = "12345",
        enforce_rate: bool = False,
        rate_interval: float = 1.0,
        callback_timeout: float = 10.0,
        faults: Faults | None = None,
        history: int = DEFAULT_HISTORY,
        numbers: list | None = None,
    ):
        self.app_url = app_url
        self.token = token
        self.numbers = sms.pool(number, numbers)
        self.number = self.numbers[0]
        self.account_id = str(account_id)
        self.enforce_rate = enforce_rate
        self.rate_interval = rate_interval
        self.faults = faults or Faults()
        self.store = Store(history)
        self._client = AppClient(callback_timeout)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._next_slot: dict[str, float] = {}

    @property
    def app_url(self) -> str:
        """The app's messaging URL; setting one the emulator cannot send to raises
        ``ValueError`` (saying why, the URL's secret shortened)."""
        return self._app_url

    @app_url.setter
    def app_url(self, url: str) -> None:
        self._app_url = checked_app_url(url)

    # -- launches ---------------------------------------------------------------

    def launch(self, request: LaunchRequest) -> tuple:
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
        seconds = fault.seconds if fault else 0.0
        if kind == "http_500":
            self._record_launch(request, kind, None)
            return LaunchReply(500, False, reason="Internal Server Error"), None
        if kind == "success_false":
            self._record_launch(request, kind, None)
            return LaunchReply(200, False, reason="FAILED TO ROUTE TOKEN"), None
        if kind == "timeout":
            self._record_launch(request, kind, None)
            self._stopping.wait(seconds)
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
            self._stopping.wait(seconds)
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
        self.store.add_launch(
            LaunchRecord(time.time(), request.reply_format, request.params, outcome, session_id)
        )

    def _run_launched(self, session, payload):
        fault = self.faults.draw("callback")
        kind = fault.kind if fault else None
        try:
            if kind == "no_callback":
                self._log(session, "Fault no_callback: application URL not called")
                return
            if kind == "slow_callback":
                self._log(session, f"Fault slow_callback: waiting {fault.seconds}s")
                if self._stopping.wait(fault.seconds):
                    return
            for _ in range(2 if kind == "duplicate_callback" else 1):
                self.store.count("callbacks")
                _, document = self._post(session, self.app_url, payload)
                if document is not None:
                    self._converse(session, document)
        finally:
            self._end(session)

    # -- inbound ----------------------------------------------------------------

    def send_sms(self, from_number: str, text: str, to: str | None = None) -> InboundResult:
        """Deliver an SMS from a phone to the app's number ``to`` (one of ``numbers``,
        default the first; another raises ``ValueError``), run its answers, return
        InboundResult. The session's ``to`` is that number and its ``say`` verbs text
        from it."""
        caller = sms.e164(from_number)
        app_number = self.number if to is None else sms.e164(to)
        if app_number not in self.numbers:
            raise ValueError(f"{app_number} is not one of this application's numbers")
        session = self._new_session(
            "inbound", caller=caller, call_id=secrets.token_hex(16), app_number=app_number
        )
        self.store.add_inbound(session, text)
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
                "callId": session.call_id,
                "to": sms.phone(app_number),
                "from": sms.phone(caller),
                "headers": dict(INBOUND_HEADERS),
            }
        }
        try:
            status, document = self._post(session, self.app_url, payload)
            deliveries = self._converse(session, document) if document is not None else []
        finally:
            self._end(session)
        return InboundResult(session.id, status, tuple(deliveries), session.error)

    # -- running documents ----------------------------------------------------------

    def _converse(self, session, document):
        """Run ``document`` and the documents its result posts bring; return the SMS sent."""
        deliveries = []
        for _ in range(MAX_DOCUMENTS):
            outcome = self._run_verbs(session, document)
            deliveries += outcome.deliveries
            if outcome.event == "stopped":
                return deliveries
            route = events.route(document.handlers, outcome.event)
            for text in route.says:
                delivery = self._say(session, text)
                if delivery is not None:
                    deliveries.append(delivery)
            if route.next is None:
                if route.hangup_next:
                    answer = self._post_result(
                        session, route.hangup_next, "hangup", events.DISCONNECTED, outcome
                    )
                    if answer is not None and answer.verbs:
                        self._log(session, "Session disconnected: not running the answer")
                return deliveries
            document = self._post_result(session, route.next, route.event, events.ANSWERED, outcome)
            if document is None:
                return deliveries
        self._log(session, f"Too many documents ({MAX_DOCUMENTS}): ending session")
        return deliveries

    def _run_verbs(self, session, document):
        outcome = Outcome()
        for verb in document.verbs:
            if isinstance(verb, tropoml.Hangup):
                self._log(session, "Hangup: ending session")
                outcome.event = "hangup"
                return outcome
            if isinstance(verb, tropoml.Skipped):
                self._log(session, f"Skipping verb {verb.verb}: {verb.reason}")
                continue
            if isinstance(verb, tropoml.Invalid):
                self._log(session, f"Invalid verb {verb.verb}: {verb.reason}")
                event, outcome.error = "error", outcome.error or verb.reason
            else:
                event = self._run_verb(session, verb, outcome)
            if event == "stopped":
                outcome.event = event
                return outcome
            if event != "continue":
                handler = document.handlers.get(event)
                if handler is not None and handler.next:
                    outcome.event = event
                    return outcome
                for text in handler.says if handler else ():
                    delivery = self._say(session, text)
                    if delivery is not None:
                        outcome.deliveries.append(delivery)
        return outcome

    def _run_verb(self, session, verb, outcome):
        """Run a message, call or say verb; return the event it fires."""
        if isinstance(verb, tropoml.Call):
            return self._call(session, verb, outcome)
        if isinstance(verb, tropoml.Say) and session.caller is None:
            self._log(session, f"Ignoring say with no caller in this session: {verb.text!r}")
            return "continue"
        if isinstance(verb, tropoml.Say) and session.voice_call is not None:
            self._speak(session, verb.text)
            self._report(outcome, verb, "SUCCESS")
            return "continue"
        to = verb.to if isinstance(verb, tropoml.Message) else session.caller
        if not sms.dialable(to):
            self._log(session, f"Cannot reach {to!r}: not a phone number")
            self._report(outcome, verb, "FAILED")
            return "incomplete"
        if isinstance(verb, tropoml.Message):
            delivery = self._deliver(session, verb.to, verb.from_, verb.text, verb.network)
        else:
            delivery = self._say(session, verb.text)
        if delivery is None:
            return "stopped"
        outcome.deliveries.append(delivery)
        self._report(outcome, verb, "SUCCESS")
        return "continue"

    def _call(self, session, verb, outcome):
        """Start a ``call`` verb's conversation (hanging up a call in progress): a text
        conversation, or a voice call that the phone answers; return the event it fires."""
        if verb.voice:
            to = voice.destination(verb.to)
        else:
            to = sms.e164(verb.to) if sms.dialable(verb.to) else None
        if to is None:
            kind = "a phone number or SIP address" if verb.voice else "a phone number"
            self._log(session, f"Cannot reach {verb.to!r}: not {kind}")
            self._report(outcome, verb, "FAILED")
            return "incomplete"
        self.store.hang_up(session)
        call_id = secrets.token_hex(16)
        session.caller = to
        session.call_id = session.call_id or call_id
        if verb.voice:
            caller_id = voice.caller_id(verb.from_)
            call = PhoneCall(call_id, session.id, to, caller_id, verb.network, time.time())
            self.store.add_call(session, call)
            self._log(session, f"Voice call to {to} from {caller_id} on {verb.network}: answered")
        else:
            session.app_number = sms.e164(verb.from_ or self.number)
            self._log(session, f"Text conversation with {session.caller} from {session.app_number}")
        self._report(outcome, verb, "SUCCESS")
        return "continue"

    def _speak(self, session, text):
        """Say ``text`` on the session's voice call: spoken, not texted (no SMS rate)."""
        self.store.speak(session, text)
        self._log(session, f"Spoke on the call to {session.caller} ({len(text)} characters)")

    @staticmethod
    def _report(outcome, verb, disposition):
        if verb.name is not None:
            outcome.actions.append(events.ActionReport(verb.name, disposition))

    def _say(self, session, text):
        """Text the other end of the session's conversation, or speak ``text`` on its
        voice call; the Delivery, or None if nothing was texted."""
        if session.caller is None:
            self._log(session, f"Ignoring say with no caller in this session: {text!r}")
            return None
        if session.voice_call is not None:
            self._speak(session, text)
            return None
        return self._deliver(session, session.caller, session.app_number, text, "SMS")

    def _deliver(self, session, to, sender, text, network):
        """Send one SMS, waiting for the sender's rate slot (each number has its own);
        None if stopped meanwhile. A sender that is not one of ``numbers`` is delivered
        (each such number on a rate of its own too) and flagged in the debugger log."""
        to, sender = sms.e164(to), sms.e164(sender or self.number)
        if sender not in self.numbers:
            self._log(session, f"Warning: from {sender} is not one of this application's numbers")
        if self.enforce_rate:
            with self._lock:
                slot = max(time.monotonic(), self._next_slot.get(sender, 0.0))
                self._next_slot[sender] = slot + self.rate_interval
            if self._stopping.wait(max(0.0, slot - time.monotonic())):
                return None
        delivery = Delivery(
            session.id, to, sender, text, sms.count_parts(text), time.time(), network
        )
        self.store.add_delivery(delivery)
        self._log(session, f"Delivered SMS to {to} from {sender} ({delivery.parts} part(s))")
        return delivery

    # -- talking to the app -------------------------------------------------------

    def _post_result(self, session, target, event, state, outcome):
        """POST the result of ``event`` to ``target``; return the answer or None."""
        try:
            url = events.resolve_next(self.app_url, target)
        except ValueError as exc:
            self._unreachable(session, redact_url(target), f"the URL is not readable ({exc})")
            return None
        session.results += 1
        payload = events.result_object(
            session_id=session.id,
            call_id=session.call_id,
            state=state,
            duration=time.time() - session.created_at,
            sequence=session.results,
            event=event,
            error=outcome.error,
            actions=outcome.actions,
        )
        fault = self.faults.draw("result")
        kind = fault.kind if fault else None
        if kind == "session_died":
            self._log(session, "Fault session_died: the session ended before its result")
            return None
        if kind == "result_refused":
            self._fail(session, f"Fault result_refused: {redact_url(url)} refused the result")
            return None
        if kind == "result_late":
            self._log(session, f"Fault result_late: the result waits {fault.seconds}s")
            if self._stopping.wait(fault.seconds):
                return None
        if kind == "result_http_500":
            self._log(session, "Fault result_http_500: the app's answer becomes HTTP 500")
        self.store.count("results")
        fault_status = 500 if kind == "result_http_500" else None
        _, document = self._post(session, url, payload, fault_status=fault_status)
        return document

    def _post(self, session, url, payload, fault_status=None):
        """POST a session or result object to the app; return ``(status, Document or None)``.

        ``fault_status`` replaces the app's answer by that HTTP status (a fault).
        """
        shown_url = redact_url(url)
        if "result" in payload:
            shown = json.dumps(payload, ensure_ascii=False)
            self._log(session, f"Sending result on Session {session.id} [url={shown_url}]: {shown}")
        else:
            shown = _shown_session(payload)
            self._log(
                session,
                f"Sending TropoML Payload on Session {session.id} [url={shown_url}]: {shown}",
            )
        answer = self._client.post(url, payload)
        if answer.failure is not None:
            self._unreachable(session, shown_url, answer.failure)
            return None, None
        status = fault_status or answer.status
        if not 200 <= status < 300:
            self._fail(
                session, f"Received non-2XX status code on Session {session.id} code={status}"
            )
            return status, None
        try:
            document = tropoml.parse_document(answer.body, answer.content_type)
        except tropoml.TropoMLError as exc:
            self._fail(session, f"Invalid TropoML document on Session {session.id}: {exc}")
            return status, None
        text = redact_tropoml(answer.body.decode(tropoml.charset(answer.content_type)))
        self._log(session, f"Received new TropoML document from {shown_url}: {text}")
        return status, document

    # -- sessions and logs --------------------------------------------------------

    def _new_session(self, kind, caller=None, call_id=None, app_number=None):
        session = Session(
            secrets.token_hex(16),
            kind,
            time.time(),
            caller=caller,
            app_number=app_number or self.number,
            call_id=call_id,
        )
        self.store.add_session(session)
        return session

    def _end(self, session):
        self._log(session, "Session ended")
        self.store.end(session)

    def _log(self, session, text, level=logging.INFO):
        self.store.log(session, text)
        logger.log(level, "[%s] %s", session.id, text)

    def _unreachable(self, session, shown_url, reason):
        self._fail(
            session,
            f"Failed to reach application URL {shown_url} on Session {session.id}: {reason}",
        )

    def _fail(self, session, text):
        """Log a failure to reach the app (a warning) and keep it as the session's error."""
        self.store.fail(session, text)
        self._log(session, text, logging.WARNING)

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

    # -- records ----------------------------------------------------------------

    def debugger_log(self, session_id: str) -> list:
        """The session's lines as ``"<timestamp> <text>"`` (the id may keep its newline)."""
        return self.store.debugger_log(session_id)

    @property
    def deliveries(self) -> list:
        return self.store.deliveries

    @property
    def launches(self) -> list:
        return self.store.launches

    @property
    def calls(self) -> list:
        return self.store.calls

    @property
    def callbacks(self) -> int:
        return self.store.counter("callbacks")

    def wait_for_deliveries(self, count: int, timeout: float = 10.0) -> list:
        """Block until at least ``count`` SMS were delivered; return the kept deliveries."""
        return self.store.wait_for_deliveries(count, timeout)

    def wait_for_calls(self, count: int, timeout: float = 10.0) -> list:
        """Block until ``count`` voice calls were placed and every call hung up; return
        the kept calls."""
        return self.store.wait_for_calls(count, timeout)

    def wait_for_session(self, session_id: str, timeout: float = 10.0) -> list:
        """Block until the session has ended; return its debugger log."""
        return self.store.wait_for_session(session_id, timeout)

    def state(
        self, limit: int = STATE_LIMIT, offset: int = 0, conversation_offset: int = 0
    ) -> dict:
        """A JSON-ready snapshot for the page and the state API (see ``Store.snapshot``)."""
        snapshot = self.store.snapshot(limit, offset, conversation_offset)
        snapshot.update(
            number=self.number,
            numbers=list(self.numbers),
            app_url=redact_url(self.app_url),
            faults=self.faults.snapshot(),
        )
        return snapshot

    def reset(self) -> None:
        """Forget sessions, launches, deliveries, calls, counters, rate slots and faults."""
        self.store.clear()
        with self._lock:
            self._next_slot.clear()
        self.faults.clear()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Wake any waiting session and join the session threads."""
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)


def _shown_session(payload):
    """The session object for the debugger, its launch parameters shortened."""
    session = dict(payload["session"])
    if "parameters" in session:
        session["parameters"] = redact_parameters(session["parameters"])
    return json.dumps({"session": session}, ensure_ascii=False)
