"""Retries in rtropo.outbox.queue: back-off, release, terminal failure, expiry, recovery."""

import copy
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rtropo import periodic, signals
from rtropo.conf import get_config
from rtropo.management.commands import tropo_send_queued
from rtropo.models import Launch, OutboundMessage
from rtropo.outbox import answers, launching, queue, release
from tests.support.payloads import callback_payload

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status
HTTP_500 = (500, {}, "down")
REFUSED = (200, {}, '{"success": false, "reason": "Invalid token"}')


@pytest.fixture
def outcomes():
    """Every message_sent / message_failed signal, as (kind, row pk, reason)."""
    seen = []

    def on_sent(sender, message, **kwargs):
        seen.append(("sent", message.pk, None))

    def on_failed(sender, message, reason, **kwargs):
        seen.append(("failed", message.pk, reason))

    signals.message_sent.connect(on_sent)
    signals.message_failed.connect(on_failed)
    yield seen
    signals.message_sent.disconnect(on_sent)
    signals.message_failed.disconnect(on_failed)


def enqueue(config, *numbers):
    recipients = [queue.Recipient(identity=n, number=n) for n in numbers]
    return queue.enqueue(config, recipients, "hello")


def statuses():
    return dict(OutboundMessage.objects.values_list("pk", "status"))


# Back-off


def test_backoff_grows_exponentially_up_to_the_cap(config, monkeypatch):
    settings = config(retry_base=10, retry_cap=300)
    monkeypatch.setattr(release.random, "uniform", lambda low, high: high)
    assert [release.backoff(settings, a) for a in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]
    monkeypatch.setattr(release.random, "uniform", lambda low, high: low)
    assert [release.backoff(settings, a) for a in range(1, 8)] == [5, 10, 20, 40, 80, 150, 150]


@pytest.mark.parametrize("attempts", [0, 1, 3, 12, 40])
def test_backoff_jitter_stays_in_the_upper_half(config, attempts):
    settings = config(retry_base=30, retry_cap=3600)
    ceiling = min(3600, 30 * 2 ** max(attempts - 1, 0))
    delays = [release.backoff(settings, attempts) for _ in range(200)]
    assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 100


# release()


def test_release_requeues_with_backoff_and_records_the_error(config, tropo):
    settings = config(retry_base=60, retry_cap=600)
    ids = enqueue(settings, "+15555550001", "+15555550002")
    launch = launching.launch_due(settings, settings.number)
    before = timezone.now()
    assert release.release(settings, launch, "Session API answered HTTP 502") == 2
    after = timezone.now()
    for row in OutboundMessage.objects.filter(pk__in=ids):
        assert (row.status, row.attempts, row.launch, row.session_id) == (
            Status.QUEUED,
            1,
            None,
            "",
        )
        assert row.last_error == "Session API answered HTTP 502"
        assert before + timedelta(seconds=30) <= row.next_attempt_at
        assert row.next_attempt_at <= after + timedelta(seconds=60)
    launch.refresh_from_db()
    assert (launch.status, launch.error) == (Launch.Status.FAILED, "Session API answered HTTP 502")


@pytest.mark.django_db(transaction=True)
def test_release_of_an_answered_launch_changes_nothing(config, tropo, outcomes):
    settings = config()
    enqueue(settings, "+15555550001")
    launch = launching.launch_due(settings, settings.number)
    assert len(answers.claim_for_callback(settings, launch.reference, "s" * 32)) == 1
    assert release.release(settings, launch, "too late") == 0
    row = OutboundMessage.objects.get()
    assert (row.status, row.last_error) == (Status.SENT, "")
    assert outcomes == [("sent", row.pk, None)]


@pytest.mark.django_db(transaction=True)
def test_rows_fail_after_max_attempts_and_the_signal_fires_once_each(config, tropo, outcomes):
    settings = config(max_attempts=3)
    ids = enqueue(settings, "+15555550001", "+15555550002")
    tropo.fail_with(HTTP_500, REFUSED, HTTP_500)
    for expected in (Status.QUEUED, Status.QUEUED, Status.FAILED):
        progress = periodic.send_queued(settings, include_backing_off=True)
        assert progress.failed_launches == 1
        assert set(statuses().values()) == {expected}
    assert sorted(outcomes) == [
        ("failed", ids[0], "Session API answered HTTP 500"),
        ("failed", ids[1], "Session API answered HTTP 500"),
    ]
    assert periodic.send_queued(settings, include_backing_off=True).launches == 0
    assert len(tropo.launches) == 3
    assert all(r.attempts == 3 for r in OutboundMessage.objects.all())


