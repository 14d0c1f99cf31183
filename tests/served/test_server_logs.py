"""Errors of the Tropo view under gunicorn with DEBUG off: reported, and the secret in no log.

The project is the quickstart's (its URLconf has no ``rapidsms-login``, so
RapidSMS's 500 page cannot render), served with the docs' gunicorn.conf.py.
The failures are real: an app that raises, and the queue's tables gone.
"""

import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from tests.served import SECRET
from tests.support.payloads import callback_payload, inbound_payload, load_fixture
from tests.support.project import DIRECT, TOKEN

REFERENCE = "a-result-reference"
WRONG_SECRET = "an-old-secret"


def post(server, query, payload):
    request = urllib.request.Request(
        f"{server.url}/tropo/?{query}",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with DIRECT.open(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def queue_tables_gone(served):
    database = sqlite3.connect(served["SERVED_DATABASE"])
    with database:
        for table in ("rtropo_launch", "rtropo_answerreference"):
            database.execute(f"ALTER TABLE {table} RENAME TO {table}_gone")
    database.close()


def reports(served) -> list[dict]:
    with open(served["SERVED_REPORTS"], encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def test_each_error_is_reported_and_no_log_line_holds_the_secret(
    served, queue_tables_gone, gunicorn
):
    secret = f"secret={SECRET}"
    answers = [
        post(gunicorn, secret, inbound_payload(text="crash")),
        post(gunicorn, secret, callback_payload("some-reference")),
        post(gunicorn, f"{secret}&rtropo_result={REFERENCE}", load_fixture("result.json")),
        post(gunicorn, f"secret={WRONG_SECRET}", inbound_payload(text="hi")),
    ]
    gunicorn.stop()
    assert [status for status, _ in answers] == [500, 500, 500, 403]
    assert all(b"error was reported" in body for _, body in answers[:3])
    mails = reports(served)
    causes = [
        "RuntimeError at /tropo/\nthe app broke on crash\n",
        "OperationalError at /tropo/\nno such table: rtropo_launch\n",
        "OperationalError at /tropo/\nno such table: rtropo_answerreference\n",
    ]
    assert len(mails) == len(causes)
    for mail, cause in zip(mails, causes, strict=True):
        assert mail["subject"].endswith("Internal Server Error: /tropo/")
        assert cause in mail["message"]
    assert all("secret=********" in mail["message"] for mail in mails)
    assert all("message_received" in mail["html"] for mail in mails)
    error_log = gunicorn.error_log.read_text(encoding="utf-8")
    access_log = gunicorn.access_log.read_text(encoding="utf-8")
    assert "Error handling request" not in error_log
    assert access_log.count('"POST /tropo/ HTTP/1.1" 500') == 3
    assert access_log.count('"POST /tropo/ HTTP/1.1" 403') == 1
    everything = [error_log, access_log, *(json.dumps(mail) for mail in mails)]
    for text in everything:
        assert SECRET not in text
        assert WRONG_SECRET not in text
        assert TOKEN not in text
    assert REFERENCE not in access_log
