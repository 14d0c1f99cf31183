"""Phone numbers through phonenumbers: national numbers with ``default_region``, possible
numbers only on the send path, inbound numbers as Tropo gives them."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from rapidsms.errors import MessageSendingError
from rapidsms.router import get_router, lookup_connections, send

from rtropo.conf import BackendConfig, normalise_number
from rtropo.models import InboundSession, OutboundMessage
from rtropo.phones import NotAPhoneNumber, plain_number, to_e164
from tests.support.payloads import callback_payload, inbound_payload

TOKEN = "t" * 20


def answered_numbers(response):
    verbs = json.loads(response.content.decode("utf-8"))["tropo"]
    return [verb["message"]["to"] for verb in verbs if "message" in verb]


@pytest.fixture
def send_and_answer(tropo, post_session, django_capture_on_commit_callbacks):
    """Send ``text`` to ``identities`` through the router, then answer the launch's callback:
    return the numbers the answer texts."""

    def run(identities, text="hello"):
        with django_capture_on_commit_callbacks(execute=True):
            send(text, lookup_connections("tropo", identities))
        return answered_numbers(post_session(callback_payload(tropo.references[-1])))

    return run


@pytest.mark.django_db
def test_a_national_number_is_sent_in_e164_with_default_region(backend_settings, send_and_answer):
    backend_settings(default_region="NG")
    assert send_and_answer(["0803 123 4567"]) == ["+2348031234567"]
    row = OutboundMessage.objects.get()
    assert (row.identity, row.to_number) == ("0803 123 4567", "+2348031234567")


@pytest.mark.django_db
def test_international_numbers_still_go_with_default_region(backend_settings, send_and_answer):
    backend_settings(default_region="NG")
    assert send_and_answer(["+1-555-555-1212", "+234 803 123 4567"]) == [
        "+15555551212",
        "+2348031234567",
    ]


@pytest.mark.django_db
def test_without_a_region_a_national_number_is_a_failed_identity(tropo, caplog):
    backend = get_router().backends["tropo"]
    with pytest.raises(MessageSendingError) as raised:
        backend.send(id_=1, text="hi", identities=["0803 123 4567", "+15555550001"])
    assert raised.value.failed_identities == ["0803 123 4567"]
    assert "'0803 123 4567' is national" in str(raised.value)
    assert "'0803 123 4567' is national: it needs '+' and a country code" in caplog.text
    assert OutboundMessage.objects.get().to_number == "+15555550001"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identity", "reason"),
    [("+999 12", "has no known country code"), ("+1 555 12", "is too short")],
)
def test_an_impossible_number_is_a_failed_identity_saying_why(tropo, caplog, identity, reason):
    backend = get_router().backends["tropo"]
    with pytest.raises(MessageSendingError) as raised:
        backend.send(id_=1, text="hi", identities=[identity])
    assert raised.value.failed_identities == [identity]
    assert f"{identity!r} {reason}" in caplog.text
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
def test_digits_only_and_written_forms_still_go_without_a_region(send_and_answer):
    identities = ["15555550001", "+1-555-555-1212", "+1 (555) 555-0002", 15555550003]
    assert send_and_answer(identities) == [
        "+15555550001",
        "+15555551212",
        "+15555550002",
        "+15555550003",
    ]


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0803 123 4567", "NG", "+2348031234567"),
        ("2348031234567", "NG", "+2348031234567"),
        ("0712 345 678", "KE", "+254712345678"),
        ("0772 123 456", "UG", "+256772123456"),
        ("0803 123 4567", None, None),
        ("+999 12", None, None),
        ("+999 12", "NG", None),
        ("080312", "NG", None),  # only dialable locally: no E.164 form
        ("+1 555 555 0001", None, "+15555550001"),
        ("\uff10\uff18\uff10\uff13\uff11\uff12\uff13\uff14\uff15\uff16\uff17", "NG", None),
    ],
)
def test_normalise_number_with_and_without_a_region(raw, region, expected):
    assert normalise_number(raw, region) == expected


def test_the_reason_names_an_unknown_country_code():
    with pytest.raises(NotAPhoneNumber, match="no known country code"):
        to_e164("+999 12")


def test_an_unknown_default_region_is_improperly_configured_naming_it():
    entry = {"messaging_token": TOKEN, "number": "+15555551212", "default_region": "XX"}
    with pytest.raises(ImproperlyConfigured) as raised:
        BackendConfig.from_entry("clinic-sms", entry)
    message = str(raised.value)
    assert "'clinic-sms'" in message
    assert "'default_region'" in message
    assert "'XX'" in message


@pytest.mark.parametrize("region", [7, "", "Nigeria", "ZZZ"])
def test_a_default_region_that_is_no_region_code_is_refused(region):
    entry = {"messaging_token": TOKEN, "number": "+15555551212", "default_region": region}
    with pytest.raises(ImproperlyConfigured, match="'default_region'"):
        BackendConfig.from_entry("b", entry)


def test_the_backend_number_may_be_national_with_default_region():
    entry = {"messaging_token": TOKEN, "number": "0803 123 4567", "default_region": "ng"}
    config = BackendConfig.from_entry("b", entry)
    assert (config.number, config.default_region) == ("+2348031234567", "NG")


def test_a_national_backend_number_that_is_not_possible_says_why():
    entry = {"messaging_token": TOKEN, "number": "0803", "default_region": "NG"}
    with pytest.raises(ImproperlyConfigured, match=r"'number' must be a phone number \(it is"):
        BackendConfig.from_entry("b", entry)


def test_the_backend_number_may_be_a_short_code_as_tropo_shows_it():
    config = BackendConfig.from_entry("b", {"messaging_token": TOKEN, "number": "+12345"})
    assert config.number == "+12345"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+99912", "+99912"), ("15555550001", "+15555550001"), ("123", "+123"), ("0803", None)],
)
def test_inbound_numbers_keep_the_plain_rule(raw, expected):
    assert plain_number(raw) == expected


@pytest.mark.django_db
def test_an_inbound_sms_from_a_number_phonenumbers_would_refuse_is_still_received(post_session):
    response = post_session(inbound_payload(text="hi", from_id="99912"))
    assert response.status_code == 200
    assert InboundSession.objects.get().identity == "+99912"
