"""CeleryRouter with ``router.celery.eager``: the same flows, in this process."""

import copy

import pytest
from rapidsms.router import lookup_connections, send

from rtropo.models import InboundSession, OutboundMessage
from tests.support.payloads import callback_payload, inbound_payload

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


@pytest.fixture
def eager_celery_router(settings):
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["tropo"]["router.celery.eager"] = True
    settings.INSTALLED_BACKENDS = backends
    settings.RAPIDSMS_ROUTER = "rapidsms.router.celery.CeleryRouter"


def messages_in(response):
    return [verb["message"] for verb in response.json()["tropo"] if "message" in verb]


def test_eager_send_launches_and_the_callback_delivers(
    eager_celery_router, tropo, post_session, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send("eager hello", lookup_connections("tropo", ["+15555550001"]))
    assert OutboundMessage.objects.get().status == Status.LAUNCHED
    assert len(tropo.launches) == 1
    response = post_session(callback_payload(tropo.references[0]))
    assert [(m["to"], m["say"]["value"]) for m in messages_in(response)] == [
        ("+15555550001", "eager hello")
    ]
    assert OutboundMessage.objects.get().status == Status.SENT


def test_eager_inbound_is_routed_and_answered_inline(eager_celery_router, tropo, post_session):
    response = post_session(inbound_payload(text="ping"))
    assert [(m["to"], m["say"]["value"]) for m in messages_in(response)] == [
        ("+15555550001", "pong")
    ]
    assert InboundSession.objects.get().text == "ping"
    assert OutboundMessage.objects.get().status == Status.SENT
    assert tropo.launches == []
