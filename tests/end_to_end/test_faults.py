"""Every fault Tropo could have, then recovery: nothing lost, nothing sent twice."""

import time

import pytest

from tests.support.stack import expect_once

PHONES = ("+15555552001", "+15555552002")


def sent_to_both(text):
    return [(phone, text) for phone in PHONES]


@pytest.mark.parametrize("fault", ["http_500", "success_false", "timeout"])
def test_a_failed_launch_backs_off_then_recovers(stack, fault):
    stack.emulator.faults.queue(fault)
    text = f"after {fault} ✓"

    stack.send(text, *PHONES)

    assert stack.emulator.deliveries == []
    assert stack.statuses() == {"queued": 2}
    assert stack.query("SELECT DISTINCT attempts FROM rtropo_outboundmessage") == [(1,)]
    # Backing off: a plain run leaves them alone; --now takes them.
    plain = stack.send_queued(check=False)
    assert "0 message(s) in 0 launch(es)" in plain.stdout
    # A refusal stays critical until a launch succeeds; Tropo not answering is no refusal.
    assert plain.returncode == (2 if fault == "success_false" else 0)
    stack.send_queued("--now")
    expect_once(stack, sent_to_both(text))
    assert [launch.outcome for launch in stack.emulator.launches] == [fault, "created"]


def test_a_launch_that_times_out_after_calling_back_is_sent_once(stack):
    stack.emulator.faults.queue("timeout_then_callback")
    text = "timeout then callback ✓"

    stack.send(text, *PHONES)
    stack.send_queued("--now")

    expect_once(stack, sent_to_both(text))
    assert stack.emulator.callbacks == 1


def test_a_missing_callback_is_requeued_after_the_lease(start_stack):
    stack = start_stack(lease=1.5)
    stack.emulator.faults.queue("no_callback")
    text = "no callback ✓"

    stack.send(text, *PHONES)
    stack.settle()
    assert stack.emulator.deliveries == []
    assert stack.statuses() == {"launched": 2}
    time.sleep(2)  # let the lease run out

    result = stack.send_queued("--now")

    assert "2 requeued after a missing callback" in result.stdout
    expect_once(stack, sent_to_both(text))
    assert len(stack.emulator.launches) == 2


def test_a_duplicate_callback_delivers_once(stack):
    stack.emulator.faults.queue("duplicate_callback")
    text = "duplicate callback ✓"

    stack.send(text, *PHONES)

    expect_once(stack, sent_to_both(text))
    assert stack.emulator.callbacks == 2
    stack.send_queued("--now")
    stack.settle()
    assert stack.delivered() == dict.fromkeys(sent_to_both(text), 1)


def test_sends_during_a_slow_callback_join_its_launch(stack):
    stack.emulator.faults.queue("slow_callback", seconds=3)

    stack.send("slow first", *PHONES)
    stack.send("slow second", *PHONES)

    expect_once(stack, sent_to_both("slow first") + sent_to_both("slow second"))
    assert len(stack.emulator.launches) == 1
    assert stack.query("SELECT join_count FROM rtropo_launch") == [(1,)]


def test_a_callback_after_the_lease_is_refused_and_the_rows_resent(start_stack):
    stack = start_stack(lease=1)
    stack.emulator.faults.queue("slow_callback", seconds=2)
    text = "late callback ✓"

    stack.send(text, *PHONES)
    stack.settle()
    assert stack.emulator.deliveries == []
    assert stack.emulator.callbacks == 1

    stack.send_queued("--now")

    expect_once(stack, sent_to_both(text))
