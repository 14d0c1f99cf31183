"""Confirmed delivery against the emulator: its result posts, and its result faults."""

import sqlite3
import time
from datetime import UTC, datetime

import pytest

from tests.support.stack import expect_once

PHONE = "+15555550301"


def test_an_inline_reply_is_confirmed_by_the_emulators_result(stack):
    result = stack.text(PHONE, "ping")

    assert [(d.to, d.text) for d in result.deliveries] == [(PHONE, "pong")]
    expect_once(stack, [(PHONE, "pong")])
    assert stack.emulator.state()["counters"]["results"] == 1


def test_a_launched_message_is_confirmed_by_the_emulators_result(stack):
    stack.send("confirmed ✓", PHONE)

    expect_once(stack, [(PHONE, "confirmed ✓")])
    assert stack.emulator.state()["counters"]["results"] == 1


def results_reach_the_view(stack):
    """Record that a later answer's result was accepted: results work, one alone was lost.

    The sweep sends an unconfirmed row again only then; the server writes its
    own record of results at most once a minute, later than this test looks.
    """
    db = sqlite3.connect(stack.database, timeout=30)
    try:
        with db:
            db.execute(
                "INSERT INTO rtropo_backendhealth (backend_name, last_result_at, "
                "last_refusal_reason, refused_requests, last_refused_request_reason) "
                "VALUES ('tropo', ?, '', 0, '') ON CONFLICT (backend_name) "
                "DO UPDATE SET last_result_at = excluded.last_result_at",
                [datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")],
            )
    finally:
        db.close()


@pytest.mark.parametrize("fault", ["result_refused", "session_died"])
def test_a_lost_result_makes_the_reply_unconfirmed_and_it_is_sent_again(start_stack, fault):
    stack = start_stack(lease=1)
    stack.emulator.faults.queue(fault)

    stack.text(PHONE, "ping")
    stack.settle()
    assert stack.statuses() == {"sent": 1}
    results_reach_the_view(stack)
    time.sleep(1.5)  # let the lease run out
    result = stack.send_queued("--now")

    assert "1 message(s) unconfirmed by Tropo, 1 of them sent again" in result.stdout
    stack.emulator.wait_for_deliveries(2)
    stack.settle()
    assert stack.delivered() == {(PHONE, "pong"): 2}
    assert stack.query("SELECT status, unconfirmed_count FROM rtropo_outboundmessage") == [
        ("confirmed", 1)
    ]


def test_with_resend_off_a_lost_result_leaves_the_reply_unconfirmed(start_stack):
    stack = start_stack(lease=1, resend_unconfirmed=False)
    stack.emulator.faults.queue("session_died")

    stack.text(PHONE, "ping")
    stack.settle()
    results_reach_the_view(stack)
    time.sleep(1.5)  # let the lease run out
    stack.send_queued("--now")

    stack.settle()
    assert stack.delivered() == {(PHONE, "pong"): 1}
    assert stack.statuses() == {"unconfirmed": 1}


def test_an_http_500_to_the_result_after_it_was_stored_keeps_it_confirmed(stack):
    stack.emulator.faults.queue("result_http_500")

    stack.text(PHONE, "ping")

    expect_once(stack, [(PHONE, "pong")])
