import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtropo.emulator import sms, tropoml, voice
from rtropo.emulator.session_api import LaunchParseError, parse_launch, render_reply, stringify

from .conftest import SHARED_FIXTURES, xml_reply


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 306, 2),
        ("x" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        ("😀" * 35, 1),
        ("😀" * 36, 2),
    ],
)
def test_count_parts(text, parts):
    assert sms.count_parts(text) == parts


@given(st.text(max_size=600))
def test_parts_never_fewer_than_needed(text):
    parts = sms.count_parts(text)
    assert parts >= 1
    assert parts * 160 >= len(text) or parts * 70 >= len(text) // 2


@pytest.mark.parametrize(
    ("typed", "dialled"),
    [
        ("15555550001", "+15555550001"),
        ("tel:+1 555-555-0001", "+15555550001"),
        ("+1 (415) 555-1212", "+14155551212"),
        ("415.555.1212", "+14155551212"),
        ("4075551212", "+14075551212"),
        ("+4075551212", "+4075551212"),
        ("+44 20 7946 0018", "+442079460018"),
    ],
)
def test_numbers_as_tropo_dialled_them(typed, dialled):
    """tropo.com/docs/webapi/message: formatting "will have formatting removed by Tropo
    prior to dialing"; docs.voxeo.com/webapi/2.0/message.htm: "For US numbers, the
    country code can be omitted" (../shared/tropo-protocol.md, section 3)."""
    assert sms.e164(typed) == dialled
    assert sms.digits(typed) == dialled[1:]
    assert sms.dialable(typed)


@pytest.mark.parametrize("number", ["Q", "", "+", "+1555abc", "1" * 16])
def test_not_dialable(number):
    assert not sms.dialable(number)


def test_phone_object():
    assert sms.phone("+15555550001")["id"] == "15555550001"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (3, "3"),
        (1.5, "1.5"),
        ([1, "a"], '[1,"a"]'),
        ({"k": 1}, '{"k":1}'),
    ],
)
def test_stringify(value, text):
    assert stringify(value) == text


def test_parse_json_launch_separates_token_and_action():
    body = json.dumps({"token": "T", "action": "create", "n": 2}).encode()
    request = parse_launch("POST", "", "application/json", body)
    assert (request.reply_format, request.token, request.action) == ("json", "T", "create")
    assert request.params == {"n": "2"}


def test_parse_body_sniffed_without_content_type():
    assert parse_launch("POST", "", None, b'{"token": "T"}').reply_format == "json"
    assert parse_launch("POST", "", None, b"<session><token>T</token></session>").token == "T"
    assert parse_launch("POST", "", None, b"token=T&a=1").params == {"a": "1"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"[1]"),
        ("application/xml", b"<call/>"),
        ("text/xml", b"<session"),
        ("application/xml", b"<session><var value='x'/></session>"),
        ("application/json", b"\xff"),
    ],
)
def test_parse_errors(content_type, body):
    with pytest.raises(LaunchParseError):
        parse_launch("POST", "", content_type, body)


def test_render_form_reply_as_the_fixture():
    """../shared/fixtures/session-launch-response-form.txt, as tropo-webapi-java's
    ``TropoParser.java`` reads it."""
    fixture = (SHARED_FIXTURES / "session-launch-response-form.txt").read_text().strip()
    session_id = "0c1d2e3f405162738495a6b7c8d9eaf0\n"
    content_type, data = render_reply("form", success=True, token="TOKEN", session_id=session_id)
    assert content_type == "application/x-www-form-urlencoded"
    assert data.decode() == fixture


def test_parse_form_post_replies_form():
    assert parse_launch("POST", "", None, b"token=T").reply_format == "form"
    assert parse_launch("GET", "token=T", None, b"").reply_format == "xml"


def test_render_xml_escapes():
    content_type, data = render_reply("xml", success=False, reason="a<b")
    assert content_type == "application/xml"
    root = xml_reply(data)
    assert (root.findtext("success"), root.findtext("reason")) == ("false", "a<b")


def test_tropoml_parsing():
    doc = {
        "tropo": [
            {"message": {"say": {"value": "hi"}, "to": ["+1", "+2"], "from": "+3"}},
            {"message": {"say": [{"value": 1}, {"value": "b"}], "to": "+4", "name": "m"}},
            {"message": {"to": "+5"}},
            {"message": {"say": {"value": "x"}, "to": []}},
            {"say": {"value": "s"}},
            {"on": {"event": "continue", "next": "/x"}},
            {"on": {"event": "error", "say": {"value": "oops"}}},
            {"record": {}},
            {"hangup": None},
        ]
    }
    document = tropoml.parse_document(json.dumps(doc).encode())
    verbs = document.verbs
    assert verbs[0] == tropoml.Message("+1", "+3", "hi", "SMS")
    assert verbs[1] == tropoml.Message("+4", None, "1 b", "SMS", name="m")
    assert verbs[2] == tropoml.Invalid("message", "message needs a 'say' with a value")
    assert verbs[3] == tropoml.Invalid("message", "message needs a 'to'")
    assert verbs[4] == tropoml.Say("s")
    assert verbs[5] == tropoml.Skipped("record", "verb not supported by the emulator")
    assert verbs[6] == tropoml.Hangup()
    assert document.handlers == {
        "continue": tropoml.On("continue", "/x"),
        "error": tropoml.On("error", None, ("oops",)),
    }


