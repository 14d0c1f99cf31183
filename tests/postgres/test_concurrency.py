"""Several OS processes work one PostgreSQL queue at once: nothing is sent twice or lost.

Children are spawned interpreters on the test database (see ``workers``); the
Session API is a loopback HTTP server in this process (see ``stub``), so launches
go through the real ``requests`` path. Rows carry unique texts, and every row a
claim hands out is collected from the children: each must appear exactly once.
"""

import multiprocessing
import time
from collections import Counter
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from rtropo import periodic
from rtropo.conf import get_config
from rtropo.models import Launch, OutboundMessage
from rtropo.outbox import answers, launching, queue, take
from tests.support.session_api_stub import SessionAPIStub

from . import workers
from .report import record

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = OutboundMessage.Status


def database_url():
    """The URL of the test database pytest-django created (``test_<NAME>``)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Harness:
    """Runs roles from ``workers`` in spawned processes against the test database."""

    def __init__(self, settings, stub, **config):
        self.stub = stub
        self.backends = {
            "tropo": {
                "ENGINE": "rtropo.outgoing.TropoBackend",
                "config": {
                    "messaging_token": django_settings.TOKEN,
                    "number": django_settings.NUMBER,
                    "api_url": f"{stub.url}/sessions",
                    "inbound_secret": workers.SECRET,
                    **config,
                },
            }
        }
        settings.INSTALLED_BACKENDS = self.backends
        self.config = get_config("tropo")

    def enqueue(self, prefix, count):
        recipients = [queue.Recipient(identity="+15555550001", number="+15555550001")]
        for n in range(count):
            queue.enqueue(self.config, recipients, f"{prefix}{n}")

    def launch_all(self):
        """Launch sessions until no row is due; return the new launches' references."""
        while launching.launch_due(self.config, self.config.number):
            pass
        return self.stub.references

    def run(self, roles, until=None, timeout=120.0):
        """Run ``[(role, kwargs), ...]`` at once; stop the loops when ``until()`` holds.

        Returns the outcomes in the order of ``roles``.
        """
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(len(roles) + 1)
        done = context.Event()
        results = context.Queue()
        processes = [
            context.Process(
                target=workers.main,
                args=(role, i, database_url(), self.backends, barrier, done, results, kwargs),
                daemon=True,
            )
            for i, (role, kwargs) in enumerate(roles)
        ]
        for process in processes:
            process.start()
        deadline = time.monotonic() + timeout
        try:
            barrier.wait(timeout=timeout)
            while until is not None and not until() and time.monotonic() < deadline:
                time.sleep(0.1)
            done.set()
            outcomes = [
                results.get(timeout=max(deadline - time.monotonic(), 1.0)) for _ in processes
            ]
        finally:
            done.set()
            for process in processes:
                process.join(timeout=10)
                if process.is_alive():
                    process.terminate()
        errors = [error for _, _, error, _ in outcomes if error]
        assert not errors, "\n".join(errors)
        return [outcome for _, _, _, outcome in sorted(outcomes, key=lambda o: o[1])]


@pytest.fixture
def harness(transactional_db, settings, monkeypatch):
    stubs = []

    def start(stub=None, most_pending=None, **config):
        """``most_pending``: how many launches may await their callback, for a race."""
        if most_pending is not None:
            monkeypatch.setattr(take, "MOST_PENDING_LAUNCHES", most_pending)
        stub = stub or SessionAPIStub()
        stubs.append(stub.__enter__())
        return Harness(settings, stub, **config)

    yield start
    for stub in stubs:
        stub.__exit__(None, None, None)


def all_sent(count):
    return lambda: OutboundMessage.objects.filter(status=Status.SENT).count() >= count


def assert_each_row_sent_once(handed_out):
    """``handed_out``: every text a claim handed to Tropo, from all processes."""
    duplicates = sorted(text for text, seen in Counter(handed_out).items() if seen > 1)
    texts = set(OutboundMessage.objects.values_list("text", flat=True))
    lost = sorted(texts - set(handed_out))
    assert duplicates == []
    assert lost == []
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    return len(duplicates), len(lost)


def texts_of(ids):
    return list(OutboundMessage.objects.filter(pk__in=ids).values_list("text", flat=True))


def test_two_processes_answering_the_same_callbacks_get_each_row_once(harness):
    # 40 launches await their callbacks at once, for the race.
    h = harness(batch_size=3, lease=300.0, most_pending=40)
    h.enqueue("m", 120)
    references = h.launch_all()
    assert len(references) == 40
    first, second = h.run([("claim_each", {"references": references})] * 2)
    winners = [[c for c in (first[r], second[r]) if c is not None] for r in references]
    assert [len(w) for w in winners] == [1] * len(references)
    handed_out = texts_of([pk for w in winners for pk in w[0]])
    duplicates, lost = assert_each_row_sent_once(handed_out)
    assert set(Launch.objects.values_list("status", flat=True)) == {Launch.Status.ANSWERED}
    record(
        "same callback answered by 2 processes",
        launches=len(references),
        sent=len(handed_out),
        won_by_first=sum(first[r] is not None for r in references),
        won_by_second=sum(second[r] is not None for r in references),
        duplicates=duplicates,
        lost=lost,
    )


