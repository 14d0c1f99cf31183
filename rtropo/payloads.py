"""Parse the JSON Tropo POSTs (an inbound SMS, a launch's callback, a result) into objects."""

from __future__ import annotations

import dataclasses
import json
import typing

from rtropo.exceptions import InvalidPayload
from rtropo.outbox.references import REFERENCE_PARAMETER
from rtropo.phones import plain_number

MAX_TEXT_LENGTH = 10_000
# The columns of session and account ids: a longer id is refused here, not by the database.
MAX_ID_LENGTH = 64
_MAX_ERROR_LENGTH = 1_000


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


@dataclasses.dataclass(frozen=True)
class ActionResult:
    """How one verb of an answer ended, as a result reports it (each field may be absent)."""

    name: str | None
    disposition: str | None


@dataclasses.dataclass(frozen=True)
class TropoResult:
    """The result Tropo POSTs to an ``on`` handler's ``next`` URL, of the answer's named verbs."""

    session_id: str
    complete: bool
    error: str | None
    actions: tuple[ActionResult, ...]


def parse_session(body: bytes) -> InboundSMS | LaunchCallback | TropoResult:
    """Parse a session or result object as Tropo POSTs it; raise InvalidPayload saying why not."""
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidPayload("body is not UTF-8") from None
    except RecursionError:
        raise InvalidPayload("body is nested too deeply") from None
    except ValueError:
        raise InvalidPayload("body is not JSON") from None
    if isinstance(document, dict) and "result" in document and "session" not in document:
        return _result(document["result"])
    session = document.get("session") if isinstance(document, dict) else None
    if not isinstance(session, dict):
        raise InvalidPayload("body has no 'session' or 'result' object")
    session_id = _string(session, "session.id", required=True, max_length=MAX_ID_LENGTH)
    if session.get("parameters") is not None:
        return _callback(session["parameters"], session_id)
    return _inbound(session, session_id)


def _callback(parameters: object, session_id: str) -> LaunchCallback:
    if not isinstance(parameters, dict):
        raise InvalidPayload("session.parameters is not an object")
    return LaunchCallback(
        session_id=session_id,
        token=_string(parameters, "session.parameters.token", required=True),
        reference=_string(parameters, f"session.parameters.{REFERENCE_PARAMETER}"),
    )


def _result(result: object) -> TropoResult:
    if not isinstance(result, dict):
        raise InvalidPayload("result is not an object")
    session_id = _string(result, "result.sessionId", required=True, max_length=MAX_ID_LENGTH)
    complete = result.get("complete", True)
    if not isinstance(complete, bool):
        raise InvalidPayload("result.complete is not true or false")
    error = _string(result, "result.error")
    return TropoResult(
        session_id=session_id,
        complete=complete,
        error=error[:_MAX_ERROR_LENGTH] if error else None,
        actions=_actions(result.get("actions")),
    )


def _actions(actions: object) -> tuple[ActionResult, ...]:
    """``actions`` is absent, one object (one named verb) or a list of them."""
    if actions is None:
        return ()
    listed = [actions] if isinstance(actions, dict) else actions
    if not isinstance(listed, list) or not all(isinstance(a, dict) for a in listed):
        raise InvalidPayload("result.actions is not an object or a list of objects")
    return tuple(
        ActionResult(_string(a, "result.actions.name"), _string(a, "result.actions.disposition"))
        for a in listed
    )


def _inbound(session: dict, session_id: str) -> InboundSMS:
    if session.get("initialText") is None:
        raise InvalidPayload("session.initialText is null: a session without text is no SMS")
    return InboundSMS(
        session_id=session_id,
        text=_string(session, "session.initialText", max_length=MAX_TEXT_LENGTH),
        from_number=typing.cast(str, _number(session, "from", required=True)),
        to_number=_number(session, "to"),
        account_id=_string(session, "session.accountId", max_length=MAX_ID_LENGTH),
    )


def _number(session: dict, key: str, *, required: bool = False) -> str | None:
    party = session.get(key)
    if party is None and not required:
        return None
    if not isinstance(party, dict):
        raise InvalidPayload(f"session.{key} is not an object")
    raw = party.get("e164Id") or party.get("id")
    number = plain_number(raw) if isinstance(raw, str) else None
    if number is None:
        raise InvalidPayload(f"session.{key} has no valid phone number")
    return number


def _string(mapping: dict, field: str, *, required: bool = False, max_length: int | None = None):
    """``field`` (its path, ending with its key in ``mapping``): a string fit to store and log,
    not empty if ``required``; None if absent and optional; else raise InvalidPayload."""
    value = mapping.get(field.rpartition(".")[2])
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidPayload(f"{field} is missing or not a string")
    if "\x00" in value:
        raise InvalidPayload(f"{field} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # JSON allows lone surrogates; UTF-8 does not.
        raise InvalidPayload(f"{field} is not valid Unicode (a lone surrogate)") from None
    if max_length is not None and len(value) > max_length:
        raise InvalidPayload(f"{field} is too long (over {max_length} characters)")
    return value
