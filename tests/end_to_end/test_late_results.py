"""Results half a lease late (the emulator's ``result_late``): they confirm, copies stop."""

import collections
import time
from concurrent.futures import ThreadPoolExecutor

PHONE = "+15555550401"
OTHER = "+15555550402"
LEASE = 5.0
#: Each result comes 50 % of a lease after the lease ran out.
LATE = 1.5 * LEASE
SWEPT = "1 message(s) unconfirmed by Tropo, 1 of them sent again"


def text_and_sweep(stack, *faults_before_sweep):
    """Text PHONE (its reply's result late), then OTHER (its result on time: results do
    come, so the sweep may send PHONE's reply again); sweep once PHONE's lease ran out,
    before its late result comes, with ``faults_before_sweep`` queued. Returns the
    sweep's output (its exit status is not checked: a launch fault makes it 1)."""
    with ThreadPoolExecutor(1) as pool:
        texted = pool.submit(stack.text, PHONE, "ping")
        deadline = time.monotonic() + LEASE
        while "result_late" in stack.emulator.faults.snapshot()["queued"]:
            assert time.monotonic() < deadline, "the reply's result was never drawn"
            time.sleep(0.02)
        sent = time.monotonic()
        assert stack.text(OTHER, "ping").status == 200
        time.sleep(max(0.0, sent + LEASE + 0.2 - time.monotonic()))
        for kind, seconds in faults_before_sweep:
            stack.emulator.faults.queue(kind, seconds=seconds)
        swept = stack.send_queued(check=False).stdout
        assert texted.result().status == 200
    return swept


def result_statuses(stack) -> list[str]:
    """The HTTP status the project's server answered each result POST with."""
    lines = [line for line in stack.server_log().splitlines() if "rtropo_result=" in line]
    return [line.rsplit('" ', 1)[1].split()[0] for line in lines]


def test_a_late_result_confirms_a_reply_launched_again_and_its_callback_sends_nothing(
    start_stack,
):
    stack = start_stack(lease=LEASE)
    stack.emulator.faults.queue("result_late", seconds=LATE)

    swept = text_and_sweep(stack, ("slow_callback", LEASE))

    assert SWEPT in swept
    stack.settle()
    assert stack.delivered() == {(PHONE, "pong"): 1, (OTHER, "pong"): 1}
    assert stack.statuses() == {"confirmed": 2}


def test_a_late_result_confirms_a_reply_queued_again_and_it_is_not_sent_again(start_stack):
    stack = start_stack(lease=LEASE)
    stack.emulator.faults.queue("result_late", seconds=LATE)

    swept = text_and_sweep(stack, ("http_500", None))

    assert SWEPT in swept
    stack.settle()
    assert stack.statuses() == {"confirmed": 2}
    stack.send_queued("--now")
    stack.settle()
    assert stack.delivered() == {(PHONE, "pong"): 1, (OTHER, "pong"): 1}
    assert stack.emulator.state()["counters"]["launches"] == 1  # the one that failed


def test_after_a_resend_the_late_first_result_confirms_and_the_second_changes_nothing(
    start_stack,
):
    stack = start_stack(lease=LEASE)
    stack.emulator.faults.queue("result_late", seconds=LATE)

    swept = text_and_sweep(stack, ("result_late", LATE))

    assert SWEPT in swept
    stack.emulator.wait_for_deliveries(3)
    stack.settle(timeout=3 * LATE)
    assert stack.statuses() == {"confirmed": 2}
    assert result_statuses(stack) == ["200"] * 3
    stack.send_queued("--now")
    stack.settle()
    assert stack.delivered() == {(PHONE, "pong"): 2, (OTHER, "pong"): 1}


def test_with_every_result_late_a_campaign_is_confirmed_and_sent_once(start_stack):
    stack = start_stack(lease=LEASE)
    stack.emulator.faults.late_result_seconds = LATE
    stack.emulator.faults.set_rates({"result_late": 1.0})
    numbers = [f"+1555055{n:04d}" for n in range(5)]

    stack.send("campaign", *numbers)
    deadline = time.monotonic() + 6 * LEASE
    while stack.statuses() != {"confirmed": len(numbers)}:
        assert time.monotonic() < deadline, stack.statuses()
        # As cron would, about a second apart; it exits 2 (results_missing) until they come.
        stack.send_queued(check=False)
    stack.settle(timeout=3 * LATE)

    copies = collections.Counter(to for to, _ in stack.delivered().elements())
    assert set(copies) == set(numbers)
    assert max(copies.values()) == 1
    assert set(result_statuses(stack)) == {"200"}
