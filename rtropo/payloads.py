"""Turn the session JSON that Tropo POSTs into small typed objects.

Anything that is neither an inbound SMS nor the callback of a launched session
raises :class:`~rtropo.exceptions.InvalidPayload` with a reason for the log.
"""

from __future__ import annotations

import dataclasses
import json

from rtropo.conf import normalise_number
from rtropo.exceptions import InvalidPayload
from rtropo.reference import REFERENCE_PARAMETER

MAX_TEXT_LENGTH = 10_000
_MAX_ID_LENGTH = 64


@dataclasses.dataclass(frozen=True)
class InboundSMS:
    """A text from a phone to the app; ``text`` may be empty (phones send empty SMS)."""

    session_id: str
    text: str
    from_number: str
    to_number: str | None
    account_id: str | None


@dataclasses.dataclass(frozen=True)
class LaunchCallback:
    """Tropo calling back for a session that someone launched with our URL."""

    session_id: str
    token: str = dataclasses.field(repr=False)
    reference: str | None


def parse_session(body: bytes) -> InboundSMS | LaunchCallback:
    """Parse a request body; raise InvalidPayload saying why it is not a session."""
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidPayload("body is not UTF-8") from None
    except RecursionError:
        raise InvalidPayload("body is nested too deeply") from None
    except ValueError:
        raise InvalidPayload("body is not JSON") from None
    session = document.get("session") if isinstance(document, dict) else None
    if not isinstance(session, dict):
        raise InvalidPayload("body has no 'session' object")
    session_id = _string(session, "id", required=True)
    if len(session_id) > _MAX_ID_LENGTH:
        raise InvalidPayload("session id is too long")
    if session.get("parameters") is not None:
        return _callback(session, session_id)
    return _inbound(session, session_id)


def _callback(session: dict, session_id: str) -> LaunchCallback:
    parameters = session["parameters"]
    if not isinstance(parameters, dict):
        raise InvalidPayload("session.parameters is not an object")
    return LaunchCallback(
        session_id=session_id,
        token=_string(parameters, "token", required=True, where="session.parameters"),
        reference=_string(parameters, REFERENCE_PARAMETER, where="session.parameters"),
    )


def _inbound(session: dict, session_id: str) -> InboundSMS:
    if session.get("initialText") is None:
        raise InvalidPayload("session.initialText is null: a session without text is no SMS")
    text = _string(session, "initialText", required=True, allow_empty=True)
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidPayload("session.initialText is too long")
    from_number = _number(session, "from", required=True)
    return InboundSMS(
        session_id=session_id,
        text=text,
        from_number=from_number,
        to_number=_number(session, "to"),
        account_id=_string(session, "accountId"),
    )


def _number(session: dict, key: str, *, required: bool = False) -> str | None:
    party = session.get(key)
    if party is None and not required:
        return None
    if not isinstance(party, dict):
        raise InvalidPayload(f"session.{key} is not an object")
    raw = party.get("e164Id") or party.get("id")
    number = normalise_number(raw) if isinstance(raw, str) else None
    if number is None:
        raise InvalidPayload(f"session.{key} has no valid phone number")
    return number


def _string(
    mapping: dict,
    key: str,
    *,
    required: bool = False,
    allow_empty: bool = False,
    where: str = "session",
):
    value = mapping.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value and not allow_empty):
        raise InvalidPayload(f"{where}.{key} is missing or not a string")
    if "\x00" in value:
        raise InvalidPayload(f"{where}.{key} contains a NUL character")
    if not _encodable(value):
        raise InvalidPayload(f"{where}.{key} is not valid Unicode (a lone surrogate)")
    return value


def _encodable(value: str) -> bool:
    """Whether ``value`` can be stored and logged as UTF-8 (JSON allows lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
