"""The in-flight window: a campaign on a rate-limited number is never called unconfirmed."""

import collections
import copy
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from rapidsms.router import lookup_connections, send

from rtropo import periodic
from rtropo.conf import BackendConfig, get_config
from rtropo.emulator.testing import tropo_emulator  # noqa: F401  (the fixture)
from rtropo.models import OutboundMessage
from tests.settings import NUMBER, TOKEN
from tests.support.payloads import SECRET

Status = OutboundMessage.Status

#: The emulator texts 50 SMS a second from the app's number; Tropo's US long code did 1.
#: Time runs 50 times faster than on a long code, and so does the app's share of the
#: lease: the window leaves half of it (3 s) for the app to answer and record results.
RATE = 50
LEASE = 6.0
CAMPAIGN = 500  # ten seconds of texting: longer than the lease


def config_entry(**values):
    return {"config": {"messaging_token": "t" * 88, "number": "+15555550000", **values}}


def window_of(**values):
    return BackendConfig.from_entry("b", config_entry(**values)).in_flight_window


def test_the_window_is_half_the_lease_at_the_rate():
    assert BackendConfig.from_entry("b", config_entry()).sms_per_second == 1.0
    assert window_of() == 150  # 1 SMS/s, lease 300 s
    assert window_of(sms_per_second=30, lease=60) == 900
    assert window_of(sms_per_second=0.01, lease=60) == 1


@pytest.mark.parametrize("values", [{"sms_per_second": 0}, {"confirm_delivery": False}])
def test_no_window_without_a_rate_or_without_confirmation(values):
    assert window_of(**values) is None


@pytest.mark.parametrize("value", [-1, "1", True, None, float("inf"), float("nan")])
def test_a_bad_sms_per_second_names_the_setting(value):
    with pytest.raises(ImproperlyConfigured, match="'sms_per_second'"):
        BackendConfig.from_entry("b", config_entry(sms_per_second=value))


def in_flight():
    """Rows launched or sent awaiting a result, in one statement (one snapshot)."""
    awaiting = Q(status=Status.SENT, result_requested=True)
    return OutboundMessage.objects.filter(Q(status=Status.LAUNCHED) | awaiting).count()


def run_campaign(settings, live_server, emulator_factory, sms_per_second):
    """Send CAMPAIGN messages through a rate-limited emulator, running the sweep (as cron
    would) until every row is confirmed; return the emulator, the rows the sweep called
    unconfirmed, and the most rows seen in flight."""
    tropo = emulator_factory(
        app_url=f"{live_server.url}/tropo/?secret={SECRET}",
        token=TOKEN,
        number=NUMBER,
        enforce_rate=True,
        rate_interval=1 / RATE,
    )
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["tropo"]["config"].update(
        api_url=tropo.session_api_url,
        sms_per_second=sms_per_second,
        lease=LEASE,
        batch_size=25,
        resend_unconfirmed=False,
    )
    settings.INSTALLED_BACKENDS = backends
    config = get_config("tropo")
    numbers = [f"+1555{n:07d}" for n in range(CAMPAIGN)]
    send("campaign", lookup_connections("tropo", numbers))
    unconfirmed, most = 0, 0
    deadline = time.monotonic() + 60
    while OutboundMessage.objects.exclude(status=Status.CONFIRMED).exists():
        assert time.monotonic() < deadline, collections.Counter(
            OutboundMessage.objects.values_list("status", flat=True)
        )
        most = max(most, in_flight())
        unconfirmed += periodic.send_queued(config).unconfirmed
        time.sleep(0.25)
    tropo.wait_for_deliveries(CAMPAIGN, timeout=10)
    return tropo, unconfirmed, most


@pytest.mark.django_db(transaction=True)
def test_a_campaign_longer_than_the_lease_is_delivered_once_and_never_unconfirmed(
    settings,
    live_server,
    tropo_emulator,  # noqa: F811
):
    tropo, unconfirmed, most = run_campaign(settings, live_server, tropo_emulator, RATE)
    window = get_config("tropo").in_flight_window
    assert window == 150
    assert unconfirmed == 0
    delivered = collections.Counter(d.to for d in tropo.deliveries)
    assert len(delivered) == CAMPAIGN and set(delivered.values()) == {1}
    assert set(OutboundMessage.objects.values_list("unconfirmed_count", flat=True)) == {0}
    assert 0 < most <= window


@pytest.mark.django_db(transaction=True)
def test_without_the_window_the_same_campaign_is_called_unconfirmed(
    settings,
    live_server,
    tropo_emulator,  # noqa: F811
):
    tropo, unconfirmed, most = run_campaign(settings, live_server, tropo_emulator, 0)
    assert unconfirmed > 0
    assert most > get_config("tropo").lease * RATE / 2
    # Nothing was sent twice (resend_unconfirmed is off): the late results confirmed them.
    assert len(tropo.deliveries) == CAMPAIGN
