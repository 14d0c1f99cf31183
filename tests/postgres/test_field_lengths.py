"""Every payload field kept in a bounded column is checked before the database sees it.

PostgreSQL refuses an over-long value for a ``varchar(n)`` (SQLite stores it),
which would be a 500 and an SMS not recorded; the view answers 400 naming the
field instead. Each bound is the column's own ``max_length``.
"""

import logging

import pytest
from rapidsms.router import lookup_connections, send

from rtropo.models import InboundSession, Launch, OutboundMessage
from tests.support.payloads import callback_payload, inbound_payload, load_fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def bound(model, field: str) -> int:
    return model._meta.get_field(field).max_length


def inbound(key, value):
    payload = inbound_payload(text="ping")
    if key in ("from", "to"):
        payload["session"][key] = {"id": value}
    else:
        payload["session"][key] = value
    return payload


def digits(length: int) -> str:
    """A number whose normalised form (``+`` and digits) has ``length`` characters."""
    return "1" * (length - 1)


def result(session_id):
    payload = load_fixture("result.json")
    payload["result"]["sessionId"] = session_id
    return payload


def callback(reference, session_id):
    return callback_payload(reference, session_id=session_id)


# (field named in the reason, the column bounding it, payload of a value of n characters)
FIELDS = [
    pytest.param(
        "session.id",
        (InboundSession, "session_id"),
        lambda n, ref: inbound("id", "s" * n),
        id="inbound-session-id",
    ),
    pytest.param(
        "session.accountId",
        (InboundSession, "account_id"),
        lambda n, ref: inbound("accountId", "a" * n),
        id="account-id",
    ),
    pytest.param(
        "session.from",
        (InboundSession, "identity"),
        lambda n, ref: inbound("from", digits(n)),
        id="from-number",
    ),
    pytest.param(
        "session.to",
        (InboundSession, "to_number"),
        lambda n, ref: inbound("to", digits(n)),
        id="to-number",
    ),
    pytest.param(
        "session.id",
        (Launch, "session_id"),
        lambda n, ref: callback(ref, session_id="c" * n),
        id="callback-session-id",
    ),
    pytest.param(
        "session.id",
        (OutboundMessage, "session_id"),
        lambda n, ref: callback(ref, session_id="c" * n),
        id="answered-session-id",
    ),
    pytest.param(
        "result.sessionId",
        (OutboundMessage, "session_id"),
        lambda n, ref: result("r" * n),
        id="result-session-id",
    ),
]


@pytest.fixture
def pending_launch(tropo, django_capture_on_commit_callbacks):
    """A message launched and awaiting its callback; the launch's reference."""
    with django_capture_on_commit_callbacks(execute=True):
        send("hello", lookup_connections("tropo", ["+15555550002"]))
    [reference] = tropo.references
    return reference


@pytest.mark.parametrize(("field", "column", "payload"), FIELDS)
def test_an_over_long_value_is_a_400_naming_the_field(
    field, column, payload, post_session, pending_launch, caplog
):
    caplog.set_level(logging.WARNING, logger="rtropo.views")
    too_long = bound(*column) + 1
    response = post_session(payload(too_long, pending_launch))
    assert response.status_code == 400
    [reason] = [record.getMessage() for record in caplog.records if record.name == "rtropo.views"]
    assert f": {field} " in reason
    assert "(HTTP 400)" in reason
    assert not InboundSession.objects.exists()
    assert Launch.objects.get().status == Launch.Status.PENDING
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.LAUNCHED


STORED = [
    pytest.param(
        (InboundSession, "session_id"), lambda n: inbound("id", "s" * n), "s", id="session-id"
    ),
    pytest.param(
        (InboundSession, "account_id"),
        lambda n: inbound("accountId", "a" * n),
        "a",
        id="account-id",
    ),
    pytest.param(
        (InboundSession, "identity"), lambda n: inbound("from", digits(n)), "+1", id="from"
    ),
    pytest.param((InboundSession, "to_number"), lambda n: inbound("to", digits(n)), "+1", id="to"),
]


@pytest.mark.parametrize(("column", "payload", "starts"), STORED)
def test_a_value_of_the_columns_length_is_stored(column, payload, starts, post_session, tropo):
    model, name = column
    response = post_session(payload(bound(*column)))
    assert response.status_code == 200
    [stored] = model.objects.values_list(name, flat=True)
    assert len(stored) == bound(*column)
    assert stored.startswith(starts)


def test_a_callback_session_id_of_the_columns_length_is_stored(post_session, pending_launch):
    session_id = "c" * bound(Launch, "session_id")
    response = post_session(callback(pending_launch, session_id=session_id))
    assert response.status_code == 200
    assert Launch.objects.get().session_id == session_id
    assert OutboundMessage.objects.get().session_id == session_id
