import pytest
from django.urls import reverse
from django.utils import timezone

from rtropo.models import Launch, OutboundMessage

pytestmark = pytest.mark.django_db


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
