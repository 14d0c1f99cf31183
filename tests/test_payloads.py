import json

import pytest

from rtropo.exceptions import InvalidPayload
from rtropo.payloads import InboundSMS, LaunchCallback, parse_session
from tests.support.payloads import load_fixture


def parse(document):
    return parse_session(json.dumps(document).encode())


def test_inbound_sms_fixture():
    sms = parse(load_fixture("inbound-sms.json"))
    assert sms == InboundSMS(
        session_id="3b43948e921da539a358747c389567a8",
        text="MYMESSAGE",
        from_number="+15555550001",
        to_number="+15555551212",
        account_id="12345",
    )


def test_e164_id_is_preferred():
    payload = load_fixture("inbound-sms.json")
    payload["session"]["from"]["e164Id"] = "445555550001"
    assert parse(payload).from_number == "+445555550001"


@pytest.mark.parametrize("name", ["launch-callback.json", "launch-callback-with-parameters.json"])
def test_callback_fixtures(name):
    callback = parse(load_fixture(name))
    assert isinstance(callback, LaunchCallback)
    assert callback.token == "TOKEN"
    assert callback.reference is None


def test_callback_reference():
    payload = load_fixture("launch-callback.json")
    payload["session"]["parameters"]["rtropo_ref"] = "abc"
    assert parse(payload).reference == "abc"


def test_unicode_text():
    payload = load_fixture("inbound-sms.json")
    payload["session"]["initialText"] = "Habari yako? 你好 🙂"
    assert parse(payload).text == "Habari yako? 你好 🙂"


def mutate(path, value):
    payload = load_fixture("inbound-sms.json")
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not JSON"),
        (b"[]", "no 'session'"),
        (b'{"session": "x"}', "no 'session'"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (mutate(["session", "id"], 5), "session.id"),
        (mutate(["session", "id"], "x" * 65), "too long"),
        (mutate(["session", "initialText"], None), "initialText"),
        (mutate(["session", "initialText"], "x" * 10_001), "too long"),
        (mutate(["session", "from"], "15555550001"), "session.from"),
        (mutate(["session", "from", "id"], "sip:user@example.com"), "phone number"),
        (mutate(["session", "to"], []), "session.to"),
        (mutate(["session", "parameters"], "token"), "parameters"),
        (mutate(["session", "parameters"], {"action": "create"}), "token"),
    ],
)
def test_rejections_say_why(body, reason):
    with pytest.raises(InvalidPayload, match=reason):
        parse_session(body)
