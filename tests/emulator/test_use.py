"""What a long demo and a busy test suite need: a deep listen queue, bounded memory, a
page whose refresh cost does not grow, a control API only this machine can drive, and
no secret in a log line, the state API or the page."""

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from rtropo.emulator import running_emulator
from rtropo.emulator.page import PAGE_SIZE
from rtropo.emulator.server import EmulatorServer
from rtropo.emulator.store import Session, Store

from .conftest import TOKEN, message

PARALLEL = 200


def test_the_listen_queue_takes_200_parallel_requests(emulator):
    """The default backlog of 5 reset connections under 20 parallel requests."""
    assert EmulatorServer.request_queue_size >= PARALLEL
    start = threading.Barrier(PARALLEL)

    def get_state(_):
        start.wait(timeout=30)
        return requests.get(f"{emulator.url}/emulator/api/state?limit=1", timeout=30).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(get_state, range(PARALLEL)))
    assert statuses == [200] * PARALLEL


def test_the_store_keeps_the_last_history_records_and_counts_them_all(app):
    app.answer = {"tropo": [message("+15555550001", "pong")]}
    with running_emulator(app_url=app.url, token=TOKEN, history=5) as tropo:
        for index in range(12):
            requests.post(tropo.session_api_url, json={"token": TOKEN}, timeout=5)
            tropo.send_sms(f"+1555555{index:04d}", "ping")
        assert len(tropo.wait_for_deliveries(24)) == 5
        state = tropo.state()
    assert len(tropo.launches) == 5
    assert state["kept"]["sessions"] == len(state["sessions"]) == 5
    assert sum(len(c) for c in state["conversations"].values()) == 5
    assert state["counters"]["launches"] == 12
    assert state["counters"]["sessions"] == 24
    assert state["counters"]["deliveries"] == 24
    assert state["counters"]["inbound"] == 12


def test_a_store_forgets_the_oldest_sessions_first():
    store = Store(history=3)
    for number in range(10):
        store.add_session(Session(str(number), "inbound", float(number)))
    assert [s["id"] for s in store.snapshot(limit=10)["sessions"]] == ["7", "8", "9"]
    with pytest.raises(ValueError, match="at least 1"):
        Store(history=0)


def test_the_state_api_pages_sessions_and_conversations(emulator, app):
    for index in range(PAGE_SIZE + 5):
        emulator.send_sms(f"+1555555{index:04d}", "ping")
    for _ in range(PAGE_SIZE + 3):
        emulator.send_sms("+15555559999", "again")

    def state(**query):
        return requests.get(f"{emulator.url}/emulator/api/state", params=query, timeout=5).json()

    first = state(limit=PAGE_SIZE)
    assert len(first["sessions"]) == PAGE_SIZE
    assert len(first["conversations"]) == PAGE_SIZE
    assert all(len(entries) <= PAGE_SIZE for entries in first["conversations"].values())
    assert next(iter(first["conversations"])) == "+15555559999"
    assert len(first["conversations"]["+15555559999"]) == PAGE_SIZE
    rest = state(limit=PAGE_SIZE, offset=PAGE_SIZE, conversation_offset=PAGE_SIZE)
    assert len(rest["conversations"]) == first["kept"]["conversations"] - PAGE_SIZE == 6
    newest_first = [s["id"] for s in first["sessions"]][::-1] + [s["id"] for s in rest["sessions"]][
        ::-1
    ]
    assert len(set(newest_first)) == 2 * PAGE_SIZE
    assert state(limit=0) == {"error": "limit must be 1 to 1000, offsets >= 0"}


def test_the_page_asks_for_one_page_and_skips_unchanged_states(emulator):
    page = requests.get(emulator.url + "/", timeout=5).text
    assert f"const PAGE_SIZE = {PAGE_SIZE};" in page
    assert '"limit=" + PAGE_SIZE' in page
    assert "if (key === view.version) return;" in page
    for pager in ("sessions-older", "sessions-newer", "conversations-older", "conversations-newer"):
        assert f'id="{pager}"' in page


