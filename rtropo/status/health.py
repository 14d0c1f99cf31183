"""What the view, the launches and the periodic command saw: one health row per backend.

Each hook notes an event; a process writes a backend's events at most once every
:data:`WRITE_EVERY` seconds (the first at once, later ones within that time), each write
in a transaction (or savepoint) of its own: one that fails is logged and the caller goes on.
"""

import atexit
import dataclasses
import logging
import os
import threading
import time
from datetime import datetime, timedelta

from django.db import Error, IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.exceptions import TropoAPIError
from rtropo.models import BackendHealth

logger = logging.getLogger(__name__)

#: Seconds between two writes of one backend's health by one process.
WRITE_EVERY = 60.0

#: How far back refused requests are counted.
REFUSALS_WINDOW = timedelta(minutes=10)

#: Longest reason stored (reasons are ours or Tropo's, never a secret).
REASON_LENGTH = 200


@dataclasses.dataclass
class _Pending:
    """Events of one backend noted since its last write."""

    fields: dict = dataclasses.field(default_factory=dict)
    refused: int = 0
    first_refused_at: datetime | None = None


class _Recorder:
    """The per-process throttle: pending events, last writes and flush timers, by backend."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, _Pending] = {}
        self.written: dict[str, float] = {}
        self.timers: dict[str, threading.Timer] = {}

    def note(self, name: str, fields: dict, *, refused: bool = False, now: bool = False):
        with self.lock:
            pending = self.pending.setdefault(name, _Pending())
            pending.fields.update(fields)
            if refused:
                pending.refused += 1
                pending.first_refused_at = pending.first_refused_at or timezone.now()
            wait = WRITE_EVERY - (time.monotonic() - self.written.get(name, -WRITE_EVERY))
            if not now and wait > 0 and self._schedule(name, wait):
                return
            pending = self._take(name)
        _write(name, pending)

    def flush(self, name: str) -> None:
        """Write the events of backend ``name`` kept back, if any (the timer's work)."""
        with self.lock:
            self.timers.pop(name, None)
            pending = self._take(name) if name in self.pending else None
        if pending is not None:
            _write(name, pending)

    def flush_all(self) -> None:
        """Write every backend's events kept back (at exit)."""
        for name in list(self.pending):
            self.flush(name)

    def forget(self):
        with self.lock:
            for timer in self.timers.values():
                timer.cancel()
            self.pending.clear()
            self.written.clear()
            self.timers.clear()

    def _take(self, name: str) -> _Pending:
        self.written[name] = time.monotonic()
        return self.pending.pop(name)

    def _schedule(self, name: str, wait: float) -> bool:
        """Have the events of ``name`` written in ``wait`` seconds; False when no timer can
        start (at interpreter exit)."""
        if name in self.timers:
            return True
        timer = threading.Timer(wait, _flush_in_thread, args=(self, name))
        timer.daemon = True
        try:
            timer.start()
        except RuntimeError:
            return False
        self.timers[name] = timer
        return True


def _flush_in_thread(recorder: _Recorder, name: str) -> None:
    """The timer thread's flush, on a connection of its own, closed after."""
    try:
        recorder.flush(name)
    except Exception:
        logger.exception("Could not record the health of Tropo backend %s", name)
    finally:
        connection.close()


_recorder = _Recorder()
# A forked child starts the one recorder afresh, in place: whoever holds it keeps it.
os.register_at_fork(after_in_child=lambda: _recorder.__init__())  # type: ignore[misc]
atexit.register(lambda: _recorder.flush_all())


def forget() -> None:
    """Drop this process's pending events, write times and timers."""
    _recorder.forget()


def flush(config: BackendConfig) -> None:
    """Write the events of ``config``'s backend kept back by this process, now."""
    _recorder.flush(config.name)


def callback_answered(config: BackendConfig) -> None:
    """A callback of a session we launched came with the right token."""
    _recorder.note(config.name, {"last_callback_at": timezone.now()})


def inbound_received(config: BackendConfig) -> None:
    """An inbound SMS passed the secret and was parsed."""
    _recorder.note(config.name, {"last_inbound_at": timezone.now()})


def request_refused(config: BackendConfig, reason: str) -> None:
    """The view refused a request of Tropo's (secret, token or result reference)."""
    fields = {
        "last_refused_request_at": timezone.now(),
        "last_refused_request_reason": reason[:REASON_LENGTH],
    }
    _recorder.note(config.name, fields, refused=True)


def launch_succeeded(config: BackendConfig) -> None:
    """Tropo accepted a launch: a refusal before it is no longer current."""
    _recorder.note(config.name, {"last_launch_at": timezone.now()})


def launch_failed(config: BackendConfig, error: TropoAPIError) -> None:
    """A launch failed; noted when Tropo answered it with a refusal (not a 5xx or no answer)."""
    if error.response is None or error.response.status_code >= 500:
        return
    fields = {"last_refusal_at": timezone.now(), "last_refusal_reason": str(error)[:REASON_LENGTH]}
    _recorder.note(config.name, fields)


def command_ran(config: BackendConfig) -> None:
    """The periodic command ran for this backend: written now, with any pending events."""
    _recorder.note(config.name, {"last_run_at": timezone.now()}, now=True)


def read(name: str) -> BackendHealth:
    """The stored health of backend ``name`` (an unsaved blank one when none is stored)."""
    stored = BackendHealth.objects.filter(backend_name=name).first()
    return stored or BackendHealth(backend_name=name)


def launch_refusal_current(health: BackendHealth) -> bool:
    """Whether Tropo refused this backend's last launch (no launch succeeded since)."""
    if health.last_refusal_at is None:
        return False
    return health.last_launch_at is None or health.last_launch_at < health.last_refusal_at


def _write(name: str, pending: _Pending) -> None:
    try:
        with transaction.atomic():
            if not BackendHealth.objects.filter(backend_name=name).update(**_changes(pending)):
                _create(name, pending)
    except Error:
        logger.warning("Could not record the health of Tropo backend %s", name, exc_info=True)


def _create(name: str, pending: _Pending) -> None:
    """Insert the first row of this backend, or update the one a concurrent write inserted."""
    counts = {}
    if pending.refused:
        counts = {"refused_requests": pending.refused, "refused_since": pending.first_refused_at}
    try:
        with transaction.atomic():
            BackendHealth.objects.create(backend_name=name, **pending.fields, **counts)
    except IntegrityError:
        BackendHealth.objects.filter(backend_name=name).update(**_changes(pending))


def _changes(pending: _Pending) -> dict:
    """The changes to a stored row: the fields, and refusals added to a window still open."""
    changes = dict(pending.fields)
    if pending.refused:
        since = pending.first_refused_at
        assert since is not None  # set with the first refusal
        open_window = Q(refused_since__gt=since - REFUSALS_WINDOW)
        changes["refused_requests"] = Case(
            When(open_window, then=F("refused_requests") + pending.refused),
            default=Value(pending.refused),
        )
        changes["refused_since"] = Case(
            When(open_window, then=F("refused_since")), default=Value(since)
        )
    return changes
