"""The inbound spool: an SMS the database cannot record is kept on disk, answered, and
routed once by ``tropo_send_queued`` after the database is back.

The database fails in the driver's place (an execute wrapper raising what a lost
server raises); the replay is SIGKILLed for real in a child process.
"""

import dataclasses
import json
import logging
import os
import stat
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import InterfaceError, InternalError, OperationalError
from django.db import connection as db_connection
from rapidsms.router.blocking import BlockingRouter

from rtropo.inbox import spool
from rtropo.models import InboundSession
from tests.support.payloads import inbound_payload
from tests.test_inbound_durable import (
    Counts,
    answered_texts,
    database_entry,
    let_the_claims_run_out,
    post_inbound,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.test_inbound_durable"),
]

Status = InboundSession.Status


class DatabaseDown:
    """An execute wrapper: every INSERT fails as an unreachable database does."""

    def __init__(self, error=OperationalError):
        self.error, self.refused = error, 0

    def __call__(self, execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT"):
            self.refused += 1
            raise self.error("connection to server at 127.0.0.1 failed: Connection refused")
        return execute(sql, params, many, context)


@pytest.fixture
def spool_dir(settings, tmp_path):
    settings.RTROPO_SPOOL_DIR = str(tmp_path / "spool")
    return tmp_path / "spool"


@pytest.fixture
def counts(settings):
    """Route through :class:`Counts`; the texts it was given."""
    Counts.seen = []
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[Counts])
    return Counts.seen


def send_queued():
    """What cron runs every minute."""
    call_command("tropo_send_queued", verbosity=0)


def entries(folder):
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


@pytest.mark.parametrize("error", [OperationalError, InterfaceError, InternalError])
def test_an_sms_the_database_cannot_record_is_answered_and_routed_once_when_it_is_back(
    error, spool_dir, tropo, post_session, counts, caplog
):
    down = DatabaseDown(error)
    with db_connection.execute_wrapper(down):
        response = post_inbound("hello")
    assert down.refused == 1
    assert response.status_code == 200
    assert json.loads(response.content)["tropo"] == [{"hangup": {}}]
    assert "spooled, the database could not record it" in caplog.text
    assert not InboundSession.objects.exists()
    assert counts == []
    assert len(entries(spool_dir)) == 1
    assert spool.summary().entries == 1

    send_queued()
    assert counts == ["hello"]
    assert entries(spool_dir) == []
    assert InboundSession.objects.get().status == Status.ROUTED
    assert len(tropo.launches) == 1
    assert answered_texts(post_session, tropo) == ["got hello"]

    let_the_claims_run_out()
    send_queued()
    assert counts == ["hello"]
    assert len(tropo.launches) == 1
    assert spool.summary() == spool.Summary(spool_dir, 0, None)


def test_sms_spooled_during_an_outage_reach_the_apps_oldest_first(spool_dir, tropo, counts):
    with db_connection.execute_wrapper(DatabaseDown()):
        for n, text in enumerate(("one", "two", "three")):
            assert post_inbound(text, session_id=f"{n:032x}").status_code == 200
    assert spool.summary().entries == 3
    send_queued()
    assert counts == ["one", "two", "three"]
    assert InboundSession.objects.filter(status=Status.ROUTED).count() == 3


@pytest.mark.parametrize("kill_point", ["after-insert", "while-routing"])
def test_a_replay_killed_part_way_records_nothing_twice_and_loses_nothing(
    kill_point, spool_dir, tropo, post_session, counts
):
    with db_connection.execute_wrapper(DatabaseDown()):
        assert post_inbound("hello").status_code == 200
    child = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "tests.support.killed_replay",
            json.dumps(database_entry()),
            str(spool_dir),
            kill_point,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    assert InboundSession.objects.get().status == Status.RECEIVED
    assert len(entries(spool_dir)) == (1 if kill_point == "after-insert" else 0)

    send_queued()
    assert entries(spool_dir) == []
    assert InboundSession.objects.count() == 1
    assert counts == [], "the claim of the killed replay was still live"

    let_the_claims_run_out()
    send_queued()
    send_queued()
    session = InboundSession.objects.get()
    assert (session.status, session.attempts) == (Status.ROUTED, 2)
    assert counts == ["hello"]
    assert answered_texts(post_session, tropo) == ["got hello"]


def test_an_entry_whose_session_is_recorded_already_is_removed_without_routing(
    spool_dir, tropo, counts
):
    assert post_inbound("hello", session_id="a" * 32).status_code == 200
    spool.store("tropo", _sms("hello", session_id="a" * 32))
    send_queued()
    assert entries(spool_dir) == []
    assert counts == ["hello"]
    assert InboundSession.objects.count() == 1


