"""Reading an app's TropoML answer into the actions Tropo would take.

Only what an SMS session uses is interpreted: ``message`` (one SMS to the first
``to`` only; a list of ``say`` values is joined with spaces into that one SMS),
top-level ``say`` (each ``say`` object is one SMS to the caller, if there is one)
and ``hangup`` (ends the session; later verbs are not run). Any other verb becomes
a ``Skipped`` action so that the engine can log it.
"""

import json
from dataclasses import dataclass


class TropoMLError(ValueError):
    """The answer is not a TropoML document."""


@dataclass(frozen=True)
class Message:
    """Send ``text`` to ``to`` (the first recipient only) from ``from_`` (None: app number)."""

    to: str
    from_: str | None
    text: str
    network: str


@dataclass(frozen=True)
class Say:
    """Text the caller of the session."""

    text: str


@dataclass(frozen=True)
class Hangup:
    """End the session."""


@dataclass(frozen=True)
class Skipped:
    """A verb that was not run, and why."""

    verb: str
    reason: str


def parse_document(raw):
    """Parse an answer body (bytes) into a list of actions; raise TropoMLError."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TropoMLError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("tropo"), list):
        raise TropoMLError('expected an object with a "tropo" list')
    actions = []
    for item in document["tropo"]:
        if not isinstance(item, dict):
            actions.append(Skipped(repr(item), "verb entry is not an object"))
            continue
        for verb, body in item.items():
            actions.extend(_action(verb, body))
    return actions


def _action(verb, body):
    if verb == "hangup":
        return [Hangup()]
    if verb == "message":
        return [_message(body)]
    if verb == "say":
        says = body if isinstance(body, list) else [body]
        texts = [_say_text(say) for say in says]
        if None in texts:
            return [Skipped("say", "say needs a value")]
        return [Say(text) for text in texts]
    return [Skipped(verb, "verb not supported by the emulator")]


def _message(body):
    if not isinstance(body, dict):
        return Skipped("message", "message must be an object")
    to = body.get("to")
    if isinstance(to, list):
        to = to[0] if to else None
    if to is None or str(to).strip() == "":
        return Skipped("message", "message needs a 'to'")
    says = body.get("say")
    says = says if isinstance(says, list) else [says]
    texts = [_say_text(say) for say in says]
    if not texts or None in texts:
        return Skipped("message", "message needs a 'say' with a value")
    sender = body.get("from")
    return Message(
        to=str(to),
        from_=None if sender is None else str(sender),
        text=" ".join(texts),
        network=str(body.get("network") or "SMS"),
    )


def _say_text(say):
    if isinstance(say, dict):
        say = say.get("value")
    if isinstance(say, str | int | float) and not isinstance(say, bool):
        return str(say)
    return None
