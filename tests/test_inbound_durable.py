"""Durable inbound: a session is routed at least once, whatever fails while routing it.

Each recovery path is driven for real: a process SIGKILLed by an app, an INSERT
of a reply that fails in the database driver's place, an app that raises.
Time passing is simulated by moving the claims into the past.
"""

import json
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, close_old_connections
from django.db import connection as db_connection
from django.http import HttpResponseServerError
from django.test import Client
from django.urls import path
from django.utils import timezone
from rapidsms.apps.base import AppBase
from rapidsms.router.blocking import BlockingRouter

from rtropo import periodic
from rtropo.conf import get_config
from rtropo.inbox import routing
from rtropo.models import InboundSession, OutboundMessage
from rtropo.views import message_received
from tests.support.payloads import SECRET, callback_payload, inbound_payload

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.test_inbound_durable"),
]

Status = InboundSession.Status

urlpatterns = [path("tropo/", message_received, {"backend_name": "tropo"})]


def handler500(request):
    """A project's own error page (RapidSMS's needs its login URL)."""
    return HttpResponseServerError("server error")


def post_inbound(text, session_id=None):
    """POST an inbound SMS as Tropo does; a server error is a 500 response, not an exception."""
    return Client(raise_request_exception=False).post(
        f"/tropo/?secret={SECRET}",
        data=json.dumps(inbound_payload(text=text, session_id=session_id)),
        content_type="application/json",
    )


def let_the_claims_run_out():
    """What ``lease`` seconds do: every claim, and every held reply, is past."""
    past = timezone.now() - timedelta(seconds=1)
    InboundSession.objects.update(claimed_until=past)
    OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED).update(
        next_attempt_at=past
    )


def answered_texts(post_session, tropo):
    """Answer every launch's callback; the texts the answers carry."""
    texts = []
    for reference in tropo.references:
        document = json.loads(post_session(callback_payload(reference)).content)["tropo"]
        texts += [verb["message"]["say"]["value"] for verb in document if "message" in verb]
    return texts


class Counts(AppBase):
    """Replies to every SMS, and counts what it was given."""

    seen: list[str] = []

    def handle(self, msg):
        self.seen.append(msg.text)
        msg.respond(f"got {msg.text}")
        return True


class FailsOnce(AppBase):
    """Raises on the first SMS it sees, handles the next ones."""

    calls: list[str] = []

    def handle(self, msg):
        self.calls.append(msg.text)
        if len(self.calls) == 1:
            raise RuntimeError("the app broke")
        msg.respond(f"got {msg.text}")
        return True


class AlwaysFails(AppBase):
    calls: list[str] = []

    def handle(self, msg):
        self.calls.append(msg.text)
        raise RuntimeError("the app broke again")


@pytest.fixture
def apps(settings):
    """Route through these app classes: ``apps(Counts)``; their records start empty."""

    def use(*classes):
        for cls in classes:
            for records in ("seen", "calls"):
                if hasattr(cls, records):
                    setattr(cls, records, [])
        settings.RAPIDSMS_ROUTER = BlockingRouter(apps=list(classes))

    return use


# A process killed while routing


