"""Launching from the background thread: batches, joins, flush."""

import time

import pytest
from rapidsms.router import lookup_connections, send

from rtropo.conf import get_config
from rtropo.models import Launch, OutboundMessage
from rtropo.outbox.scheduler import Scheduler
from tests.support import exiting_process

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_sends_return_before_the_launch_and_share_one_session(tropo, backend_settings):
    backend_settings(launch_delay=0.5)
    for n in range(5):
        send(f"message {n}", lookup_connections("tropo", [f"+1555555000{n}"]))
    assert tropo.launches == []
    # Rows turn "launched" before the Session API call, so wait for the call itself.
    wait_until(lambda: tropo.launches)
    assert len(tropo.launches) == 1
    assert Launch.objects.get().size == 5


def test_flush_launches_now_in_the_calling_thread(tropo, backend_settings):
    backend_settings(launch_delay=3600)
    send("hello", lookup_connections("tropo", ["+15555550001"]))
    assert tropo.launches == []
    launcher = Scheduler()
    launcher.schedule(get_config("tropo"))
    launcher.flush()
    assert len(tropo.launches) == 1
    assert OutboundMessage.objects.get().status == "launched"


def test_a_failing_launch_is_logged_and_the_thread_goes_on(tropo, backend_settings, caplog):
    backend_settings(launch_delay=0.01)
    tropo.fail_with((500, {}, "down"))
    launcher = Scheduler()
    send("first", lookup_connections("tropo", ["+15555550001"]))
    launcher.schedule(get_config("tropo"))
    wait_until(lambda: len(tropo.launches) >= 1)
    wait_until(lambda: OutboundMessage.objects.get().status == "queued")
    send("second", lookup_connections("tropo", ["+15555550002"]))
    launcher.schedule(get_config("tropo"))
    wait_until(lambda: OutboundMessage.objects.filter(status="launched").exists())
    assert "HTTP 500" in caplog.text


def test_zero_delay_launches_in_the_sender_thread(tropo, backend_settings):
    backend_settings(launch_delay=0)
    send("hello", lookup_connections("tropo", ["+15555550001"]))
    assert len(tropo.launches) == 1


EXIT_DURING_A_LAUNCH = """
from rapidsms.router import lookup_connections, send
from rtropo.models import Launch
def report():
    recorded = Launch.objects.exclude(session_id="").count()
    print(f"stub saw {len(stub.references)}, sessions recorded {recorded}")
atexit.register(report)  # runs after the launcher's own exit flush
send("sent just before exit", lookup_connections("tropo", ["+15555550001"]))
time.sleep(0.3)  # the launcher thread is now waiting for the Session API's answer
"""


def test_an_exit_while_the_thread_launches_waits_for_that_launch(tmp_path):
    """A process that sends and exits must not cut off the launch its thread has begun."""
    result = exiting_process.run(
        tmp_path,
        EXIT_DURING_A_LAUNCH,
        # Every launch is answered 200, after 1 s.
        stub_options={"timeout_every": 1, "stall": 1.0},
        tropo_options={"launch_delay": 0.05, "timeout": 10},
    )
    assert result.returncode == 0, result.stderr
    assert "stub saw 1, sessions recorded 1" in result.stdout, result.stdout + result.stderr
