"""Results that come after the lease: they still confirm, and nothing is sent again."""

import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from rtropo import signals
from rtropo.conf import get_config
from rtropo.models import AnswerReference, OutboundMessage
from rtropo.outbox import sweep, take
from tests.support.payloads import callback_payload, inbound_payload
from tests.test_confirmation import document, result_payload

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status
INBOUND = "3b43948e921da539a358747c389567a8"
RESENT = "9" * 32
LATER = "b" * 32


def next_url(response) -> str:
    [url] = {verb["on"]["next"] for verb in document(response) if "on" in verb}
    return url


def message_verbs(response) -> list[dict]:
    return [verb["message"] for verb in document(response) if "message" in verb]


def age_answers():
    """Let the lease of every answer awaiting a result run out."""
    OutboundMessage.objects.filter(status=Status.SENT).update(
        sent_at=timezone.now() - timedelta(hours=1)
    )


@pytest.fixture
def post_result(client):
    def post(url, session_id=INBOUND, disposition="SUCCESS", row=None, **options):
        actions = None
        if row is not None:
            actions = {"name": f"rtropo-{row.pk}", "disposition": disposition}
        payload = result_payload(session_id=session_id, actions=actions, **options)
        return client.post(url, data=json.dumps(payload), content_type="application/json")

    return post


@pytest.fixture
def answered(post_session, post_result, tropo):
    """An inline reply whose result has not come and whose lease ran out: (row, next URL).

    Another reply, sent after it, has been confirmed: results do come, so the sweep
    sends the unanswered one again.
    """
    url = next_url(post_session(inbound_payload(text="ping")))
    row = OutboundMessage.objects.get()
    later = next_url(post_session(inbound_payload(text="ping", session_id=LATER)))
    assert post_result(later, session_id=LATER).status_code == 200
    age_answers()
    return row, url


def current(row):
    return OutboundMessage.objects.get(pk=row.pk)


@pytest.fixture(params=[False, True], ids=["in bulk", "row by row"])
def confirmed_signals(request):
    """Confirmed rows as ``message_confirmed`` tells them (None: no receiver); with a
    receiver, results settle their rows one by one."""
    if not request.param:
        yield None
        return
    seen = []
    signals.message_confirmed.connect(
        lambda message, **kwargs: seen.append(message.pk), weak=False, dispatch_uid="late"
    )
    yield seen
    signals.message_confirmed.disconnect(dispatch_uid="late")


def test_a_late_result_confirms_a_row_queued_again_and_it_leaves_the_queue(
    answered, post_result, tropo, confirmed_signals, django_capture_on_commit_callbacks
):
    row, url = answered
    assert sweep.expire_unconfirmed(get_config("tropo"), resend_sent_by=timezone.now()) == (1, 1)
    row.refresh_from_db()
    assert (row.status, row.unconfirmed_count) == (Status.QUEUED, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_result(url, row=row).status_code == 200
    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.CONFIRMED, "")
    assert confirmed_signals in (None, [row.pk])
    call_command("tropo_send_queued", "--now")
    assert tropo.launches == []
    assert not take.has_due(get_config("tropo"))


def test_a_late_result_confirms_a_row_launched_again_and_its_callback_does_not_send_it(
    answered, post_result, post_session, tropo
):
    row, url = answered
    call_command("tropo_send_queued")
    [launch] = tropo.launches
    assert current(row).status == Status.LAUNCHED
    assert post_result(url, row=row).status_code == 200
    assert current(row).status == Status.CONFIRMED
    callback = post_session(callback_payload(launch["rtropo_ref"], session_id=RESENT))
    assert message_verbs(callback) == []
    assert current(row).status == Status.CONFIRMED


def resend(post_session, tropo) -> str:
    """Sweep and launch the aged row again, answer the callback; the answer's next URL."""
    call_command("tropo_send_queued")
    reference = tropo.launches[-1]["rtropo_ref"]
    response = post_session(callback_payload(reference, session_id=RESENT))
    assert len(message_verbs(response)) == 1
    return next_url(response)


def test_after_a_resend_the_first_result_confirms_and_the_second_changes_nothing(
    answered, post_result, post_session, tropo, caplog
):
    row, first = answered
    second = resend(post_session, tropo)
    assert current(row).status == Status.SENT
    carried = [answer.message_ids for answer in AnswerReference.objects.all()]
    assert carried.count([row.pk]) == 2
    assert post_result(first, row=row).status_code == 200
    confirmed = current(row)
    assert (confirmed.status, confirmed.session_id) == (Status.CONFIRMED, RESENT)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rtropo.views"):
        response = post_result(second, session_id=RESENT, row=row, disposition="FAILED")
    assert response.status_code == 200
    assert "changes nothing" in caplog.text
    assert current(row).status == Status.CONFIRMED
    age_answers()
    call_command("tropo_send_queued", "--now")
    assert len(tropo.launches) == 1


@pytest.mark.parametrize(
    ("options", "disposition"),
    [({"complete": False, "error": "number unreachable"}, "FAILED"), ({}, None)],
)
def test_a_late_failure_or_silence_leaves_a_row_sent_again_to_its_new_copy(
    answered, post_result, post_session, tropo, options, disposition
):
    row, first = answered
    resend(post_session, tropo)
    verdict = {"row": row, "disposition": disposition} if disposition else {"complete": False}
    assert post_result(first, **verdict, **options).status_code == 200
    again = current(row)
    assert (again.status, again.session_id, again.last_error) == (Status.SENT, RESENT, "")


def test_a_late_failure_fails_a_row_left_unconfirmed(
    answered, post_result, backend_settings, tropo
):
    row, url = answered
    backend_settings(resend_unconfirmed=False)
    sweep.expire_unconfirmed(get_config("tropo"), resend_sent_by=timezone.now())
    assert current(row).status == Status.UNCONFIRMED
    post_result(url, row=row, disposition="FAILED", complete=False, error="unreachable")
    failed = current(row)
    assert (failed.status, failed.last_error) == (
        Status.FAILED,
        "Tropo reported FAILED: unreachable",
    )


def test_a_result_confirms_only_the_rows_its_answer_carried(
    answered, post_result, post_session, tropo
):
    _, url = answered
    post_session(inbound_payload(text="ping", session_id="c" * 32))
    other = OutboundMessage.objects.get(session_id="c" * 32)
    assert post_result(url, row=other).status_code == 200
    assert OutboundMessage.objects.get(pk=other.pk).status == Status.SENT


def test_a_reference_never_issued_is_refused(answered, post_result, caplog):
    row, url = answered
    query = parse_qs(urlsplit(url).query)
    forged = f"/tropo/?secret={query['secret'][0]}&rtropo_result=never-issued"
    assert post_result(forged, row=row).status_code == 403
    assert "confirms nothing: its reference is unknown" in caplog.text
    assert current(row).status == Status.SENT


def test_prune_deletes_old_answer_references(answered):
    AnswerReference.objects.update(created_at=timezone.now() - timedelta(days=40))
    recent = AnswerReference.objects.create(
        backend_name="tropo",
        digest="f" * 64,
        session_id="f" * 32,
        message_ids=[],
        created_at=timezone.now(),
    )
    call_command("tropo_prune", "--days", "30", verbosity=0)
    assert list(AnswerReference.objects.all()) == [recent]
