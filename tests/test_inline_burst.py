"""A burst of inline replies on a 1 SMS/s number leaves a campaign's results within the lease.

Tropo texts the number's messages in the order they reach it: replies answered
inline while a campaign is being texted would take their turns between the
campaign's messages and push its result past the lease.
"""

import collections
import copy
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from rapidsms.router import lookup_connections, send

from rtropo import periodic
from rtropo.conf import get_config
from rtropo.emulator.testing import tropo_emulator  # noqa: F401  (the fixture)
from rtropo.models import OutboundMessage
from tests.settings import NUMBER, TOKEN
from tests.support.payloads import SECRET

Status = OutboundMessage.Status

#: A US long code: 1 SMS a second. A lease of 6 s makes the window 3 messages.
LEASE = 6.0
BURST = 6
CAMPAIGN = 3


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_inline_replies_makes_no_campaign_row_unconfirmed(
    settings,
    live_server,
    tropo_emulator,  # noqa: F811
):
    tropo = tropo_emulator(
        app_url=f"{live_server.url}/tropo/?secret={SECRET}",
        token=TOKEN,
        number=NUMBER,
        enforce_rate=True,
        rate_interval=1.0,
    )
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["tropo"]["config"].update(
        api_url=tropo.session_api_url, sms_per_second=1, lease=LEASE, resend_unconfirmed=False
    )
    settings.INSTALLED_BACKENDS = backends
    config = get_config("tropo")
    assert config.in_flight_window == 3
    phones = [f"+1555020{n:04d}" for n in range(BURST)]
    campaign = [f"+1555030{n:04d}" for n in range(CAMPAIGN)]
    send("campaign", lookup_connections("tropo", campaign))
    tropo.wait_for_deliveries(1, timeout=10)  # the campaign is being texted, 1 a second
    with ThreadPoolExecutor(BURST) as pool:
        texted = [pool.submit(tropo.send_sms, phone, "ping") for phone in phones]
        unconfirmed = 0
        deadline = time.monotonic() + 60
        while OutboundMessage.objects.exclude(status=Status.CONFIRMED).exists():
            assert time.monotonic() < deadline, collections.Counter(
                OutboundMessage.objects.values_list("status", flat=True)
            )
            unconfirmed += periodic.send_queued(config).unconfirmed
            time.sleep(0.25)
        assert all(future.result().status == 200 for future in texted)
    tropo.wait_for_deliveries(BURST + CAMPAIGN, timeout=10)
    assert unconfirmed == 0
    delivered = collections.Counter(d.to for d in tropo.deliveries)
    assert delivered == collections.Counter(phones + campaign)
    assert set(OutboundMessage.objects.values_list("unconfirmed_count", flat=True)) == {0}
