"""A pool of numbers: each recipient texted from one number, spread evenly, sticky across
campaigns and pool changes; replies from the number the person texted; pacing per number."""

import collections
import copy
import json
import logging
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from rapidsms.router import lookup_connections, send

from rtropo import periodic
from rtropo.conf import BackendConfig, get_config
from rtropo.emulator.testing import tropo_emulator  # noqa: F401  (the fixture)
from rtropo.models import Launch, NumberAssignment, OutboundMessage
from rtropo.outbox import answers, pool, queue, take
from tests.settings import TOKEN
from tests.support.commands import tropo_status
from tests.support.payloads import SECRET

Status = OutboundMessage.Status
POOL = ["+15555551000", "+15555551001", "+15555551002"]
RATE = 50


def entry(**values):
    return {"config": {"messaging_token": "t" * 88, **values}}


def test_numbers_are_normalised_once_each_in_order_and_number_is_the_first():
    config = BackendConfig.from_entry("b", entry(numbers=["+1 555 555 1001", *POOL]))
    assert config.numbers == ("+15555551001", "+15555551000", "+15555551002")
    assert config.number == "+15555551001"
    assert BackendConfig.from_entry("b", entry(number=POOL[0])).numbers == (POOL[0],)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"number": POOL[0], "numbers": POOL}, "'numbers' cannot be set with 'number'"),
        ({"numbers": []}, "'numbers' must be a non-empty list"),
        ({"numbers": POOL[0]}, "'numbers' must be a non-empty list"),
        ({"numbers": [POOL[0], "call me"]}, "'numbers' must be a phone number"),
        ({}, r"'number' is required \(or 'numbers', a list\)"),
    ],
)
def test_a_bad_pool_names_the_backend_and_the_setting(values, message):
    with pytest.raises(ImproperlyConfigured, match=f"backend 'b': setting {message}"):
        BackendConfig.from_entry("b", entry(**values))


def recipients(count, first=0):
    return [f"+1555{n:07d}" for n in range(first, first + count)]


def pool_backend(settings, numbers, **values):
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["tropo"]["config"].pop("number", None)
    backends["tropo"]["config"].update(numbers=list(numbers), **values)
    settings.INSTALLED_BACKENDS = backends
    return get_config("tropo")


def assignments():
    return dict(NumberAssignment.objects.values_list("recipient", "number"))


@pytest.mark.django_db
def test_new_recipients_are_spread_evenly_and_keep_their_number(settings):
    config = pool_backend(settings, POOL)
    queue.enqueue(config, [queue.Recipient(n, n) for n in recipients(7)], "first")
    take.numbers_due(config)
    first = assignments()
    assert sorted(collections.Counter(first.values()).values()) == [2, 2, 3]
    queue.enqueue(config, [queue.Recipient(n, n) for n in recipients(9)], "second")
    take.numbers_due(config)
    assert {r: n for r, n in assignments().items() if r in first} == first
    assert sorted(collections.Counter(assignments().values()).values()) == [3, 3, 3]
    rows = OutboundMessage.objects.values_list("to_number", "from_number")
    assert all(number == assignments()[to] for to, number in rows)


@pytest.mark.django_db
def test_a_number_added_keeps_everyone_and_fills_with_new_recipients(settings):
    config = pool_backend(settings, POOL)
    queue.enqueue(config, [queue.Recipient(n, n) for n in recipients(30)], "before")
    take.numbers_due(config)
    before = assignments()
    grown = pool_backend(settings, [*POOL, "+15555551003"])
    queue.enqueue(grown, [queue.Recipient(n, n) for n in recipients(40)], "after")
    take.numbers_due(grown)
    after = assignments()
    assert {r: after[r] for r in before} == before
    assert {after[r] for r in after.keys() - before.keys()} == {"+15555551003"}


