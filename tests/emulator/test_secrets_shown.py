"""A messaging URL's 40-character secret and a result reference, as a backend puts
them in its ``next`` URLs and launch parameters, never appear whole in the state API,
the page or the emulator's log (any level)."""

import json
import logging
import secrets

import pytest
import requests

from rtropo.emulator import running_emulator
from rtropo.emulator.redaction import redact_tropoml

from .conftest import HANGUP, TOKEN, message

SECRET = secrets.token_hex(20)
REFERENCE = secrets.token_urlsafe(32)
LAUNCH_REFERENCE = secrets.token_urlsafe(32)
NEXT = f"/tropo/?secret={SECRET}&rtropo_result={REFERENCE}"


def backend_answer(_payload):
    """What the backend answers: a named message verb and result handlers whose
    ``next`` repeats the secret beside a fresh reference."""
    verb = message("+15555550001", "pong")
    verb["message"]["name"] = "rtropo-1"
    document = {
        "tropo": [
            verb,
            {"on": {"event": "continue", "next": NEXT}},
            {"on": {"event": "incomplete", "next": NEXT}},
            {"on": {"event": "error", "next": NEXT}},
        ]
    }
    return 200, json.dumps(document).encode()


@pytest.fixture
def tropo(app, caplog):
    caplog.set_level(logging.DEBUG, logger="rtropo.emulator")
    app.url = app.url.replace("secret=s3", f"secret={SECRET}")
    app.answer = backend_answer
    app.routes[NEXT] = HANGUP
    with running_emulator(app_url=app.url, token=TOKEN) as emulator:
        yield emulator


def assert_short(shown):
    assert len(SECRET) == 40
    for whole in (SECRET, REFERENCE, LAUNCH_REFERENCE, TOKEN):
        assert whole not in shown
        assert whole[:8] not in shown


def test_the_state_api_the_page_and_the_log_shorten_every_secret(tropo, app, caplog):
    launch = requests.post(
        tropo.session_api_url,
        json={"token": TOKEN, "rtropo_ref": LAUNCH_REFERENCE},
        timeout=5,
    ).json()
    tropo.wait_for_session(launch["id"])
    inbound = requests.post(
        f"{tropo.url}/emulator/api/inbound",
        json={"from": "+15555550001", "text": "ping"},
        timeout=5,
    )
    assert [path for path, _ in app.results] == [NEXT, NEXT]
    assert len(tropo.deliveries) == 2
    raw_state = requests.get(f"{tropo.url}/emulator/api/state", timeout=5).text
    state = json.dumps(json.loads(raw_state), ensure_ascii=False)
    page = requests.get(f"{tropo.url}/", timeout=5).text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for shown in (raw_state, state, page, logged, inbound.text):
        assert_short(shown)
    assert f"secret={SECRET[:4]}…&rtropo_result={REFERENCE[:4]}…" in state
    assert f"secret={SECRET[:4]}…&rtropo_result={REFERENCE[:4]}…" in logged
    assert "Received new TropoML document from" in logged


def test_a_failure_to_reach_the_app_shortens_the_secret_too(tropo, app, caplog):
    """The URL that cannot be reached is shown shortened, and no exception text
    carries it whole."""
    for target in (f"ftp://127.0.0.1/?secret={SECRET}", f"/tropo/?secret={SECRET}&x=…"):
        app.answer = {"tropo": [{"on": {"event": "continue", "next": target}}]}
        result = tropo.send_sms("+15555550001", "ping")
        assert result.error is not None
    state = json.dumps(tropo.state(), ensure_ascii=False)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for shown in (state, logged):
        assert_short(shown)
        assert "is not an http:// or https:// URL" in shown
        assert "non-ASCII character '…'" in shown


def test_a_tropoml_document_is_shown_with_its_urls_shortened():
    document = {
        "tropo": [
            {"say": {"value": "what?x=1 stays", "name": "n"}},
            {"on": {"event": "continue", "next": f"/r?secret={SECRET}"}},
            {"record": {"url": f"https://example.test/up?key={REFERENCE}"}},
        ]
    }
    shown = json.loads(redact_tropoml(json.dumps(document)))
    assert shown["tropo"][0] == document["tropo"][0]
    assert shown["tropo"][1]["on"]["next"] == f"/r?secret={SECRET[:4]}…"
    assert shown["tropo"][2]["record"]["url"] == f"https://example.test/up?key={REFERENCE[:4]}…"
    assert redact_tropoml(f'not json "next": "/r?secret={SECRET}"') == (
        f'not json "next": "/r?secret={SECRET[:4]}…"'
    )
