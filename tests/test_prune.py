"""manage.py tropo_prune: old sent rows, finished launches and dedup records go."""

import itertools
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rtropo.management.commands import tropo_prune
from rtropo.models import InboundSession, Launch, OutboundMessage

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status
NOW = timezone.now()
OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=5)
REFERENCES = itertools.count()


def launch(status, created_at):
    return Launch.objects.create(
        backend_name="tropo",
        reference=f"ref-{next(REFERENCES)}",
        status=status,
        created_at=created_at,
        expires_at=created_at + timedelta(minutes=5),
    )


def message(status, created_at, sent_at=None, launch=None):
    return OutboundMessage.objects.create(
        backend_name="tropo",
        identity="+15555550001",
        to_number="+15555550001",
        text="hi",
        status=status,
        next_attempt_at=created_at,
        created_at=created_at,
        sent_at=sent_at,
        launch=launch,
    )


def inbound(session_id, received_at):
    return InboundSession.objects.create(
        backend_name="tropo",
        session_id=session_id,
        identity="+15555550001",
        text="hi",
        status=InboundSession.Status.ROUTED,
        received_at=received_at,
    )


def prune(*args):
    out = StringIO()
    call_command("tropo_prune", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def history():
    """Old and recent records of every kind and status."""
    answered_old = launch(Launch.Status.ANSWERED, OLD)
    answered_recent = launch(Launch.Status.ANSWERED, RECENT)
    return {
        "old_sent": [message(Status.SENT, OLD, OLD, answered_old) for _ in range(3)],
        "recent_sent": message(Status.SENT, OLD, RECENT, answered_recent),
        "old_queued": message(Status.QUEUED, OLD),
        "old_failed": message(Status.FAILED, OLD),
        "old_launched": message(Status.LAUNCHED, OLD, launch=launch(Launch.Status.PENDING, OLD)),
        "answered_old": answered_old,
        "answered_recent": answered_recent,
        "failed_old": launch(Launch.Status.FAILED, OLD),
        "old_inbound": inbound("a" * 32, OLD),
        "recent_inbound": inbound("b" * 32, RECENT),
    }


def test_prune_deletes_only_old_finished_records(history):
    output = prune("--days", "30")
    assert set(OutboundMessage.objects.values_list("pk", flat=True)) == {
        history["recent_sent"].pk,
        history["old_queued"].pk,
        history["old_failed"].pk,
        history["old_launched"].pk,
    }
    assert set(Launch.objects.values_list("status", flat=True)) == {
        Launch.Status.ANSWERED,
        Launch.Status.PENDING,
    }
    assert Launch.objects.filter(pk=history["answered_recent"].pk).exists()
    assert list(InboundSession.objects.values_list("pk", flat=True)) == [
        history["recent_inbound"].pk
    ]
    assert "deleted 3 sent message(s) older than 30 day(s)" in output
    assert "deleted 2 finished launch(es) older than 30 day(s)" in output
    assert "deleted 1 inbound session(s) older than 30 day(s)" in output


def test_a_launch_keeps_while_it_still_has_messages(history):
    prune("--days", "50")
    assert Launch.objects.filter(pk=history["answered_old"].pk).exists()
    prune("--days", "30")
    assert not Launch.objects.filter(pk=history["answered_old"].pk).exists()


def test_dry_run_counts_and_deletes_nothing(history):
    before = (OutboundMessage.objects.count(), Launch.objects.count())
    output = prune("--days", "30", "--dry-run")
    assert (OutboundMessage.objects.count(), Launch.objects.count()) == before
    assert InboundSession.objects.count() == 2
    assert "would delete 3 sent message(s)" in output
    assert "would delete 1 inbound session(s)" in output


def test_rows_go_in_batches_of_the_given_size(history):
    for _ in range(2):
        message(Status.SENT, OLD, OLD)
    with CaptureQueriesContext(connection) as queries:
        output = prune("--days", "30", "--batch-size", "2")
    deletes = [
        q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "rtropo_outboundmessage"')
    ]
    assert len(deletes) == 3
    assert "deleted 5 sent message(s)" in output
    assert not OutboundMessage.objects.filter(status=Status.SENT, sent_at__lt=RECENT).exists()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--days", "0"], "--days must be at least 1"),
        (["--days", "3", "--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_unsafe_arguments_are_refused(history, args, problem):
    with pytest.raises(CommandError, match=problem):
        prune(*args)
    assert InboundSession.objects.count() == 2


def test_prune_prints_nothing_at_verbosity_0(history):
    assert prune("--days", "30", "-v", "0") == ""
    assert not OutboundMessage.objects.filter(pk__in=[m.pk for m in history["old_sent"]]).exists()


def test_prune_reports_progress_on_long_runs(history, monkeypatch):
    monkeypatch.setattr(tropo_prune, "PROGRESS_EVERY", 2)
    output = prune("--days", "30", "--batch-size", "1")
    assert output.splitlines()[:2] == [
        "deleted 2 sent message(s) so far…",
        "deleted 3 sent message(s) older than 30 day(s)",
    ]


def test_prune_reports_no_progress_at_verbosity_0(history, monkeypatch):
    monkeypatch.setattr(tropo_prune, "PROGRESS_EVERY", 2)
    assert prune("--days", "30", "--batch-size", "1", "-v", "0") == ""