def test_long_words_wrap_and_empty_texts_show_a_placeholder(emulator):
    page = requests.get(emulator.url + "/", timeout=5).text
    assert page.count("overflow-wrap: anywhere") >= 3
    assert "min-width: 0" in page
    assert '"(empty SMS)"' in page


def test_the_page_names_what_to_text(app):
    hint = 'Text "ping" or "echo <words>"'
    with running_emulator(app_url=app.url, token=TOKEN, hint=hint) as tropo:
        page = requests.get(tropo.url + "/", timeout=5).text
    assert '<p id="sms-hint">Text &quot;ping&quot; or &quot;echo &lt;words&gt;&quot;</p>' in page


# -- the control API belongs to this machine ----------------------------------------------


CONTROL = [
    ("POST", "/emulator/api/inbound", {"from": "+15555550001", "text": "hi"}),
    ("POST", "/emulator/api/faults", {"queue": {"http_500": 1}}),
    ("POST", "/emulator/api/reset", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), CONTROL)
def test_cross_origin_and_text_plain_posts_are_refused(emulator, app, method, path, body):
    url = emulator.url + path
    data = json.dumps(body)
    simple = requests.post(url, data=data, headers={"Content-Type": "text/plain"}, timeout=5)
    assert simple.status_code == 415
    form = requests.post(url, data={"from": "+1555", "text": "x"}, timeout=5)
    assert form.status_code == 415
    foreign = {"Content-Type": "application/json", "Origin": "https://evil.example"}
    assert requests.post(url, data=data, headers=foreign, timeout=5).status_code == 403
    cross_site = {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}
    assert requests.post(url, data=data, headers=cross_site, timeout=5).status_code == 403
    assert app.requests == []
    assert emulator.faults.snapshot()["queued"] == []
    same = {"Content-Type": "application/json", "Origin": emulator.url}
    assert requests.post(url, data=data, headers=same, timeout=5).status_code == 200


@pytest.mark.parametrize("path", ["/", "/emulator/api/state", "/emulator/api/faults"])
def test_unknown_host_headers_are_refused(emulator, path):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: refuse that name."""
    port = emulator.url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example"):
        reply = requests.get(emulator.url + path, headers={"Host": host}, timeout=5)
        assert reply.status_code == 403, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert requests.get(emulator.url + path, headers={"Host": host}, timeout=5).ok, host


def test_extra_allowed_hosts_and_the_open_session_api(app):
    with running_emulator(app_url=app.url, token=TOKEN, allowed_hosts=("tropo.test",)) as tropo:
        headers = {"Host": "tropo.test"}
        assert requests.get(tropo.url + "/", headers=headers, timeout=5).ok
        other = {"Host": "app.internal"}
        launch = requests.post(
            tropo.session_api_url, json={"token": TOKEN}, headers=other, timeout=5
        )
    assert launch.json()["success"] is True


# -- secrets stay short -------------------------------------------------------------------


def test_tokens_and_references_are_short_everywhere(emulator, app, caplog):
    caplog.set_level(logging.DEBUG, logger="rtropo.emulator")
    reference = "ref-5f0c1e2d3c4b5a69"
    reply = requests.get(
        emulator.session_api_url,
        params={"action": "create", "token": TOKEN, "rtropo_ref": reference},
        timeout=5,
    )
    requests.post(emulator.session_api_url, json={"token": TOKEN + "x"}, timeout=5)
    emulator.wait_for_session(reply.text.split("<id>")[1].split("</id>")[0])
    [session] = app.sessions
    assert session["parameters"]["rtropo_ref"] == reference
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("rtropo.emulator")
    )
    state = requests.get(f"{emulator.url}/emulator/api/state", timeout=5).json()
    shown_logs = "\n".join(line for s in state["sessions"] for line in s["log"])
    for shown in (logged, json.dumps(state), shown_logs):
        assert TOKEN not in shown
        assert TOKEN[:8] not in shown
        assert reference not in shown
    assert "GET /1.0/sessions?action=" in logged
    assert f"token={TOKEN[:4]}…" in logged
    assert '"rtropo_ref": "ref-…"' in shown_logs
