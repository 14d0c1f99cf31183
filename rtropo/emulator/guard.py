"""Who may use the control API and the page: this machine's browser tabs and scripts only.

A web page the user visits must not drive the emulator: a request whose ``Host`` is not
one of the emulator's names is refused (DNS rebinding), a cross-site browser request is
refused (``Origin`` or ``Sec-Fetch-Site``), and a control POST must be declared JSON, which
a cross-site form or ``text/plain`` "simple request" cannot be without a CORS preflight,
and the emulator answers no preflight.
"""

from email.message import Message
from urllib.parse import urlsplit

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SAME_SITE = frozenset({"same-origin", "none"})


def host_name(host_header: str) -> str | None:
    """The host of a ``Host`` header, lower-case, without port or IPv6 brackets."""
    try:
        return urlsplit(f"//{host_header.strip()}").hostname
    except ValueError:
        return None


def allowed_hosts(bound_host: str, extra: tuple = ()) -> frozenset:
    """The local names, the host the server is bound to and ``extra`` names."""
    names = {bound_host, *extra} - {"", "0.0.0.0", "::"}  # noqa: S104 - not a bind
    return LOCAL_HOSTS | {name.lower().strip("[]") for name in names}


def refusal(method: str, headers: Message, hosts: frozenset) -> tuple | None:
    """``(status, reason)`` if a request to the control API or page must be refused."""
    host = headers.get("Host")
    if host is None or host_name(host) not in hosts:
        return 403, "unknown Host header"
    origin = headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != host.strip().lower():
        return 403, "cross-origin request"
    if headers.get("Sec-Fetch-Site", "none").lower() not in SAME_SITE:
        return 403, "cross-site request"
    if method == "POST":
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return 415, "the control API takes Content-Type: application/json"
    return None
