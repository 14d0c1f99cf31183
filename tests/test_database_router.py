"""RapidSMS's DatabaseRouter: Tropo's results move its transmissions to D or E."""

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from rapidsms.router import lookup_connections, send
from rapidsms.router.db.models import Message, Transmission

from rtropo import transmissions
from rtropo.models import OutboundMessage
from tests.support.payloads import callback_payload
from tests.test_confirmation import result_payload

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


@pytest.fixture
def database_router(settings):
    """DatabaseRouter, its ``send_transmissions`` task run inline (Celery eager)."""
    from rapidsms.router.db.tasks import send_transmissions

    conf = send_transmissions.app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager = conf.task_eager_propagates = True
    settings.RAPIDSMS_ROUTER = "rapidsms.router.db.DatabaseRouter"
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


@pytest.fixture
def launched(tropo, post_session, django_capture_on_commit_callbacks):
    """Send through the router; answer the launch's callback: the row and its result URL."""

    def run(text="hello"):
        with django_capture_on_commit_callbacks(execute=True):
            send(text, lookup_connections("tropo", ["+15555550001"]))
        verbs = post_session(callback_payload(tropo.references[0])).json()["tropo"]
        [next_url] = {verb["on"]["next"] for verb in verbs if "on" in verb}
        return OutboundMessage.objects.get(), next_url

    return run


@pytest.fixture
def post_result(client, django_capture_on_commit_callbacks):
    def post(row, next_url, disposition="SUCCESS", **result):
        actions = {"name": f"rtropo-{row.pk}", "attempts": 1, "disposition": disposition}
        payload = result_payload(session_id=row.session_id, actions=actions, **result)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(next_url, data=payload, content_type="application/json")
        assert response.status_code == 200
        row.refresh_from_db()

    return post


def statuses():
    return Transmission.objects.get().status, Message.objects.get(direction="O").status


def test_a_confirmed_result_delivers_the_transmission_and_the_message(
    database_router, launched, post_result
):
    row, next_url = launched()
    assert row.message_id == str(Message.objects.get().pk)
    assert statuses() == ("S", "S")
    post_result(row, next_url)
    assert row.status == Status.CONFIRMED
    assert statuses() == ("D", "D")
    assert Message.objects.get().delivered is not None


def test_a_failed_result_errors_the_transmission_and_the_message(
    database_router, launched, post_result
):
    row, next_url = launched()
    post_result(row, next_url, "FAILED", complete=False, error="number unreachable")
    assert row.status == Status.FAILED
    assert statuses() == ("E", "E")


def test_a_row_failing_after_max_attempts_errors_the_transmission(
    database_router, backend_settings, tropo, django_capture_on_commit_callbacks
):
    backend_settings(max_attempts=1)
    tropo.fail_with((500, {}, "down"))
    with django_capture_on_commit_callbacks(execute=True):
        send("hello", lookup_connections("tropo", ["+15555550001"]))
    assert OutboundMessage.objects.get().status == Status.FAILED
    assert statuses() == ("E", "E")


def test_with_blocking_router_a_result_touches_no_transmission(settings, launched, post_result):
    settings.RAPIDSMS_ROUTER = "rapidsms.router.blocking.BlockingRouter"
    row, next_url = launched()
    with CaptureQueriesContext(db_connection) as queries:
        post_result(row, next_url)
    assert row.status == Status.CONFIRMED
    assert not [q for q in queries.captured_queries if "rapidsms_transmission" in q["sql"]]
    assert not Transmission.objects.exists()


@pytest.mark.parametrize(
    ("router", "expected"),
    [
        ("rapidsms.router.db.DatabaseRouter", True),
        ("rapidsms.router.blocking.BlockingRouter", False),
        ("rapidsms.router.celery.CeleryRouter", False),
    ],
)
def test_the_decision_follows_the_settings(settings, router, expected):
    settings.RAPIDSMS_ROUTER = router
    assert transmissions.enabled() is expected
    from rapidsms.router.db import DatabaseRouter

    settings.RAPIDSMS_ROUTER = type("Custom", (DatabaseRouter,), {})
    assert transmissions.enabled() is True
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "rapidsms.router.db"]
    assert transmissions.enabled() is False


def test_a_row_of_another_router_is_ignored_without_a_query(database_router):
    row = OutboundMessage(message_id="0123456789" * 3 + "ab", identity="+15555550001")
    with CaptureQueriesContext(db_connection) as queries:
        transmissions.settle(row, "D")
    assert queries.captured_queries == []