@pytest.mark.django_db
def test_a_number_removed_hands_its_recipients_and_queued_rows_to_the_others(settings):
    config = pool_backend(settings, POOL)
    queue.enqueue(config, [queue.Recipient(n, n) for n in recipients(30)], "before")
    take.numbers_due(config)
    leaving = {r for r, n in assignments().items() if n == POOL[2]}
    shrunk = pool_backend(settings, POOL[:2])
    assert take.numbers_due(shrunk) == POOL[:2]
    after = assignments()
    assert set(after.values()) == set(POOL[:2])
    assert collections.Counter(after[r] for r in leaving) == {POOL[0]: 5, POOL[1]: 5}
    assert not OutboundMessage.objects.filter(from_number=POOL[2]).exists()


@pytest.mark.django_db
def test_the_window_is_per_number_and_a_full_one_holds_up_no_other(settings):
    config = pool_backend(settings, POOL[:2], sms_per_second=1, lease=4)
    assert config.in_flight_window == 2
    NumberAssignment.objects.bulk_create(
        NumberAssignment(backend_name="tropo", recipient=r, number=n, assigned_at=timezone.now())
        for r, n in [("+15550000001", POOL[0]), ("+15550000002", POOL[1])]
    )
    busy = [queue.Recipient("+15550000001", "+15550000001")] * 5
    queue.enqueue(config, [*busy, queue.Recipient("+15550000002", "+15550000002")], "hi")
    assert take.numbers_due(config) == POOL[:2]
    first = take.take_due(config, POOL[0])
    assert (first.size, first.number) == (2, POOL[0])
    assert take.take_due(config, POOL[0]) is None
    other = take.take_due(config, POOL[1])
    assert (other.size, other.number) == (1, POOL[1])
    carried = OutboundMessage.objects.filter(launch__isnull=False)
    assert all(row.from_number == row.launch.number for row in carried)


def run_until_confirmed(config, count):
    deadline = time.monotonic() + 60
    while OutboundMessage.objects.filter(status=Status.CONFIRMED).count() < count:
        assert time.monotonic() < deadline, collections.Counter(
            OutboundMessage.objects.values_list("status", flat=True)
        )
        periodic.send_queued(config)
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_a_pool_campaign_texts_each_recipient_once_from_its_own_number_at_each_numbers_rate(
    settings,
    live_server,
    tropo_emulator,  # noqa: F811
):
    tropo = tropo_emulator(
        app_url=f"{live_server.url}/tropo/?secret={SECRET}",
        token=TOKEN,
        numbers=POOL,
        enforce_rate=True,
        rate_interval=1 / RATE,
    )
    config = pool_backend(
        settings, POOL, api_url=tropo.session_api_url, sms_per_second=RATE, batch_size=10
    )
    phones = recipients(60)
    for campaign in range(2):
        send(f"campaign {campaign}", lookup_connections("tropo", phones))
        run_until_confirmed(config, 60 * (campaign + 1))
    tropo.wait_for_deliveries(120, timeout=10)
    heard = collections.defaultdict(set)
    for delivery in tropo.deliveries:
        heard[delivery.to].add(delivery.from_)
    assert collections.Counter(d.to for d in tropo.deliveries) == dict.fromkeys(phones, 2)
    assert all(heard[phone] == {assignments()[phone]} for phone in phones)
    assert collections.Counter(d.from_ for d in tropo.deliveries) == dict.fromkeys(POOL, 40)
    launches = Launch.objects.filter(size__gt=0)
    assert set(launches.values_list("number", flat=True)) == set(POOL)


