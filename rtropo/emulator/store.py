"""What the emulator remembers: the last ``history`` sessions, launches, messages and calls.

Everything is bounded so that a day-long demo keeps a steady footprint; counters are
totals since the last reset, so they keep counting what the lists have forgotten.
"""

import collections
import itertools
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone

#: Sessions, launches, deliveries, calls and conversation messages kept by default.
DEFAULT_HISTORY = 2000
COUNTERS = ("launches", "sessions", "callbacks", "results", "inbound", "deliveries", "calls")


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

    def as_json(self) -> dict:
        """The delivery as the HTTP API shows it (``from`` instead of ``from_``)."""
        data = asdict(self)
        data["from"] = data.pop("from_")
        return data


@dataclass(frozen=True)
class PhoneCall:
    """One voice call Tropo placed: to ``to`` (a number with "+", or a ``sip:`` address)
    from ``from_`` (the caller id, "unknown" without ``from``) on ``network`` (PSTN or
    SIP); ``spoken`` holds the texts said on it, in order; ``ended`` once it hung up.
    ``id`` is its Tropo call id; ``started_at`` is a ``time.time()``."""

    id: str
    session_id: str
    to: str
    from_: str
    network: str
    started_at: float
    spoken: tuple = ()
    ended: bool = False

    def as_json(self) -> dict:
        """The call as the HTTP API shows it (``from`` instead of ``from_``)."""
        data = asdict(self)
        data["from"] = data.pop("from_")
        data["spoken"] = list(self.spoken)
        return data


@dataclass(frozen=True)
class LaunchRecord:
    """One Session API request: ``outcome`` is "created", a fault kind or a refusal."""

    received_at: float
    reply_format: str
    params: dict
    outcome: str
    session_id: str | None


@dataclass
class Session:
    """A session and its Application Debugger lines.

    ``caller`` is the other end of its conversation (the sender of an inbound SMS,
    or the number of a ``call``), ``app_number`` the number it texts from;
    ``voice_call`` the id of its voice call in progress (None: its ``say`` verbs are
    texted); ``error`` is its first failure to reach the app (None: none).
    """

    id: str
    kind: str
    created_at: float
    caller: str | None = None
    app_number: str | None = None
    call_id: str | None = None
    results: int = 0
    voice_call: str | None = None
    ended: bool = False
    error: str | None = None
    lines: list = field(default_factory=list)


