"""Every way of failing to reach the app is a warning naming the session, the session's
error in the state API and the inbound reply, and the session ends (as at Tropo: the
session is over, nothing is retried)."""

import contextlib
import logging
import socket
import threading

import pytest
import requests

from rtropo.emulator import running_emulator

from .conftest import TOKEN

PHONE = "+15555550001"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_request(connection):
    """Read a whole request (head and body), so that closing sends no reset."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return
        body += chunk


@contextlib.contextmanager
def raw_app(reply: bytes):
    """An app that reads each request's head and answers ``reply`` (bytes as they are,
    a broken HTTP answer perhaps), then closes the connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                read_request(connection)
                connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/tropo/?secret=s3"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def inbound(tropo):
    """Text the app through the HTTP API, as the page does; return the JSON reply."""
    reply = requests.post(
        f"{tropo.url}/emulator/api/inbound", json={"from": PHONE, "text": "ping"}, timeout=10
    )
    assert reply.status_code == 200
    return reply.json()


def assert_failed(tropo, session_id, error, caplog):
    """The session ended with ``error`` (a fragment) kept, shown and logged as a warning."""
    log = tropo.wait_for_session(session_id)
    [session] = [s for s in tropo.state()["sessions"] if s["id"] == session_id]
    assert session["ended"] is True
    assert error in session["error"]
    assert log[-1].endswith(" Session ended")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "rtropo.emulator.engine"
    ]
    assert any(session_id in line and error in line for line in warnings), warnings


@pytest.fixture(autouse=True)
def _warnings(caplog):
    caplog.set_level(logging.INFO, logger="rtropo.emulator")


def test_connection_refused(caplog):
    with running_emulator(app_url=f"http://127.0.0.1:{free_port()}/t/", token=TOKEN) as tropo:
        reply = inbound(tropo)
        assert reply["status"] is None
        assert "Failed to reach application URL" in reply["error"]
        assert_failed(tropo, reply["session_id"], "Connection refused", caplog)
        launch = requests.post(tropo.session_api_url, json={"token": TOKEN}, timeout=5).json()
        assert_failed(tropo, launch["id"].strip(), "Connection refused", caplog)


def test_timeout(caplog):
    """A listening socket that never accepts: the request is queued, no answer comes."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/tropo/"
        with running_emulator(app_url=url, token=TOKEN, callback_timeout=0.2) as tropo:
            reply = inbound(tropo)
            assert reply["status"] is None
            assert_failed(tropo, reply["session_id"], "no answer within 0.2s (timed out)", caplog)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((500, b"oops"), "Received non-2XX status code"),
        ((404, b""), "code=404"),
        ((200, b"<html>oops</html>"), "Invalid TropoML document"),
        (
            (
                200,
                '{"tropo": [{"say": {"value": "é"}}]}'.encode(),
                "application/json; charset=ascii",
            ),
            "'ascii' codec can't decode",
        ),
        ((200, b'{"tropo": [], '), "Invalid TropoML document"),
    ],
)
def test_an_answer_that_cannot_be_used(emulator, app, caplog, answer, error):
    app.answer = lambda _payload: answer
    reply = inbound(emulator)
    assert error in reply["error"]
    assert reply["deliveries"] == []
    assert_failed(emulator, reply["session_id"], error, caplog)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", "RemoteDisconnected"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}", "IncompleteRead"),
        (b"nonsense\r\n\r\n", "BadStatusLine"),
    ],
)
def test_a_broken_http_answer(caplog, raw, error):
    with raw_app(raw) as url, running_emulator(app_url=url, token=TOKEN) as tropo:
        reply = inbound(tropo)
        assert reply["status"] is None
        assert_failed(tropo, reply["session_id"], error, caplog)


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("/tropo/?secret=k8Dq…", "has the non-ASCII character '…' at position"),
        ("ftp://127.0.0.1/result", "is not an http:// or https:// URL"),
        ("http://[::1/result", "the URL is not readable (Invalid IPv6 URL)"),
        ("/tropo/result here", "has a space or control character"),
    ],
)
def test_a_next_url_the_emulator_cannot_send_to(emulator, app, caplog, target, error):
    app.answer = {"tropo": [{"on": {"event": "continue", "next": target}}]}
    result = emulator.send_sms(PHONE, "ping")
    assert result.status == 200
    assert error in result.error
    assert_failed(emulator, result.session_id, error, caplog)
    assert len(app.requests) == 1


def test_only_the_first_failure_is_the_sessions_error(emulator, app, caplog):
    """A duplicated callback that fails twice keeps the first reason."""
    app.answer = lambda _payload: (503, b"")
    emulator.faults.queue("duplicate_callback")
    launch = requests.post(emulator.session_api_url, json={"token": TOKEN}, timeout=5).json()
    session_id = launch["id"].strip()
    assert_failed(emulator, session_id, "code=503", caplog)
    assert sum("code=503" in line for line in emulator.debugger_log(session_id)) == 2
