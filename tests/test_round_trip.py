"""Sending through the router, out over real ``requests``, back through the view."""

import json
import logging

import pytest
from rapidsms.router import lookup_connections, receive, send

from rtropo.models import Launch, OutboundMessage
from tests.support.payloads import callback_payload, inbound_payload

pytestmark = pytest.mark.django_db(transaction=True)

ROUTERS = ["rapidsms.router.blocking.BlockingRouter", "rapidsms.router.celery.CeleryRouter"]


@pytest.fixture(params=ROUTERS, ids=["blocking", "celery-eager"])
def router(request, settings, backend_settings):
    settings.RAPIDSMS_ROUTER = request.param
    backends = settings.INSTALLED_BACKENDS
    backends["tropo"]["router.celery.eager"] = True
    settings.INSTALLED_BACKENDS = backends
    return request.param


def deliver(post_session, tropo, answered):
    """Play Tropo: call back for every launch not answered yet; return texts by number."""
    delivered = []
    for n, reference in enumerate(tropo.references):
        if reference in answered:
            continue
        answered.add(reference)
        response = post_session(callback_payload(reference, session_id=f"{n:032x}"))
        assert response.status_code == 200
        for verb in json.loads(response.content)["tropo"]:
            if "message" in verb:
                delivered.append((verb["message"]["to"], verb["message"]["say"]["value"]))
    return delivered


def test_send_many_recipients_unicode_round_trip(router, tropo, post_session):
    numbers = [f"+2547000000{n:02d}" for n in range(12)]
    send("Chanjo kesho 💉 saa tatu", lookup_connections("tropo", numbers))
    delivered = deliver(post_session, tropo, set())
    assert sorted(delivered) == [(n, "Chanjo kesho 💉 saa tatu") for n in numbers]
    assert len(tropo.launches) == 1
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_burst_of_single_sends_uses_few_launches_and_delivers_each_once(
    router, tropo, post_session, backend_settings
):
    answered = set()
    delivered = []
    for n in range(30):
        send(f"message {n}", lookup_connections("tropo", ["+15555550001"]))
        if n % 10 == 9:
            delivered += deliver(post_session, tropo, answered)
    delivered += deliver(post_session, tropo, answered)
    assert sorted(text for _, text in delivered) == sorted(f"message {n}" for n in range(30))
    assert len(tropo.launches) <= 4


def test_launch_failure_then_tropo_send_queued_recovers(router, tropo, post_session):
    from django.core.management import call_command

    tropo.fail_with((502, {}, "bad gateway"))
    send("after the outage", lookup_connections("tropo", ["+15555550001"]))
    assert deliver(post_session, tropo, set()) == []
    assert OutboundMessage.objects.get().status == "queued"
    call_command("tropo_send_queued", "--now")
    assert deliver(post_session, tropo, {tropo.references[0]}) == [
        ("+15555550001", "after the outage")
    ]
    assert OutboundMessage.objects.get().attempts == 2


def test_inbound_reply_rides_inline_under_both_routers(router, tropo, post_session):
    response = post_session(inbound_payload(text="echo habari 🙂"))
    verbs = json.loads(response.content)["tropo"]
    assert verbs[0]["message"]["say"]["value"] == "habari 🙂"
    assert tropo.launches == []
    assert not Launch.objects.exists()


def test_receive_outside_the_view_launches_for_the_reply(router, tropo, post_session):
    connection = lookup_connections("tropo", ["+15555550009"])[0]
    receive("ping", connection)
    assert deliver(post_session, tropo, set()) == [("+15555550009", "pong")]


def test_no_token_or_secret_reaches_the_logs(router, tropo, post_session, settings, caplog):
    caplog.set_level(logging.DEBUG)
    tropo.fail_with((500, {}, "down"))
    send("first", lookup_connections("tropo", ["+15555550001"]))
    send("second", lookup_connections("tropo", ["+15555550002"]))
    deliver(post_session, tropo, set())
    post_session(callback_payload("forged", token="wrong-token"))
    post_session(inbound_payload(text="ping"), secret="old-secret")
    post_session(inbound_payload(text="ping"), secret="guess")
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    for secret in (settings.TOKEN, "old-secret", "new-secret"):
        assert secret not in logged
    assert "on tropo failed: Session API answered HTTP 500" in logged
