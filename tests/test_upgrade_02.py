"""0.2.0's own test project (ported in ``tests.upgrade_02``) runs on 1.0 unchanged: its
backend entry validates, the system checks find no error, its URL reverses and an inbound
SMS posted there is received. It sets no ``inbound_secret``, so the URL needs no secret,
the checks warn (``rtropo.W001``) and replies are launched, never answered inline."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from rtropo.conf import DEFAULT_API_URL, get_config
from rtropo.models import InboundSession, OutboundMessage
from tests.support.payloads import inbound_payload, load_fixture
from tests.upgrade_02 import settings as settings_02

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project_02(settings):
    """The test settings with 0.2.0's backends and URLconf."""
    settings.INSTALLED_BACKENDS = settings_02.INSTALLED_BACKENDS
    settings.ROOT_URLCONF = settings_02.ROOT_URLCONF


@pytest.fixture
def scheduled(monkeypatch):
    """The backends a launch was scheduled for (none is made: no network)."""
    names = []
    monkeypatch.setattr(
        "rtropo.outbox.scheduler.schedule", lambda config, **_: names.append(config.name)
    )
    return names


def test_the_system_checks_find_no_error_in_the_02_settings():
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--settings", "tests.upgrade_02.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = (result.stdout + result.stderr).split()
    rtropo_ids = {word.strip("():") for word in output if word.startswith("(rtropo.")}
    assert rtropo_ids == {"rtropo.W001"}


def test_get_config_accepts_the_02_backend_entry(project_02):
    config = get_config("tropobackend")
    assert (config.messaging_token, config.number) == ("12345abc", "+12345")
    assert config.api_url == DEFAULT_API_URL
    assert config.inbound_secrets == ()


def test_the_02_url_reverses(project_02):
    assert reverse("tropo-backend") == "/backend_tropo/"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?secret=anything"])
def test_an_inbound_sms_posted_to_the_02_url_is_received(project_02, client, scheduled, query):
    body = json.dumps(inbound_payload(text="ping"))
    response = client.post(f"/backend_tropo/{query}", data=body, content_type="application/json")
    assert response.status_code == 200
    assert json.loads(response.content) == {"tropo": [{"hangup": {}}]}
    sms = InboundSession.objects.get()
    assert (sms.backend_name, sms.identity, sms.status) == (
        "tropobackend",
        "+15555550001",
        "routed",
    )
    reply = OutboundMessage.objects.get()
    assert (reply.text, reply.to_number, reply.status) == ("pong", "+15555550001", "queued")
    assert scheduled == ["tropobackend"]


@pytest.mark.django_db
def test_a_callback_of_a_session_that_02_launched_gets_a_bare_hangup(project_02, client, caplog):
    payload = load_fixture("launch-callback.json")
    payload["session"]["parameters"] = {
        "action": "create",
        "token": "12345abc",
        "program": "eyJ0cm9wbyI6W119:signed-by-0.2",
    }
    body = json.dumps(payload)
    response = client.post("/backend_tropo/", data=body, content_type="application/json")
    assert response.status_code == 200
    assert json.loads(response.content) == {"tropo": [{"hangup": {}}]}
    assert "names no pending launch" in caplog.text
