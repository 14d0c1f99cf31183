"""Voice programs: a ``call`` on a voice network places a phone call and its ``say``
verbs are spoken on it, as in Tropo's WebAPI appointment-reminder.

References: tropo.com/docs/webapi/call ("Initiates an outbound call or a text
conversation. The channel and network parameters determine the type of conversation";
"If the call successfully completes within the timeout the call action is considered
complete and Tropo will continue to the next action"; "If the call fails ... the call
action is considered incomplete"), docs.voxeo.com/webapi/2.0/call.htm (``channel``
"Default: voice") and ../shared/tropo-protocol.md, section 4.
"""

import time

import pytest
import requests

from rtropo.emulator import PhoneCall, WaitTimeout, running_emulator
from rtropo.emulator.store import Session, Store

from .conftest import TOKEN, load_fixture, message

PHONE = "+14155550100"
REMINDER = "Your appointment is tomorrow at 10."


def reminder(*verbs, call=None):
    """The appointment-reminder program, ``verbs`` (handlers) after its hangup."""
    return {
        "tropo": [
            {"call": call or {"to": PHONE, "network": "PSTN"}},
            {"say": [{"value": REMINDER}]},
            *verbs,
        ]
    }


def launch(emulator):
    """Launch a session through the Session API, as a backend does; return its id."""
    reply = requests.post(
        emulator.session_api_url,
        json={"token": TOKEN, "action": "create"},
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert reply.json()["success"] is True
    return reply.json()["id"].strip()


def test_the_appointment_reminder_reaches_the_phone_as_one_call(emulator, app):
    """Through the HTTP API only: launch, the app's program, the state and the page."""
    app.answer = reminder({"on": {"event": "continue", "next": "/reminder-result"}})
    session_id = launch(emulator)
    emulator.wait_for_session(session_id)
    state = requests.get(emulator.url + "/emulator/api/state", timeout=5).json()
    assert state["counters"]["calls"] == 1
    assert state["counters"]["deliveries"] == 0
    assert state["deliveries"] == []
    [call] = state["calls"]
    assert (call["to"], call["from"], call["network"], call["spoken"], call["ended"]) == (
        PHONE,
        "unknown",
        "PSTN",
        [REMINDER],
        True,
    )
    assert call["session_id"] == session_id
    [entry] = state["conversations"][PHONE]
    assert (entry["kind"], entry["direction"], entry["spoken"]) == ("call", "outbound", [REMINDER])
    page = requests.get(emulator.url + "/", timeout=5).text
    assert '"📞 call from "' in page
    assert '"spoken: "' in page
    assert 'entry.kind === "call" ? callBubble(entry) : smsBubble(entry)' in page
    [(path, result)] = app.results
    assert path == "/reminder-result"
    assert result.keys() == load_fixture("result.json")["result"].keys()
    assert (result["state"], result["complete"], result["sequence"]) == ("ANSWERED", True, 1)
    assert result["callId"] == call["id"]
    [callback] = app.sessions
    assert callback["callId"] is None
    log = "\n".join(emulator.debugger_log(session_id))
    assert f"Voice call to {PHONE} from unknown on PSTN: answered" in log
    assert f"Spoke on the call to {PHONE} ({len(REMINDER)} characters)" in log


def test_named_call_and_says_report_success_in_the_result(emulator, app):
    """The result's ``actions`` report each named verb (tropo.com/docs/webapi/result),
    the call as ``SUCCESS`` once answered; the session's ``state`` is ``ANSWERED``."""
    app.answer = {
        "tropo": [
            {"call": {"to": PHONE, "name": "reminder-call", "from": "+14155550199"}},
            {"say": [{"value": REMINDER, "name": "reminder"}, {"value": "Goodbye."}]},
            {"on": {"event": "continue", "next": "/r"}},
        ]
    }
    emulator.wait_for_session(launch(emulator))
    [(_, result)] = app.results
    assert result["actions"] == [
        {"name": "reminder-call", "attempts": 1, "disposition": "SUCCESS"},
        {"name": "reminder", "attempts": 1, "disposition": "SUCCESS"},
    ]
    assert result.keys() == load_fixture("result-with-actions.json")["result"].keys()
    [call] = emulator.wait_for_calls(1)
    assert (call.from_, call.spoken) == ("+14155550199", (REMINDER, "Goodbye."))


def test_a_call_that_cannot_be_placed_is_incomplete(emulator, app):
    app.answer = reminder(
        {"on": {"event": "incomplete", "next": "/failed"}},
        call={"to": "Q", "name": "reminder-call"},
    )
    session_id = launch(emulator)
    log = "\n".join(emulator.wait_for_session(session_id))
    [(path, result)] = app.results
    assert path == "/failed"
    assert result["complete"] is False
    assert result["actions"] == {"name": "reminder-call", "attempts": 1, "disposition": "FAILED"}
    assert "Cannot reach 'Q': not a phone number or SIP address" in log
    assert emulator.calls == []


def test_the_test_api_waits_for_calls_and_finds_them_per_phone(emulator, app):
    app.answer = reminder({"hangup": {}}, call={"to": "+1 (415) 555-0100"})
    launch(emulator)
    [call] = emulator.wait_for_calls(1)
    assert isinstance(call, PhoneCall)
    assert emulator.calls_to("415-555-0100") == [call]
    assert emulator.calls_to("+15555550001") == []
    assert call.spoken == (REMINDER,)
    assert call.ended
    with pytest.raises(WaitTimeout, match="expected at least 2 ended calls"):
        emulator.wait_for_calls(2, timeout=0.1)
    emulator.reset()
    assert emulator.calls == []
    assert emulator.state()["calls"] == []


def test_on_handler_says_are_spoken_and_message_verbs_stay_sms(emulator, app):
    """A handler without ``next`` has its ``say`` said on the call in progress; a
    ``message`` verb is an SMS as ever; a later text ``call`` hangs up the voice call."""
    app.answer = reminder(
        message(PHONE, "Directions: 1 Main St."),
        {"call": {"to": PHONE, "network": "SMS"}},
        {"say": {"value": "Texted."}},
        {"on": {"event": "continue", "say": {"value": "Bye."}}},
    )
    app.answer["tropo"].insert(2, {"on": {"event": "error", "say": {"value": "Oops."}}})
    app.answer["tropo"].insert(3, {"message": {"to": PHONE}})
    emulator.wait_for_session(launch(emulator))
    [call] = emulator.calls
    assert call.spoken == (REMINDER, "Oops.")
    assert [(d.to, d.text) for d in emulator.deliveries] == [
        (PHONE, "Directions: 1 Main St."),
        (PHONE, "Texted."),
        (PHONE, "Bye."),
    ]
    kinds = [entry["kind"] for entry in emulator.state()["conversations"][PHONE]]
    assert kinds == ["call", "sms", "sms", "sms"]


def test_an_inbound_sms_answered_with_a_call_rings_the_phone(emulator, app):
    app.answer = reminder(call={"to": "sip:alice@example.com;transport=tcp"})
    result = emulator.send_sms("+15555550001", "call me")
    assert result.deliveries == ()
    [call] = emulator.calls_to("sip:alice@example.com")
    assert (call.network, call.spoken, call.session_id) == ("SIP", (REMINDER,), result.session_id)


def test_voice_calls_do_not_count_against_the_sms_rate(app):
    """Tropo's one SMS a second per number is a texting limit; speaking is not texting."""
    says = [{"say": {"value": f"line {index}"}} for index in range(5)]
    app.answer = {
        "tropo": [
            message(PHONE, "first SMS"),
            {"call": {"to": PHONE}},
            *says,
            message(PHONE, "second SMS"),
        ]
    }
    with running_emulator(
        app_url=app.url, token=TOKEN, enforce_rate=True, rate_interval=0.5
    ) as tropo:
        started = time.monotonic()
        result = tropo.send_sms("+15555550001", "go")
        elapsed = time.monotonic() - started
        [call] = tropo.calls
    first, second = result.deliveries
    assert 0.45 <= second.delivered_at - first.delivered_at < 0.9
    assert elapsed < 0.9
    assert call.spoken == tuple(f"line {index}" for index in range(5))


def test_the_store_keeps_a_bounded_history_of_calls():
    store = Store(history=2)
    session = Session("s" * 32, "launch", time.time())
    for index in range(3):
        call = PhoneCall(f"{index:032x}", session.id, PHONE, "unknown", "PSTN", time.time())
        store.add_call(session, call)
        store.speak(session, f"text {index}")
        store.hang_up(session)
    store.speak(session, "after the hangup")
    assert [(c.id[-1], c.spoken, c.ended) for c in store.calls] == [
        ("1", ("text 1",), True),
        ("2", ("text 2",), True),
    ]
    assert store.counter("calls") == 3
    [*_, newest] = store.snapshot(limit=10)["conversations"][PHONE]
    assert (newest["spoken"], newest["ended"], newest["from"]) == (["text 2"], True, "unknown")
