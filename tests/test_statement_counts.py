"""The SQL statements and commits of the Tropo view's hot paths, pinned.

Each request runs outside a test transaction (``transaction=True``), as under
a server, so that writes commit as they would in production. Statements are
compared as (verb, table), on SQLite and PostgreSQL alike; BEGIN, which not
every database backend records, is left out, COMMITs are kept.
"""

import copy
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from rtropo import signals
from rtropo.conf import get_config
from rtropo.models import InboundSession, OutboundMessage
from tests.support.payloads import inbound_payload

pytestmark = pytest.mark.django_db(transaction=True)

Status = OutboundMessage.Status
PHONE = "15555550001"
RECORD = ("INSERT", "rtropo_inboundsession")
CONNECTION = ("SELECT", "rapidsms_connection")
ROUTED = ("UPDATE", "rtropo_inboundsession")
REPLY = ("INSERT", "rtropo_outboundmessage")
CLAIM = ("UPDATE", "rtropo_outboundmessage")
COMMIT = ("COMMIT", "")
#: The recipients' numbers, noted as their rows are sent.
HEARD = ("INSERT", "rtropo_numberassignment")
#: The write lock a transaction that reads first takes on SQLite.
WRITE_LOCK = [("UPDATE", "rtropo_launch")] if connection.vendor == "sqlite" else []
#: The in-flight window's count of the rows in flight, under its lock on PostgreSQL.
WINDOW = (
    [("SELECT", ""), ("SELECT", "rtropo_outboundmessage")]
    if connection.vendor == "postgresql"
    else [("SELECT", "rtropo_outboundmessage")]
)
#: The answer's result reference, noted with the rows it carries.
REFERENCE = ("INSERT", "rtropo_answerreference")
_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


def statements(captured) -> list[tuple[str, str]]:
    """(verb, first table) of each captured statement, BEGIN left out."""
    described = []
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        if verb == "BEGIN":
            continue
        table = _TABLE.search(sql)
        described.append((verb, table.group(1) if table else ""))
    return described


def post_sms(post_session, text: str, n: int):
    payload = inbound_payload(text=text, from_id=PHONE, session_id=f"{n:032x}")
    response = post_session(payload)
    assert response.status_code == 200
    return response


def measured(post_session, text: str):
    """The response and statements of an inbound SMS from a phone seen before."""
    post_sms(post_session, text, 1)
    with CaptureQueriesContext(connection) as captured:
        response = post_sms(post_session, text, 2)
    return response, statements(captured)


def verbs(response) -> list[dict]:
    return json.loads(response.content)["tropo"]


def test_an_sms_without_reply_records_reads_its_connection_and_marks_routed(post_session, settings):
    settings.DEFAULT_RESPONSE = None
    _, run = measured(post_session, "hello")
    assert run == [RECORD, CONNECTION, ROUTED]
    assert InboundSession.objects.filter(status=InboundSession.Status.ROUTED).count() == 2


@pytest.mark.parametrize("confirm", [True, False])
def test_an_inline_answer_marks_routed_and_claims_in_one_commit(
    post_session, backend_settings, tropo, confirm
):
    backend_settings(confirm_delivery=confirm)
    response, run = measured(post_session, "ping")
    # Asking for a result (confirm) counts the in-flight window (inline replies take
    # room in it) before the claim, and notes the answer's reference after it.
    if confirm:
        expected = [RECORD, CONNECTION, REPLY, ROUTED, *WINDOW, CLAIM, HEARD, REFERENCE, COMMIT]
    else:
        expected = [RECORD, CONNECTION, REPLY, ROUTED, CLAIM, HEARD, COMMIT]
    assert run == expected
    [row] = OutboundMessage.objects.filter(session_id=f"{2:032x}")
    message = next(verb["message"] for verb in verbs(response) if "message" in verb)
    assert (message["to"], message["say"]["value"]) == (row.to_number, row.text)
    assert (row.status, row.attempts, row.result_requested) == (Status.SENT, 1, confirm)
    assert not tropo.launches


def test_an_inline_answer_hands_message_sent_receivers_its_rows_as_stored(post_session, tropo):
    received = []

    def on_sent(sender, message, **kwargs):
        received.append((message.pk, message.status, message.attempts))

    signals.message_sent.connect(on_sent)
    try:
        measured(post_session, "ping")
    finally:
        signals.message_sent.disconnect(on_sent)
    rows = OutboundMessage.objects.order_by("pk")
    assert received == [(row.pk, Status.SENT, 1) for row in rows]


