"""A pool of numbers: an application holds several numbers, texts from any of them at
each number's own rate, is texted on any of them, and shows which one on the page."""

import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from rtropo.emulator import DEFAULT_APP_NUMBER, Emulator, running_emulator
from rtropo.emulator.page import render_page
from tests.support.processes import read_line, stop

from .conftest import TOKEN, message

ROOT = Path(__file__).resolve().parents[2]
POOL = ["+15555550100", "+15555550101", "+15555550102"]
FOREIGN_WARNING = "is not one of this application's numbers"


@pytest.fixture
def pooled(app):
    with running_emulator(app_url=app.url, token=TOKEN, numbers=POOL) as tropo:
        yield tropo


def test_numbers_and_number_of_a_pool():
    emulator = Emulator("http://127.0.0.1:1/", "T", numbers=["(555) 555-0100", "+15555550101"])
    assert emulator.numbers == ("+15555550100", "+15555550101")
    assert emulator.number == "+15555550100"
    assert emulator.state()["numbers"] == ["+15555550100", "+15555550101"]


def test_one_number_is_a_pool_of_one():
    assert Emulator("http://127.0.0.1:1/", "T", number="+15555550007").numbers == ("+15555550007",)
    assert Emulator("http://127.0.0.1:1/", "T").numbers == (DEFAULT_APP_NUMBER,)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"number": "+15555550007", "numbers": POOL},
        {"numbers": []},
        {"numbers": "+15555550007"},
        {"numbers": ["+15555550007", "not a number"]},
    ],
)
def test_a_pool_that_cannot_be_is_refused(kwargs):
    with pytest.raises(ValueError):
        Emulator("http://127.0.0.1:1/", "T", **kwargs)


def test_each_number_texts_at_its_own_rate(app):
    # Round robin over three numbers: each number's own SMS are a rate slot apart,
    # the others' SMS do not wait for it (one number would take five slots).
    interval = 0.6
    app.answer = {
        "tropo": [message(f"+1555555100{i}", str(i), sender=POOL[i % 3]) for i in range(6)]
    }
    with running_emulator(
        app_url=app.url, token=TOKEN, numbers=POOL, enforce_rate=True, rate_interval=interval
    ) as tropo:
        deliveries = tropo.send_sms("+15555550001", "go").deliveries
    assert [d.text for d in deliveries] == ["0", "1", "2", "3", "4", "5"]
    for number in POOL:
        own = [d for d in deliveries if d.from_ == number]
        assert len(own) == 2
        gaps = [b.delivered_at - a.delivered_at for a, b in itertools.pairwise(own)]
        assert all(gap >= interval - 0.05 for gap in gaps), (number, gaps)
    assert deliveries[-1].delivered_at - deliveries[0].delivered_at < 3 * interval


def test_a_sender_outside_the_pool_is_delivered_and_flagged(pooled, app):
    app.answer = {
        "tropo": [
            message("+15555550001", "pooled", sender=POOL[1]),
            message("+15555550001", "foreign", sender="+15555550999"),
        ]
    }
    result = pooled.send_sms("+15555550001", "go")
    assert [(d.from_, d.text) for d in result.deliveries] == [
        (POOL[1], "pooled"),
        ("+15555550999", "foreign"),
    ]
    flagged = [line for line in pooled.debugger_log(result.session_id) if FOREIGN_WARNING in line]
    assert len(flagged) == 1
    assert "from +15555550999 " in flagged[0]


def test_an_sms_to_a_pool_number_opens_a_session_to_it(pooled, app):
    app.answer = {"tropo": [{"say": {"value": "pong"}}]}
    result = pooled.send_sms("+15555550001", "ping", to="555-555-0102")
    [session] = app.sessions
    assert session["to"]["id"] == "15555550102"
    assert [(d.from_, d.to) for d in result.deliveries] == [(POOL[2], "+15555550001")]
    pooled.send_sms("+15555550001", "ping")
    assert app.sessions[1]["to"]["id"] == "15555550100"


def test_an_sms_to_a_number_outside_the_pool_is_refused(pooled, app):
    with pytest.raises(ValueError, match="not one of this application's numbers"):
        pooled.send_sms("+15555550001", "ping", to="+15555550999")
    assert app.requests == []


def test_the_http_api_texts_a_pool_number_and_counts_per_number(pooled, app):
    app.answer = {"tropo": [{"say": {"value": "pong"}}]}
    inbound = pooled.url + "/emulator/api/inbound"
    for to in (POOL[1], POOL[1], None):
        reply = requests.post(
            inbound, json={"from": "+15555550001", "text": "ping", "to": to}, timeout=5
        )
        assert reply.status_code == 200
    refused = requests.post(
        inbound, json={"from": "+15555550001", "text": "ping", "to": "+15555550999"}, timeout=5
    )
    assert refused.status_code == 400
    assert FOREIGN_WARNING in refused.json()["error"]
    state = requests.get(pooled.url + "/emulator/api/state", timeout=5).json()
    assert state["numbers"] == POOL
    assert state["number"] == POOL[0]
    senders = [d["from"] for d in state["deliveries"]]
    assert (senders.count(POOL[0]), senders.count(POOL[1])) == (1, 2)
    conversation = state["conversations"]["+15555550001"]
    assert [(m["direction"], m["app_number"]) for m in conversation] == [
        ("inbound", POOL[1]),
        ("outbound", POOL[1]),
        ("inbound", POOL[1]),
        ("outbound", POOL[1]),
        ("inbound", POOL[0]),
        ("outbound", POOL[0]),
    ]


def test_the_page_lists_the_numbers_and_names_each_sms_number():
    page = render_page()
    for marker in ('id="app-numbers"', 'id="sms-to"', "state.numbers", "entry.app_number"):
        assert marker in page


def test_the_cli_takes_several_numbers():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-W", "error", "-m", "rtropo.emulator", "--port", "0"]
    command += ["--app-url", "http://127.0.0.1:1/", "--token", "T"]
    command += ["--number", POOL[0], "--number", POOL[1]]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        url = read_line(process.stdout, timeout=30).split(": ", 1)[1].strip()
        state = requests.get(url + "emulator/api/state", timeout=5).json()
    finally:
        returncode = stop(process, signal.SIGINT, timeout=10)
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert returncode == 0, stderr
    assert state["numbers"] == POOL[:2]
