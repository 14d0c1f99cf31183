"""Build TropoML answers."""

from __future__ import annotations

import json

from django.http import HttpResponse

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


def answer(verbs: list[dict], status: int = 200) -> HttpResponse:
    """An HTTP response carrying ``{"tropo": verbs}``, ending with a hangup."""
    document = {"tropo": [*verbs, hangup_verb()]}
    return HttpResponse(
        json.dumps(document, ensure_ascii=False).encode("utf-8"),
        content_type=CONTENT_TYPE,
        status=status,
    )
