"""POSTing session and result objects to the app, and saying in words why that failed.

Tropo could only call an ASCII ``http://`` or ``https://`` URL. Every reason given
here names the offending character or the network error, never the URL itself, so
that a messaging URL's secret cannot reach a log line through it.
"""

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from .redaction import redact_query_values, redact_url

SCHEMES = ("http", "https")


@dataclass(frozen=True)
class AppAnswer:
    """The app's answer: ``status`` and ``body`` (None and ``failure`` when the app
    was not reached)."""

    status: int | None
    body: bytes = b""
    content_type: str | None = None
    failure: str | None = None


def url_problem(url: str) -> str | None:
    """Why the emulator cannot POST to ``url``, as a phrase that follows the URL
    ("is not an http:// or https:// URL"); None when it can."""
    for position, char in enumerate(url):
        if not char.isascii():
            return (
                f"has the non-ASCII character {char!r} at position {position}: Tropo called "
                "ASCII URLs only (replace a placeholder such as '…' with the real value, "
                "percent-encode any other character)"
            )
        if char.isspace() or not char.isprintable():
            return f"has a space or control character at position {position}"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return f"is not readable ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    return None


def checked_app_url(url: str) -> str:
    """``url`` if the emulator can send to it; else ``ValueError`` saying why, with
    the URL's query values shortened."""
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(f"app URL {redact_url(url)} {problem}")
    return url


def failure_reason(exc: BaseException, timeout: float) -> str:
    """A failed POST's cause in words: the network error, a timeout, an answer that
    could not be read; never the URL."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g}s (timed out)"
    if isinstance(exc, urllib.error.URLError):
        return redact_query_values(str(exc.reason))
    if isinstance(exc, http.client.HTTPException | OSError):
        return f"{type(exc).__name__}: {redact_query_values(str(exc)) or 'no detail'}"
    return f"the request could not be sent ({type(exc).__name__})"


class AppClient:
    """Posts JSON to the app without proxies, waiting at most ``timeout`` seconds."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def post(self, url: str, payload: dict) -> AppAnswer:
        """POST ``payload`` to ``url``; any failure to reach the app or read its answer
        comes back as an ``AppAnswer`` with ``failure`` set, never as an exception."""
        problem = url_problem(url)
        if problem is not None:
            return AppAnswer(None, failure=f"the URL {problem}")
        request = urllib.request.Request(  # noqa: S310 - url_problem allowed http(s) only
            url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return AppAnswer(
                    response.status, response.read(), response.headers.get("Content-Type")
                )
        except urllib.error.HTTPError as exc:
            exc.close()
            return AppAnswer(exc.code)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return AppAnswer(None, failure=failure_reason(exc, self.timeout))
