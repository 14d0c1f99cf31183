import json
import re
from urllib.parse import parse_qs

import requests

from rtropo.emulator.redaction import redact_url

from .conftest import TOKEN, load_fixture, message, xml_reply

SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


def launch_json(emulator, **params):
    body = {"token": TOKEN, "action": "create", **params}
    return requests.post(
        emulator.session_api_url,
        json=body,
        headers={"Accept": "application/json"},
        timeout=5,
    )


def test_json_launch_replies_json_with_trailing_newline_id(emulator, app):
    reply = launch_json(emulator)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    data = reply.json()
    assert data.keys() == load_fixture("session-launch-response.json").keys()
    assert data["success"] is True
    assert data["token"] == TOKEN
    assert data["id"].endswith("\n")
    assert SESSION_ID.match(data["id"].strip())
    [session] = app.wait_for_requests(1)
    assert session["id"] == data["id"].strip()


def test_get_launch_replies_xml(emulator, app):
    reply = requests.get(
        emulator.session_api_url,
        params={"action": "create", "token": TOKEN, "msg": "a+b"},
        timeout=5,
    )
    root = xml_reply(reply.content)
    assert root.tag == "session"
    assert root.findtext("success") == "true"
    assert root.findtext("token") == TOKEN
    assert SESSION_ID.match(root.findtext("id").strip())
    [session] = app.wait_for_requests(1)
    assert session["parameters"]["msg"] == "a+b"


def test_plus_in_query_string_must_be_escaped(emulator, app):
    url = f"{emulator.session_api_url}?action=create&token={TOKEN}&to=+15555550001"
    requests.get(url, timeout=5)
    [session] = app.wait_for_requests(1)
    assert session["parameters"]["to"] == " 15555550001"


