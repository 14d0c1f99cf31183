"""Campaign launches: bounded, few statements, no wait for a full batch."""

import collections
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rapidsms.router import lookup_connections, send

from rtropo import periodic
from rtropo.conf import BackendConfig
from rtropo.models import Launch, OutboundMessage
from rtropo.outbox import answers, launching, queue, take
from tests.support import exiting_process
from tests.support.session_api_stub import SessionAPIStub

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboundMessage.Status


def enqueue(config, count):
    recipients = [queue.Recipient(f"+1555{n:07d}", f"+1555{n:07d}") for n in range(count)]
    return queue.enqueue(config, recipients, "campaign")


def sql_statements(captured):
    data = ("SELECT", "INSERT", "UPDATE", "DELETE")
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith(data)]


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_no_more_than_the_most_pending_launches_await_their_callback(config):
    with SessionAPIStub() as stub:
        settings = config(api_url=stub.url, batch_size=2)
        ids = enqueue(settings, 2 * take.MOST_PENDING_LAUNCHES + 5)
        progress = periodic.send_queued(settings)
    # The rest wait for callbacks to make room.
    most = take.MOST_PENDING_LAUNCHES
    assert (progress.launches, progress.messages, progress.failed_launches) == (most, 2 * most, 0)
    launches = {launch.pk: launch for launch in Launch.objects.all()}
    assert sorted(launch.reference for launch in launches.values()) == sorted(stub.references)
    rows = list(OutboundMessage.objects.order_by("pk"))
    assert [row.pk for row in rows] == ids
    launched = [row for row in rows if row.status == Status.LAUNCHED]
    assert [row.pk for row in launched] == ids[: 2 * most]
    assert {row.status for row in rows[2 * most :]} == {Status.QUEUED}
    assert {row.attempts for row in launched} == {1}
    # Every launched row in exactly one launch, of the size it says, with its session.
    per_launch = collections.Counter(row.launch_id for row in launched)
    assert per_launch == {pk: launch.size for pk, launch in launches.items()}
    assert set(per_launch.values()) == {2}
    assert all(row.session_id == launches[row.launch_id].session_id != "" for row in launched)
    assert len({launch.session_id for launch in launches.values()}) == most


def test_each_answered_callback_makes_room_for_the_next_launch(config):
    most = take.MOST_PENDING_LAUNCHES
    with SessionAPIStub() as stub:
        settings = config(api_url=stub.url, batch_size=1)
        enqueue(settings, 2 * most + 3)
        rounds = 0
        while OutboundMessage.objects.filter(status=Status.QUEUED).exists():
            launching.request_launch(settings)
            rounds += 1
            pending = Launch.objects.filter(status=Launch.Status.PENDING)
            assert pending.count() <= most
            assert launching.launch_due(settings, settings.number) is None
            for n, launch in enumerate(pending):
                assert answers.claim_for_callback(settings, launch.reference, f"{rounds}-{n}")
    assert rounds == 3
    assert Launch.objects.count() == len(stub.references) == 2 * most + 3
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_failed_launch_releases_only_its_own_rows_and_the_launches_stop(config):
    with SessionAPIStub(fail_every=2) as stub:
        settings = config(api_url=stub.url, batch_size=5)
        enqueue(settings, 40)
        progress = periodic.send_queued(settings)
    assert (progress.launches, progress.messages, progress.failed_launches) == (1, 5, 1)
    assert stub.outcomes["http_500"] == 1
    failed = Launch.objects.get(status=Launch.Status.FAILED)
    assert "HTTP 500" in failed.error
    released = OutboundMessage.objects.filter(status=Status.QUEUED, attempts=1)
    assert released.count() == failed.size == 5
    assert {(row.launch_id, row.session_id) for row in released} == {(None, "")}
    assert all("HTTP 500" in row.last_error for row in released)
    assert all(row.next_attempt_at > row.created_at for row in released)
    launch = Launch.objects.get(status=Launch.Status.PENDING)
    rows = OutboundMessage.objects.filter(launch=launch)
    assert rows.count() == launch.size == 5
    assert {(row.status, row.session_id) for row in rows} == {(Status.LAUNCHED, launch.session_id)}
    # The rest were not taken: the launches stopped at the failure.
    assert OutboundMessage.objects.filter(status=Status.QUEUED, attempts=0).count() == 30


