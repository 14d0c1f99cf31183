"""Confirmed delivery against the emulator: its result posts, and its result faults."""

import time

import pytest

from tests.support.stack import expect_once

PHONE = "+15555550301"
OTHER = "+15555550302"


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
    """Another phone's reply is confirmed: results reach the view, PHONE's alone was lost.

    The sweep sends an unconfirmed row again only after such a result.
    """
    stack.text(OTHER, "ping")
    stack.settle()


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
    assert stack.delivered() == {(PHONE, "pong"): 2, (OTHER, "pong"): 1}
    assert stack.query(
        "SELECT status, unconfirmed_count FROM rtropo_outboundmessage WHERE to_number = ?", PHONE
    ) == [("confirmed", 1)]


def test_with_resend_off_a_lost_result_leaves_the_reply_unconfirmed(start_stack):
    stack = start_stack(lease=1, resend_unconfirmed=False)
    stack.emulator.faults.queue("session_died")

    stack.text(PHONE, "ping")
    stack.settle()
    results_reach_the_view(stack)
    time.sleep(1.5)  # let the lease run out
    stack.send_queued("--now")

    stack.settle()
    assert stack.delivered() == {(PHONE, "pong"): 1, (OTHER, "pong"): 1}
    assert stack.statuses() == {"unconfirmed": 1, "confirmed": 1}


def test_an_http_500_to_the_result_after_it_was_stored_keeps_it_confirmed(stack):
    stack.emulator.faults.queue("result_http_500")

    stack.text(PHONE, "ping")

    expect_once(stack, [(PHONE, "pong")])
