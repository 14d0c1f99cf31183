"""Build TropoML answers."""

from __future__ import annotations

import json
import logging

from django.http import HttpResponse

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json; charset=utf-8"
#: The events whose result an answer asks for: every way its verbs can end.
RESULT_EVENTS = ("continue", "incomplete", "error", "hangup")


def message_verb(to: str, text: str, from_: str, name: str | None = None) -> dict:
    """A ``message`` verb that sends ``text`` to one number; ``name`` labels it in results."""
    verb = {
        "say": {"value": text},
        "to": to,
        "from": from_,
        "network": "SMS",
        "channel": "TEXT",
    }
    if name is not None:
        verb["name"] = name
    return {"message": verb}


def on_verb(event: str, next_url: str) -> dict:
    """An ``on`` handler: when ``event`` fires, Tropo POSTs its result to ``next_url``."""
    return {"on": {"event": event, "next": next_url}}


def hangup_verb() -> dict:
    """The ``hangup`` verb, which ends the session."""
    return {"hangup": {}}


class Answer(HttpResponse):
    """A TropoML answer that can run work once the server has sent it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._after_sent = []

    def after_sent(self, func) -> None:
        """Call ``func()`` when the server closes the response, after sending it."""
        self._after_sent.append(func)

    def close(self):
        super().close()
        for func in self._after_sent:
            try:
                func()
            except Exception:
                logger.exception("Work after a TropoML answer failed")


def answer(verbs: list[dict], status: int = 200, *, result_url: str | None = None) -> Answer:
    """An HTTP response carrying ``{"tropo": verbs}``, ending with a hangup.

    With ``result_url`` the document ends instead with ``on`` handlers for
    every :data:`RESULT_EVENTS`, so that Tropo POSTs the verbs' result there
    (and the answer to that result hangs up).
    """
    if result_url is None:
        ending = [hangup_verb()]
    else:
        ending = [on_verb(event, result_url) for event in RESULT_EVENTS]
    document = {"tropo": [*verbs, *ending]}
    return Answer(
        json.dumps(document, ensure_ascii=False).encode("utf-8"),
        content_type=CONTENT_TYPE,
        status=status,
    )