def test_call_is_a_text_conversation_on_sms_and_a_voice_call_otherwise():
    """docs.voxeo.com/webapi/2.0/call.htm: ``channel`` "Default: voice"; "For phone calls
    it is "VOICE", for SMS and instant messaging it is "TEXT"" (and
    ../shared/tropo-protocol.md, section 4: no network, or PSTN, places a phone call)."""
    doc = {
        "tropo": [
            {"call": {"to": ["+14155550100", "+2"], "network": "SMS", "from": "+3"}},
            {"call": {"to": "+14155550100", "channel": "TEXT"}},
            {"call": {"to": "+14155550100"}},
            {"call": {"network": "SMS"}},
            {"call": {"to": "+14155550100", "network": "pstn", "name": "c"}},
            {"call": {"to": "+14155550100", "channel": "VOICE", "from": "+3"}},
            {"call": {"to": "sip:alice@example.com"}},
            {"call": {"to": "+14155550100", "network": "SIP"}},
            {"call": {"to": "alice", "network": "JABBER"}},
            {"call": {"to": "+14155550100", "network": "PSTN", "channel": "FAX"}},
        ]
    }
    verbs = tropoml.parse_document(json.dumps(doc).encode()).verbs
    assert verbs[0] == tropoml.Call("+14155550100", "+3")
    assert verbs[1] == tropoml.Call("+14155550100", None)
    assert verbs[2] == tropoml.Call("+14155550100", None, network="PSTN")
    assert verbs[3] == tropoml.Invalid("call", "call needs a 'to'")
    assert verbs[4] == tropoml.Call("+14155550100", None, "c", network="PSTN")
    assert verbs[5] == tropoml.Call("+14155550100", "+3", network="PSTN")
    assert verbs[6] == tropoml.Call("sip:alice@example.com", None, network="SIP")
    assert verbs[7] == tropoml.Call("+14155550100", None, network="SIP")
    assert verbs[8] == tropoml.Skipped("call", "network JABBER is not supported by the emulator")
    assert verbs[9] == tropoml.Skipped(
        "call", "network PSTN channel FAX is not supported by the emulator"
    )
    assert [verb.voice for verb in verbs[:3]] == [False, False, True]


@pytest.mark.parametrize(
    ("to", "address"),
    [
        ("+1 (415) 555-0100", "+14155550100"),
        ("tel:4155550100", "+14155550100"),
        ("+14155550100;postd=1234pp56;pause=5s", "+14155550100"),
        ("sip:alice@example.com;transport=tcp", "sip:alice@example.com"),
        ("SIP:alice@example.com", "sip:alice@example.com"),
        ("sip:alice", None),
        ("Q", None),
    ],
)
def test_voice_destinations_are_dialled_as_tropo_dialled_them(to, address):
    """tropo.com/docs/webapi/call: tel: numbers with formatting removed, sip: addresses,
    dialling options such as ``;postd=1234pp56;pause=5s`` after the address."""
    assert voice.destination(to) == address


def test_a_voice_call_without_from_shows_caller_id_unknown():
    """tropo.com/docs/webapi/call: "If "from" is specified then it will be used as the
    callerId when making the call. Otherwise, the callerId will be "unknown"."""
    assert voice.caller_id(None) == "unknown"
    assert voice.caller_id("(415) 555-0199") == "+14155550199"


def test_on_needs_a_known_event():
    doc = {"tropo": [{"on": {"event": "ring", "next": "/r"}}, {"on": "continue"}]}
    document = tropoml.parse_document(json.dumps(doc).encode())
    assert [type(verb) for verb in document.verbs] == [tropoml.Invalid, tropoml.Invalid]
    assert document.handlers == {}


def test_answer_read_in_its_declared_charset():
    """Tropo read an answer in the charset it declared (../shared/tropo-protocol.md,
    section 4; tropo.com/docs/webapi/result: "any encoded data, like accented characters,
    will be passed to your app as ISO-8859-1 encoded")."""
    raw = '{"tropo": [{"say": {"value": "Café"}}]}'.encode("iso-8859-1")
    document = tropoml.parse_document(raw, "application/json; charset=ISO-8859-1")
    assert document.verbs == [tropoml.Say("Café")]
    utf8 = '{"tropo": [{"say": {"value": "Café"}}]}'.encode()
    assert tropoml.parse_document(utf8, "application/json").verbs == [tropoml.Say("Café")]
    with pytest.raises(tropoml.TropoMLError, match="unknown charset"):
        tropoml.parse_document(utf8, "application/json; charset=klingon")


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"tropo": {}}', b"\xff", b"nope"])
def test_tropoml_errors(raw):
    with pytest.raises(tropoml.TropoMLError):
        tropoml.parse_document(raw)


def test_urls_in_the_debugger_log_hide_query_values():
    from rtropo.emulator.redaction import redact_url

    shown = redact_url("http://127.0.0.1:8000/tropo/?secret=s3cr3t-value&x=")
    assert "s3cr3t-value" not in shown
    assert shown.startswith("http://127.0.0.1:8000/tropo/?secret=s3c…")
