"""``on`` handlers and the result objects Tropo POSTed to their ``next`` URL.

References: tropo.com/docs/webapi/on (events, ``next``, the catch-all ``continue``, the
hangup when no ``continue`` handler has a URL, events scoped to their document),
tropo.com/docs/webapi/result (the result's fields; ``actions`` an object for one named
action, a list for several) and the captured shapes in ../shared/fixtures/result*.json.
"""

import re
import time

import pytest
import requests

from rtropo.emulator.engine import MAX_DOCUMENTS

from .conftest import TOKEN, load_fixture, message

PHONE = "+15555550001"


def on(event, target=None, say=None):
    handler = {"event": event}
    if target:
        handler["next"] = target
    if say:
        handler["say"] = {"value": say}
    return {"on": handler}


def named(to, text, name):
    verb = message(to, text)
    verb["message"]["name"] = name
    return verb


def test_continue_result_goes_to_next_resolved_against_the_app_url(emulator, app):
    """tropo.com/docs/webapi/on: "If next is used, Tropo will send a result object to
    that URL"; a relative ``next`` is resolved against the app's URL, so the query
    string is ``next``'s own (../shared/tropo-protocol.md, section 4)."""
    app.answer = {"tropo": [named(PHONE, "first", "reminder-1"), on("continue", "/result?x=1")]}
    app.routes["/result?x=1"] = {"tropo": [message(PHONE, "after the result")]}
    sent = emulator.send_sms(PHONE, "hi")
    [inbound] = app.sessions
    [(path, result)] = app.results
    assert path == "/result?x=1"
    assert result.keys() == load_fixture("result-with-actions.json")["result"].keys()
    assert result["sessionId"] == sent.session_id
    assert result["callId"] == inbound["callId"]
    assert (result["state"], result["sequence"], result["complete"], result["error"]) == (
        "ANSWERED",
        1,
        True,
        None,
    )
    assert isinstance(result["sessionDuration"], int)
    assert result["actions"] == {"name": "reminder-1", "attempts": 1, "disposition": "SUCCESS"}
    assert [d.text for d in sent.deliveries] == ["first", "after the result"]
    log = "\n".join(emulator.debugger_log(sent.session_id))
    assert re.search(
        r"Sending result on Session \w+ \[url=http://127\.0\.0\.1:\d+/result\?x=…\]", log
    )


def test_relative_next_without_slash_is_under_the_app_path(emulator, app):
    """A relative reference resolves like a link (RFC 3986), as Tropo's docs' samples use
    both ``/answer`` and ``answer``."""
    app.answer = {"tropo": [on("continue", "next-step")]}
    emulator.send_sms(PHONE, "hi")
    [(path, _)] = app.results
    assert path == "/tropo/next-step"


def test_without_named_verbs_the_result_has_no_actions(emulator, app):
    """../shared/fixtures/result.json: a result whose verbs were not named."""
    app.answer = {"tropo": [message(PHONE, "x"), on("continue", "/r")]}
    emulator.send_sms(PHONE, "hi")
    [(_, result)] = app.results
    assert result.keys() == load_fixture("result.json")["result"].keys()


def test_several_named_verbs_report_a_list_and_sequence_counts_results(emulator, app):
    """tropo.com/docs/webapi/result: ``actions`` "will be an array if multiple inputs were
    requested" (tropo-webapi-java ``TropoParser.java``: "actions may be an object or
    array"); ``sequence`` numbers the results of a session (fixtures/result*.json)."""
    app.answer = {
        "tropo": [named(PHONE, "a", "one"), named("Q", "b", "two"), on("continue", "/r1")]
    }
    app.routes["/r1"] = {"tropo": [on("continue", "/r2")]}
    app.routes["/r2"] = {"tropo": [{"hangup": {}}]}
    emulator.send_sms(PHONE, "hi")
    (first_path, first), (second_path, second) = app.results
    assert (first_path, second_path) == ("/r1", "/r2")
    assert [first["sequence"], second["sequence"]] == [1, 2]
    assert first["actions"] == [
        {"name": "one", "attempts": 1, "disposition": "SUCCESS"},
        {"name": "two", "attempts": 1, "disposition": "FAILED"},
    ]
    assert "actions" not in second


