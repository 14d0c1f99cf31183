"""The messaging URL's ``secret``, which tells Tropo's requests from anyone else's: taken
from each request and masked in it, then checked."""

from urllib.parse import unquote_plus

from django.http import QueryDict
from django.utils.crypto import constant_time_compare

from rtropo.conf import BackendConfig
from rtropo.outbox.references import ResultAddress

_MASK = "********"


def take(request) -> ResultAddress:
    """The request's path and the secret its URL offers (in a :class:`ResultAddress`, whose
    repr omits it); the secret is masked in the request, right or wrong."""
    offered = ResultAddress(request.path, request.GET.get("secret", ""))
    _mask_secret(request)
    return offered


def check(config: BackendConfig, offered: ResultAddress) -> ResultAddress | None:
    """Where results of answers to this request go (with the secret offered, when the
    backend has secrets), or None when the secret is wrong."""
    if not config.inbound_secrets:
        return ResultAddress(offered.path, "")
    matches = [constant_time_compare(offered.secret, known) for known in config.inbound_secrets]
    return offered if any(matches) else None


def _mask_secret(request) -> None:
    """Replace the ``secret`` query value in ``request.GET`` and everywhere ``request.META``
    copies the query string (``QUERY_STRING``, ``RAW_URI``, ...): error reports show them."""
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
