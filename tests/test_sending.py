"""Sending through the RapidSMS router into the queue and the Session API."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rapidsms.router import lookup_connections, send

from rtropo.models import Launch, OutboundMessage

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


@pytest.fixture
def send_committed(django_capture_on_commit_callbacks):
    """rapidsms.router.send, with on-commit work run as after a real commit."""

    def run(text, identities, **kwargs):
        connections = lookup_connections("tropo", identities)
        with django_capture_on_commit_callbacks(execute=True):
            return send(text, connections, **kwargs)

    return run


def test_send_queues_one_row_per_recipient_and_launches_once(tropo, send_committed, settings):
    message = send_committed("Clinic opens at 9", ["+1 555 555 0001", "15555550002"])
    rows = OutboundMessage.objects.order_by("pk")
    assert [(r.to_number, r.identity, r.status) for r in rows] == [
        ("+15555550001", "+1 555 555 0001", Status.LAUNCHED),
        ("+15555550002", "15555550002", Status.LAUNCHED),
    ]
    assert {r.message_id for r in rows} == {message.id}
    assert len(tropo.launches) == 1
    launch = Launch.objects.get()
    assert tropo.launches[0] == {
        "token": settings.TOKEN,
        "action": "create",
        "rtropo_ref": launch.reference,
    }
    assert launch.session_id == "00000000000000000000000000000001"
    assert {r.session_id for r in rows} == {launch.session_id}


def test_launch_carries_no_text_and_no_number(tropo, send_committed):
    send_committed("secret diagnosis", ["+15555550001"])
    body = json.dumps(tropo.launches)
    assert "diagnosis" not in body
    assert "5555550001" not in body


def test_invalid_identities_fail_and_the_valid_ones_still_go(tropo, send_committed, caplog):
    send_committed("hi", ["+15555550001", "not-a-number", "mailto:x@example.com"])
    assert OutboundMessage.objects.get().to_number == "+15555550001"
    assert len(tropo.launches) == 1
    assert "2 identities are not phone numbers" in caplog.text


def test_backend_reports_failed_identities_to_the_router(tropo, db):
    from rapidsms.errors import MessageSendingError
    from rapidsms.router import get_router

    router = get_router()
    with pytest.raises(MessageSendingError) as raised:
        router.backends["tropo"].send(
            id_=7, text="hi", identities=["+15555550001", "bogus"], context=None
        )
    assert raised.value.failed_identities == ["bogus"]
    row = OutboundMessage.objects.get()
    assert (row.message_id, row.in_response_to, row.external_id) == ("7", "", "")


def test_context_keys_are_stored_and_unknown_ones_ignored(tropo, db):
    from rapidsms.router import get_router

    get_router().backends["tropo"].send(
        id_="abc",
        text="hi",
        identities=["+15555550001"],
        context={"in_response_to": "m1", "external_id": "s1", "whatever": object()},
    )
    row = OutboundMessage.objects.get()
    assert (row.in_response_to, row.external_id) == ("m1", "s1")


def test_unicode_is_stored_as_is(tropo, send_committed):
    send_committed("Habari 🙂 你好", ["+15555550001"])
    assert OutboundMessage.objects.get().text == "Habari 🙂 你好"


@pytest.mark.parametrize(
    "failure",
    [
        (500, {}, "oops"),
        (200, {}, '{"success": false, "reason": "Invalid token"}'),
        (200, {}, "<html>proxy</html>"),
    ],
)
def test_launch_failure_keeps_rows_queued_with_backoff(tropo, send_committed, failure):
    tropo.fail_with(failure)
    send_committed("hi", ["+15555550001"])
    row = OutboundMessage.objects.get()
    assert row.status == Status.QUEUED
    assert row.attempts == 1
    assert row.next_attempt_at > row.created_at
    assert row.last_error
    assert tropo.launches[0]["token"] not in row.last_error
    assert Launch.objects.get().status == Launch.Status.FAILED


def test_sends_join_a_pending_launch_instead_of_launching_again(tropo, send_committed):
    send_committed("one", ["+15555550001"])
    send_committed("two", ["+15555550002"])
    send_committed("three", ["+15555550003"])
    assert len(tropo.launches) == 1
    assert Launch.objects.get().join_count == 2
    assert OutboundMessage.objects.filter(status=Status.QUEUED).count() == 2


def test_an_expired_launch_is_not_joined(tropo, send_committed):
    send_committed("one", ["+15555550001"])
    Launch.objects.update(expires_at="2000-01-01T00:00:00Z")
    send_committed("two", ["+15555550002"])
    assert len(tropo.launches) == 2


def test_a_launch_whose_callback_is_overdue_is_not_joined(tropo, send_committed):
    send_committed("one", ["+15555550001"])
    Launch.objects.update(created_at=timezone.now() - timedelta(minutes=1))
    send_committed("two", ["+15555550002"])
    assert len(tropo.launches) == 2
    assert Launch.objects.filter(join_count__gt=0).count() == 0


def test_a_large_send_launches_full_sessions_back_to_back(tropo, send_committed, backend_settings):
    backend_settings(batch_size=2)
    send_committed("all", [f"+1555555000{n}" for n in range(5)])
    assert sorted(Launch.objects.values_list("size", flat=True)) == [1, 2, 2]
    assert not OutboundMessage.objects.filter(status=Status.QUEUED).exists()


def test_a_full_launch_is_not_joined(tropo, send_committed, backend_settings):
    backend_settings(batch_size=1)
    send_committed("one", ["+15555550001"])
    send_committed("two", ["+15555550002"])
    assert len(tropo.launches) == 2
