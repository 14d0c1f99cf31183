"""Unencodable input, phone numbers and empty SMS (issue 13)."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from rapidsms.apps.base import AppBase
from rapidsms.errors import MessageSendingError
from rapidsms.models import Connection
from rapidsms.router import get_router
from rapidsms.router.blocking import BlockingRouter

from rtropo.conf import BackendConfig, normalise_number
from rtropo.models import InboundSession, OutboundMessage
from tests.support.payloads import callback_payload, inbound_payload

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"


def with_surrogate(kind):
    if kind == "text":
        return inbound_payload(text=f"hi {SURROGATE}")
    if kind == "session id":
        return inbound_payload(session_id=f"3b43948e921da539{SURROGATE}")
    if kind == "account id":
        payload = inbound_payload()
        payload["session"]["accountId"] = SURROGATE
        return payload
    if kind == "token":
        return callback_payload("ref", token=f"a1b2{SURROGATE}")
    return callback_payload(f"ref{SURROGATE}")


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("text", "session.initialText"),
        ("session id", "session.id"),
        ("account id", "session.accountId"),
        ("token", "session.parameters.token"),
        ("reference", "session.parameters.rtropo_ref"),
    ],
)
def test_a_lone_surrogate_is_a_bad_request_with_a_reason(post_session, caplog, kind, field):
    body = json.dumps(with_surrogate(kind))
    assert "\\ud800" in body
    response = post_session(body)
    assert response.status_code == 400
    assert f"{field} is not valid Unicode" in caplog.text
    assert not InboundSession.objects.exists()
    assert not Connection.objects.exists()


def test_a_surrogate_pair_is_a_character_not_an_error(post_session, tropo):
    body = json.dumps(inbound_payload(text="echo \U0001f642"))
    assert "\\ud83d\\ude42" in body
    response = post_session(body)
    assert response.status_code == 200
    assert InboundSession.objects.get().text == "echo \U0001f642"


@pytest.mark.parametrize(
    "raw",
    [
        "\u0661\u0665\u0665\u0665\u0665\u0665\u0665\u0661\u0662\u0661\u0662",  # Arabic-Indic
        "\uff11\uff15\uff15\uff15\uff15\uff15\uff15\uff11\uff12\uff11\uff12",  # fullwidth
        "+1555555\u0967\u0968\u0967\u0968",  # Devanagari digits after ASCII ones
        "+1\u00a0555\u00a0555\u00a01212",  # no-break spaces
        "0044 20 7946 0958",  # the international prefix 00: refused, not guessed
        "+0044 20 7946 0958",
        "020 7946 0958",  # a national number: no country code
        "+0",
    ],
)
def test_numbers_that_are_not_ascii_international_numbers_are_refused(raw):
    assert normalise_number(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+44 20 7946 0958", "+442079460958"), ("44 (20) 7946-0958", "+442079460958")],
)
def test_international_numbers_are_still_accepted(raw, expected):
    assert normalise_number(raw) == expected


@pytest.mark.parametrize("from_id", ["\u0661\u0665\u0665\u0665\u0665\u0665", "00442079460958"])
def test_an_inbound_sms_from_such_a_number_is_refused_and_creates_no_connection(
    post_session, caplog, from_id
):
    response = post_session(inbound_payload(from_id=from_id))
    assert response.status_code == 400
    assert "session.from has no valid phone number" in caplog.text
    assert not Connection.objects.exists()
    assert not InboundSession.objects.exists()


def test_sending_to_such_a_number_queues_nothing(tropo):
    identities = ["\uff11\uff15\uff15\uff15\uff15\uff15\uff15\uff11\uff12\uff11\uff12", "0044 20"]
    with pytest.raises(MessageSendingError) as raised:
        get_router().backends["tropo"].send(id_=7, text="hi", identities=identities)
    assert raised.value.failed_identities == identities
    assert not OutboundMessage.objects.exists()


class Records(AppBase):
    texts: list[str] = []

    def handle(self, msg):
        self.texts.append(msg.text)
        msg.respond("got it")
        return True


def test_an_empty_sms_is_routed_as_an_empty_message(post_session, tropo, settings):
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[Records])
    Records.texts = []
    response = post_session(inbound_payload(text=""))
    assert response.status_code == 200
    assert Records.texts == [""]
    assert InboundSession.objects.get().text == ""
    [verb, _] = json.loads(response.content)["tropo"]
    assert verb["message"]["say"] == {"value": "got it"}


def test_a_human_session_without_text_is_no_sms(post_session, caplog, settings):
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[Records])
    Records.texts = []
    payload = inbound_payload()
    payload["session"]["initialText"] = None
    response = post_session(payload)
    assert response.status_code == 400
    assert "session.initialText is null" in caplog.text
    assert Records.texts == []
    assert not InboundSession.objects.exists()


@pytest.mark.parametrize("number", ["0044 20 7946 0958", "\uff14\uff14\uff12\uff10\uff17\uff19"])
def test_the_backends_own_number_must_be_an_ascii_international_number(number):
    entry = {"config": {"messaging_token": "x", "number": number}}
    with pytest.raises(ImproperlyConfigured, match="'number'"):
        BackendConfig.from_entry("t", entry)
