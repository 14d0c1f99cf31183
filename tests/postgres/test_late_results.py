"""A late result races the callback of the launch that sends its row again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rtropo.models import OutboundMessage
from rtropo.outbox import answers, references, sweep

from .report import record
from .test_concurrency import harness  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = OutboundMessage.Status
ROWS = 40


def test_a_late_result_racing_the_callback_of_its_requeued_row_confirms_it_once(
    harness,  # noqa: F811
):
    h = harness(batch_size=1, lease=300.0, most_pending=ROWS)
    h.enqueue("late", ROWS)
    digests = []
    for n, reference in enumerate(h.launch_all()):
        digests.append(references.digest(f"answer-{n}"))
        answers.claim_for_callback(h.config, reference, f"{n:032x}", result_digest=digests[-1])
    OutboundMessage.objects.update(sent_at=timezone.now() - timedelta(hours=1))
    assert sweep.expire_unconfirmed(h.config, resend_sent_by=timezone.now()) == (ROWS, ROWS)
    relaunched = h.launch_all()[ROWS:]
    assert len(relaunched) == ROWS

    confirmed, claims = h.run(
        [("confirm_each", {"digests": digests}), ("claim_each", {"references": relaunched})]
    )

    # Every late result finds its row open (queued, launched or sent again) and confirms it.
    assert [confirmed[digest] for digest in digests] == [1] * ROWS
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.CONFIRMED}
    sent_again = {pk for reference in relaunched for pk in claims[reference] or ()}
    for row in OutboundMessage.objects.all():
        # A row the callback carried was claimed before the result confirmed it; one it
        # did not carry was confirmed first and stayed out of the callback's answer.
        assert row.session_id.startswith("0001") == (row.pk in sent_again)
    record(
        "late result vs callback of the requeued row",
        rows=ROWS,
        sent_again_before_the_result=len(sent_again),
        confirmed_before_the_callback=ROWS - len(sent_again),
    )
