import json
import re

import requests

from rtropo.emulator.redaction import redact_url

from .conftest import HANGUP, TOKEN, load_fixture, message


def test_inbound_session_shape(emulator, app):
    result = emulator.send_sms("+15555550001", "MYMESSAGE")
    assert result.status == 200
    assert result.deliveries == ()
    [request] = app.requests
    assert request["headers"]["Content-Type"] == "application/json"
    session = request["payload"]["session"]
    assert session.keys() == load_fixture("inbound-sms.json")["session"].keys()
    assert "parameters" not in session
    assert session["id"] == result.session_id
    assert re.match(r"^[0-9a-f]{32}$", session["callId"])
    assert session["userType"] == "HUMAN"
    assert session["initialText"] == "MYMESSAGE"
    assert session["accountId"] == "12345"
    phone = {"name": None, "channel": "TEXT", "network": "SMS"}
    assert session["from"] == {"id": "15555550001", "e164Id": "15555550001", **phone}
    assert session["to"] == {"id": "15555550000", "e164Id": "15555550000", **phone}
    assert isinstance(session["headers"], dict)


def test_top_level_say_texts_the_sender_back(emulator, app):
    app.answer = {"tropo": [{"say": [{"value": "one"}, {"value": "two"}]}, {"hangup": {}}]}
    result = emulator.send_sms("15555550001", "hi")
    assert [(d.to, d.from_, d.text) for d in result.deliveries] == [
        ("+15555550001", "+15555550000", "one"),
        ("+15555550001", "+15555550000", "two"),
    ]
    assert emulator.deliveries == list(result.deliveries)


def test_message_verbs_in_inbound_answer(emulator, app):
    app.answer = {
        "tropo": [
            message("+15555550002", "forwarded"),
            message("+15555550003", "copy"),
            HANGUP["tropo"][0],
        ]
    }
    result = emulator.send_sms("+15555550001", "hi")
    assert [d.to for d in result.deliveries] == ["+15555550002", "+15555550003"]


def test_unicode_round_trip(emulator, app):
    app.answer = lambda payload: (
        200,
        json.dumps(
            {"tropo": [{"say": {"value": payload["session"]["initialText"] + "!"}}]}
        ).encode(),
    )
    result = emulator.send_sms("+15555550001", "Привет €")
    assert result.deliveries[0].text == "Привет €!"


def test_inbound_non_2xx_delivers_nothing(emulator, app):
    app.answer = lambda payload: (503, b'{"tropo": [{"say": {"value": "x"}}]}')
    result = emulator.send_sms("+15555550001", "hi")
    assert result.status == 503
    assert result.deliveries == ()
    log = emulator.debugger_log(result.session_id)
    assert (
        f"Matched application URL {redact_url(app.url)} for inbound SMS from 15555550001" in log[0]
    )
    assert any("code=503" in line for line in log)


def test_app_may_launch_while_handling_inbound(emulator, app):
    """The reply's launch and callback overlap the inbound request, as with real Tropo."""

    def answer(payload):
        session = payload["session"]
        if session["userType"] == "HUMAN":
            reply = requests.post(
                emulator.session_api_url,
                json={"token": TOKEN, "action": "create", "to": "+15555550001"},
                timeout=5,
            )
            assert reply.json()["success"] is True
            return 200, b'{"tropo": [{"hangup": {}}]}'
        to = session["parameters"]["to"]
        return (
            200,
            f'{{"tropo": [{{"message": {{"say": {{"value": "pong"}}, "to": "{to}"}}}}]}}'.encode(),
        )

    app.answer = answer
    result = emulator.send_sms("+15555550001", "ping")
    assert result.status == 200
    [delivery] = emulator.wait_for_deliveries(1)
    assert (delivery.to, delivery.from_, delivery.text) == ("+15555550001", "+15555550000", "pong")


def test_answer_in_a_declared_charset_is_read_in_it(emulator, app):
    """Tropo read an answer in the charset it declared: an ISO-8859-1 answer's accented
    letters arrived as such (../shared/tropo-protocol.md, section 4; Tropo's
    tropo.com/docs/webapi/result names ISO-8859-1 as the charset of its own JSON)."""
    body = '{"tropo": [{"say": {"value": "Café über"}}]}'.encode("iso-8859-1")
    app.answer = lambda payload: (200, body, "application/json; charset=ISO-8859-1")
    result = emulator.send_sms("+15555550001", "hi")
    assert [d.text for d in result.deliveries] == ["Café über"]
    log = emulator.debugger_log(result.session_id)
    assert any("Received new TropoML document" in line and "Café über" in line for line in log)


def test_a_number_typed_with_formatting_is_one_conversation(emulator, app):
    """Phones are numbers as Tropo dialled them (tropo.com/docs/webapi/message: formatting
    removed; docs.voxeo.com/webapi/2.0/message.htm: US numbers may omit the country code),
    so one phone is one conversation however it is typed."""
    for sender in ("(555) 555-0003", "+1 555 555 0003", "555.555.0003"):
        emulator.send_sms(sender, "hi")
    assert {session["from"]["id"] for session in app.sessions} == {"15555550003"}
    assert list(emulator.state()["conversations"]) == ["+15555550003"]
