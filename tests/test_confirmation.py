"""Confirmed delivery at the view: answers ask for a result, results settle their rows."""

import collections
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection as db_connection
from django.db.utils import OperationalError
from django.test.utils import CaptureQueriesContext

from rtropo import signals
from rtropo.models import AnswerReference, OutboundMessage
from tests.support.payloads import SECRET, inbound_payload, load_fixture
from tests.test_statement_counts import statements

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status
SESSION = "3b43948e921da539a358747c389567a8"


def document(response):
    return json.loads(response.content.decode("utf-8"))["tropo"]


def answered_inline(post_session, text="ping"):
    """An inline answer: its document, its row and the ``next`` URL of its handlers."""
    verbs = document(post_session(inbound_payload(text=text)))
    row = OutboundMessage.objects.get()
    [next_url] = {verb["on"]["next"] for verb in verbs if "on" in verb}
    return verbs, row, next_url


def result_payload(session_id=SESSION, actions=None, complete=True, error=None):
    result = load_fixture("result.json")["result"]
    result.update(sessionId=session_id, complete=complete, error=error)
    if actions is not None:
        result["actions"] = actions
    return {"result": result}


@pytest.fixture
def post_result(client):
    def post(next_url, payload):
        return client.post(next_url, data=json.dumps(payload), content_type="application/json")

    return post


def test_an_inline_answer_names_its_verbs_and_asks_for_the_result(post_session, tropo):
    verbs, row, next_url = answered_inline(post_session)
    assert verbs[0]["message"]["name"] == f"rtropo-{row.pk}"
    assert [verb["on"]["event"] for verb in verbs[1:]] == [
        "continue",
        "incomplete",
        "error",
        "hangup",
    ]
    url = urlsplit(next_url)
    query = parse_qs(url.query)
    assert (url.scheme, url.netloc, url.path) == ("", "", "/tropo/")
    assert query["secret"] == [SECRET]
    [reference] = query["rtropo_result"]
    assert len(reference) >= 40
    assert (row.status, row.result_requested) == (Status.SENT, True)
    answer = AnswerReference.objects.get()
    assert answer.digest == hashlib.sha256(reference.encode()).hexdigest()
    assert (answer.session_id, answer.message_ids) == (row.session_id, [row.pk])
    stored = [*OutboundMessage.objects.values(), *AnswerReference.objects.values()]
    assert reference not in json.dumps(stored, default=str)


def test_each_answer_gets_its_own_reference(post_session, tropo):
    first = answered_inline(post_session)[2]
    OutboundMessage.objects.all().delete()
    payload = inbound_payload(text="ping", session_id="f" * 32)
    verbs = document(post_session(payload))
    assert {verb["on"]["next"] for verb in verbs if "on" in verb} != {first}


def test_without_confirmation_the_answer_is_the_old_one(post_session, tropo, backend_settings):
    backend_settings(confirm_delivery=False)
    verbs = document(post_session(inbound_payload(text="ping")))
    assert "name" not in verbs[0]["message"]
    assert verbs[1:] == [{"hangup": {}}]
    row = OutboundMessage.objects.get()
    assert (row.status, row.result_requested) == (Status.SENT, False)
    assert not AnswerReference.objects.exists()


def test_asking_for_the_result_costs_its_reference_and_the_windows_count(
    post_session, tropo, backend_settings
):
    post_session(inbound_payload(text="ping", session_id="c" * 32))
    tables = {}
    for confirm, session in ((False, "a" * 32), (True, "b" * 32)):
        backend_settings(confirm_delivery=confirm)
        with CaptureQueriesContext(db_connection) as queries:
            verbs = document(post_session(inbound_payload(text="ping", session_id=session)))
        tables[confirm] = collections.Counter(statements(queries))
        assert any("on" in verb for verb in verbs) == confirm
    window = [("SELECT", "")] if db_connection.vendor == "postgresql" else []
    window.append(("SELECT", "rtropo_outboundmessage"))
    reference = ("INSERT", "rtropo_answerreference")
    assert tables[True] - tables[False] == collections.Counter([*window, reference])
    assert tables[False] - tables[True] == collections.Counter()


