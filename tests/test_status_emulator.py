"""The misconfigurations an operator must be told of, against the Tropo emulator.

The emulator and this project meet over HTTP only: the emulator calls the
live server, the backend launches through the emulator's Session API. Time
moves by ageing the stored timestamps, not by sleeping.
"""

import collections
import copy
import time

import pytest
from rapidsms.router import lookup_connections, send

from rtropo.conf import get_config
from rtropo.emulator.testing import tropo_emulator  # noqa: F401  (the fixture)
from rtropo.models import OutboundMessage
from rtropo.status import health
from tests.settings import NUMBER, TOKEN
from tests.support.clock import travel
from tests.support.commands import problem_codes, send_queued, tropo_status
from tests.support.payloads import SECRET

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+15555550001"
LEASE = 30


@pytest.fixture
def deployment(settings, live_server, tropo_emulator):  # noqa: F811
    """Factory: the emulator calling ``app_url`` (default: with the secret), the backend
    launching through it with ``config`` changes; returns the emulator."""

    def start(app_url=None, lease=LEASE, **config):
        emulator = tropo_emulator(
            app_url=app_url or f"{live_server.url}/tropo/?secret={SECRET}",
            token=TOKEN,
            number=NUMBER,
        )
        backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
        backends["tropo"]["config"].update(
            api_url=emulator.session_api_url, sms_per_second=0, lease=lease, **config
        )
        settings.INSTALLED_BACKENDS = backends
        return emulator

    return start


def wait_until(condition, what):
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def text_from_code(text="hello"):
    send(text, lookup_connections("tropo", [PHONE]))


def test_a_wrong_messaging_token_is_critical_launch_refused(deployment):
    emulator = deployment(messaging_token="f" * 88)
    text_from_code()
    assert emulator.deliveries == []
    status = tropo_status()
    assert (status.code, problem_codes(status)) == (2, [("critical", "launch_refused")])
    assert "Invalid token" in status.stdout
    run = send_queued("-v", "0")
    assert (run.code, run.stdout, problem_codes(run)) == (2, "", [("critical", "launch_refused")])


def test_a_messaging_url_without_its_secret_is_critical_requests_refused(deployment, live_server):
    emulator = deployment(app_url=f"{live_server.url}/tropo/")
    text_from_code()
    wait_until(lambda: emulator.callbacks == 1, "the callback")

    def refused():
        health.flush(get_config("tropo"))  # the throttle's timer, within a minute
        return tropo_status().code == 2

    wait_until(refused, "the refused callback in the health row")
    status = tropo_status()
    assert problem_codes(status) == [("critical", "requests_refused")]
    run = send_queued("-v", "0")
    assert (run.code, problem_codes(run)) == (2, [("critical", "requests_refused")])


def test_a_periodic_command_never_scheduled_is_named_and_its_first_run_clears_it(deployment):
    emulator = deployment(lease=300)
    emulator.faults.queue("http_500")
    text_from_code()
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.QUEUED
    travel(200)
    status = tropo_status()
    assert (status.code, problem_codes(status)) == (
        1,
        [("warning", "due_late"), ("warning", "command_not_run")],
    )
    run = send_queued("-v", "0")
    assert (run.code, run.stdout, run.stderr) == (0, "", "")
    emulator.wait_for_deliveries(1)


def test_result_posts_that_never_arrive_are_critical_and_nothing_is_sent_twice(deployment):
    emulator = deployment(max_attempts=10)
    emulator.faults.set_rates({"result_refused": 1.0})
    emulator.send_sms(PHONE, "ping")
    text_from_code("campaign")
    emulator.wait_for_deliveries(2)
    travel(LEASE + 1)
    run = send_queued("-v", "0")
    assert (run.code, problem_codes(run)) == (2, [("critical", "results_missing")])
    status = tropo_status()
    assert (status.code, problem_codes(status)) == (2, [("critical", "results_missing")])
    for _ in range(5):
        travel(LEASE + 1)
        send_queued("-v", "0")
    delivered = collections.Counter((d.to, d.text) for d in emulator.deliveries)
    assert delivered == {(PHONE, "pong"): 1, (PHONE, "campaign"): 1}


def test_a_healthy_deployment_is_ok_and_its_cron_prints_nothing(deployment):
    emulator = deployment()
    emulator.send_sms(PHONE, "ping")
    text_from_code()
    emulator.wait_for_deliveries(2)
    confirmed = OutboundMessage.objects.filter(status=OutboundMessage.Status.CONFIRMED)
    wait_until(lambda: confirmed.count() == 2, "both results")
    run = send_queued("-v", "0")
    assert (run.code, run.stdout, run.stderr) == (0, "", "")
    status = tropo_status()
    assert (status.code, problem_codes(status)) == (0, [])
    assert status.stdout.startswith("tropo: ok\n")
