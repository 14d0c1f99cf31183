"""A project as 0.2.0 wrote it runs a Tropo program on 1.0: its ``INSTALLED_BACKENDS``
entry, ``include("rtropo.urls")`` and ``execute_tropo_program`` with the appointment
reminder of Tropo's WebAPI guide (a ``call``, then a ``say``), against the emulator.

Only ``api_url`` is added to the entry: Tropo is gone, and the emulator stands in for it.
"""

import time

import pytest
from rapidsms.router import get_router

from rtropo.emulator.testing import tropo_emulator  # noqa: F401  (the fixture)
from rtropo.models import OutboundMessage
from tests.settings import NUMBER, TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

PATIENT = "+14155550100"
REMINDER = {
    "tropo": [
        {"call": {"to": PATIENT, "network": "PSTN"}},
        {"say": [{"value": "Your appointment is tomorrow at 10."}]},
    ]
}


@pytest.fixture
def emulator(settings, live_server, tropo_emulator):  # noqa: F811
    """The emulator calling the project's ``rtropo.urls`` under ``tropo/``; the backend
    entry as 0.2.0's README wrote it, launching through the emulator."""
    emulator = tropo_emulator(app_url=f"{live_server.url}/tropo/tropo/", token=TOKEN, number=NUMBER)
    settings.ROOT_URLCONF = "tests.include_urls.tropo_prefix"
    settings.INSTALLED_BACKENDS = {
        "tropo": {
            "ENGINE": "rtropo.outgoing.TropoBackend",
            "config": {
                "messaging_token": TOKEN,
                "number": NUMBER,
                "api_url": emulator.session_api_url,
            },
        }
    }
    return emulator


def test_the_reminder_reaches_the_phone_as_one_call_and_its_row_is_confirmed(emulator):
    row_id = get_router().backends["tropo"].execute_tropo_program(REMINDER)

    [call] = emulator.wait_for_calls(1)
    assert (call.to, call.spoken) == (PATIENT, ("Your appointment is tomorrow at 10.",))
    row = settled(row_id)
    assert (row.status, row.attempts) == (OutboundMessage.Status.CONFIRMED, 1)
    assert emulator.calls_to(PATIENT) == [call]
    assert (len(emulator.launches), emulator.deliveries) == (1, [])


def settled(row_id: int) -> OutboundMessage:
    """The row once Tropo's result settled it (10 s at most)."""
    deadline = time.monotonic() + 10
    while (row := OutboundMessage.objects.get(pk=row_id)).status != "confirmed":
        assert time.monotonic() < deadline, f"row {row_id} is still {row.status}"
        time.sleep(0.05)
    return row
