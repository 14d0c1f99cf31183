"""CeleryRouter with a real worker: send in the worker, answer the callback here."""

import json
import time

import pytest
from django.conf import settings as django_settings
from rapidsms.router import lookup_connections, send

from rtropo import tasks
from rtropo.models import Launch, OutboundMessage
from tests.support.payloads import callback_payload

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

Status = OutboundMessage.Status
SECRET = "new-secret"


@pytest.fixture
def celery_router(celery_worker, settings):
    """This process routes through CeleryRouter to the worker's backend settings."""
    settings.RAPIDSMS_ROUTER = "rapidsms.router.celery.CeleryRouter"
    settings.INSTALLED_BACKENDS = {
        "tropo": {
            "ENGINE": "rtropo.outgoing.TropoBackend",
            "config": {
                "messaging_token": django_settings.TOKEN,
                "number": django_settings.NUMBER,
                "api_url": f"{celery_worker.stub.url}/sessions",
                "inbound_secret": SECRET,
            },
        }
    }
    return celery_worker


def wait_for(condition, worker, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{worker.output()}")


def answer_callback(client, reference, session_id="c" * 32):
    session = callback_payload(reference, session_id=session_id)
    response = client.post(
        f"/tropo/?secret={SECRET}", json.dumps(session), content_type="application/json"
    )
    assert response.status_code == 200
    return [verb["message"] for verb in response.json()["tropo"] if "message" in verb]


def test_send_runs_in_the_worker_and_the_callback_gets_the_message(celery_router, client):
    stub = celery_router.stub
    launched_before = len(stub.references)
    send("from the worker", lookup_connections("tropo", ["+15555550001", "+15555550002"]))
    wait_for(
        lambda: OutboundMessage.objects.filter(status=Status.LAUNCHED).count() == 2,
        celery_router,
        "the worker to queue and launch",
    )
    assert len(stub.references) == launched_before + 1
    launch = Launch.objects.get()
    assert launch.reference == stub.references[-1]
    messages = answer_callback(client, launch.reference)
    assert [(m["to"], m["say"]["value"]) for m in messages] == [
        ("+15555550001", "from the worker"),
        ("+15555550002", "from the worker"),
    ]
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}


def test_send_queued_task_in_the_worker_recovers_a_failed_launch(celery_router, client):
    stub = celery_router.stub
    stub.fail_next = 1
    send("retry me", lookup_connections("tropo", ["+15555550003"]))
    wait_for(
        lambda: Launch.objects.filter(status=Launch.Status.FAILED).exists(),
        celery_router,
        "the failed launch",
    )
    row = OutboundMessage.objects.get()
    assert (row.status, row.attempts) == (Status.QUEUED, 1)
    assert row.last_error == "Session API answered HTTP 500"
    tasks.send_queued.delay(include_backing_off=True)
    wait_for(
        lambda: Launch.objects.filter(status=Launch.Status.PENDING).exists(),
        celery_router,
        "rtropo.tasks.send_queued to launch again",
    )
    reference = Launch.objects.get(status=Launch.Status.PENDING).reference
    assert [m["say"]["value"] for m in answer_callback(client, reference)] == ["retry me"]
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)