def test_a_matching_result_confirms_and_is_answered_with_a_hangup(
    post_session, post_result, tropo, django_capture_on_commit_callbacks
):
    confirmed = []
    signals.message_confirmed.connect(
        lambda message, **kwargs: confirmed.append(message.pk), weak=False, dispatch_uid="t"
    )
    try:
        _, row, next_url = answered_inline(post_session)
        actions = {"name": f"rtropo-{row.pk}", "attempts": 1, "disposition": "SUCCESS"}
        with (
            django_capture_on_commit_callbacks(execute=True),
            CaptureQueriesContext(db_connection) as queries,
        ):
            response = post_result(next_url, result_payload(actions=actions))
    finally:
        signals.message_confirmed.disconnect(dispatch_uid="t")
    assert response.status_code == 200
    assert document(response) == [{"hangup": {}}]
    row.refresh_from_db()
    assert row.status == Status.CONFIRMED
    assert row.result_at is not None
    assert confirmed == [row.pk]
    updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("UPDATE") and "rtropo_outboundmessage" in q["sql"]
    ]
    assert len(updates) == 1


@pytest.mark.parametrize("disposition", ["FAILED", "TIMEOUT", "REJECTED"])
def test_a_reported_failure_fails_the_row_with_tropos_error(
    post_session, post_result, tropo, disposition
):
    _, row, next_url = answered_inline(post_session)
    actions = {"name": f"rtropo-{row.pk}", "disposition": disposition}
    payload = result_payload(actions=actions, complete=False, error="number unreachable")
    assert post_result(next_url, payload).status_code == 200
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert row.last_error == f"Tropo reported {disposition}: number unreachable"


def test_a_result_naming_no_verb_speaks_for_all(post_session, post_result, tropo):
    _, row, next_url = answered_inline(post_session)
    assert post_result(next_url, result_payload()).status_code == 200
    row.refresh_from_db()
    assert row.status == Status.CONFIRMED


def test_an_error_without_actions_fails_the_rows(post_session, post_result, tropo):
    _, row, next_url = answered_inline(post_session)
    post_result(next_url, result_payload(complete=False, error="Server error"))
    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.FAILED, "Tropo reported an error: Server error")


def test_a_result_for_partly_named_actions(post_session, post_result, tropo, settings):
    from rapidsms.apps.base import AppBase
    from rapidsms.router.blocking import BlockingRouter

    class ThreeReplies(AppBase):
        def handle(self, msg):
            for n in range(3):
                msg.respond(f"part {n}")
            return True

    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[ThreeReplies])
    verbs = document(post_session(inbound_payload(text="hi")))
    [next_url] = {verb["on"]["next"] for verb in verbs if "on" in verb}
    first, second, third = OutboundMessage.objects.order_by("pk")
    actions = [
        {"name": f"rtropo-{first.pk}", "disposition": "SUCCESS"},
        {"name": f"rtropo-{second.pk}", "disposition": "FAILED"},
        {"name": "someone-else", "disposition": "SUCCESS"},
    ]
    assert post_result(next_url, result_payload(actions=actions)).status_code == 200
    statuses = [r.status for r in OutboundMessage.objects.order_by("pk")]
    assert statuses == [Status.CONFIRMED, Status.FAILED, Status.LAUNCHED]
    assert len(tropo.launches) == 1
    third.refresh_from_db()
    assert third.unconfirmed_count == 1
    assert third.last_error == "Tropo's result did not report this message"


# Forged, replayed and mismatched results


