"""The kill points themselves: what they tell apart, and that one really SIGKILLs."""

import json
import signal
import urllib.error
import urllib.request

import pytest

from tests.support.payloads import load_fixture
from tests.support.project import DIRECT, SECRET, AppServer, free_port, project_env, run

from .kills import request_kind, statement_label


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("inbound-sms.json", "inbound"),
        ("launch-callback-with-parameters.json", "callback"),
        ("result.json", "result"),
        ("result-with-actions.json", "result"),
    ],
)
def test_request_kind_tells_tropo_posts_apart(fixture, kind):
    assert request_kind(json.dumps(load_fixture(fixture)).encode()) == kind


@pytest.mark.parametrize("body", [b"", b"\xff", b"[]", b'{"session": 1}', b'{"other": {}}'])
def test_request_kind_of_anything_else(body):
    assert request_kind(body) == "other"


@pytest.mark.parametrize(
    ("sql", "label"),
    [
        ('INSERT INTO "rtropo_inboundsession" ("x") VALUES (%s)', "INSERT rtropo_inboundsession"),
        ('SELECT 1 AS "a" FROM "rtropo_launch" WHERE "id" = %s', "SELECT rtropo_launch"),
        ('UPDATE "rtropo_outboundmessage" SET "status" = %s', "UPDATE rtropo_outboundmessage"),
        ("BEGIN", "BEGIN"),
    ],
)
def test_statement_label(sql, label):
    assert statement_label(sql) == label


def test_a_kill_point_sigkills_the_server_before_its_first_statement(tmp_path):
    env = {
        **project_env(tmp_path / "db.sqlite3", free_port(), {}),
        "DJANGO_SETTINGS_MODULE": "tests.faults.app_settings",
        "FAULT_RECEIVED_DB": str(tmp_path / "received.sqlite3"),
        "FAULT_KILL_LOG": str(tmp_path / "kills.log"),
    }
    run(["migrate", "--noinput"], env)
    armed = {**env, "FAULT_KILL_RATES": json.dumps({"inbound": 1.0}), "FAULT_KILL_SEED": "1"}
    server = AppServer(armed, free_port(), tmp_path / "server.log").start()
    request = urllib.request.Request(
        f"{server.url}/tropo/?secret={SECRET}",
        data=json.dumps(load_fixture("inbound-sms.json")).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            DIRECT.open(request, timeout=30)
        assert server.process.wait(timeout=30) == -signal.SIGKILL
    finally:
        server.stop()
    [line] = (tmp_path / "kills.log").read_text(encoding="utf-8").splitlines()
    assert line.startswith("inbound\tbefore statement 1 (")
