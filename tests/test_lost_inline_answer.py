"""An inline answer lost after ``routed`` committed (the server killed before Tropo read it).

The view has marked the session routed and its replies sent; Tropo never
sees the answer, so no result comes. The SMS is not routed again, and the
replies go out by the launch path once the lease is over.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rapidsms.router.blocking import BlockingRouter

from rtropo.models import InboundSession, OutboundMessage
from tests.support.results import result_settled_now
from tests.test_inbound_durable import Counts, answered_texts, post_inbound

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


@pytest.fixture
def counting(settings):
    """Route through the app that replies to every SMS and counts them."""
    Counts.seen = []
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[Counts])


def lose_the_answer_and_age():
    """The answer is never read; ``lease`` seconds pass, and results of other answers come.

    Returns the reply's row.
    """
    assert post_inbound("hello").status_code == 200
    OutboundMessage.objects.update(sent_at=timezone.now() - timedelta(hours=1))
    InboundSession.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    reply = OutboundMessage.objects.get()
    result_settled_now()
    return reply


def test_the_replies_are_launched_after_the_lease_and_the_sms_is_not_routed_again(
    counting, tropo, post_session, django_capture_on_commit_callbacks
):
    reply = lose_the_answer_and_age()
    assert reply.status == Status.SENT
    with django_capture_on_commit_callbacks(execute=True):
        call_command("tropo_send_queued")
    assert Counts.seen == ["hello"]
    assert InboundSession.objects.get().status == InboundSession.Status.ROUTED
    assert answered_texts(post_session, tropo) == ["got hello"]
    row = OutboundMessage.objects.get(pk=reply.pk)
    assert (row.status, row.unconfirmed_count) == (Status.SENT, 1)


@pytest.mark.parametrize(
    ("option", "status"),
    [
        ({"resend_unconfirmed": False}, Status.UNCONFIRMED),
        ({"confirm_delivery": False}, Status.SENT),
    ],
)
def test_without_resending_the_replies_are_kept_or_lost(
    counting, tropo, backend_settings, option, status
):
    backend_settings(**option)
    reply = lose_the_answer_and_age()
    call_command("tropo_send_queued")
    assert tropo.launches == []
    assert OutboundMessage.objects.get(pk=reply.pk).status == status
