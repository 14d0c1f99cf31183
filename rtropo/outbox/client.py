"""The Session API client: build a launch, post it, read every reply shape."""

from __future__ import annotations

import functools
import json
import os
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qs

import requests

from rtropo import __version__
from rtropo.conf import BackendConfig
from rtropo.exceptions import TropoAPIError
from rtropo.outbox.references import REFERENCE_PARAMETER
from rtropo.payloads import MAX_ID_LENGTH


@functools.cache
def http_session() -> requests.Session:
    """The process's ``requests.Session``, made on first use; a forked child makes its own,
    so that it shares no pooled socket with its parent."""
    session = requests.Session()
    session.headers["User-Agent"] = f"rapidsms-tropo/{__version__}"
    return session


os.register_at_fork(after_in_child=http_session.cache_clear)


def build_launch_request(config: BackendConfig, reference: str, token: str = "") -> dict:
    """The keyword arguments of ``requests.Session.request`` for one launch with ``token``
    (by default the messaging token)."""
    return {
        "method": "POST",
        "url": config.api_url,
        "json": {
            "token": token or config.messaging_token,
            "action": "create",
            REFERENCE_PARAMETER: reference,
        },
        "headers": {"Accept": "application/json"},
        "timeout": config.timeout,
    }


def launch_session(config: BackendConfig, reference: str, token: str = "") -> str:
    """Ask Tropo for a session that calls back with ``reference``; return its id, or raise
    :class:`~rtropo.exceptions.TropoAPIError` chained to its cause."""
    try:
        response = http_session().request(**build_launch_request(config, reference, token))
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
    """The fields of a JSON, XML (without a DTD) or form reply; None if it has none."""
    body = response.text.strip()
    try:
        if body.startswith("{"):
            fields = json.loads(body)
        elif body.startswith("<"):
            fields = _xml_fields(body)
        else:
            fields = {key: values[0] for key, values in parse_qs(body).items()}
    except (ValueError, ElementTree.ParseError):
        return None
    return fields if isinstance(fields, dict) and fields else None


def _xml_fields(body: str) -> dict:
    if "<!" in body:
        return {}
    root = ElementTree.fromstring(body)  # noqa: S314 (no DTD, so no entities)
    return {child.tag: (child.text or "") for child in root}
