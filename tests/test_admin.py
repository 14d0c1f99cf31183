from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from rtropo.admin import ERROR_SHOWN
from rtropo.models import InboundSession, Launch, OutboundMessage

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


@pytest.fixture
def rows():
    now = timezone.now()
    common = {"backend_name": "tropo", "text": "hi", "created_at": now}
    return [
        OutboundMessage.objects.create(
            identity="+15555550001",
            to_number="+15555550001",
            status="failed",
            attempts=10,
            next_attempt_at=now,
            last_error="Session API answered HTTP 500",
            **common,
        ),
        OutboundMessage.objects.create(
            identity="+15555550002",
            to_number="+15555550002",
            status="sent",
            attempts=1,
            next_attempt_at=now,
            **common,
        ),
    ]


def test_changelist_filters_and_search(admin_client, rows):
    url = reverse("admin:rtropo_outboundmessage_changelist")
    response = admin_client.get(url, {"status__exact": "failed", "q": "0001"})
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [rows[0]]


def test_retry_now_requeues_failed_rows_only(admin_client, rows):
    url = reverse("admin:rtropo_outboundmessage_changelist")
    response = admin_client.post(
        url,
        {"action": "retry_now", "_selected_action": [row.pk for row in rows]},
        follow=True,
    )
    assert response.status_code == 200
    failed, sent = (OutboundMessage.objects.get(pk=row.pk) for row in rows)
    assert (failed.status, failed.attempts) == ("queued", 0)
    assert sent.status == "sent"


def test_retry_now_is_not_reachable_by_get(admin_client, rows):
    url = reverse("admin:rtropo_outboundmessage_changelist")
    admin_client.get(url, {"action": "retry_now", "_selected_action": rows[0].pk})
    assert OutboundMessage.objects.get(pk=rows[0].pk).status == "failed"


def test_launch_admin_never_shows_the_reference(admin_client, settings):
    now = timezone.now()
    launch = Launch.objects.create(
        backend_name="tropo", reference="sekrit-reference", created_at=now, expires_at=now
    )
    change = reverse("admin:rtropo_launch_change", args=[launch.pk])
    listing = reverse("admin:rtropo_launch_changelist")
    for url in (change, listing):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert b"sekrit-reference" not in response.content
        assert settings.TOKEN.encode() not in response.content


def outbound(status, minute, **fields):
    moment = timezone.now().replace(second=0, microsecond=0) - timedelta(days=1)
    return OutboundMessage.objects.create(
        backend_name="tropo",
        identity="+15555550009",
        to_number="+15555550009",
        text="hi",
        status=status,
        next_attempt_at=moment + timedelta(minutes=minute),
        created_at=moment,
        **fields,
    )


def test_the_changelist_shows_the_last_error_shortened(admin_client):
    error = "Session API refused the launch: Invalid token. " + "x" * 200
    outbound("failed", 0, last_error=error, attempts=10)
    response = admin_client.get(reverse("admin:rtropo_outboundmessage_changelist"))
    shown = Truncator(error).chars(ERROR_SHOWN)
    assert len(shown) == ERROR_SHOWN
    assert f'title="{error}"'.encode() in response.content
    assert f">{shown}</span>".encode() in response.content
    assert f">{error}<".encode() not in response.content


def test_only_queued_rows_show_a_next_attempt(admin_client):
    rows = {status: outbound(status, minute) for minute, status in enumerate(Status.values)}
    response = admin_client.get(reverse("admin:rtropo_outboundmessage_changelist"))
    for status, row in rows.items():
        shown = timezone.localtime(row.next_attempt_at).strftime("%Y-%m-%d %H:%M")
        assert (shown.encode() in response.content) == (status == Status.QUEUED), status


def test_the_status_column_counts_attempts_and_unconfirmed_sends(admin_client):
    outbound("sent", 0, attempts=3, unconfirmed_count=2)
    response = admin_client.get(reverse("admin:rtropo_outboundmessage_changelist"))
    assert b"sent<br>3 attempts<br>2 unconfirmed" in response.content


def test_read_only_change_pages_have_no_save_buttons(admin_client):
    now = timezone.now()
    records = [
        outbound("sent", 0, attempts=1),
        Launch.objects.create(
            backend_name="tropo", reference="r" * 40, created_at=now, expires_at=now
        ),
        InboundSession.objects.create(
            backend_name="tropo",
            session_id="0" * 32,
            identity="+15555550001",
            text="hello",
            status=InboundSession.Status.ROUTED,
            received_at=now,
        ),
    ]
    for record in records:
        url = reverse(f"admin:rtropo_{record._meta.model_name}_change", args=[record.pk])
        response = admin_client.get(url)
        assert response.status_code == 200
        for button in (b'name="_save"', b'name="_continue"', b'name="_addanother"'):
            assert button not in response.content, (url, button)
        assert b"deletelink" in response.content
