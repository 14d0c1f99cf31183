import struct
import zlib

import pytest
import requests

from rtropo.emulator import Emulator, running_emulator

from .conftest import TOKEN, message


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
        "calls": 0,
    }
    conversation = state["conversations"]["+15555550001"]
    assert [(m["direction"], m["kind"], m["text"]) for m in conversation] == [
        ("inbound", "sms", "hello"),
        ("outbound", "sms", "<b>hi</b>"),
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


def test_an_app_url_the_emulator_cannot_send_to_is_refused_at_start_and_when_set(app):
    with pytest.raises(ValueError, match=r"app URL http://h/\?s=sek… has the non-ASCII character"):
        Emulator("http://h/?s=sekrit-value…", TOKEN)
    with running_emulator(app_url=app.url, token=TOKEN) as tropo:
        with pytest.raises(ValueError, match="is not an http:// or https:// URL"):
            tropo.app_url = "mailto:someone@example.test"
        assert tropo.app_url == app.url


def test_the_favicon_is_a_16_pixel_ico(emulator):
    reply = requests.get(f"{emulator.url}/favicon.ico", timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "image/x-icon"
    icon = reply.content
    reserved, kind, count = struct.unpack_from("<HHH", icon)
    assert (reserved, kind, count) == (0, 1, 1)
    width, height, _, _, planes, bits, size, offset = struct.unpack_from("<BBBBHHII", icon, 6)
    assert (width, height, planes, bits) == (16, 16, 1, 32)
    image = icon[offset:]
    assert len(image) == size
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    chunks, position = {}, 8
    while position < len(image):
        (length,) = struct.unpack_from(">I", image, position)
        kind = image[position + 4 : position + 8]
        data = image[position + 8 : position + 8 + length]
        (checksum,) = struct.unpack_from(">I", image, position + 8 + length)
        assert zlib.crc32(kind + data) == checksum
        chunks[kind] = data
        position += 12 + length
    assert list(chunks) == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBB", chunks[b"IHDR"][:10]) == (16, 16, 8, 6)
    assert len(zlib.decompress(chunks[b"IDAT"])) == 16 * (1 + 16 * 4)
