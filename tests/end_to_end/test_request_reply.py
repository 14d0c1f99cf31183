"""A phone texts the app and gets the answer: inline (issue 7) or by launch and callback."""

from tests.support.stack import expect_once

PHONE = "+15555550101"


def test_ping_is_answered_inline_without_any_launch_or_callback(stack):
    result = stack.text(PHONE, "ping")

    assert result.status == 200
    assert [(d.to, d.text) for d in result.deliveries] == [(PHONE, "pong")]
    expect_once(stack, [(PHONE, "pong")])
    assert stack.emulator.launches == []
    assert stack.emulator.callbacks == 0


def test_unicode_goes_both_ways_inline(stack):
    text = "héllo wörld ✓ 你好 👋"

    result = stack.text(PHONE, f"echo {text}")

    assert [(d.to, d.text) for d in result.deliveries] == [(PHONE, text)]
    expect_once(stack, [(PHONE, text)])
    assert stack.emulator.launches == []


def test_unknown_text_gets_the_default_response(stack):
    result = stack.text(PHONE, "what is this")

    assert [d.text for d in result.deliveries] == [
        "Sorry, the RapidSMS demo could not understand your message."
    ]


def test_each_phone_gets_its_own_reply(stack):
    phones = [f"+1555555020{n}" for n in range(5)]

    for n, phone in enumerate(phones):
        stack.text(phone, f"echo reply {n}")

    expect_once(stack, [(phone, f"reply {n}") for n, phone in enumerate(phones)])
    assert stack.emulator.launches == []


def test_without_inline_replies_the_reply_goes_by_launch_and_callback(start_stack):
    stack = start_stack(inline_replies=False)

    result = stack.text(PHONE, "ping")

    assert result.status == 200
    assert result.deliveries == ()
    expect_once(stack, [(PHONE, "pong")])
    assert [launch.outcome for launch in stack.emulator.launches] == ["created"]
    assert stack.emulator.callbacks == 1


def test_callback_for_a_reply_is_answered_while_its_inbound_request_is_open(start_stack):
    # With no launch delay the reply's launch is made inside the inbound
    # request. It is called back at once, but its reply is held for 3 s: the
    # callback must be served meanwhile, by another thread of the server, on
    # the same SQLite database.
    stack = start_stack(inline_replies=False, launch_delay=0, timeout=10)
    stack.emulator.faults.queue("timeout_then_callback", seconds=3)

    result = stack.text(PHONE, "echo overlap ✓")
    delivered_while_open = [(d.to, d.text) for d in stack.emulator.deliveries]

    assert result.status == 200
    assert delivered_while_open == [(PHONE, "overlap ✓")]
    expect_once(stack, [(PHONE, "overlap ✓")])
    assert [launch.outcome for launch in stack.emulator.launches] == ["timeout_then_callback"]
    assert stack.emulator.callbacks == 1
