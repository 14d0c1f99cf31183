"""The admin: who may retry, and no way to learn a launch reference (issue 13)."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from rtropo.models import Launch, OutboundMessage

pytestmark = pytest.mark.django_db

REFERENCE = "Zq3-secret-launch-reference-0123456789abcdef"


def staff_client(client, *codenames):
    user = User.objects.create_user("staff", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@pytest.fixture
def failed_row():
    now = timezone.now()
    return OutboundMessage.objects.create(
        backend_name="tropo",
        identity="+15555550001",
        to_number="+15555550001",
        text="hi",
        status="failed",
        attempts=10,
        next_attempt_at=now,
        created_at=now,
    )


@pytest.fixture
def launch():
    now = timezone.now()
    return Launch.objects.create(
        backend_name="tropo", reference=REFERENCE, created_at=now, expires_at=now
    )


def retry(client, row):
    url = reverse("admin:rtropo_outboundmessage_changelist")
    return client.post(url, {"action": "retry_now", "_selected_action": [row.pk]})


def test_a_view_only_staff_user_cannot_retry(client, failed_row):
    viewer = staff_client(client, "view_outboundmessage")
    listing = viewer.get(reverse("admin:rtropo_outboundmessage_changelist"))
    assert listing.status_code == 200
    assert b"retry_now" not in listing.content
    retry(viewer, failed_row)
    row = OutboundMessage.objects.get(pk=failed_row.pk)
    assert (row.status, row.attempts) == ("failed", 10)


def test_a_staff_user_with_the_change_permission_can_retry(client, failed_row):
    editor = staff_client(client, "view_outboundmessage", "change_outboundmessage")
    retry(editor, failed_row)
    row = OutboundMessage.objects.get(pk=failed_row.pk)
    assert (row.status, row.attempts) == ("queued", 0)


@pytest.mark.parametrize(
    "lookup", ["reference__regex", "reference", "reference__startswith", "reference__gt"]
)
def test_the_launch_changelist_refuses_lookups_on_the_reference(admin_client, launch, lookup):
    url = reverse("admin:rtropo_launch_changelist")
    response = admin_client.get(url, {lookup: "^Z"})
    assert response.status_code == 400
    assert REFERENCE.encode() not in response.content


def test_the_message_changelist_refuses_lookups_through_the_launch(admin_client, launch):
    url = reverse("admin:rtropo_outboundmessage_changelist")
    response = admin_client.get(url, {"launch__reference__regex": "^Z"})
    assert response.status_code == 400


def test_the_reference_is_not_searchable(admin_client, launch):
    url = reverse("admin:rtropo_launch_changelist")
    response = admin_client.get(url, {"q": REFERENCE})
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == []


def test_other_lookups_still_work(admin_client, launch):
    url = reverse("admin:rtropo_launch_changelist")
    response = admin_client.get(url, {"status__exact": "pending"})
    assert list(response.context["cl"].queryset) == [launch]