def utc_timestamp(when: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds and "Z", as in Tropo session objects."""
    moment = datetime.fromtimestamp(time.time() if when is None else when, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Store:
    """Thread-safe bounded records; ``changed`` is notified on every change."""

    def __init__(self, history: int = DEFAULT_HISTORY):
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history!r}")
        self.history = history
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)
        self._reset()

    def _reset(self):
        self._sessions = collections.OrderedDict()
        self._launches = collections.deque(maxlen=self.history)
        self._deliveries = collections.deque(maxlen=self.history)
        self._calls = collections.OrderedDict()  # call id -> PhoneCall, oldest first
        self._messages = collections.deque()  # numbers, oldest message first
        self._conversations = collections.OrderedDict()  # number -> deque, least recent first
        self._counters = dict.fromkeys(COUNTERS, 0)
        self.version = 0

    def _touch(self):
        self.version += 1
        self.changed.notify_all()

    def clear(self) -> None:
        """Forget every record and counter."""
        with self.changed:
            self._reset()
            self._touch()

    # -- writing ------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        """Keep ``session``, forgetting the oldest beyond ``history``."""
        with self.changed:
            self._sessions[session.id] = session
            while len(self._sessions) > self.history:
                self._sessions.popitem(last=False)
            self._counters["sessions"] += 1
            self._touch()

    def add_launch(self, record: LaunchRecord) -> None:
        """Record a Session API request."""
        with self.changed:
            self._launches.append(record)
            self._counters["launches"] += 1
            self._touch()

    def add_inbound(self, session: Session, text: str) -> None:
        """Record an SMS from ``session.caller`` to the app's ``session.app_number``."""
        with self.changed:
            self._counters["inbound"] += 1
            self._message(
                session.caller,
                "inbound",
                text,
                session.created_at,
                session.id,
                app_number=session.app_number,
            )

    def add_delivery(self, delivery: Delivery) -> None:
        """Record an SMS the app sent."""
        with self.changed:
            self._deliveries.append(delivery)
            self._counters["deliveries"] += 1
            self._message(
                delivery.to,
                "outbound",
                delivery.text,
                delivery.delivered_at,
                delivery.session_id,
                app_number=delivery.from_,
            )

    def add_call(self, session: Session, call: PhoneCall) -> None:
        """Record a voice call the app placed; it is ``session``'s call in progress."""
        with self.changed:
            self._calls[call.id] = call
            while len(self._calls) > self.history:
                self._calls.popitem(last=False)
            session.voice_call = call.id
            self._counters["calls"] += 1
            self._message(call.to, "outbound", "", call.started_at, call.session_id, call.id)

    def speak(self, session: Session, text: str) -> None:
        """Record ``text`` said on ``session``'s call in progress."""
        with self.changed:
            call = self._calls.get(session.voice_call or "")
            if call is not None:
                self._calls[call.id] = replace(call, spoken=(*call.spoken, text))
                self._touch()

    def hang_up(self, session: Session) -> None:
        """End ``session``'s call in progress, if it has one."""
        with self.changed:
            self._hang_up(session)

    def _hang_up(self, session):
        call = self._calls.get(session.voice_call or "")
        session.voice_call = None
        if call is not None:
            self._calls[call.id] = replace(call, ended=True)
            self._touch()

    def _message(self, number, direction, text, at, session_id, call_id=None, app_number=None):
        entry = {
            "number": number,
            "app_number": app_number,
            "direction": direction,
            "kind": "sms" if call_id is None else "call",
            "text": text,
            "at": at,
            "session_id": session_id,
        }
        if call_id is not None:
            entry["call_id"] = call_id
        self._conversations.setdefault(number, collections.deque()).append(entry)
        self._conversations.move_to_end(number)
        self._messages.append(number)
        if len(self._messages) > self.history:
            oldest = self._messages.popleft()
            self._conversations[oldest].popleft()
            if not self._conversations[oldest]:
                del self._conversations[oldest]
        self._touch()

    def count(self, name: str) -> None:
        """Add one to the counter ``name`` ("callbacks" or "results")."""
        with self.changed:
            self._counters[name] += 1
            self._touch()

    def log(self, session: Session, text: str) -> None:
        """Append a debugger line to ``session``."""
        with self.changed:
            session.lines.append((time.time(), text))
            self._touch()

    def fail(self, session: Session, error: str) -> None:
        """Keep ``error`` as the session's failure, unless it already has one."""
        with self.changed:
            session.error = session.error or error
            self._touch()

    def end(self, session: Session) -> None:
        """Mark ``session`` ended, its call in progress hung up."""
        with self.changed:
            self._hang_up(session)
            session.ended = True
            self._touch()

    # -- reading ------------------------------------------------------------------

    @property
    def deliveries(self) -> list:
        with self._lock:
            return list(self._deliveries)

    @property
    def launches(self) -> list:
        with self._lock:
            return list(self._launches)

    @property
    def calls(self) -> list:
        with self._lock:
            return list(self._calls.values())

    def counter(self, name: str) -> int:
        """The total of ``name`` since the last reset."""
        with self._lock:
            return self._counters[name]

    def debugger_log(self, session_id: str) -> list:
        """The session's lines as ``"<timestamp> <text>"`` (the id may keep its newline)."""
        with self._lock:
            session = self._sessions.get(session_id.strip())
            lines = list(session.lines) if session else []
        return [f"{utc_timestamp(when)} {text}" for when, text in lines]

    def wait_for_deliveries(self, count: int, timeout: float) -> list:
        """Block until ``count`` SMS were delivered in all; return the kept deliveries."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self._counters["deliveries"] < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [f"{d.to}: {d.text!r}" for d in self._deliveries]
                    raise WaitTimeout(
                        f"expected at least {count} deliveries within {timeout}s, "
                        f"got {self._counters['deliveries']}: {seen}"
                    )
                self.changed.wait(remaining)
            return list(self._deliveries)

    def wait_for_calls(self, count: int, timeout: float) -> list:
        """Block until ``count`` voice calls were placed in all and every kept call has
        hung up (its texts spoken); return the kept calls."""
        with self.changed:
            done = self.changed.wait_for(
                lambda: (
                    self._counters["calls"] >= count
                    and all(call.ended for call in self._calls.values())
                ),
                timeout,
            )
            if not done:
                seen = [
                    f"{c.to}: {list(c.spoken)}{'' if c.ended else ' (in progress)'}"
                    for c in self._calls.values()
                ]
                raise WaitTimeout(
                    f"expected at least {count} ended calls within {timeout}s, "
                    f"got {self._counters['calls']}: {seen}"
                )
            return list(self._calls.values())

    def wait_for_session(self, session_id: str, timeout: float) -> list:
        """Block until the session has ended; return its debugger log."""
        with self.changed:
            session = self._sessions.get(session_id.strip())
            if session is None:
                raise KeyError(f"no session {session_id.strip()!r}")
            if not self.changed.wait_for(lambda: session.ended, timeout):
                raise WaitTimeout(f"session {session.id} still running after {timeout}s")
        return self.debugger_log(session_id)

    def snapshot(self, limit: int, offset: int = 0, conversation_offset: int = 0) -> dict:
        """Counters and the newest records, ``offset`` newest sessions (and
        ``conversation_offset`` most recent conversations) skipped; at most ``limit``
        sessions, deliveries, calls, conversations and messages per conversation.

        Every conversation entry carries ``app_number``: the application's number an
        SMS went to or came from (a call's is None). A conversation's call entry
        (``kind`` "call") carries the call's ``from``,
        ``network``, ``spoken`` texts and ``ended``; an SMS entry has ``kind`` "sms"."""
        with self._lock:
            sessions = list(
                itertools.islice(reversed(self._sessions.values()), offset, offset + limit)
            )
            return {
                "version": self.version,
                "history": self.history,
                "counters": dict(self._counters),
                "kept": {
                    "sessions": len(self._sessions),
                    "conversations": len(self._conversations),
                },
                "conversations": self._recent_conversations(limit, conversation_offset),
                "deliveries": [d.as_json() for d in list(self._deliveries)[-limit:]],
                "calls": [c.as_json() for c in list(self._calls.values())[-limit:]],
                "sessions": [_session_json(s) for s in reversed(sessions)],
            }

    def _recent_conversations(self, limit, offset):
        """The most recently active conversations, each with its newest messages."""
        numbers = itertools.islice(reversed(self._conversations), offset, offset + limit)
        return {
            number: [
                self._entry_json(entry)
                for entry in itertools.islice(reversed(self._conversations[number]), limit)
            ][::-1]
            for number in numbers
        }

    def _entry_json(self, entry):
        """A conversation entry; a call's with what was spoken on it so far."""
        call = self._calls.get(entry.get("call_id", ""))
        if call is None:
            return dict(entry)
        return {
            **entry,
            "from": call.from_,
            "network": call.network,
            "spoken": list(call.spoken),
            "ended": call.ended,
        }


def _session_json(session):
    return {
        "id": session.id,
        "kind": session.kind,
        "caller": session.caller,
        "created_at": session.created_at,
        "ended": session.ended,
        "error": session.error,
        "log": [f"{utc_timestamp(when)} {text}" for when, text in session.lines],
    }