def database_entry():
    entry = db_connection.settings_dict
    return {key: entry[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")}


@pytest.mark.parametrize("kill_point", ["before-reply", "after-reply"])
def test_a_process_killed_while_routing_leaves_the_session_received_and_the_sweep_routes_it(
    kill_point, tropo, post_session, apps
):
    child = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "tests.support.killed_inbound",
            json.dumps(database_entry()),
            kill_point,
            "ping",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    session = InboundSession.objects.get()
    assert session.status == Status.RECEIVED
    assert session.attempts == 1

    periodic.send_all_queued(["tropo"])
    assert InboundSession.objects.get().status == Status.RECEIVED, "the claim was still live"

    apps(Counts)
    let_the_claims_run_out()
    periodic.send_all_queued(["tropo"])
    session = InboundSession.objects.get()
    assert session.status == Status.ROUTED
    assert session.attempts == 2
    assert Counts.seen == ["ping"]
    expected = ["got ping"] + (["stored before the kill"] if kill_point == "after-reply" else [])
    assert sorted(answered_texts(post_session, tropo)) == sorted(expected)


# The database failing while a reply is stored


class RefusesReplies:
    """An execute wrapper: every INSERT of an outbound row fails as a lost database does."""

    def __init__(self):
        self.refused = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and "rtropo_outboundmessage" in sql:
            self.refused += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def test_a_reply_that_cannot_be_stored_is_a_503_and_the_sms_is_routed_again_later(
    tropo, post_session, caplog
):
    refuses = RefusesReplies()
    with db_connection.execute_wrapper(refuses):
        response = post_inbound("ping")
    assert refuses.refused == 1
    assert response.status_code == 503
    session = InboundSession.objects.get()
    assert session.status == Status.RECEIVED
    assert "storing a reply failed" in session.last_error
    assert not OutboundMessage.objects.exists()
    assert "not routed: a reply was not stored" in caplog.text

    let_the_claims_run_out()
    periodic.send_all_queued(["tropo"])
    assert InboundSession.objects.get().status == Status.ROUTED
    assert OutboundMessage.objects.get().text == "pong"
    assert answered_texts(post_session, tropo) == ["pong"]


def test_a_reply_that_cannot_be_stored_by_the_sweep_leaves_the_session_received(tropo, apps):
    apps(Counts)
    refuses = RefusesReplies()
    with db_connection.execute_wrapper(refuses):
        assert post_inbound("hello").status_code == 503
        let_the_claims_run_out()
        assert routing.route_due(get_config("tropo")) == 0
    assert refuses.refused == 2
    session = InboundSession.objects.get()
    assert (session.status, session.attempts) == (Status.RECEIVED, 2)
    assert Counts.seen == ["hello", "hello"]


# An app that raises


def test_an_app_that_raises_is_a_500_and_the_sms_is_routed_again_later(
    tropo, post_session, apps, caplog
):
    apps(FailsOnce)
    response = post_inbound("hello")
    assert response.status_code == 500
    session = InboundSession.objects.get()
    assert session.status == Status.RECEIVED
    assert "the app broke" in session.last_error

    let_the_claims_run_out()
    periodic.send_all_queued(["tropo"])
    assert InboundSession.objects.get().status == Status.ROUTED
    assert FailsOnce.calls == ["hello", "hello"]
    assert answered_texts(post_session, tropo) == ["got hello"]


def test_a_session_whose_routing_fails_max_attempts_times_ends_failed(
    tropo, apps, backend_settings, caplog
):
    backend_settings(max_attempts=2)
    apps(AlwaysFails)
    assert post_inbound("hello").status_code == 500
    let_the_claims_run_out()
    periodic.send_all_queued(["tropo"])
    session = InboundSession.objects.get()
    assert (session.status, session.attempts) == (Status.FAILED, 2)
    assert "the app broke again" in session.last_error
    assert "failed after 2 routings" in caplog.text

    let_the_claims_run_out()
    periodic.send_all_queued(["tropo"])
    assert AlwaysFails.calls == ["hello", "hello"]
    assert post_inbound("hello").status_code == 200
    assert AlwaysFails.calls == ["hello", "hello"]


def test_a_session_killed_max_attempts_times_is_failed_by_the_sweep(tropo, backend_settings):
    backend_settings(max_attempts=1)
    InboundSession.objects.create(
        backend_name="tropo",
        session_id="f" * 32,
        identity="+15555550001",
        text="ping",
        status=Status.RECEIVED,
        attempts=1,
        received_at=timezone.now(),
    )
    assert routing.route_due(get_config("tropo")) == 0
    session = InboundSession.objects.get()
    assert session.status == Status.FAILED
    assert session.last_error == "the process died while routing"
    assert not OutboundMessage.objects.exists()


# A repeat POST of the same session


def test_a_repeat_of_a_routed_session_is_a_hangup(tropo, apps, caplog):
    apps(Counts)
    assert post_inbound("hello").status_code == 200
    repeat = post_inbound("hello")
    assert json.loads(repeat.content)["tropo"] == [{"hangup": {}}]
    assert Counts.seen == ["hello"]
    assert "was routed already" in caplog.text


def test_a_repeat_while_the_claim_is_live_is_a_hangup_without_routing(tropo, apps, caplog):
    apps(FailsOnce)
    assert post_inbound("hello").status_code == 500
    repeat = post_inbound("hello")
    assert json.loads(repeat.content)["tropo"] == [{"hangup": {}}]
    assert FailsOnce.calls == ["hello"]
    assert "is being routed by another request" in caplog.text
    assert "routed already" not in caplog.text
    assert InboundSession.objects.get().status == Status.RECEIVED


def test_a_repeat_after_the_claim_ran_out_routes_the_session_now(tropo, apps):
    apps(FailsOnce)
    assert post_inbound("hello").status_code == 500
    let_the_claims_run_out()
    repeat = post_inbound("hello")
    document = json.loads(repeat.content)["tropo"]
    assert [verb["message"]["say"]["value"] for verb in document if "message" in verb] == [
        "got hello"
    ]
    session = InboundSession.objects.get()
    assert (session.status, session.attempts) == (Status.ROUTED, 2)
    assert tropo.launches == []


# Commits per request


def test_an_inbound_without_reply_is_one_insert_and_one_update(tropo, settings):
    class Silent(AppBase):
        def handle(self, msg):
            return True

    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[Silent])
    statements = []

    def watch(execute, sql, params, many, context):
        # The health row's write (at most one a minute) is pinned in tests/test_health.py.
        if "rtropo_" in sql and "rtropo_backendhealth" not in sql:
            statements.append(sql.split()[0].upper())
        return execute(sql, params, many, context)

    with db_connection.execute_wrapper(watch):
        assert post_inbound("thanks").status_code == 200
    assert statements == ["INSERT", "UPDATE"]
    assert InboundSession.objects.get().status == Status.ROUTED


# Two sweeps at once


def test_two_sweeps_at_once_route_each_session_once(tropo, apps, backend_settings):
    backend_settings(batch_size=2)
    apps(Counts)
    texts = [f"sms {n}" for n in range(12)]
    for n, text in enumerate(texts):
        InboundSession.objects.create(
            backend_name="tropo",
            session_id=f"{n:032x}",
            identity="+15555550001",
            text=text,
            status=Status.RECEIVED,
            attempts=1,
            received_at=timezone.now(),
        )
    barrier = threading.Barrier(2)
    routed, errors = [], []

    def sweep():
        try:
            barrier.wait(timeout=30)
            routed.append(routing.route_due(get_config("tropo")))
        except Exception as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            db_connection.close()

    workers = [threading.Thread(target=sweep) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    assert sum(routed) == len(texts)
    assert sorted(Counts.seen) == sorted(texts)
    assert set(InboundSession.objects.values_list("status", flat=True)) == {Status.ROUTED}
    assert OutboundMessage.objects.filter(next_attempt_at__lte=timezone.now()).count() == 12