def answer_and_result(post_session, client, n=1):
    """Answer a ping inline; return its row and a result that confirms it, to post."""
    response = post_sms(post_session, "ping", n)
    [next_url] = {verb["on"]["next"] for verb in verbs(response) if "on" in verb}
    [name] = [verb["message"]["name"] for verb in verbs(response) if "message" in verb]
    row = OutboundMessage.objects.get(session_id=f"{n:032x}")
    result = {
        "result": {
            "sessionId": f"{n:032x}",
            "state": "DISCONNECTED",
            "sequence": 1,
            "complete": True,
            "error": None,
            "actions": {"name": name, "disposition": "SUCCESS"},
        }
    }
    return row, lambda: client.post(
        next_url, data=json.dumps(result), content_type="application/json"
    )


def test_a_result_confirming_its_rows_reads_its_answer_and_rows_and_is_one_update(
    post_session, client, tropo
):
    row, post_result = answer_and_result(post_session, client)
    with CaptureQueriesContext(connection) as captured:
        assert post_result().status_code == 200
    # The answer, found by its digest, names its rows; they are read (for
    # message_confirmed receivers) and confirmed in one UPDATE; after the commit,
    # whether rows wait for the in-flight window the result reopened.
    answer = ("SELECT", "rtropo_answerreference")
    rows = ("SELECT", "rtropo_outboundmessage")
    assert statements(captured) == [answer, *WRITE_LOCK, rows, CLAIM, COMMIT, rows]
    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.CONFIRMED, "")
    assert row.result_at is not None
    with CaptureQueriesContext(connection) as captured:
        assert post_result().status_code == 200
    # A replay finds the answer and no row left to settle.
    assert statements(captured) == [answer, *WRITE_LOCK, rows, COMMIT]


def test_a_result_reads_its_rows_for_message_confirmed_receivers(post_session, client, tropo):
    row, post_result = answer_and_result(post_session, client)
    received = []

    def on_confirmed(sender, message, **kwargs):
        received.append((message.pk, message.status))

    signals.message_confirmed.connect(on_confirmed)
    try:
        assert post_result().status_code == 200
    finally:
        signals.message_confirmed.disconnect(on_confirmed)
    assert received == [(row.pk, Status.CONFIRMED)]


def test_get_config_is_built_once_per_entry(settings):
    first = get_config("tropo")
    assert get_config("tropo") is first
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["tropo"]["config"]["batch_size"] = 7
    with override_settings(INSTALLED_BACKENDS=backends):
        assert get_config("tropo").batch_size == 7
        backends["tropo"]["config"]["batch_size"] = 3
        assert get_config("tropo").batch_size == 3
    assert get_config("tropo") == first


def sqlite_instructions(action) -> int:
    """SQLite virtual-machine instructions that ``action`` runs."""
    instructions = 0

    def count():
        nonlocal instructions
        instructions += 1
        return 0

    connection.ensure_connection()
    connection.connection.set_progress_handler(count, 1)
    try:
        action()
    finally:
        connection.connection.set_progress_handler(None, 0)
    return instructions


@pytest.mark.skipif(connection.vendor != "sqlite", reason="counts SQLite's instructions")
def test_a_results_work_does_not_grow_with_the_unconfirmed_rows(post_session, client, tropo):
    answered = []
    first_row, first = answer_and_result(post_session, client)
    alone = sqlite_instructions(lambda: answered.append(first()))
    now = timezone.now()
    OutboundMessage.objects.bulk_create(
        OutboundMessage(
            backend_name="tropo",
            identity="+15555550002",
            to_number="+15555550002",
            text="never confirmed",
            status=Status.UNCONFIRMED,
            next_attempt_at=now,
            created_at=now,
        )
        for _ in range(5000)
    )
    second_row, second = answer_and_result(post_session, client, 2)
    beside_backlog = sqlite_instructions(lambda: answered.append(second()))
    assert [response.status_code for response in answered] == [200, 200]
    confirmed = OutboundMessage.objects.filter(status=Status.CONFIRMED)
    assert set(confirmed.values_list("pk", flat=True)) == {first_row.pk, second_row.pk}
    assert beside_backlog < 2 * alone
