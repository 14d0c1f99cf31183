"""Sent rows without a result: unconfirmed after the lease, then sent again or kept."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from rtropo import signals
from rtropo.models import OutboundMessage
from tests.support.payloads import inbound_payload
from tests.support.results import result_settled_now

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


@pytest.fixture(autouse=True)
def results_arrive():
    """A result confirmed a message of the backend just now: the sweep may send rows again."""
    result_settled_now()


def unsettled():
    return OutboundMessage.objects.exclude(status=Status.CONFIRMED)


def answer_and_age(post_session):
    """An inline answer whose result never came, its lease over."""
    post_session(inbound_payload(text="ping"))
    unsettled().update(sent_at=timezone.now() - timedelta(hours=1))
    return unsettled().get()


@pytest.fixture
def unconfirmed_signals():
    seen = []

    def receiver(message, resent, **kwargs):
        seen.append((message.pk, resent))

    signals.message_unconfirmed.connect(receiver, dispatch_uid="sweep-test")
    yield seen
    signals.message_unconfirmed.disconnect(dispatch_uid="sweep-test")


def test_no_result_within_the_lease_makes_the_row_unconfirmed_and_sends_it_again(
    post_session, tropo, caplog, unconfirmed_signals, capsys, django_capture_on_commit_callbacks
):
    row = answer_and_age(post_session)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("tropo_send_queued")
    row.refresh_from_db()
    assert (row.status, row.unconfirmed_count) == (Status.LAUNCHED, 1)
    assert len(tropo.launches) == 1
    assert unconfirmed_signals == [(row.pk, True)]
    assert "is unconfirmed (Tropo sent no result within the lease): sending it again" in (
        caplog.text
    )
    assert "1 message(s) unconfirmed by Tropo, 1 of them sent again" in capsys.readouterr().out


def test_with_resend_off_the_row_stays_unconfirmed_and_is_signalled(
    post_session, tropo, backend_settings, unconfirmed_signals, django_capture_on_commit_callbacks
):
    backend_settings(resend_unconfirmed=False)
    row = answer_and_age(post_session)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("tropo_send_queued")
    row.refresh_from_db()
    assert (row.status, row.unconfirmed_count) == (Status.UNCONFIRMED, 1)
    assert tropo.launches == []
    assert unconfirmed_signals == [(row.pk, False)]
    call_command("tropo_send_queued")
    assert unconfirmed_signals == [(row.pk, False)]


def test_a_row_that_used_its_attempts_is_not_sent_again(post_session, tropo, backend_settings):
    backend_settings(max_attempts=1)
    row = answer_and_age(post_session)
    call_command("tropo_send_queued")
    row.refresh_from_db()
    assert row.status == Status.UNCONFIRMED
    assert tropo.launches == []


def test_rows_within_the_lease_or_without_confirmation_are_left_alone(
    post_session, tropo, backend_settings
):
    post_session(inbound_payload(text="ping"))
    call_command("tropo_send_queued")
    assert unsettled().get().status == Status.SENT
    backend_settings(confirm_delivery=False)
    post_session(inbound_payload(text="ping", session_id="d" * 32))
    unsettled().update(sent_at=timezone.now() - timedelta(hours=1))
    call_command("tropo_send_queued")
    assert OutboundMessage.objects.get(session_id="d" * 32).status == Status.SENT


def test_the_admin_filters_unconfirmed_rows_and_retries_them(
    post_session, tropo, backend_settings, admin_client
):
    backend_settings(resend_unconfirmed=False)
    row = answer_and_age(post_session)
    call_command("tropo_send_queued")
    url = reverse("admin:rtropo_outboundmessage_changelist")
    for query in ({"status__exact": "unconfirmed"}, {"unconfirmed_sends": "yes"}):
        assert list(admin_client.get(url, query).context["cl"].queryset) == [row]
    unconfirmed_none = admin_client.get(url, {"unconfirmed_sends": "no"}).context["cl"].queryset
    assert list(unconfirmed_none) == list(OutboundMessage.objects.filter(status=Status.CONFIRMED))
    admin_client.post(url, {"action": "retry_now", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.status == Status.QUEUED
