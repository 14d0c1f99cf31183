"""Tropo payloads for the tests, built from the shared fixtures."""

import json
from pathlib import Path

from django.conf import settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
API_URL = "https://tropo.test/1.0/sessions"
SECRET = "new-secret"


def load_fixture(name):
    """A shared Tropo payload fixture as a dict."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def inbound_payload(text="MYMESSAGE", from_id="15555550001", session_id=None):
    """The session of an inbound SMS with this text, sender and (optional) session id."""
    payload = load_fixture("inbound-sms.json")
    payload["session"]["initialText"] = text
    payload["session"]["from"]["id"] = from_id
    if session_id:
        payload["session"]["id"] = session_id
    return payload


def callback_payload(reference, token=None, session_id="76b05a0b25127dbf59a4627f6dcd38a7"):
    """The session of the callback of launch ``reference`` (default token: the test one)."""
    payload = load_fixture("launch-callback.json")
    payload["session"]["id"] = session_id
    payload["session"]["parameters"] = {
        "token": token or settings.TOKEN,
        "action": "create",
        "rtropo_ref": reference,
    }
    return payload


def result_payload(session_id, complete=True, error=None, actions=None):
    """The result Tropo posts for an answer in session ``session_id``."""
    result = load_fixture("result.json")["result"]
    result.update(sessionId=session_id, complete=complete, error=error)
    if actions is not None:
        result["actions"] = actions
    return {"result": result}