def test_release_racing_a_late_callback_lets_exactly_one_win(harness):
    # 40 launches await their callbacks at once, for the race.
    h = harness(batch_size=3, lease=300.0, most_pending=40)
    h.enqueue("m", 120)
    references = h.launch_all()
    released, claims = h.run(
        [("release_each", {"references": references}), ("claim_each", {"references": references})]
    )
    assert [(released[r] > 0) != (claims[r] is not None) for r in references] == [True] * 40
    handed_out = texts_of([pk for r in references for pk in claims[r] or ()])
    requeued = OutboundMessage.objects.filter(status=Status.QUEUED)
    assert set(requeued.values_list("last_error", flat=True)) <= {"lease ran out"}
    assert requeued.count() == sum(released.values())
    retried = periodic.send_queued(h.config, include_backing_off=True)
    for reference in h.stub.references[len(references) :]:
        rows = answers.claim_for_callback(h.config, reference, "f" * 32)
        handed_out += [row.text for row in rows]
    duplicates, lost = assert_each_row_sent_once(handed_out)
    record(
        "release vs late callback",
        launches=len(references),
        won_by_release=sum(1 for r in references if released[r]),
        won_by_callback=sum(1 for r in references if claims[r] is not None),
        relaunches=retried.launches,
        sent=len(handed_out),
        duplicates=duplicates,
        lost=lost,
    )


def test_rows_queued_while_a_launch_is_answered_are_never_stranded(harness):
    """No sweeper runs: every row must ride a launch its sender started or joined."""
    # No Tropo posts results here: with a rate the in-flight window would stop at 150.
    h = harness(batch_size=50, lease=300.0, sms_per_second=0)
    texts = [f"j{n}" for n in range(200)]
    outcomes = h.run(
        [
            ("send", {"texts": texts}),
            ("answer_loop", {"stub_url": h.stub.url}),
            ("answer_loop", {"stub_url": h.stub.url}),
        ],
        until=all_sent(len(texts)),
    )
    stranded = OutboundMessage.objects.exclude(status=Status.SENT).count()
    assert stranded == 0, f"{stranded} row(s) left without a launch"
    handed_out = outcomes[1]["texts"] + outcomes[2]["texts"]
    duplicates, lost = assert_each_row_sent_once(handed_out)
    record(
        "join race (send while answering)",
        sent=len(handed_out),
        launches=Launch.objects.count(),
        joins=sum(Launch.objects.values_list("join_count", flat=True)),
        hangups=outcomes[1]["hangups"] + outcomes[2]["hangups"],
        duplicates=duplicates,
        lost=lost,
        stranded=stranded,
    )


def test_many_processes_launching_retrying_and_answering_lose_nothing(harness):
    stub = SessionAPIStub(fail_every=6, timeout_every=9, late_every=7, late_seconds=1.5, stall=0.6)
    h = harness(
        stub,
        batch_size=20,
        timeout=0.3,
        lease=1.0,
        retry_base=0.05,
        retry_cap=0.2,
        max_attempts=1000,
        # No Tropo posts results here: with confirmation the 1 s lease would resend.
        confirm_delivery=False,
    )
    h.enqueue("p", 300)
    sender_texts = [f"s{n}" for n in range(200)]
    _, launcher, answerer_a, answerer_b, inline = h.run(
        [
            ("send", {"texts": sender_texts}),
            ("launch_loop", {}),
            ("answer_loop", {"stub_url": stub.url}),
            ("answer_loop", {"stub_url": stub.url}),
            ("inline_loop", {}),
        ],
        until=all_sent(500),
    )
    handed_out = answerer_a["texts"] + answerer_b["texts"] + inline["texts"]
    duplicates, lost = assert_each_row_sent_once(handed_out)
    assert OutboundMessage.objects.count() == 500
    record(
        "mixed: 5 processes, faulty Session API",
        sent=len(handed_out),
        by_callback=len(answerer_a["texts"]) + len(answerer_b["texts"]),
        inline=len(inline["texts"]),
        launches=sum(stub.outcomes.values()),
        **{f"launch_{kind}": count for kind, count in stub.outcomes.items()},
        released_by_lease=launcher["released"],
        hangup_callbacks=answerer_a["hangups"] + answerer_b["hangups"],
        retried_rows=OutboundMessage.objects.filter(attempts__gt=1).count(),
        duplicates=duplicates,
        lost=lost,
    )