@pytest.mark.django_db(transaction=True)
def test_a_refusal_reason_is_kept_on_the_failed_row(config, tropo, outcomes):
    settings = config(max_attempts=1)
    enqueue(settings, "+15555550001")
    tropo.fail_with(REFUSED)
    periodic.send_queued(settings)
    row = OutboundMessage.objects.get()
    assert row.status == Status.FAILED
    assert row.last_error == "Session API refused the launch: Invalid token"
    assert outcomes == [("failed", row.pk, row.last_error)]


@pytest.mark.django_db(transaction=True)
def test_message_sent_fires_once_per_message_on_a_claim(config, tropo, outcomes):
    settings = config()
    ids = enqueue(settings, "+15555550001", "+15555550002", "+15555550003")
    launch = launching.launch_due(settings, settings.number)
    answers.claim_for_callback(settings, launch.reference, "s" * 32)
    assert answers.claim_for_callback(settings, launch.reference, "s" * 32) is None
    assert sorted(outcomes) == [("sent", pk, None) for pk in ids]


@pytest.mark.django_db(transaction=True)
def test_message_sent_fires_for_inline_claims(config, tropo, outcomes):
    settings = config()
    ids = enqueue(settings, "+15555550001")
    held = OutboundMessage.objects.in_bulk(ids)
    assert [r.pk for r in answers.claim_inline(settings, held, "i" * 32, settings.number)] == ids
    assert answers.claim_inline(settings, held, "j" * 32, settings.number) == []
    assert outcomes == [("sent", ids[0], None)]


# Expired leases and late callbacks


def test_release_expired_requeues_only_launches_past_their_lease(config, tropo):
    settings = config()
    stale_ids = enqueue(settings, "+15555550001")
    stale = launching.launch_due(settings, settings.number)
    fresh_ids = enqueue(settings, "+15555550002")
    fresh = launching.launch_due(settings, settings.number)
    Launch.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert release.release_expired(settings) == 1
    assert statuses() == {stale_ids[0]: Status.QUEUED, fresh_ids[0]: Status.LAUNCHED}
    assert OutboundMessage.objects.get(pk=stale_ids[0]).last_error == (
        "Tropo did not call back within the lease"
    )
    assert Launch.objects.get(pk=fresh.pk).status == Launch.Status.PENDING
    assert release.release_expired(settings) == 0


def test_a_late_callback_for_a_released_launch_gets_no_rows(config, tropo, post_session):
    settings = config()
    enqueue(settings, "+15555550001")
    launch = launching.launch_due(settings, settings.number)
    Launch.objects.filter(pk=launch.pk).update(expires_at=timezone.now())
    release.release_expired(settings)
    assert answers.claim_for_callback(settings, launch.reference, "late" * 8) is None
    response = post_session(callback_payload(launch.reference, session_id="late" * 8))
    assert response.json() == {"tropo": [{"hangup": {}}]}
    row = OutboundMessage.objects.get()
    assert (row.status, row.attempts) == (Status.QUEUED, 1)


def test_a_released_row_goes_out_exactly_once_with_the_next_launch(config, tropo, post_session):
    settings = config()
    enqueue(settings, "+15555550001")
    first = launching.launch_due(settings, settings.number)
    release.release(settings, first, "lost")
    second = launching.launch_due(settings, settings.number, include_backing_off=True)
    late = post_session(callback_payload(first.reference, session_id="a" * 32)).json()
    on_time = post_session(callback_payload(second.reference, session_id="b" * 32)).json()
    assert late == {"tropo": [{"hangup": {}}]}
    assert [verb for verb in on_time["tropo"] if "message" in verb] != []
    row = OutboundMessage.objects.get()
    assert (row.status, row.attempts, row.launch_id, row.session_id) == (
        Status.SENT,
        2,
        second.pk,
        "b" * 32,
    )


# tropo_send_queued


def send_queued_command(*args):
    out = StringIO()
    call_command("tropo_send_queued", *args, stdout=out)
    return out.getvalue()


