import time

import pytest
import requests

from rtropo.emulator import FAULT_KINDS, Faults

from .conftest import TOKEN, message


def launch(emulator, timeout=5):
    return requests.post(
        emulator.session_api_url, json={"token": TOKEN, "action": "create"}, timeout=timeout
    )


def test_queue_is_one_shot_and_per_stage():
    faults = Faults()
    faults.queue("no_callback")
    faults.queue("http_500", count=2)
    assert faults.draw("launch").kind == "http_500"
    assert faults.draw("callback").kind == "no_callback"
    assert faults.draw("launch").kind == "http_500"
    assert faults.draw("launch") is None
    assert faults.draw("callback") is None


def test_rates_are_reproducible_with_seed():
    faults = Faults()
    faults.set_rates({"http_500": 0.3, "success_false": 0.2}, seed=42)
    first = [faults.draw("launch") for _ in range(50)]
    faults.set_rates({"http_500": 0.3, "success_false": 0.2}, seed=42)
    assert [faults.draw("launch") for _ in range(50)] == first
    kinds = {fault.kind for fault in first if fault}
    assert kinds == {"http_500", "success_false"}
    faults.clear()
    assert faults.draw("launch") is None


def test_unknown_kind_and_bad_rate_rejected():
    faults = Faults()
    with pytest.raises(ValueError, match="unknown fault"):
        faults.queue("explode")
    with pytest.raises(ValueError, match="between 0 and 1"):
        faults.set_rates({"http_500": 2})
    assert set(FAULT_KINDS) == {
        "http_500",
        "success_false",
        "timeout",
        "timeout_then_callback",
        "no_callback",
        "duplicate_callback",
        "slow_callback",
        "result_refused",
        "result_http_500",
        "session_died",
        "result_late",
    }


def test_http_500(emulator, app):
    emulator.faults.queue("http_500")
    assert launch(emulator).status_code == 500
    assert launch(emulator).json()["success"] is True
    assert [x.outcome for x in emulator.launches] == ["http_500", "created"]
    app.wait_for_requests(1)
    assert len(app.requests) == 1


def test_success_false(emulator, app):
    emulator.faults.queue("success_false")
    reply = launch(emulator)
    assert reply.status_code == 200
    assert reply.json() == {"success": False, "reason": "FAILED TO ROUTE TOKEN"}
    assert emulator.state()["counters"]["sessions"] == 0


def test_timeout_client_gives_up_and_no_session(emulator, app):
    emulator.faults.queue("timeout", seconds=0.5)
    with pytest.raises(requests.Timeout):
        launch(emulator, timeout=0.1)
    assert emulator.state()["counters"]["sessions"] == 0
    emulator.faults.queue("timeout")  # 0.2s from the fixture
    assert launch(emulator).status_code == 504
    assert app.requests == []


def test_timeout_then_callback(emulator, app):
    app.answer = {"tropo": [message("+15555550001", "sent anyway")]}
    emulator.faults.queue("timeout_then_callback", seconds=0.5)
    with pytest.raises(requests.Timeout):
        launch(emulator, timeout=0.1)
    [delivery] = emulator.wait_for_deliveries(1)
    assert delivery.text == "sent anyway"
    assert emulator.launches[0].outcome == "timeout_then_callback"


def test_no_callback(emulator, app):
    emulator.faults.queue("no_callback")
    session_id = launch(emulator).json()["id"]
    log = emulator.wait_for_session(session_id)
    assert any("no_callback" in line for line in log)
    assert app.requests == []
    assert emulator.callbacks == 0


def test_duplicate_callback_delivers_twice(emulator, app):
    app.answer = {"tropo": [message("+15555550001", "once?")]}
    emulator.faults.queue("duplicate_callback")
    session_id = launch(emulator).json()["id"]
    emulator.wait_for_session(session_id)
    first, second = app.sessions
    assert first == second
    assert [d.text for d in emulator.deliveries] == ["once?", "once?"]
    assert emulator.callbacks == 2


def test_slow_callback(emulator, app):
    emulator.faults.queue("slow_callback", seconds=0.3)
    before = time.monotonic()
    session_id = launch(emulator).json()["id"]
    assert app.requests == []
    emulator.wait_for_session(session_id)
    assert time.monotonic() - before >= 0.3
    assert len(app.requests) == 1


def test_invalid_token_does_not_consume_queued_fault(emulator):
    emulator.faults.queue("http_500")
    requests.post(emulator.session_api_url, json={"token": "bad"}, timeout=5)
    assert launch(emulator).status_code == 500


def test_faults_over_http(emulator, app):
    url = f"{emulator.url}/emulator/api/faults"
    reply = requests.post(
        url,
        json={"queue": {"success_false": 1}, "rates": {"no_callback": 0.5}, "seed": 1},
        timeout=5,
    )
    assert reply.json()["queued"] == ["success_false"]
    assert reply.json()["rates"] == {"no_callback": 0.5}
    assert launch(emulator).json()["success"] is False
    cleared = requests.post(url, json={"clear": True, "timeout_seconds": 0.1}, timeout=5).json()
    assert cleared["queued"] == [] and cleared["rates"] == {}
    assert cleared["timeout_seconds"] == 0.1
    assert requests.post(url, json={"queue": {"nope": 1}}, timeout=5).status_code == 400
    assert requests.get(url, timeout=5).json()["timeout_seconds"] == 0.1
