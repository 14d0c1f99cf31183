"""RapidSMS's contrib apps over this backend, end to end against the Tropo emulator.

The emulator calls the live server; the backend launches through the emulator's
Session API. messagelog and messaging (with the django-tables2 and
django-selectable they need) are installed for these tests only: in the test
settings messagelog would log, and so add statements to, every other test's SMS.
The ``messagelog`` fixture installs them and creates messagelog's table, and
drops it afterwards.
"""

import copy

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.core.paginator import UnorderedObjectListWarning
from rapidsms.router import lookup_connections

from rtropo.emulator.testing import tropo_emulator  # noqa: F401  (the fixture)
from tests.settings import NUMBER, TOKEN
from tests.support.payloads import SECRET

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+15555550101"
OTHER_PHONE = "+15555550102"
CONTRIB_APPS = [
    "rapidsms.contrib.messagelog",
    "rapidsms.contrib.messaging",
    "django_tables2",
    "selectable",
]
HANDLERS = ["tests.contrib_handlers.FavouriteHandler", "tests.contrib_handlers.SumHandler"]


@pytest.fixture
def messagelog(settings):
    """messagelog and messaging installed, messagelog's table created; its model."""
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *CONTRIB_APPS]
    # django-selectable sets its defaults on the first import of its models only: in
    # the first of these tests, on settings that are restored at its end.
    settings.SELECTABLE_MAX_LIMIT = 25
    settings.SELECTABLE_ESCAPED_KEYS = ("label",)
    call_command("migrate", "messagelog", verbosity=0)
    from rapidsms.contrib.messagelog.models import Message

    yield Message
    call_command("migrate", "messagelog", "zero", verbosity=0)
    if admin.site.is_registered(Message):
        admin.site.unregister(Message)


@pytest.fixture
def tropo(settings, messagelog, live_server, tropo_emulator):  # noqa: F811
    """The emulator calling the live server, the backend launching through it, the
    contrib handlers routed to and the messaging UI served; returns the emulator."""
    emulator = tropo_emulator(
        app_url=f"{live_server.url}/tropo/?secret={SECRET}", token=TOKEN, number=NUMBER
    )
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["tropo"]["config"].update(api_url=emulator.session_api_url, sms_per_second=0)
    settings.INSTALLED_BACKENDS = backends
    settings.RAPIDSMS_HANDLERS = HANDLERS
    settings.ROOT_URLCONF = "tests.contrib_urls"
    return emulator


def answered_inline(tropo, text):
    """Text the app from PHONE; the (to, text) the inbound session's answer delivered,
    after checking that nothing was launched for it."""
    result = tropo.send_sms(PHONE, text)
    assert result.status == 200
    assert {d.session_id for d in result.deliveries} == {result.session_id}
    assert tropo.launches == []
    assert tropo.callbacks == 0
    return [(d.to, d.text) for d in result.deliveries]


def test_messagelog_records_the_sms_and_its_reply_on_the_tropo_connection(tropo, messagelog):
    answered_inline(tropo, "fav blue")

    logged = messagelog.objects.order_by("pk").values_list(
        "direction", "text", "connection__backend__name", "connection__identity"
    )
    assert list(logged) == [
        (messagelog.INCOMING, "fav blue", "tropo", PHONE),
        (messagelog.OUTGOING, "Your favourite colour is blue.", "tropo", PHONE),
    ]


def test_a_keyword_handler_answers_inline(tropo):
    assert answered_inline(tropo, "FAV green") == [(PHONE, "Your favourite colour is green.")]
    assert answered_inline(tropo, "fav") == [(PHONE, "Send FAV and your favourite colour.")]


def test_a_pattern_handler_answers_inline(tropo):
    assert answered_inline(tropo, "2 plus 3") == [(PHONE, "2 plus 3 is 5.")]
    assert answered_inline(tropo, "2 plus x") == [
        (PHONE, "Sorry, RapidSMS could not understand your message.")
    ]


def test_the_messaging_send_form_reaches_the_phones(tropo, admin_client):
    connections = lookup_connections("tropo", [PHONE, OTHER_PHONE])

    response = admin_client.post(
        "/messaging/send/",
        {"message": "Meeting at 9:00 ✓", "connections_1": [c.pk for c in connections]},
    )

    assert (response.status_code, response.content.decode()) == (
        200,
        "Your message was sent to 2 recipients.",
    )
    delivered = tropo.wait_for_deliveries(2)
    assert sorted((d.to, d.text) for d in delivered) == [
        (PHONE, "Meeting at 9:00 ✓"),
        (OTHER_PHONE, "Meeting at 9:00 ✓"),
    ]
    assert tropo.launches and all(launch.outcome == "created" for launch in tropo.launches)


def test_the_message_log_and_messaging_pages_render(tropo, admin_client):
    answered_inline(tropo, "3 plus 4")

    log_page = admin_client.get("/messagelog/")
    messaging_page = admin_client.get("/messaging/")
    # RapidSMS's connection lookup pages an unordered query set.
    with pytest.warns(UnorderedObjectListWarning):
        lookup = admin_client.get("/selectable/messaging-connectionlookup/", {"term": "0101"})

    assert (log_page.status_code, messaging_page.status_code) == (200, 200)
    assert "3 plus 4 is 7." in log_page.content.decode()
    assert PHONE in log_page.content.decode()
    assert 'data-selectable-url="/selectable/messaging-connectionlookup/"' in (
        messaging_page.content.decode()
    )
    assert [item["label"] for item in lookup.json()["data"]] == [f"tropo - {PHONE}*"]
