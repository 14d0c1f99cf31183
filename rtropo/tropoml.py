"""Build TropoML answers."""

from __future__ import annotations

import json
import logging

from django.http import HttpResponse

from rtropo.outbox.references import ResultRequest, verb_name

logger = logging.getLogger(__name__)

#: The events whose result an answer asks for: every way its verbs can end.
RESULT_EVENTS = ("continue", "incomplete", "error", "hangup")


def message_verb(to: str, text: str, from_: str, name: str | None = None) -> dict:
    """A ``message`` verb that sends ``text`` to one number; ``name`` labels it in results."""
    verb = {"say": {"value": text}, "to": to, "from": from_, "network": "SMS", "channel": "TEXT"}
    if name is not None:
        verb["name"] = name
    return {"message": verb}


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
    """An HTTP response carrying ``{"tropo": verbs}``, ending with a hangup; with
    ``result_url``, ending instead with ``on`` handlers that POST the verbs' result there."""
    if result_url is None:
        ending: list[dict] = [{"hangup": {}}]
    else:
        ending = [{"on": {"event": event, "next": result_url}} for event in RESULT_EVENTS]
    body = json.dumps({"tropo": [*verbs, *ending]}, ensure_ascii=False).encode("utf-8")
    return Answer(body, content_type="application/json; charset=utf-8", status=status)


def program_answer(program: dict, result: ResultRequest | None) -> Answer:
    """The answer that runs a Tropo ``program`` as given, asking for its result when
    ``result`` is set."""
    return answer(program["tropo"], result_url=None if result is None else result.url)


def message_answer(rows, result: ResultRequest | None) -> Answer:
    """The answer that sends the messages ``rows``, each from its pool number, naming each
    verb and asking for their result when ``result`` is set."""
    if result is None or not rows:
        return answer([message_verb(row.to_number, row.text, row.from_number) for row in rows])
    verbs = [
        message_verb(row.to_number, row.text, row.from_number, verb_name(row.pk)) for row in rows
    ]
    return answer(verbs, result_url=result.url)
