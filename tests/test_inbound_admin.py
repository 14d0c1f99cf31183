"""The admin of inbound sessions: their status, filterable, every field read-only."""

import pytest
from django.urls import reverse
from django.utils import timezone

from rtropo.models import InboundSession

pytestmark = pytest.mark.django_db

Status = InboundSession.Status


@pytest.fixture
def sessions():
    def make(n, status, error=""):
        return InboundSession.objects.create(
            backend_name="tropo",
            session_id=f"{n:032x}",
            identity=f"+1555555000{n}",
            text="hello",
            status=status,
            attempts=n,
            last_error=error,
            received_at=timezone.now(),
        )

    return [
        make(1, Status.ROUTED),
        make(2, Status.RECEIVED),
        make(3, Status.FAILED, "an app raised RuntimeError('broken')"),
    ]


def test_the_changelist_shows_the_status_and_filters_by_it(admin_client, sessions):
    url = reverse("admin:rtropo_inboundsession_changelist")
    response = admin_client.get(url, {"status__exact": "failed"})
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [sessions[2]]
    assert "status" in response.context["cl"].list_display
    assert b"failed" in response.content


def test_a_session_is_read_only_and_shows_its_error(admin_client, sessions):
    url = reverse("admin:rtropo_inboundsession_change", args=[sessions[2].pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert b"RuntimeError(&#x27;broken&#x27;)" in response.content
    admin_client.post(url, {"status": "routed", "text": "changed"})
    sessions[2].refresh_from_db()
    assert (sessions[2].status, sessions[2].text) == (Status.FAILED, "hello")
    add = admin_client.get(reverse("admin:rtropo_inboundsession_add"))
    assert add.status_code == 403
