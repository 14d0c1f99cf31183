"""SQLite as ``startproject`` configures it, under concurrent inbound SMS and callbacks.

Tropo calls back concurrently; requests must wait for the write lock and answer
200, never fail with "database is locked".
"""

import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.project import COMMAND_TIMEOUT, assert_no_failures
from tests.support.stack import expect_once

PHONES = 20
TEXTS_PER_PHONE = 3
BURST = 200
BURST_PHONE = "+15555553999"


def wait_for_first_launch(stack, timeout=COMMAND_TIMEOUT):
    """Wait until the burst is being launched, so that texts and callbacks overlap."""
    deadline = time.monotonic() + timeout
    while not stack.emulator.launches:
        assert time.monotonic() < deadline, "the burst made no launch"
        time.sleep(0.01)


def test_inbound_sms_and_callbacks_at_once_never_lock_sqlite(start_stack):
    # No launch delay: every send of the burst launches or joins at once, so
    # callbacks keep arriving while the phones text.
    stack = start_stack(launch_delay=0)
    phones = [f"+155555530{n:02d}" for n in range(PHONES)]
    burst = stack.popen("demo_send", "burst", BURST_PHONE, "--repeat", str(BURST))

    def texts(phone):
        return [stack.text(phone, f"echo {phone} {n}") for n in range(TEXTS_PER_PHONE)]

    try:
        wait_for_first_launch(stack)
        with ThreadPoolExecutor(max_workers=PHONES) as pool:
            results = [result for batch in pool.map(texts, phones) for result in batch]
    finally:
        _, errors = burst.communicate(timeout=COMMAND_TIMEOUT)

    assert burst.returncode == 0, errors
    assert_no_failures(errors, "the burst")
    assert [result.status for result in results] == [200] * PHONES * TEXTS_PER_PHONE
    replies = [(phone, f"{phone} {n}") for phone in phones for n in range(TEXTS_PER_PHONE)]
    # Every reply rode in its own inbound answer, none in a concurrent callback.
    inline = sorted((d.to, d.text) for r in results for d in r.deliveries)
    assert inline == sorted(replies)
    expect_once(stack, replies + [(BURST_PHONE, f"burst #{n}") for n in range(1, BURST + 1)])
    assert stack.emulator.callbacks == len(stack.emulator.launches)