@pytest.mark.parametrize("inline", [True, False])
@pytest.mark.django_db(transaction=True)
def test_a_reply_goes_from_the_number_the_person_texted_which_becomes_theirs(
    settings,
    live_server,
    tropo_emulator,  # noqa: F811
    inline,
):
    tropo = tropo_emulator(
        app_url=f"{live_server.url}/tropo/?secret={SECRET}", token=TOKEN, numbers=POOL
    )
    config = pool_backend(settings, POOL, api_url=tropo.session_api_url, inline_replies=inline)
    phone = "+15555550077"
    send("welcome", lookup_connections("tropo", [phone]))
    run_until_confirmed(config, 1)
    first = assignments()[phone]
    texted = next(number for number in POOL if number != first)
    answered = tropo.send_sms(phone, "ping", to=texted)
    assert len(answered.deliveries) == int(inline)
    run_until_confirmed(config, 2)
    assert assignments()[phone] == texted
    send("news", lookup_connections("tropo", [phone]))
    run_until_confirmed(config, 3)
    texts = [(d.text, d.from_) for d in tropo.wait_for_deliveries(3)]
    assert texts == [("welcome", first), ("pong", texted), ("news", texted)]


@pytest.mark.django_db(transaction=True)
def test_an_sms_to_a_number_out_of_the_pool_is_routed_and_answered_from_the_persons_number(
    settings,
    live_server,
    tropo_emulator,  # noqa: F811
    caplog,
):
    tropo = tropo_emulator(
        app_url=f"{live_server.url}/tropo/?secret={SECRET}", token=TOKEN, numbers=POOL
    )
    config = pool_backend(settings, POOL[:2], api_url=tropo.session_api_url)
    phone = "+15555550078"
    with caplog.at_level(logging.WARNING, logger="rtropo.inbox.routing"):
        inline = tropo.send_sms(phone, "ping", to=POOL[2])
    assert inline.status == 200 and inline.deliveries == ()
    assert "not one of the numbers of tropo" in caplog.text
    run_until_confirmed(config, 1)
    [reply] = tropo.wait_for_deliveries(1)
    assert (reply.to, reply.text) == (phone, "pong")
    assert reply.from_ == assignments()[phone] in POOL[:2]


@pytest.mark.django_db
def test_tropo_status_shows_each_numbers_recipients_due_and_in_flight(settings):
    config = pool_backend(settings, POOL, batch_size=4)
    queue.enqueue(config, [queue.Recipient(n, n) for n in recipients(9)], "hello")
    take.numbers_due(config)
    take.take_due(config, POOL[0])
    report = json.loads(tropo_status("--json").stdout)
    assert report["numbers"] == {
        POOL[0]: {"recipients": 3, "due": 0, "in_flight": 3},
        POOL[1]: {"recipients": 3, "due": 3, "in_flight": 0},
        POOL[2]: {"recipients": 3, "due": 3, "in_flight": 0},
    }
    lines = tropo_status().stdout.splitlines()
    assert f"  {POOL[1]}: 3 recipients, 3 due, 0 in flight" in lines


@pytest.mark.django_db
def test_recipients_of_a_single_number_stay_on_it_when_it_becomes_a_pool(settings):
    one = pool_backend(settings, POOL[:1])
    queue.enqueue(one, [queue.Recipient(n, n) for n in recipients(4)], "before")
    launch = take.take_due(one, POOL[0])
    answers.claim_for_callback(one, launch.reference, "c" * 32)
    assert assignments() == dict.fromkeys(recipients(4), POOL[0])
    grown = pool_backend(settings, POOL)
    queue.enqueue(grown, [queue.Recipient(n, n) for n in recipients(6)], "after")
    take.numbers_due(grown)
    assert {r: assignments()[r] for r in recipients(4)} == dict.fromkeys(recipients(4), POOL[0])
    assert collections.Counter(assignments().values()) == {POOL[0]: 4, POOL[1]: 1, POOL[2]: 1}


@pytest.mark.django_db
def test_a_message_sent_from_an_earlier_number_does_not_take_the_person_back(settings):
    config = pool_backend(settings, POOL)
    phone = recipients(1)[0]
    queue.enqueue(config, [queue.Recipient(phone, phone)], "queued before they texted")
    [number] = take.numbers_due(config)
    launch = take.take_due(config, number)
    texted = next(other for other in POOL if other != number)
    pool.stick(config, phone, texted)
    answers.claim_for_callback(config, launch.reference, "c" * 32)
    assert assignments() == {phone: texted}
