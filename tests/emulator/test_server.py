import requests

from .conftest import message


def test_page_served_with_stable_ids(emulator):
    reply = requests.get(emulator.url + "/", timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    for marker in (
        'id="sms-form"',
        'id="sms-from"',
        'id="sms-text"',
        'id="sms-send"',
        'id="conversations"',
        "bubble ",
        "/emulator/api/state",
        "textContent",
    ):
        assert marker in reply.text
    assert "innerHTML" not in reply.text
    assert "http://" not in reply.text and "https://" not in reply.text


def test_inbound_endpoint_and_state(emulator, app):
    app.answer = {"tropo": [{"say": {"value": "<b>hi</b>"}}]}
    reply = requests.post(
        emulator.url + "/emulator/api/inbound",
        json={"from": "+15555550001", "text": "hello"},
        timeout=5,
    )
    assert reply.status_code == 200
    result = reply.json()
    assert result["status"] == 200
    assert result["deliveries"][0]["from"] == "+15555550000"
    state = requests.get(emulator.url + "/emulator/api/state", timeout=5).json()
    assert state["counters"] == {
        "launches": 0,
        "sessions": 1,
        "callbacks": 0,
        "results": 0,
        "inbound": 1,
        "deliveries": 1,
    }
    conversation = state["conversations"]["+15555550001"]
    assert [(m["direction"], m["text"]) for m in conversation] == [
        ("inbound", "hello"),
        ("outbound", "<b>hi</b>"),
    ]
    [session] = state["sessions"]
    assert session["id"] == result["session_id"]
    assert session["ended"] is True
    assert any("Session ended" in line for line in session["log"])
    assert state["deliveries"][0]["text"] == "<b>hi</b>"


def test_inbound_endpoint_rejects_bad_body(emulator):
    url = emulator.url + "/emulator/api/inbound"
    assert requests.post(url, json={"text": "no from"}, timeout=5).status_code == 400
    not_json = requests.post(
        url, data=b"nope", headers={"Content-Type": "application/json"}, timeout=5
    )
    assert not_json.status_code == 400


def test_unknown_route_404(emulator):
    assert requests.get(emulator.url + "/nope", timeout=5).status_code == 404
    assert requests.post(emulator.url + "/nope", json={}, timeout=5).status_code == 404


def test_reset(emulator, app):
    app.answer = {"tropo": [message("+15555550001", "x")]}
    emulator.send_sms("+15555550001", "hi")
    emulator.faults.queue("http_500")
    requests.post(emulator.url + "/emulator/api/reset", json={}, timeout=5)
    assert emulator.deliveries == []
    assert emulator.state()["counters"]["sessions"] == 0
    assert emulator.faults.snapshot()["queued"] == []


def test_wait_for_deliveries_times_out_clearly(emulator):
    try:
        emulator.wait_for_deliveries(1, timeout=0.05)
    except TimeoutError as exc:
        assert isinstance(exc, AssertionError)
        assert "expected at least 1 deliveries" in str(exc)
    else:
        raise AssertionError("no timeout")


def test_app_url_can_change(emulator, app):
    emulator.app_url = app.url.replace("secret=s3", "secret=other")
    emulator.send_sms("+15555550001", "hi")
    assert app.requests[0]["path"] == "/tropo/?secret=other"
