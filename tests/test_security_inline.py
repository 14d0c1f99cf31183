"""Inline answers only for authenticated requests (issue 13)."""

import json

import pytest

from rtropo.checks import check_backends
from rtropo.models import InboundSession, OutboundMessage
from tests.support.payloads import callback_payload, inbound_payload

pytestmark = pytest.mark.django_db


def tropo_document(response):
    return json.loads(response.content.decode("utf-8"))["tropo"]


def test_a_forged_inbound_without_a_secret_gets_a_hangup_and_the_reply_goes_to_the_number(
    post_session, backend_settings, tropo, django_capture_on_commit_callbacks
):
    backend_settings(inbound_secret=None)
    with django_capture_on_commit_callbacks(execute=True):
        forged = post_session(inbound_payload(text="ping", from_id="15555550001"), secret=None)
    assert forged.status_code == 200
    assert tropo_document(forged) == [{"hangup": {}}]
    assert b"pong" not in forged.content
    row = OutboundMessage.objects.get()
    assert (row.status, row.to_number, row.text) == ("launched", "+15555550001", "pong")
    [reference] = tropo.references
    callback = post_session(callback_payload(reference), secret=None)
    [verb] = [verb for verb in tropo_document(callback) if "message" in verb]
    assert verb["message"]["to"] == "+15555550001"
    assert verb["message"]["say"] == {"value": "pong"}
    assert OutboundMessage.objects.get().status == "sent"


def test_with_a_secret_the_reply_still_rides_inline(post_session, tropo):
    response = post_session(inbound_payload(text="ping"))
    messages = [verb["message"] for verb in tropo_document(response) if "message" in verb]
    assert [message["say"]["value"] for message in messages] == ["pong"]
    assert tropo.launches == []
    assert InboundSession.objects.count() == 1


def test_the_check_says_replies_are_launched_without_a_secret(settings):
    settings.INSTALLED_BACKENDS = {
        "t": {
            "ENGINE": "rtropo.outgoing.TropoBackend",
            "messaging_token": "x",
            "number": "+15555550000",
        }
    }
    [warning] = check_backends()
    assert warning.id == "rtropo.W001"
    assert "never answered inline but launched to the number" in warning.msg
