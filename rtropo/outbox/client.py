"""The Session API client: build a launch, post it, read every reply shape.

``build_launch_request`` is pure; ``launch_session`` posts through one
``requests.Session`` per process (a forked child gets a fresh one, so that it
shares no pooled socket with its parent), whose connection pool keeps at least
``launch_concurrency`` connections per host, with the backend's timeout, and
either returns the new session id or raises
:class:`~rtropo.exceptions.TropoAPIError` chained to its cause.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qs

import requests
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter

from rtropo import __version__
from rtropo.conf import BackendConfig
from rtropo.exceptions import TropoAPIError
from rtropo.outbox.references import REFERENCE_PARAMETER
from rtropo.payloads import MAX_ID_LENGTH

logger = logging.getLogger(__name__)

_session: requests.Session | None = None
_pool_size = 0
_session_lock = threading.Lock()


def http_session(pool_size: int = DEFAULT_POOLSIZE) -> requests.Session:
    """The process-wide ``requests.Session``, created on first use in each process.

    Its pool keeps at least ``pool_size`` connections per host (the largest
    size asked for so far), so that concurrent launches reuse their sockets.
    """
    global _session, _pool_size
    if _session is None or _pool_size < pool_size:
        with _session_lock:
            if _session is None:
                session = requests.Session()
                session.headers["User-Agent"] = f"rapidsms-tropo/{__version__}"
                _session = session
            if _pool_size < pool_size:
                _pool_size = max(pool_size, DEFAULT_POOLSIZE)
                for prefix in ("https://", "http://"):
                    _session.mount(prefix, HTTPAdapter(pool_maxsize=_pool_size))
    return _session


def _forget_session_in_child() -> None:
    global _session, _pool_size, _session_lock
    _session = None
    _pool_size = 0
    _session_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_session_in_child)


def build_launch_request(config: BackendConfig, reference: str) -> dict:
    """The keyword arguments of ``requests.Session.request`` for one launch."""
    return {
        "method": "POST",
        "url": config.api_url,
        "json": {
            "token": config.messaging_token,
            "action": "create",
            REFERENCE_PARAMETER: reference,
        },
        "headers": {"Accept": "application/json"},
        "timeout": config.timeout,
    }


def launch_session(config: BackendConfig, reference: str) -> str:
    """Ask Tropo for a session that calls back with ``reference``; return its id."""
    try:
        response = http_session(config.launch_concurrency).request(
            **build_launch_request(config, reference)
        )
    except requests.RequestException as exc:
        raise TropoAPIError(f"Session API unreachable: {type(exc).__name__}", exc.response) from exc
    return parse_launch_response(response)


def parse_launch_response(response: requests.Response) -> str:
    """Return the session id of a successful launch reply, else raise TropoAPIError."""
    if not 200 <= response.status_code < 300:
        raise TropoAPIError(f"Session API answered HTTP {response.status_code}", response)
    fields = _reply_fields(response)
    if fields is None:
        raise TropoAPIError("Session API reply is not JSON, XML or form data", response)
    success = fields.get("success")
    if success is not True and str(success).lower() != "true":
        reason = fields.get("reason")
        detail = f": {reason}" if isinstance(reason, str) and reason else ""
        raise TropoAPIError(f"Session API refused the launch{detail}", response)
    session_id = fields.get("id")
    if not isinstance(session_id, str) or not session_id.strip():
        raise TropoAPIError("Session API reply has no session id", response)
    if len(session_id.strip()) > MAX_ID_LENGTH:
        raise TropoAPIError(
            f"Session API reply has a session id over {MAX_ID_LENGTH} characters", response
        )
    return session_id.strip()


def _reply_fields(response: requests.Response) -> dict | None:
    body = response.text.strip()
    if body.startswith("{"):
        try:
            fields = json.loads(body)
        except ValueError:
            return None
        return fields if isinstance(fields, dict) else None
    if body.startswith("<"):
        if "<!" in body:
            return None
        try:
            root = ElementTree.fromstring(body)  # noqa: S314 (no DTD, so no entities)
        except ElementTree.ParseError:
            return None
        return {child.tag: (child.text or "") for child in root}
    parsed = parse_qs(body)
    return {key: values[0] for key, values in parsed.items()} or None
