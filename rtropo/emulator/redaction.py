"""Shortening secrets for logs, the state API and the page.

Tokens, launch parameters (an app's references) and query-string values of URLs (a
messaging URL often carries a secret) are shown by their first few characters only.
"""

import json
import re
import urllib.parse

_URL_SCHEMES = ("http://", "https://")
_QUERY_VALUE = re.compile(r"([?&][^=&\s\"']*=)([^&\s\"']+)")


def redact(value: str | None) -> str:
    """A secret shortened: at most four characters, and at most a quarter of it, then "…"."""
    return f"{value[: min(4, len(value) // 4)]}…" if value else "<none>"


def redact_url(url: str) -> str:
    """``url`` with every query value shortened (a URL that cannot be read: every
    ``?key=value`` or ``&key=value`` value in it)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return redact_query_values(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    shown = "&".join(f"{key}={redact(value)}" for key, value in query)
    return urllib.parse.urlunsplit(parts._replace(query=shown))


def redact_parameters(parameters: dict) -> dict:
    """Launch parameters with every value but ``action`` shortened."""
    return {
        key: value if key == "action" else redact(str(value)) for key, value in parameters.items()
    }


def redact_query_values(text: str) -> str:
    """``text`` (a request line, say) with every ``?key=value`` or ``&key=value`` value
    shortened."""
    return _QUERY_VALUE.sub(
        lambda match: match.group(1) + redact(urllib.parse.unquote_plus(match.group(2))), text
    )


def redact_tropoml(text: str) -> str:
    """A TropoML document's text as shown: the query values of every ``next`` URL and of
    every other string that is an http(s) URL shortened (a messaging URL's secret, a
    result reference), the rest as it was; text that is not JSON as by
    ``redact_query_values``."""
    try:
        document = json.loads(text)
    except ValueError:
        return redact_query_values(text)
    return json.dumps(_redact_urls(document), ensure_ascii=False)


def _redact_urls(value, key=None):
    if isinstance(value, dict):
        return {name: _redact_urls(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_redact_urls(item) for item in value]
    if isinstance(value, str) and (key == "next" or value.lower().startswith(_URL_SCHEMES)):
        return redact_url(value)
    return value
