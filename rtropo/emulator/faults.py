"""Fault injection: one-shot queues and seeded random rates.

Launch faults (drawn once per accepted Session API launch):

- ``http_500``: HTTP 500, no session.
- ``success_false``: HTTP 200 with ``success`` false, reason "FAILED TO ROUTE TOKEN", no session.
- ``timeout``: the reply waits ``timeout_seconds`` then is an HTTP 504; no session.
- ``timeout_then_callback``: the session is created and called back at once, the reply
  (a success) waits ``timeout_seconds``: a client that gave up still gets the callback.

Callback faults (drawn once per launched session):

- ``no_callback``: the launch succeeds but the app is never called back.
- ``duplicate_callback``: the same session object is POSTed twice; both answers are executed.
- ``slow_callback``: the callback waits ``slow_callback_seconds`` first.

Result faults (drawn once per result object an ``on`` handler's ``next`` is to get):

- ``result_refused``: the result POST is refused (as a connection refused or reset): the
  app gets nothing and the session ends.
- ``result_http_500``: the result is POSTed, but the app's answer becomes an HTTP 500:
  the answer is not run and the session ends.
- ``session_died``: the session dies before its result is sent: no result, no answer.
- ``result_late``: the result is POSTed ``late_result_seconds`` late (Tropo's result
  followed its texting, which could run long behind a busy number).
"""

import random
import threading
from dataclasses import dataclass

LAUNCH_FAULTS = ("http_500", "success_false", "timeout", "timeout_then_callback")
CALLBACK_FAULTS = ("no_callback", "duplicate_callback", "slow_callback")
RESULT_FAULTS = ("result_refused", "result_http_500", "session_died", "result_late")
FAULT_KINDS = LAUNCH_FAULTS + CALLBACK_FAULTS + RESULT_FAULTS
_STAGES = {"launch": LAUNCH_FAULTS, "callback": CALLBACK_FAULTS, "result": RESULT_FAULTS}
_TIMED = {"timeout": "timeout_seconds", "timeout_then_callback": "timeout_seconds"}


@dataclass(frozen=True)
class Fault:
    """A drawn fault: its kind and, for timed kinds, how long it waits."""

    kind: str
    seconds: float = 0.0


class Faults:
    """Thread-safe fault settings shared by the session engine and the HTTP API."""

    def __init__(
        self,
        timeout_seconds: float = 5.0,
        slow_callback_seconds: float = 2.0,
        seed: int | None = None,
        late_result_seconds: float = 2.0,
    ):
        self._lock = threading.Lock()
        self._queued: list[tuple[str, float | None]] = []
        self._rates: dict[str, float] = {}
        self._rng = random.Random(seed)
        self.timeout_seconds = timeout_seconds
        self.slow_callback_seconds = slow_callback_seconds
        self.late_result_seconds = late_result_seconds

    def queue(self, kind: str, count: int = 1, seconds: float | None = None) -> None:
        """Make the next ``count`` launches (callbacks, results) of this stage fail with ``kind``.

        ``seconds`` overrides the wait of timed kinds for these occurrences only.
        """
        _check_kind(kind)
        with self._lock:
            self._queued.extend([(kind, seconds)] * count)

    def set_rates(self, rates: dict, seed: int | None = None) -> None:
        """Replace the random rates (``{"http_500": 0.1}``); ``seed`` reseeds the RNG."""
        for kind, rate in rates.items():
            _check_kind(kind)
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"rate for {kind!r} must be between 0 and 1, got {rate!r}")
        with self._lock:
            self._rates = {kind: float(rate) for kind, rate in rates.items() if float(rate) > 0}
            if seed is not None:
                self._rng.seed(seed)

    def clear(self) -> None:
        """Drop queued faults and rates."""
        with self._lock:
            self._queued.clear()
            self._rates = {}

    def configure(self, spec: dict) -> None:
        """Apply a JSON-style spec, as ``POST /emulator/api/faults`` takes it.

        Keys (all optional, applied in this order): ``clear`` (bool), ``timeout_seconds``,
        ``slow_callback_seconds``, ``late_result_seconds``, ``rates`` (dict) with ``seed``,
        ``queue`` (dict of kind to count, or list of ``{"kind", "count", "seconds"}``).
        """
        if not isinstance(spec, dict):
            raise ValueError("fault spec must be a JSON object")
        if spec.get("clear"):
            self.clear()
        for name in ("timeout_seconds", "slow_callback_seconds", "late_result_seconds"):
            if name in spec:
                setattr(self, name, float(spec[name]))
        if "rates" in spec:
            self.set_rates(spec["rates"], seed=spec.get("seed"))
        queued = spec.get("queue", {})
        if isinstance(queued, dict):
            queued = [{"kind": kind, "count": count} for kind, count in queued.items()]
        for item in queued:
            self.queue(item["kind"], int(item.get("count", 1)), item.get("seconds"))

    def snapshot(self) -> dict:
        """Current settings as a JSON-ready dict."""
        with self._lock:
            return {
                "queued": [kind for kind, _ in self._queued],
                "rates": dict(self._rates),
                "timeout_seconds": self.timeout_seconds,
                "slow_callback_seconds": self.slow_callback_seconds,
                "late_result_seconds": self.late_result_seconds,
            }

    def draw(self, stage: str) -> Fault | None:
        """The fault for the next event of ``stage`` ("launch", "callback", "result"), or None.

        A queued fault of that stage wins (first queued first); otherwise each kind of
        the stage with a rate is tried in a fixed order against the seeded RNG.
        """
        kinds = _STAGES[stage]
        with self._lock:
            for index, (kind, seconds) in enumerate(self._queued):
                if kind in kinds:
                    del self._queued[index]
                    return Fault(kind, self._seconds(kind, seconds))
            for kind in kinds:
                rate = self._rates.get(kind)
                if rate and self._rng.random() < rate:
                    return Fault(kind, self._seconds(kind, None))
        return None

    def _seconds(self, kind, override):
        if override is not None:
            return float(override)
        if kind in _TIMED:
            return float(self.timeout_seconds)
        if kind == "slow_callback":
            return float(self.slow_callback_seconds)
        if kind == "result_late":
            return float(self.late_result_seconds)
        return 0.0


def _check_kind(kind):
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
