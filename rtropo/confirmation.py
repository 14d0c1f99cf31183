"""Delivery confirmation: asking Tropo for the result of an answer, and reading it.

An answer that carries ``message`` verbs names each verb after its row and ends
with ``on`` handlers whose ``next`` is the messaging URL's path with the
request's secret (:class:`ResultAddress`) and a fresh reference
(:class:`ResultRequest`). Only the
reference's digest is stored, on the answered rows. Tropo POSTs its result
there; :func:`read_result` says what it reports for each row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from urllib.parse import urlencode

from django.utils.encoding import escape_uri_path

from rtropo.payloads import TropoResult

#: The query parameter of the ``next`` URL that carries the answer's reference.
RESULT_PARAMETER = "rtropo_result"
_VERB_PREFIX = "rtropo-"
_SUCCESS = "SUCCESS"
_MAX_ID_DIGITS = 19


def digest(reference: str) -> str:
    """The SHA-256 hex digest under which an answer's reference is stored."""
    return hashlib.sha256(reference.encode("utf-8", "surrogatepass")).hexdigest()


@dataclasses.dataclass(frozen=True)
class ResultRequest:
    """What one answer asks Tropo to send its result to: ``url``, holding a reference."""

    reference: str = dataclasses.field(repr=False)
    url: str = dataclasses.field(repr=False)

    @property
    def digest(self) -> str:
        """The digest stored with the rows this answer carries."""
        return digest(self.reference)


@dataclasses.dataclass(frozen=True)
class ResultAddress:
    """Where results for answers to one request go: its ``path`` and the ``secret`` it
    carried (empty when the backend has none); the secret stays out of its repr."""

    path: str
    secret: str = dataclasses.field(repr=False)

    def request_result(self) -> ResultRequest:
        """A new result request, with a fresh reference, for one answer.

        The URL is relative (Tropo resolves it against the messaging URL,
        replacing its query string), so it repeats the secret.
        """
        reference = secrets.token_urlsafe(32)
        query = {"secret": self.secret} if self.secret else {}
        query[RESULT_PARAMETER] = reference
        return ResultRequest(reference, f"{escape_uri_path(self.path)}?{urlencode(query)}")


def verb_name(row_id: int) -> str:
    """The ``name`` of the ``message`` verb that carries row ``row_id``."""
    return f"{_VERB_PREFIX}{row_id}"


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a result says of a row: ``delivered`` True, False (with ``error``) or None
    (the result says nothing of it: unconfirmed)."""

    delivered: bool | None
    error: str = ""


@dataclasses.dataclass(frozen=True)
class ResultReading:
    """A result read row by row: ``named`` verdicts by row id, ``others`` for the rest."""

    named: dict[int, Verdict]
    others: Verdict

    def verdict(self, row_id: int) -> Verdict:
        """The verdict on row ``row_id``."""
        return self.named.get(row_id, self.others)


def read_result(result: TropoResult) -> ResultReading:
    """What ``result`` says of each row of the answer.

    A result speaks for the rows whose verbs it names: ``SUCCESS`` confirms,
    any other disposition (``FAILED``, ``TIMEOUT``, …) fails with Tropo's words.
    A result that names none of our verbs speaks for all of them: complete and
    without an error it confirms them, with an error it fails them, incomplete
    it leaves them unconfirmed. Rows a result leaves out are unconfirmed.
    """
    named = {}
    for action in result.actions:
        row_id = _row_id(action.name)
        if row_id is not None:
            named[row_id] = _action_verdict(action.disposition, result.error)
    if named:
        return ResultReading(named, Verdict(None))
    if result.error:
        return ResultReading({}, Verdict(False, f"Tropo reported an error: {result.error}"))
    return ResultReading({}, Verdict(True if result.complete else None))


def _action_verdict(disposition: str | None, error: str | None) -> Verdict:
    if disposition == _SUCCESS:
        return Verdict(True)
    if disposition is None and not error:
        return Verdict(None)
    reason = f"Tropo reported {disposition or 'an error'}"
    return Verdict(False, f"{reason}: {error}" if error else reason)


def _row_id(name: str | None) -> int | None:
    if not name or not name.startswith(_VERB_PREFIX):
        return None
    number = name[len(_VERB_PREFIX) :]
    valid = number.isascii() and number.isdigit() and len(number) <= _MAX_ID_DIGITS
    return int(number) if valid else None