def test_a_take_looks_for_a_program_then_takes_messages_in_one_insert_and_one_update(config):
    settings = config(batch_size=10)
    enqueue(settings, 15)
    with CaptureQueriesContext(connection) as captured:
        launch = take.take_due(settings, settings.number)
    statements = sql_statements(captured)
    # The locks (write_transaction's on SQLite; on PostgreSQL the in-flight window's,
    # before each of its counts), the count of launches awaiting their callback; the
    # window's count and the SELECT of a due program, then of due messages; the launch's
    # INSERT and the rows' UPDATE.
    locks = 1 if connection.vendor == "sqlite" else 2
    assert len(statements) == locks + 1 + 2 + 2 + 2, statements
    assert launch.size == 10
    sizes = collections.Counter(OutboundMessage.objects.values_list("launch_id", flat=True))
    assert sizes == {launch.pk: 10, None: 5}


def test_a_session_is_recorded_on_its_launch_and_rows(config):
    settings = config(batch_size=3)
    enqueue(settings, 4)
    launch = take.take_due(settings, settings.number)
    take.record_session(launch, "f" * 32)
    assert Launch.objects.get(pk=launch.pk).session_id == launch.session_id == "f" * 32
    sessions = OutboundMessage.objects.values_list("launch_id", "session_id")
    assert collections.Counter(sessions) == {(launch.pk, "f" * 32): 3, (None, ""): 1}


@pytest.mark.parametrize(("queued", "statements"), [(5, 6), (3, 9)])
def test_claiming_a_callback_takes_few_statements(config, queued, statements):
    """A full launch: the launch's UPDATE, its rows' SELECT, the launch's number, the
    UPDATE and SELECT of marking them sent, the recipients' numbers; when the launch
    has room for other due rows, the in-flight window's count, their SELECT and the
    UPDATE that joins them to the launch (and on PostgreSQL the window's lock before
    them)."""
    settings = config(batch_size=5)
    enqueue(settings, queued)
    launch = take.take_due(settings, settings.number)
    enqueue(settings, 2)
    with CaptureQueriesContext(connection) as captured:
        rows = answers.claim_for_callback(settings, launch.reference, "c" * 32)
    lock = 1 if connection.vendor == "sqlite" or queued < 5 else 0
    assert len(sql_statements(captured)) == lock + statements, sql_statements(captured)
    assert len(rows) == 5
    assert {(row.status, row.launch_id, row.session_id) for row in rows} == {
        (Status.SENT, launch.pk, "c" * 32)
    }
    extra = [row for row in rows if row.pk not in {r.pk for r in rows[:queued]}]
    assert all(row.attempts == 1 for row in rows)
    assert len(extra) == 5 - queued


def test_a_send_of_a_full_batch_launches_without_waiting_launch_delay(tropo, backend_settings):
    backend_settings(launch_delay=3600, batch_size=3)
    send("early", lookup_connections("tropo", ["+15555550001", "+15555550002"]))
    assert tropo.launches == []
    numbers = [f"+1555555001{n}" for n in range(3)]
    send("campaign", lookup_connections("tropo", numbers))
    # Rows turn "launched" before the Session API call, so wait for the calls.
    wait_until(lambda: len(tropo.launches) == 2)
    # The full batch and the two rows that were waiting, in one round.
    assert sorted(Launch.objects.values_list("size", flat=True)) == [2, 3]
    assert not OutboundMessage.objects.filter(status=Status.QUEUED).exists()


def config_entry(**values):
    return {"config": {"messaging_token": "t" * 88, "number": "+15555550000", **values}}


def test_a_launch_concurrency_key_is_ignored_like_any_unknown_key():
    config = BackendConfig.from_entry("b", config_entry(launch_concurrency=3))
    assert not hasattr(config, "launch_concurrency")


EXIT_ROUND = """
from rtropo.outbox import launching, queue
from rtropo.conf import get_config
from rtropo.models import Launch
tropo = get_config("tropo")
numbers = [f"+1555000{n:04d}" for n in range(6)]
queue.enqueue(tropo, [queue.Recipient(number, number) for number in numbers], "x")
def at_exit():
    launching.request_launch(tropo, join=False)
    pending = Launch.objects.filter(status="pending").count()
    print(f"launched at exit: {pending}, stub saw {len(stub.references)}")
atexit.register(at_exit)
"""


def test_launches_at_interpreter_exit_are_not_lost(tmp_path):
    """The launcher's last flush runs at exit, when no thread may start."""
    # The stub answers in its own thread: on Python 3.12+ no thread starts at exit.
    result = exiting_process.run(
        tmp_path, EXIT_ROUND, stub_options={"threaded": False}, tropo_options={"batch_size": 2}
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "launched at exit: 3, stub saw 3" in result.stdout
