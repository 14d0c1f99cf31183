"""The fresh, unguessable references that tie Tropo's requests to what we sent: a
launch's, carried back by its callback, and an answer's, carried back by its result post
(stored only as its digest; a launch's never leaves the Session API call and its callback).
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from urllib.parse import urlencode

from django.utils.encoding import escape_uri_path

#: The Session API parameter that Tropo hands back in the callback's ``parameters``.
REFERENCE_PARAMETER = "rtropo_ref"
#: The query parameter of the ``next`` URL that carries the answer's reference.
RESULT_PARAMETER = "rtropo_result"
_VERB_PREFIX = "rtropo-"
_MAX_ID_DIGITS = 19


def new_reference() -> str:
    """A fresh, unguessable reference for one launch or one answer."""
    return secrets.token_urlsafe(32)


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
        """A new result request, with a fresh reference, for one answer."""
        # Tropo resolves the relative URL against the messaging URL, replacing its
        # query string: the secret is repeated.
        reference = new_reference()
        query = {"secret": self.secret} if self.secret else {}
        query[RESULT_PARAMETER] = reference
        return ResultRequest(reference, f"{escape_uri_path(self.path)}?{urlencode(query)}")


def verb_name(row_id: int) -> str:
    """The ``name`` of the ``message`` verb that carries row ``row_id``."""
    return f"{_VERB_PREFIX}{row_id}"


def row_of_verb(name: str | None) -> int | None:
    """The row id a ``message`` verb named by :func:`verb_name` carries; None for other names."""
    if not name or not name.startswith(_VERB_PREFIX):
        return None
    number = name[len(_VERB_PREFIX) :]
    valid = number.isascii() and number.isdigit() and len(number) <= _MAX_ID_DIGITS
    return int(number) if valid else None
