"""Inline replies take room in the in-flight window like launched rows."""

import pytest
from django.core.management import call_command
from django.utils import timezone
from rapidsms.apps.base import AppBase
from rapidsms.router import lookup_connections, send
from rapidsms.router.blocking import BlockingRouter

from rtropo.conf import get_config
from rtropo.models import OutboundMessage
from tests.support.payloads import inbound_payload
from tests.test_confirmation import document, result_payload

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


class ThreeReplies(AppBase):
    def handle(self, msg):
        for n in range(3):
            msg.respond(f"part {n}")
        return True


@pytest.fixture
def window_of_two(backend_settings, settings):
    """A window of 2 rows (1 SMS/s, lease 4 s), launching at once; replies in three parts."""
    backend_settings(sms_per_second=1, lease=4, launch_delay=0)
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[ThreeReplies])
    assert get_config("tropo").in_flight_window == 2


def messages_of(response) -> list[str]:
    return [verb["message"]["say"]["value"] for verb in document(response) if "message" in verb]


def test_an_inline_answer_carries_no_more_rows_than_the_window_has_room_for(
    window_of_two, post_session, tropo, client
):
    response = post_session(inbound_payload(text="hi"))
    assert messages_of(response) == ["part 0", "part 1"]
    third = OutboundMessage.objects.get(text="part 2")
    assert third.status == Status.QUEUED
    assert third.next_attempt_at <= timezone.now()
    assert tropo.launches == []  # the window is full: the launch path waits for room
    [next_url] = {verb["on"]["next"] for verb in document(response) if "on" in verb}
    client.post(next_url, data=result_payload(), content_type="application/json")
    call_command("tropo_send_queued")
    assert len(tropo.launches) == 1
    assert OutboundMessage.objects.get(text="part 2").status == Status.LAUNCHED


def test_a_window_filled_by_a_campaign_leaves_the_reply_to_the_launch_path(
    window_of_two, post_session, tropo
):
    send("campaign", lookup_connections("tropo", ["+15555550101", "+15555550102"]))
    call_command("tropo_send_queued")
    assert OutboundMessage.objects.filter(status=Status.LAUNCHED).count() == 2
    response = post_session(inbound_payload(text="hi"))
    assert messages_of(response) == []
    replies = OutboundMessage.objects.filter(text__startswith="part")
    assert set(replies.values_list("status", flat=True)) == {Status.QUEUED}
    assert len(tropo.launches) == 1


def test_without_a_window_every_reply_is_answered_inline(
    window_of_two, backend_settings, post_session, tropo
):
    backend_settings(sms_per_second=0)
    response = post_session(inbound_payload(text="hi"))
    assert messages_of(response) == ["part 0", "part 1", "part 2"]