def test_incomplete_fires_when_a_number_cannot_be_reached(emulator, app):
    """tropo.com/docs/webapi/on: "Incomplete fires when the resource's actions were
    unsuccessful, such as a timeout or call failure"; docs.voxeo.com/webapi/2.0/
    handling_call_failure.htm dials the letter "Q" to show it, and doc_toc.htm: "If the
    call fails ... the call action is considered incomplete". With ``next`` Tropo
    "stop[s] processing the current document"."""
    app.answer = {
        "tropo": [
            named("Q", "never", "reminder"),
            message(PHONE, "not run"),
            on("incomplete", "/incomplete"),
            on("continue", "/continue"),
        ]
    }
    sent = emulator.send_sms(PHONE, "hi")
    [(path, result)] = app.results
    assert path == "/incomplete"
    assert (result["complete"], result["error"]) == (False, None)
    assert result["actions"] == {"name": "reminder", "attempts": 1, "disposition": "FAILED"}
    assert sent.deliveries == ()


def test_error_fires_for_a_verb_tropo_cannot_read(emulator, app):
    """tropo.com/docs/webapi/on: "Error will fire if something went wrong at the server
    level"; the result's ``error`` carries the text (tropo.com/docs/webapi/result)."""
    app.answer = {"tropo": [{"message": {"to": PHONE}}, on("error", "/error")]}
    emulator.send_sms(PHONE, "hi")
    [(path, result)] = app.results
    assert path == "/error"
    assert result["complete"] is False
    assert result["error"] == "message needs a 'say' with a value"


def test_an_event_without_handler_fires_continue(emulator, app):
    """tropo.com/docs/webapi/on: "If an event has no handler, then the "continue" event is
    fired": the document goes on and its continue result reports the failed verb."""
    app.answer = {
        "tropo": [named("Q", "x", "bad"), message(PHONE, "still sent"), on("continue", "/c")]
    }
    sent = emulator.send_sms(PHONE, "hi")
    [(path, result)] = app.results
    assert path == "/c"
    assert result["complete"] is True
    assert result["actions"]["disposition"] == "FAILED"
    assert [d.text for d in sent.deliveries] == ["still sent"]


def test_a_handler_without_next_texts_its_say_then_continue_fires(emulator, app):
    """tropo.com/docs/webapi/on: "If an event has a handler but that handler does not
    have a URL specified (for example, it has a 'say' verb instead), then that handler is
    processed and then the "continue" event is fired.\""""
    app.answer = {
        "tropo": [
            message("Q", "x"),
            on("incomplete", say="Sorry, that number cannot be reached."),
            on("continue", "/c"),
        ]
    }
    sent = emulator.send_sms(PHONE, "hi")
    assert [(d.to, d.text) for d in sent.deliveries] == [
        (PHONE, "Sorry, that number cannot be reached.")
    ]
    assert [path for path, _ in app.results] == ["/c"]


def test_without_continue_url_the_session_hangs_up_and_hangup_fires(emulator, app):
    """tropo.com/docs/webapi/on: "If the continue event handler is not present or if it
    is present but has no URL, then the call is hung up and the "hangup" event is
    fired." The session is over: the answer to that result is not run."""
    app.answer = {"tropo": [message(PHONE, "bye"), on("hangup", "/hangup")]}
    app.routes["/hangup"] = {"tropo": [message(PHONE, "too late")]}
    sent = emulator.send_sms(PHONE, "hi")
    [(path, result)] = app.results
    assert path == "/hangup"
    assert (result["state"], result["complete"]) == ("DISCONNECTED", True)
    assert [d.text for d in sent.deliveries] == ["bye"]
    assert any("not running the answer" in line for line in emulator.debugger_log(sent.session_id))


def test_a_hangup_verb_fires_the_hangup_handler(emulator, app):
    """tropo.com/docs/webapi/on: "hangup will fire when the user disconnects the call";
    the app's ``hangup`` verb ends the session the same way."""
    app.answer = {
        "tropo": [on("continue", "/c"), on("hangup", "/h"), {"hangup": {}}, message(PHONE, "x")]
    }
    sent = emulator.send_sms(PHONE, "hi")
    assert [path for path, _ in app.results] == ["/h"]
    assert sent.deliveries == ()


def test_events_belong_to_the_document_that_declared_them(emulator, app):
    """tropo.com/docs/webapi/on: "Events are in scope only for the current document.\""""
    app.answer = {"tropo": [on("continue", "/c"), on("hangup", "/h")]}
    app.routes["/c"] = {"tropo": [message(PHONE, "second document")]}
    sent = emulator.send_sms(PHONE, "hi")
    assert [path for path, _ in app.results] == ["/c"]
    assert [d.text for d in sent.deliveries] == ["second document"]