def forged_next(next_url, **changes):
    url = urlsplit(next_url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()} | changes
    return f"{url.path}?" + "&".join(f"{k}={v}" for k, v in query.items())


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"secret": "wrong"}, "missing or wrong secret"),
        ({"rtropo_result": "forged-reference"}, "its reference is unknown"),
        ({"rtropo_result": ""}, "has no reference"),
    ],
)
def test_a_forged_result_confirms_nothing(
    post_session, post_result, tropo, caplog, changes, reason
):
    _, row, next_url = answered_inline(post_session)
    actions = {"name": f"rtropo-{row.pk}", "disposition": "SUCCESS"}
    response = post_result(forged_next(next_url, **changes), result_payload(actions=actions))
    assert response.status_code == 403
    assert reason in caplog.text
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert AnswerReference.objects.filter(message_ids=[row.pk]).exists()


def test_a_result_of_another_session_confirms_nothing(post_session, post_result, tropo, caplog):
    _, row, next_url = answered_inline(post_session)
    actions = {"name": f"rtropo-{row.pk}", "disposition": "SUCCESS"}
    response = post_result(next_url, result_payload(session_id="e" * 32, actions=actions))
    assert response.status_code == 403
    assert document(response) == [{"hangup": {}}]
    assert "sessionId is not the answer's" in caplog.text
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert post_result(next_url, result_payload(actions=actions)).status_code == 200


@pytest.mark.parametrize("replayed", ["SUCCESS", "FAILED"])
def test_a_replayed_result_is_accepted_and_changes_nothing(
    post_session, post_result, tropo, caplog, replayed
):
    _, row, next_url = answered_inline(post_session)
    success = {"name": f"rtropo-{row.pk}", "disposition": "SUCCESS"}
    assert post_result(next_url, result_payload(actions=success)).status_code == 200
    row.refresh_from_db()
    caplog.clear()
    replay = {"name": f"rtropo-{row.pk}", "disposition": replayed}
    response = post_result(next_url, result_payload(actions=replay))
    assert (response.status_code, document(response)) == (200, [{"hangup": {}}])
    [record] = [r for r in caplog.records if "changes nothing" in r.getMessage()]
    assert record.levelname == "INFO"
    assert "settled or resent" in record.getMessage()
    assert OutboundMessage.objects.get() == row
    assert (row.status, row.result_at) == OutboundMessage.objects.values_list(
        "status", "result_at"
    ).get()


@pytest.mark.parametrize(
    "result",
    [
        "x",
        {"sessionId": None},
        {"sessionId": SESSION, "complete": "yes"},
        {"sessionId": SESSION, "actions": "SUCCESS"},
        {"sessionId": SESSION, "actions": [{"name": 5}]},
    ],
)
def test_a_malformed_result_is_a_bad_request(post_session, post_result, tropo, result):
    _, row, next_url = answered_inline(post_session)
    assert post_result(next_url, {"result": result}).status_code == 400
    row.refresh_from_db()
    assert row.status == Status.SENT


def test_a_result_the_app_fails_to_store_keeps_its_reference(post_session, tropo, client, settings):
    settings.ROOT_URLCONF = "tests.test_security_reports"  # a plain 500 page
    _, row, next_url = answered_inline(post_session)
    success = {"name": f"rtropo-{row.pk}", "disposition": "SUCCESS"}

    def refuse_updates(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and "rtropo_outboundmessage" in sql:
            raise OperationalError("the database went away")
        return execute(sql, params, many, context)

    body = json.dumps(result_payload(actions=success))
    with (
        db_connection.execute_wrapper(refuse_updates),
        pytest.raises(OperationalError),
    ):
        client.post(next_url, data=body, content_type="application/json")
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert AnswerReference.objects.filter(message_ids=[row.pk]).exists()
    retried = client.post(
        next_url, data=json.dumps(result_payload(actions=success)), content_type="application/json"
    )
    assert retried.status_code == 200
    row.refresh_from_db()
    assert row.status == Status.CONFIRMED
