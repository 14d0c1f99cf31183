import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtropo.emulator import sms, tropoml
from rtropo.emulator.session_api import LaunchParseError, parse_launch, render_reply, stringify

from .conftest import xml_reply


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


def test_numbers():
    assert sms.e164("15555550001") == "+15555550001"
    assert sms.e164("tel:+1 555-555-0001") == "+15555550001"
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


def test_render_xml_escapes():
    content_type, data = render_reply("xml", success=False, reason="a<b")
    assert content_type == "application/xml"
    root = xml_reply(data)
    assert (root.findtext("success"), root.findtext("reason")) == ("false", "a<b")


def test_tropoml_parsing():
    doc = {
        "tropo": [
            {"message": {"say": {"value": "hi"}, "to": ["+1", "+2"], "from": "+3"}},
            {"message": {"say": [{"value": 1}, {"value": "b"}], "to": "+4"}},
            {"message": {"to": "+5"}},
            {"message": {"say": {"value": "x"}, "to": []}},
            {"say": {"value": "s"}},
            {"on": {"event": "continue", "next": "/x"}},
            {"hangup": None},
        ]
    }
    actions = tropoml.parse_document(json.dumps(doc).encode())
    assert actions[0] == tropoml.Message("+1", "+3", "hi", "SMS")
    assert actions[1] == tropoml.Message("+4", None, "1 b", "SMS")
    assert isinstance(actions[2], tropoml.Skipped)
    assert isinstance(actions[3], tropoml.Skipped)
    assert actions[4] == tropoml.Say("s")
    assert actions[5] == tropoml.Skipped("on", "verb not supported by the emulator")
    assert actions[6] == tropoml.Hangup()


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"tropo": {}}', b"\xff", b"nope"])
def test_tropoml_errors(raw):
    with pytest.raises(tropoml.TropoMLError):
        tropoml.parse_document(raw)


def test_urls_in_the_debugger_log_hide_query_values():
    from rtropo.emulator.engine import redact_url

    shown = redact_url("http://127.0.0.1:8000/tropo/?secret=s3cr3t-value&x=")
    assert "s3cr3t-value" not in shown
    assert shown.startswith("http://127.0.0.1:8000/tropo/?secret=s3c…")