def test_form_post_replies_form_encoded(emulator, app):
    """A form POST is answered form-encoded, whatever Accept says: tropo-webapi-java's
    ``src/main/java/com/voxeo/tropo/TropoParser.java`` parses the launch reply as
    ``A=1&B=2`` (see ../shared/fixtures/session-launch-response-form.txt)."""
    reply = requests.post(
        emulator.session_api_url,
        data={"token": TOKEN, "ref": "7"},
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert reply.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(reply.text, strict_parsing=True)
    assert fields.keys() == {"success", "token", "id"}
    assert fields["success"] == ["true"] and fields["token"] == [TOKEN]
    assert fields["id"][0].endswith("\n")
    [session] = app.wait_for_requests(1)
    assert session["id"] == fields["id"][0].strip()
    assert session["parameters"] == {"token": TOKEN, "action": "create", "ref": "7"}


def test_refused_form_post_is_form_encoded(emulator):
    reply = requests.post(emulator.session_api_url, data={"token": "nope"}, timeout=5)
    assert parse_qs(reply.text) == {"success": ["false"], "reason": ["Invalid token"]}


def test_xml_post_with_vars(emulator, app):
    body = (
        f"<session><token>{TOKEN}</token>"
        '<var name="numberToDial" value="14075551212"/><var name="msg" value="hi &amp; bye"/>'
        "</session>"
    )
    reply = requests.post(
        emulator.session_api_url,
        data=body.encode(),
        headers={"Content-Type": "text/xml"},
        timeout=5,
    )
    assert xml_reply(reply.content).findtext("success") == "true"
    [session] = app.wait_for_requests(1)
    assert session["parameters"] == {
        "token": TOKEN,
        "action": "create",
        "numberToDial": "14075551212",
        "msg": "hi & bye",
    }


def test_token_in_query_with_json_body(emulator, app):
    reply = requests.post(
        f"{emulator.session_api_url}?token={TOKEN}&action=create", json={"k": "v"}, timeout=5
    )
    assert reply.json()["success"] is True
    [session] = app.wait_for_requests(1)
    assert session["parameters"]["k"] == "v"


def test_invalid_and_missing_token_refused_without_session(emulator, app):
    bad = requests.post(emulator.session_api_url, json={"token": "nope"}, timeout=5)
    assert bad.status_code == 200
    assert bad.json() == {"success": False, "reason": "Invalid token"}
    missing = requests.get(emulator.session_api_url, params={"action": "create"}, timeout=5)
    assert xml_reply(missing.content).findtext("success") == "false"
    assert xml_reply(missing.content).findtext("reason") == "Missing token"
    assert [launch.outcome for launch in emulator.launches] == ["Invalid token", "Missing token"]
    assert emulator.state()["counters"]["sessions"] == 0
    assert app.requests == []


def test_malformed_json_body_is_400(emulator):
    reply = requests.post(
        emulator.session_api_url,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert reply.status_code == 400
    assert reply.json()["success"] is False


def test_callback_shape_and_stringified_parameters(emulator, app):
    launch_json(emulator, count=3, ratio=1.5, flag=True, nothing=None, ref="r-1")
    [request] = [app.wait_for_requests(1) and app.requests[0]]
    assert request["path"] == "/tropo/?secret=s3"
    assert request["headers"]["Content-Type"] == "application/json"
    session = request["payload"]["session"]
    assert session.keys() == load_fixture("launch-callback.json")["session"].keys()
    assert SESSION_ID.match(session["id"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", session["timestamp"])
    assert session["userType"] == "NONE"
    assert session["initialText"] is None
    assert session["callId"] is None
    assert session["accountId"] == "12345"
    assert session["parameters"] == {
        "token": TOKEN,
        "action": "create",
        "count": "3",
        "ratio": "1.5",
        "flag": "true",
        "nothing": "null",
        "ref": "r-1",
    }


def test_message_verbs_delivered_to_first_recipient_only(emulator, app):
    app.answer = {
        "tropo": [
            {
                "message": {
                    "say": [{"value": "Hello"}, {"value": "there"}],
                    "to": ["+15555550001", "+15555550002"],
                    "from": "+15555550000",
                }
            },
            message("15555550003", "second"),
            {"hangup": None},
        ]
    }
    session_id = launch_json(emulator).json()["id"]
    first, second = emulator.wait_for_deliveries(2)
    assert (first.to, first.from_, first.text, first.parts) == (
        "+15555550001",
        "+15555550000",
        "Hello there",
        1,
    )
    assert first.session_id == session_id.strip()
    assert (second.to, second.text) == ("+15555550003", "second")
    log = emulator.wait_for_session(session_id)
    assert any("Delivered SMS to +15555550001 from +15555550000 (1 part(s))" in x for x in log)
    assert log[-1].endswith("Session ended")


def test_long_text_counts_parts(emulator, app):
    app.answer = {"tropo": [message("+15555550001", "x" * 161), message("+15555550001", "ж" * 71)]}
    launch_json(emulator)
    gsm, ucs2 = emulator.wait_for_deliveries(2)
    assert gsm.parts == 2
    assert ucs2.parts == 2


def test_hangup_ends_before_later_verbs(emulator, app):
    app.answer = {"tropo": [{"hangup": {}}, message("+15555550001", "never")]}
    session_id = launch_json(emulator).json()["id"]
    emulator.wait_for_session(session_id)
    assert emulator.deliveries == []
    assert emulator.debugger_log(session_id)[-1].endswith("Session ended")


def test_say_and_unknown_verbs_in_launched_session_are_logged(emulator, app):
    app.answer = {
        "tropo": [{"say": {"value": "nobody hears"}}, {"record": {}}, message("+1555", "ok")]
    }
    session_id = launch_json(emulator).json()["id"]
    emulator.wait_for_session(session_id)
    log = "\n".join(emulator.debugger_log(session_id))
    assert "Ignoring say with no caller" in log
    assert "Skipping verb record" in log


def test_non_2xx_answer_delivers_nothing_and_logs(emulator, app):
    app.answer = lambda payload: (500, json.dumps({"tropo": [message("+1555", "x")]}).encode())
    session_id = launch_json(emulator).json()["id"]
    emulator.wait_for_session(session_id)
    assert emulator.deliveries == []
    log = emulator.debugger_log(session_id)
    assert any(
        f"Received non-2XX status code on Session {session_id.strip()} code=500" in line
        for line in log
    )
    assert log[-1].endswith("Session ended")


def test_non_json_answer_delivers_nothing(emulator, app):
    app.answer = b"<html>oops</html>"
    session_id = launch_json(emulator).json()["id"]
    emulator.wait_for_session(session_id)
    assert emulator.deliveries == []
    assert any("Invalid TropoML document" in x for x in emulator.debugger_log(session_id))


def test_unreachable_app_ends_session(app):
    from rtropo.emulator import running_emulator

    with running_emulator(app_url="http://127.0.0.1:1/", token=TOKEN) as tropo:
        session_id = launch_json(tropo).json()["id"]
        log = "\n".join(tropo.wait_for_session(session_id))
    assert "Failed to reach application URL" in log
    assert tropo.deliveries == []


def test_debugger_log_redacts_token(emulator, app):
    session_id = launch_json(emulator, ref="1").json()["id"]
    emulator.wait_for_session(session_id)
    log = emulator.debugger_log(session_id)
    text = "\n".join(log)
    assert TOKEN not in text
    assert "HTTPDriver.doGet(): action = create" in text
    assert f"token = {TOKEN[:4]}…" in text
    sending = next(line for line in log if "Sending TropoML Payload" in line)
    assert f"[url={redact_url(app.url)}]" in sending
    assert "secret=s3" not in sending
    assert "Received new TropoML document from" in text
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", log[0])


def test_callbacks_counted(emulator, app):
    for _ in range(2):
        emulator.wait_for_session(launch_json(emulator).json()["id"])
    assert emulator.callbacks == 2
    assert [launch.outcome for launch in emulator.launches] == ["created", "created"]


def test_call_then_say_texts_the_called_number(emulator, app):
    """``call`` "initiates an outbound call or a text conversation"; "for SMS and IM
    conversations, the "to" represents the SMS enabled phone" and the ``say`` verbs after
    it are texted to it (docs.voxeo.com/webapi/2.0/doc_toc.htm, ``call``)."""
    app.answer = {
        "tropo": [
            {"call": {"to": "+1 (415) 555-1212", "network": "SMS", "channel": "TEXT"}},
            {"say": {"value": "Your order shipped."}},
            {"say": [{"value": "Reply STOP to stop."}]},
        ]
    }
    session_id = launch_json(emulator).json()["id"]
    emulator.wait_for_session(session_id)
    assert [(d.to, d.from_, d.text) for d in emulator.deliveries] == [
        ("+14155551212", "+15555550000", "Your order shipped."),
        ("+14155551212", "+15555550000", "Reply STOP to stop."),
    ]
    log = "\n".join(emulator.debugger_log(session_id))
    assert "Text conversation with +14155551212 from +15555550000" in log


def test_a_call_on_an_unsupported_network_is_skipped_and_its_say_has_no_caller(emulator, app):
    app.answer = {
        "tropo": [
            {"call": {"to": "alice@example.com", "network": "JABBER"}},
            {"say": {"value": "hello"}},
        ]
    }
    session_id = launch_json(emulator).json()["id"]
    log = "\n".join(emulator.wait_for_session(session_id))
    assert emulator.deliveries == []
    assert emulator.calls == []
    assert "Skipping verb call: network JABBER is not supported by the emulator" in log
    assert "Ignoring say with no caller" in log


def test_message_numbers_are_dialled_without_formatting(emulator, app):
    """tropo.com/docs/webapi/message: "Phone numbers with formatting (for example +1
    415-555-1212) will have formatting removed by Tropo prior to dialing";
    docs.voxeo.com/webapi/2.0/message.htm: "For US numbers, the country code can be
    omitted" (the SDKs' samples launch with ``numberToDial`` "4075551212")."""
    app.answer = {
        "tropo": [
            message("+1 (415) 555-1212", "a"),
            message("415.555.1213", "b"),
            message("4075551212", "c"),
            message("+44 20 7946 0018", "d"),
        ]
    }
    session_id = launch_json(emulator).json()["id"]
    emulator.wait_for_session(session_id)
    assert [d.to for d in emulator.deliveries] == [
        "+14155551212",
        "+14155551213",
        "+14075551212",
        "+442079460018",
    ]
