"""Tropo's ``on`` events: which handler a document's outcome fires, and the result object.

The rules of Tropo's ``on`` reference page: ``continue`` fires when the document's verbs
ran, ``incomplete`` when a verb did not succeed, ``error`` when something went wrong on
Tropo's side, ``hangup`` when the session ends. An event without a handler fires
``continue`` instead (the catch-all); a handler without ``next`` has its ``say`` texted
and then fires ``continue``. If no ``continue`` handler with a ``next`` exists, the
session is hung up and ``hangup`` fires. Events belong to the document that declared them.
"""

import urllib.parse
from dataclasses import dataclass

from .tropoml import On

DISCONNECTED = "DISCONNECTED"
ANSWERED = "ANSWERED"


@dataclass(frozen=True)
class Route:
    """Where an outcome leads: texts to send first, then a result POST or a hangup.

    ``event`` is the event whose handler has ``next`` (None: the session hangs up);
    ``hangup_next`` is the ``hangup`` handler's URL when the session hangs up.
    """

    says: tuple
    event: str | None
    next: str | None
    hangup_next: str | None


@dataclass(frozen=True)
class ActionReport:
    """How one named verb ended: ``disposition`` is SUCCESS or FAILED."""

    name: str
    disposition: str

    def as_json(self) -> dict:
        return {"name": self.name, "attempts": 1, "disposition": self.disposition}


def route(handlers: dict, event: str) -> Route:
    """The route of ``event`` ("continue", "incomplete", "error" or "hangup")."""
    says: list[str] = []
    if event != "hangup":
        for name in dict.fromkeys((event, "continue")):
            handler: On | None = handlers.get(name)
            if handler is None:
                continue
            if handler.next:
                return Route(tuple(says), name, handler.next, None)
            says.extend(handler.says)
    hangup = handlers.get("hangup")
    return Route(tuple(says), None, None, hangup.next if hangup else None)


def resolve_next(app_url: str, target: str) -> str:
    """``next`` as an absolute URL: a relative one is resolved against the app's URL
    (so the query string is the one ``next`` carries, if any)."""
    return urllib.parse.urljoin(app_url, target)


def result_object(
    *,
    session_id: str,
    call_id: str | None,
    state: str,
    duration: float,
    sequence: int,
    event: str,
    error: str | None,
    actions: list,
) -> dict:
    """The ``{"result": {...}}`` object Tropo POSTed to a ``next`` URL.

    ``complete`` is false for the ``incomplete`` and ``error`` events; ``actions`` (the
    named verbs' reports) is one object for one report, a list for several, and absent
    when no verb was named.
    """
    result: dict[str, object] = {
        "sessionId": session_id,
        "callId": call_id,
        "state": state,
        "sessionDuration": int(duration),
        "sequence": sequence,
        "complete": event not in ("incomplete", "error"),
        "error": error if event == "error" else None,
    }
    reports = [report.as_json() for report in actions]
    if len(reports) == 1:
        result["actions"] = reports[0]
    elif reports:
        result["actions"] = reports
    return {"result": result}
