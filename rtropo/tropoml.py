"""Build TropoML answers."""

from __future__ import annotations

import json
import logging

from django.http import HttpResponse

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/json; charset=utf-8"


def message_verb(to: str, text: str, from_: str) -> dict:
    """A ``message`` verb that sends ``text`` to one number."""
    return {
        "message": {
            "say": {"value": text},
            "to": to,
            "from": from_,
            "network": "SMS",
            "channel": "TEXT",
        }
    }


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


def answer(verbs: list[dict], status: int = 200) -> Answer:
    """An HTTP response carrying ``{"tropo": verbs}``, ending with a hangup."""
    document = {"tropo": [*verbs, hangup_verb()]}
    return Answer(
        json.dumps(document, ensure_ascii=False).encode("utf-8"),
        content_type=CONTENT_TYPE,
        status=status,
    )