def test_command_recovers_every_row_after_launch_failures(config, tropo, post_session):
    settings = config(batch_size=2)
    ids = enqueue(settings, *[f"+1555555000{n}" for n in range(5)])
    tropo.fail_with(HTTP_500, REFUSED, (200, {}, "<html>proxy</html>"))
    for _ in range(3):
        with pytest.raises(CommandError, match=r"rows will be retried|launch_refused"):
            send_queued_command("--now")
    # The rows back off; the refusal stays critical until a launch succeeds.
    out = StringIO()
    with pytest.raises(CommandError, match="critical launch_refused") as raised:
        call_command("tropo_send_queued", stdout=out)
    assert raised.value.returncode == 2
    assert out.getvalue() == (
        "tropo: 0 message(s) in 0 launch(es), 0 requeued after a missing callback, "
        "0 failed launch(es)\n"
    )
    # Each run stopped at its failed launch; now the three launches succeed.
    output = send_queued_command("--now", "--backend", "tropo")
    assert "tropo: 5 message(s) in 3 launch(es), 0 requeued" in output
    for n, reference in enumerate(tropo.references[3:]):
        post_session(callback_payload(reference, session_id=f"{n:032x}"))
    assert statuses() == dict.fromkeys(ids, Status.SENT)
    assert len(tropo.launches) == 6


def test_command_requeues_rows_whose_callback_never_came(config, tropo):
    settings = config()
    enqueue(settings, "+15555550001")
    launching.launch_due(settings, settings.number)
    Launch.objects.update(expires_at=timezone.now())
    output = send_queued_command("--now")
    assert "tropo: 1 message(s) in 1 launch(es), 1 requeued after a missing callback" in output
    assert OutboundMessage.objects.get().status == Status.LAUNCHED
    assert len(tropo.launches) == 2


def test_command_only_touches_the_named_backend(config, tropo, settings):
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["other"] = copy.deepcopy(backends["tropo"])
    settings.INSTALLED_BACKENDS = backends
    enqueue(get_config("other"), "+15555550001")
    output = send_queued_command("--backend", "tropo")
    assert output.startswith("tropo: 0 message(s)")
    assert "other" not in output
    assert OutboundMessage.objects.get().status == Status.QUEUED
    assert "other: 1 message(s) in 1 launch(es)" in send_queued_command("--backend", "other")


def test_command_refuses_an_unknown_backend(config, tropo):
    enqueue(config(), "+15555550001")
    with pytest.raises(CommandError, match="Not a Tropo backend in INSTALLED_BACKENDS: nope"):
        send_queued_command("--backend", "nope")
    assert tropo.launches == []


def test_command_exits_non_zero_after_a_failed_launch(config, tropo):
    enqueue(config(), "+15555550001")
    tropo.fail_with(HTTP_500)
    with pytest.raises(CommandError) as raised:
        send_queued_command()
    assert raised.value.returncode == 1


def test_an_inline_claim_leaves_rows_that_a_callback_took(config, tropo):
    settings = config()
    first = enqueue(settings, "+15555550001")
    launch = launching.launch_due(settings, settings.number)
    later = enqueue(settings, "+15555550002")
    taken = answers.claim_for_callback(settings, launch.reference, "c" * 32)
    assert [row.pk for row in taken] == first + later
    assert (
        answers.claim_inline(
            settings, OutboundMessage.objects.in_bulk(later), "i" * 32, settings.number
        )
        == []
    )
    assert OutboundMessage.objects.get(pk=later[0]).session_id == "c" * 32


def test_command_prints_nothing_at_verbosity_0(config, tropo):
    enqueue(config(), "+15555550001", "+15555550002")
    assert send_queued_command("-v", "0") == ""
    assert len(tropo.launches) == 1


def test_command_reports_progress_on_long_runs(config, tropo, monkeypatch):
    monkeypatch.setattr(tropo_send_queued, "PROGRESS_EVERY", 2)
    enqueue(config(batch_size=1), *[f"+1555555000{n}" for n in range(5)])
    output = send_queued_command()
    assert output.splitlines() == [
        "tropo: 2 message(s) so far in 2 launch(es)…",
        "tropo: 4 message(s) so far in 4 launch(es)…",
        "tropo: 5 message(s) in 5 launch(es), 0 requeued after a missing callback, "
        "0 failed launch(es)",
    ]


def test_command_reports_no_progress_at_verbosity_0(config, tropo, monkeypatch):
    monkeypatch.setattr(tropo_send_queued, "PROGRESS_EVERY", 2)
    enqueue(config(batch_size=1), *[f"+1555555000{n}" for n in range(5)])
    assert send_queued_command("-v", "0") == ""
    assert len(tropo.launches) == 5
