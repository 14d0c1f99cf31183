"""Reading an app's TropoML answer into the verbs Tropo would run and its event handlers.

Only what an SMS session uses is interpreted:

- ``message``: one SMS to the first ``to`` only; a list of ``say`` values is joined with
  spaces into that one SMS;
- ``call``: with network ``SMS`` (or channel ``TEXT``) it starts a text conversation
  with its first ``to``; the ``say`` verbs after it are texted to that number. With
  network ``PSTN`` or ``SIP``, or neither network nor channel (Tropo's default channel
  is ``VOICE``), it places a voice call to its first ``to``: the ``say`` verbs after it
  are spoken on that call (network ``PSTN``, or ``SIP`` for a ``sip:`` address);
- ``say``: each ``say`` object is one SMS to the other end of the conversation (the
  sender of an inbound SMS, or the number of the last ``call``), or is spoken on the
  voice call in progress;
- ``hangup``: ends the session; later verbs are not run;
- ``on``: an event handler of this document (``event``, optional ``next`` and ``say``).

A verb that cannot be read (a ``message`` without ``to``) becomes ``Invalid`` (Tropo's
``error`` event); any other verb becomes ``Skipped`` so that the engine can log it.
"""

import codecs
import json
from dataclasses import dataclass, field

EVENTS = ("continue", "incomplete", "error", "hangup")


class TropoMLError(ValueError):
    """The answer is not a TropoML document."""


@dataclass(frozen=True)
class Message:
    """Send ``text`` to ``to`` (the first recipient only) from ``from_`` (None: app number)."""

    to: str
    from_: str | None
    text: str
    network: str
    name: str | None = None


@dataclass(frozen=True)
class Call:
    """Start a conversation with ``to`` from ``from_`` (None: the default): a text
    conversation on network ``SMS``, a voice call on ``PSTN`` or ``SIP``."""

    to: str
    from_: str | None
    name: str | None = None
    network: str = "SMS"

    @property
    def voice(self) -> bool:
        """Whether this call is a voice call (its ``say`` verbs are spoken)."""
        return self.network != "SMS"


@dataclass(frozen=True)
class Say:
    """Text the other end of the conversation."""

    text: str
    name: str | None = None


@dataclass(frozen=True)
class Hangup:
    """End the session."""


@dataclass(frozen=True)
class Skipped:
    """A verb that was not run, and why."""

    verb: str
    reason: str


@dataclass(frozen=True)
class Invalid:
    """A verb that cannot be read: Tropo fires the ``error`` event."""

    verb: str
    reason: str


@dataclass(frozen=True)
class On:
    """An event handler: where to POST the result (``next``) and what to text first."""

    event: str
    next: str | None
    says: tuple = ()


@dataclass(frozen=True)
class Document:
    """A parsed answer: its verbs in order and its handlers by event name."""

    verbs: list = field(default_factory=list)
    handlers: dict = field(default_factory=dict)


def parse_document(raw: bytes, content_type: str | None = None) -> Document:
    """Parse an answer body in the charset its ``Content-Type`` declares (default UTF-8).

    Raise TropoMLError if it is not a TropoML document.
    """
    codec = charset(content_type)
    try:
        document = json.loads(raw.decode(codec))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TropoMLError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("tropo"), list):
        raise TropoMLError('expected an object with a "tropo" list')
    parsed = Document()
    for item in document["tropo"]:
        if not isinstance(item, dict):
            parsed.verbs.append(Invalid(repr(item), "verb entry is not an object"))
            continue
        for verb, body in item.items():
            if verb == "on":
                _add_handler(parsed, body)
            else:
                parsed.verbs.extend(_verbs(verb, body))
    return parsed


def charset(content_type: str | None) -> str:
    """The codec an answer declares in its ``Content-Type`` (default UTF-8)."""
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip('"')
            try:
                return codecs.lookup(name).name
            except LookupError as exc:
                raise TropoMLError(f"unknown charset {name!r}") from exc
    return "utf-8"


def _add_handler(document, body):
    if not isinstance(body, dict) or body.get("event") not in EVENTS:
        document.verbs.append(Invalid("on", f"on needs an event, one of {', '.join(EVENTS)}"))
        return
    says = body.get("say")
    says = [] if says is None else says if isinstance(says, list) else [says]
    texts = [_say_text(say) for say in says]
    if None in texts:
        document.verbs.append(Invalid("on", "on's say needs a value"))
        return
    target = body.get("next")
    document.handlers[body["event"]] = On(
        body["event"], str(target) if target else None, tuple(texts)
    )


def _verbs(verb, body):
    if verb == "hangup":
        return [Hangup()]
    if verb == "message":
        return [_message(body)]
    if verb == "call":
        return [_call(body)]
    if verb == "say":
        says = body if isinstance(body, list) else [body]
        texts = [_say_text(say) for say in says]
        if None in texts:
            return [Invalid("say", "say needs a value")]
        return [Say(text, _name(say)) for text, say in zip(texts, says, strict=True)]
    return [Skipped(verb, "verb not supported by the emulator")]


def _message(body):
    if not isinstance(body, dict):
        return Invalid("message", "message must be an object")
    to = _first(body.get("to"))
    if to is None:
        return Invalid("message", "message needs a 'to'")
    says = body.get("say")
    says = says if isinstance(says, list) else [says]
    texts = [_say_text(say) for say in says]
    if not texts or None in texts:
        return Invalid("message", "message needs a 'say' with a value")
    return Message(
        to=to,
        from_=_optional(body.get("from")),
        text=" ".join(texts),
        network=str(body.get("network") or "SMS"),
        name=_name(body),
    )


def _call(body):
    if not isinstance(body, dict):
        return Invalid("call", "call must be an object")
    to = _first(body.get("to"))
    if to is None:
        return Invalid("call", "call needs a 'to'")
    network = str(body.get("network") or "").upper()
    channel = str(body.get("channel") or "").upper()
    if network == "SMS" or channel == "TEXT":
        network = "SMS"
    elif network in ("", "PSTN", "SIP") and channel in ("", "VOICE"):
        network = network or ("SIP" if to[:4].lower() == "sip:" else "PSTN")
    else:
        shown = " ".join(
            f"{key} {value}"
            for key, value in zip(("network", "channel"), (network, channel), strict=True)
            if value
        )
        return Skipped("call", f"{shown} is not supported by the emulator")
    return Call(to=to, from_=_optional(body.get("from")), name=_name(body), network=network)


def _first(to):
    if isinstance(to, list):
        to = to[0] if to else None
    if to is None or str(to).strip() == "":
        return None
    return str(to)


def _optional(value):
    return None if value is None else str(value)


def _name(body):
    name = body.get("name") if isinstance(body, dict) else None
    return None if name is None else str(name)


def _say_text(say):
    if isinstance(say, dict):
        say = say.get("value")
    if isinstance(say, str | int | float) and not isinstance(say, bool):
        return str(say)
    return None