def test_an_unwritable_spool_is_a_503_and_an_error_line(settings, tmp_path, tropo, caplog):
    (tmp_path / "a-file").write_text("not a directory")
    settings.RTROPO_SPOOL_DIR = str(tmp_path / "a-file" / "spool")
    with db_connection.execute_wrapper(DatabaseDown()):
        response = post_inbound("hello")
    assert response.status_code == 503
    [record] = [
        r for r in caplog.records if r.name == "rtropo.inbox.inbound" and "503" in r.message
    ]
    assert record.levelno == logging.ERROR
    assert "the spool could not be written" in record.message
    assert "OperationalError" in record.message


def test_without_a_spool_directory_the_error_names_the_setting(settings, tropo, caplog):
    assert not hasattr(settings, "BASE_DIR")
    with db_connection.execute_wrapper(DatabaseDown()):
        assert post_inbound("hello").status_code == 503
    assert "RTROPO_SPOOL_DIR" in caplog.text
    assert spool.summary() == spool.Summary(None, 0, None)


def test_the_default_directory_is_under_base_dir(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    assert spool.directory() == tmp_path / "rtropo-spool"
    settings.RTROPO_SPOOL_DIR = str(tmp_path / "elsewhere")
    assert spool.directory() == tmp_path / "elsewhere"
    settings.RTROPO_SPOOL_DIR = tmp_path / "a-path"
    assert spool.store("tropo", _sms("hello")).parent == tmp_path / "a-path"


def test_a_run_while_the_database_still_refuses_fails_and_keeps_the_spool(spool_dir, tropo):
    with db_connection.execute_wrapper(DatabaseDown()):
        assert post_inbound("hello").status_code == 200
        with pytest.raises(OperationalError):
            send_queued()
    assert len(entries(spool_dir)) == 1
    send_queued()
    assert entries(spool_dir) == []
    assert InboundSession.objects.get().status == Status.ROUTED


def test_the_celery_task_replays_the_spool(spool_dir, tropo, counts):
    tasks = pytest.importorskip("rtropo.tasks", exc_type=ImportError)
    spool.store("tropo", _sms("hello"))
    tasks.send_queued()
    assert counts == ["hello"]
    assert entries(spool_dir) == []


def test_an_entry_is_whole_or_absent(spool_dir):
    path = spool.store("tropo", _sms("hello"))
    assert json.loads(path.read_bytes())["text"] == "hello"
    assert os.listdir(spool_dir) == [path.name]
    assert stat.S_IMODE(spool_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # What a process killed before the rename leaves: a temporary file, never read.
    (spool_dir / f".tmp-{path.name}").write_bytes(b'{"backend_name": "tro')
    assert [entry.path for entry in spool.pending("tropo")] == [path]
    assert spool.summary().entries == 1


def test_the_summary_counts_entries_and_gives_the_oldest_age(spool_dir):
    path = spool.store("tropo", _sms("one"))
    spool.store("other", _sms("two"))
    written, unique = path.name.split("-", 1)
    an_hour_earlier = int(written) - 3600 * 10**9
    path.rename(spool_dir / f"{an_hour_earlier:020d}-{unique}")
    summary = spool.summary()
    assert summary.entries == 2
    assert 3600 <= summary.oldest_age < 7200


def test_an_unreadable_entry_is_kept_and_logged(spool_dir, tropo, caplog):
    spool.store("tropo", _sms("hello"))
    [name] = entries(spool_dir)
    (spool_dir / name).write_bytes(b"not json")
    send_queued()
    assert entries(spool_dir) == [name]
    assert "is unreadable, kept for an operator" in caplog.text
    assert not InboundSession.objects.exists()


def test_entries_of_another_backend_wait_for_it(spool_dir, tropo):
    spool.store("another-backend", _sms("hello"))
    send_queued()
    assert len(entries(spool_dir)) == 1
    assert not InboundSession.objects.exists()


def test_an_entry_the_database_refuses_is_kept_and_the_others_are_routed(
    spool_dir, tropo, counts, caplog
):
    if db_connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce column lengths")
    too_long = dataclasses.replace(_sms("too long", session_id="b" * 32), account_id="a" * 65)
    kept = spool.store("tropo", too_long)
    spool.store("tropo", _sms("hello", session_id="c" * 32))
    send_queued()
    assert counts == ["hello"]
    assert os.listdir(spool_dir) == [kept.name]
    assert "Spooled SMS bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb could not be recorded; kept" in caplog.text
    assert list(InboundSession.objects.values_list("text", flat=True)) == ["hello"]


def _sms(text, session_id=None):
    from rtropo.payloads import parse_session

    body = json.dumps(inbound_payload(text=text, session_id=session_id)).encode()
    return parse_session(body)
