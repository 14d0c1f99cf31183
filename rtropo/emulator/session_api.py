"""The Session API's wire formats: parsing launch requests and rendering replies.

Tropo took a launch as a GET query string or a POST body in JSON, form or XML
(``<session><token>..</token><var name="k" value="v"/></session>``). ``token`` and
``action`` may come from the query string or the body (the body wins); every other
parameter is a launch parameter and is echoed to the app as a string. The reply takes
the request's form: a JSON POST gets JSON, a form POST gets a form-encoded body
(``success=true&token=...&id=...``), a GET or an XML POST gets XML.
"""

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape


class LaunchParseError(ValueError):
    """The launch request body could not be read."""


@dataclass
class LaunchRequest:
    """A parsed launch: credentials, action and stringified launch parameters."""

    reply_format: str
    token: str | None
    action: str | None
    params: dict = field(default_factory=dict)


def stringify(value: object) -> str:
    """A launch parameter value as Tropo echoed it: always a string, Java-style.

    ``True`` becomes "true", ``None`` "null", numbers their text, lists and objects
    compact JSON.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_launch(method: str, query: str, content_type: str | None, body: bytes) -> LaunchRequest:
    """Parse one launch request; raise LaunchParseError on an unreadable body."""
    values = dict(parse_qsl(query, keep_blank_values=True))
    reply_format = "xml"
    if method == "POST" and body.strip():
        kind = _body_kind(content_type, body)
        if kind == "json":
            reply_format = "json"
            values.update(_parse_json(body))
        elif kind == "xml":
            values.update(_parse_xml(body))
        else:
            reply_format = "form"
            values.update(parse_qsl(_decode(body), keep_blank_values=True))
    token = values.pop("token", None)
    action = values.pop("action", None)
    return LaunchRequest(
        reply_format=reply_format,
        token=None if token is None else stringify(token),
        action=None if action is None else stringify(action),
        params={str(key): stringify(value) for key, value in values.items()},
    )


def render_reply(
    reply_format: str,
    *,
    success: bool,
    token: str | None = None,
    session_id: str | None = None,
    reason: str | None = None,
) -> tuple:
    """The reply body: ``(content_type, bytes)``. ``session_id`` keeps its trailing newline."""
    fields = {"success": success, "token": token, "id": session_id, "reason": reason}
    fields = {key: value for key, value in fields.items() if value is not None}
    if reply_format == "json":
        return "application/json", json.dumps(fields).encode("utf-8")
    if reply_format == "form":
        encoded = urlencode({key: stringify(value) for key, value in fields.items()})
        return "application/x-www-form-urlencoded", encoded.encode("utf-8")
    parts = [f"<{key}>{escape(stringify(value))}</{key}>" for key, value in fields.items()]
    document = "<?xml version='1.0' encoding='UTF-8'?><session>" + "".join(parts) + "</session>"
    return "application/xml", document.encode("utf-8")


def _body_kind(content_type, body):
    content_type = (content_type or "").split(";")[0].strip().lower()
    if content_type.endswith("json"):
        return "json"
    if content_type.endswith("xml"):
        return "xml"
    if content_type == "application/x-www-form-urlencoded":
        return "form"
    first = body.lstrip()[:1]
    return {b"{": "json", b"<": "xml"}.get(first, "form")


def _decode(body):
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LaunchParseError(f"body is not UTF-8: {exc}") from exc


def _parse_json(body):
    try:
        data = json.loads(_decode(body))
    except ValueError as exc:
        raise LaunchParseError(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise LaunchParseError("JSON body must be an object")
    return data


def _parse_xml(body):
    try:
        root = ET.fromstring(body)  # noqa: S314 - local test peer, trusted callers
    except ET.ParseError as exc:
        raise LaunchParseError(f"invalid XML: {exc}") from exc
    if root.tag != "session":
        raise LaunchParseError(f"XML root must be <session>, got <{root.tag}>")
    values = {}
    for child in root:
        if child.tag == "var":
            if child.get("name") is None:
                raise LaunchParseError("<var> needs a name attribute")
            values[child.get("name")] = child.get("value", child.text or "")
        else:
            values[child.tag] = (child.text or "").strip()
    return values
