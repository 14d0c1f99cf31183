"""The messaging URL's secret: taken from each request and masked in it, then checked.

Tropo repeats the query string of the messaging URL on every request; a long
random ``secret`` there is the only thing that tells Tropo's requests from
anyone else's.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from django.http import QueryDict
from django.utils.crypto import constant_time_compare

from rtropo.conf import BackendConfig
from rtropo.outbox.references import ResultAddress

_MASK = "********"


def take(request) -> ResultAddress:
    """The request's path and the secret its URL offers, then masked in the request.

    Masked whether or not it is right: a wrong secret may be an old one. The
    secret travels in a :class:`ResultAddress`, whose repr omits it, so that
    no frame of an error report shows it.
    """
    offered = ResultAddress(request.path, request.GET.get("secret", ""))
    _mask_secret(request)
    return offered


def check(config: BackendConfig, offered: ResultAddress) -> ResultAddress | None:
    """Where results of answers to this request go, or None when the secret is wrong.

    The address carries the secret the request came with when the backend has
    secrets, none otherwise.
    """
    if not config.inbound_secrets:
        return ResultAddress(offered.path, "")
    matches = [constant_time_compare(offered.secret, known) for known in config.inbound_secrets]
    return offered if any(matches) else None


def _mask_secret(request) -> None:
    """Replace the ``secret`` query value wherever the request copies the query string.

    Error reports (the DEBUG page, AdminEmailHandler mail) and log records show
    ``request.GET``, the URL and ``request.META``, where servers copy the query
    string (``QUERY_STRING``, ``RAW_URI``, ``REQUEST_URI``, ...).
    """
    pairs = request.META.get("QUERY_STRING", "").split("&")
    secret_pairs = sorted((pair for pair in pairs if _is_secret_pair(pair)), key=len, reverse=True)
    for key, value in list(request.META.items()):
        if isinstance(value, str):
            for pair in secret_pairs:
                value = value.replace(pair, f"{pair.partition('=')[0]}={_MASK}")
            request.META[key] = value
    request.GET = QueryDict(request.META.get("QUERY_STRING", ""), encoding=request.encoding)


def _is_secret_pair(pair: str) -> bool:
    name, _, value = pair.partition("=")
    return bool(value) and unquote_plus(name) == "secret"
