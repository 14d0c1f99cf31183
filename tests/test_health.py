"""The health row: what the view, the launches and the periodic command record, and how cheaply."""

import sqlite3
import time
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from rtropo.models import BackendHealth, OutboundMessage
from rtropo.outbox import launching, queue, results
from rtropo.status import health
from tests.support import exiting_process
from tests.support.clock import travel
from tests.support.commands import send_queued
from tests.support.payloads import callback_payload, inbound_payload

pytestmark = pytest.mark.django_db

REFUSED = (200, {}, '{"success": false, "reason": "Invalid token"}')
HTTP_500 = (500, {}, "")


def stored():
    return BackendHealth.objects.get(backend_name="tropo")


def health_statements(action):
    """The statements ``action`` sent to the health table."""
    seen = []

    def watch(execute, sql, params, many, context):
        if "rtropo_backendhealth" in sql:
            seen.append(sql.split()[0].upper())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        action()
    return seen


def test_the_first_event_is_written_at_once_and_later_ones_wait_for_the_minute(post_session):
    assert health_statements(lambda: post_session(inbound_payload(session_id="1" * 32))) == [
        "UPDATE",
        "INSERT",
    ]
    first = stored().last_inbound_at
    for n in range(2, 6):
        post = lambda n=n: post_session(inbound_payload(session_id=str(n) * 32))  # noqa: E731
        assert health_statements(post) == []
    assert stored().last_inbound_at == first


def test_the_periodic_command_writes_the_pending_events_with_its_run(post_session, tropo):
    post_session(inbound_payload(session_id="1" * 32))
    post_session(inbound_payload(session_id="2" * 32), secret="wrong")
    assert stored().refused_requests == 0
    assert send_queued("-v", "0").code == 2
    row = stored()
    assert row.refused_requests == 1
    assert row.last_refused_request_reason == "missing or wrong secret"
    assert row.last_run_at is not None


def test_a_write_after_a_quiet_minute_is_at_once(post_session):
    post_session(inbound_payload(session_id="1" * 32))
    health._recorder.written["tropo"] -= health.WRITE_EVERY
    post_session(inbound_payload(session_id="2" * 32), secret="wrong")
    assert stored().refused_requests == 1


def test_refused_requests_are_counted_in_windows_of_ten_minutes(post_session, config):
    settings = config()
    for _ in range(3):
        health.request_refused(settings, "missing or wrong secret")
    health.command_ran(settings)
    assert stored().refused_requests == 3
    travel(11 * 60)
    health.request_refused(settings, "callback with a wrong token")
    health.command_ran(settings)
    row = stored()
    assert row.refused_requests == 1
    assert row.last_refused_request_reason == "callback with a wrong token"


def test_a_refused_launch_is_recorded_and_a_later_launch_supersedes_it(config, tropo):
    settings = config()
    queue.enqueue(settings, [queue.Recipient("+15555550001", "+15555550001")], "hi")
    tropo.fail_with(REFUSED)
    launching.launch_due(settings, settings.number)
    row = stored()
    assert row.last_refusal_reason == "Session API refused the launch: Invalid token"
    assert health.launch_refusal_current(row)
    health._recorder.written.clear()
    launching.launch_due(settings, settings.number, include_backing_off=True)
    row = stored()
    assert row.last_launch_at > row.last_refusal_at
    assert not health.launch_refusal_current(row)


def test_a_launch_tropo_did_not_answer_is_no_refusal(config, tropo):
    settings = config()
    queue.enqueue(settings, [queue.Recipient("+15555550001", "+15555550001")], "hi")
    tropo.fail_with(HTTP_500)
    launching.launch_due(settings, settings.number)
    assert not BackendHealth.objects.exists()


def test_a_callback_with_the_right_token_is_recorded(config, tropo, post_session):
    settings = config()
    queue.enqueue(settings, [queue.Recipient("+15555550001", "+15555550001")], "hi")
    launch = launching.launch_due(settings, settings.number)
    health._recorder.written.clear()
    post_session(callback_payload(launch.reference))
    assert stored().last_callback_at is not None


def test_a_failed_health_write_is_logged_and_the_request_goes_on(post_session, caplog):
    def refuse(execute, sql, params, many, context):
        if "rtropo_backendhealth" in sql:
            raise DatabaseError("health table unavailable")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        response = post_session(inbound_payload(text="ping"))
    assert response.status_code == 200
    assert b"pong" in response.content
    assert "Could not record the health of Tropo backend tropo" in caplog.text


def test_the_last_result_is_the_latest_that_settled_a_row_of_the_backend(config):
    settings = config()
    [first, second] = queue.enqueue(
        settings,
        [queue.Recipient(n, n) for n in ("+15555550001", "+15555550002")],
        "hi",
    )
    assert results.last_result_at(settings) is None
    earlier, later = timezone.now() - timedelta(minutes=5), timezone.now()
    OutboundMessage.objects.filter(pk=first).update(status="confirmed", result_at=later)
    OutboundMessage.objects.filter(pk=second).update(status="failed", result_at=earlier)
    assert results.last_result_at(settings) == later


@pytest.mark.django_db(transaction=True)
def test_events_kept_back_are_written_by_the_timer_when_the_interval_is_over(config, monkeypatch):
    monkeypatch.setattr(health, "WRITE_EVERY", 0.3)
    settings = config()
    health.inbound_received(settings)
    health.request_refused(settings, "missing or wrong secret")
    assert stored().refused_requests == 0
    deadline = time.monotonic() + 10
    while not stored().refused_requests:
        assert time.monotonic() < deadline, "the kept-back refusal was never written"
        time.sleep(0.05)
    assert stored().last_refused_request_reason == "missing or wrong secret"


EXIT_NOTE = """
from rtropo.status import health
from rtropo.conf import get_config
tropo = get_config("tropo")
health.inbound_received(tropo)
atexit.register(lambda: health.request_refused(tropo, "missing or wrong secret"))
"""


def test_an_event_at_interpreter_exit_is_written_at_once(tmp_path):
    """At exit no timer thread may start (Python 3.12+): the event is written, not lost."""
    result = exiting_process.run(tmp_path, EXIT_NOTE, stub_options={"threaded": False})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    database = sqlite3.connect(tmp_path / "rtropo-tests.sqlite3")
    try:
        [(refused,)] = database.execute("SELECT refused_requests FROM rtropo_backendhealth")
    finally:
        database.close()
    assert refused == 1