def test_a_launched_session_posts_results_too(emulator, app):
    """The session API guide's flow: callback, answer, result (tropo.com/docs/webapi/result:
    "Returned anytime a request is made to the Tropo Web API")."""
    app.answer = lambda payload: (
        200,
        b'{"tropo": [{"message": {"say": {"value": "hi"}, "to": "+15555550001", "name": "r"}},'
        b' {"on": {"event": "continue", "next": "/r?ref=1"}}]}',
    )
    app.routes["/r?ref=1"] = {"tropo": [{"hangup": {}}]}
    reply = requests.post(
        emulator.session_api_url, json={"token": TOKEN, "action": "create"}, timeout=5
    )
    emulator.wait_for_session(reply.json()["id"])
    [(_, result)] = app.results
    assert result["sessionId"] == reply.json()["id"].strip()
    assert result["actions"]["disposition"] == "SUCCESS"
    assert emulator.state()["counters"]["results"] == 1


def test_an_app_500_to_a_result_ends_the_session(emulator, app):
    """As for the first answer: "If the app answers non-2xx, Tropo ends the session"
    (../shared/tropo-protocol.md, section 1)."""
    app.answer = {"tropo": [on("continue", "/r")]}
    app.routes["/r"] = lambda payload: (500, b'{"tropo": [{"say": {"value": "x"}}]}')
    sent = emulator.send_sms(PHONE, "hi")
    assert sent.deliveries == ()
    assert any("code=500" in line for line in emulator.debugger_log(sent.session_id))


def test_a_document_loop_ends(emulator, app):
    app.answer = {"tropo": [on("continue", "/loop")]}
    app.routes["/loop"] = app.answer
    sent = emulator.send_sms(PHONE, "hi")
    assert len(app.results) == MAX_DOCUMENTS
    assert "Too many documents" in emulator.debugger_log(sent.session_id)[-2]


# -- result faults ------------------------------------------------------------------------


@pytest.fixture
def with_result(app):
    app.answer = {"tropo": [on("continue", "/r")]}
    app.routes["/r"] = {"tropo": [message(PHONE, "answer to the result")]}
    return app


def test_result_refused(emulator, with_result):
    emulator.faults.queue("result_refused")
    sent = emulator.send_sms(PHONE, "hi")
    assert with_result.results == []
    assert sent.deliveries == ()
    log = emulator.debugger_log(sent.session_id)
    assert any("Fault result_refused" in line for line in log)
    assert log[-1].endswith("Session ended")


def test_result_http_500(emulator, with_result):
    emulator.faults.queue("result_http_500")
    sent = emulator.send_sms(PHONE, "hi")
    assert len(with_result.results) == 1
    assert sent.deliveries == ()
    assert any("code=500" in line for line in emulator.debugger_log(sent.session_id))


def test_session_died(emulator, with_result):
    emulator.faults.queue("session_died")
    sent = emulator.send_sms(PHONE, "hi")
    assert with_result.results == []
    assert sent.deliveries == ()
    assert any("Fault session_died" in line for line in emulator.debugger_log(sent.session_id))


def test_result_late_posts_the_result_after_its_wait_and_runs_the_answer(emulator, with_result):
    emulator.faults.queue("result_late", seconds=0.4)
    before = time.monotonic()
    sent = emulator.send_sms(PHONE, "hi")
    assert time.monotonic() - before >= 0.4
    assert len(with_result.results) == 1
    assert [d.text for d in sent.deliveries] == ["answer to the result"]
    log = emulator.debugger_log(sent.session_id)
    assert any("Fault result_late: the result waits 0.4s" in line for line in log)


def test_result_late_waits_late_result_seconds_by_default(emulator, with_result):
    requests.post(
        f"{emulator.url}/emulator/api/faults",
        json={"late_result_seconds": 0.3, "queue": {"result_late": 1}},
        timeout=5,
    )
    before = time.monotonic()
    emulator.send_sms(PHONE, "hi")
    assert time.monotonic() - before >= 0.3
    assert emulator.faults.snapshot()["late_result_seconds"] == 0.3


def test_result_faults_are_drawn_per_result_and_set_over_http(emulator, with_result):
    reply = requests.post(
        f"{emulator.url}/emulator/api/faults", json={"queue": {"result_refused": 1}}, timeout=5
    )
    assert reply.json()["queued"] == ["result_refused"]
    assert emulator.send_sms(PHONE, "one").deliveries == ()
    assert [d.text for d in emulator.send_sms(PHONE, "two").deliveries] == ["answer to the result"]
