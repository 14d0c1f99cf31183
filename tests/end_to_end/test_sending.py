"""The app sends through ``rapidsms.router.send``: launch, callback, delivery."""

from tests.support.stack import expect_once

BURST = 200
CALLBACK_LATENCY = 0.5


def test_one_send_to_many_recipients_in_unicode(stack):
    phones = [f"+1555555{n:04d}" for n in range(1000, 1025)]
    text = "Réunion demain à 9h ✓ — 会议 📅"

    stack.send(text, *phones)

    expect_once(stack, [(phone, text) for phone in phones])
    assert [launch.outcome for launch in stack.emulator.launches] == ["created"]
    assert stack.emulator.callbacks == 1


def test_a_long_text_is_delivered_whole(stack):
    text = "Ünïcödé " * 40

    stack.send(text, "+15555551100")

    expect_once(stack, [("+15555551100", text)])
    assert stack.emulator.deliveries[0].parts > 1


def test_a_burst_is_delivered_exactly_once_with_few_launches(stack):
    # Tropo called back after a trip through its cloud, not at once as the
    # emulator does by default: sends made meanwhile join the pending launch.
    stack.emulator.faults.slow_callback_seconds = CALLBACK_LATENCY
    stack.emulator.faults.set_rates({"slow_callback": 1.0})

    stack.send("burst", "+15555551200", repeat=BURST)

    expect_once(stack, [("+15555551200", f"burst #{n}") for n in range(1, BURST + 1)])
    assert len(stack.emulator.launches) <= BURST / 10
    assert stack.statuses() == {stack.final_status: BURST}
