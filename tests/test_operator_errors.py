"""What the operator's tools do when the database, the spool or the settings are wrong."""

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from rtropo.conf import get_config
from rtropo.models import BackendHealth, OutboundMessage
from rtropo.status import health
from rtropo.status.report import backend_status
from tests.support.commands import send_queued, tropo_status
from tests.support.payloads import inbound_payload

pytestmark = pytest.mark.django_db


def database_down(execute, sql, params, many, context):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def test_tropo_status_exits_critical_when_the_database_cannot_be_read():
    with connection.execute_wrapper(database_down):
        run = tropo_status()
    assert run.code == 2
    assert "Could not read the state of the Tropo backends: OperationalError" in run.stderr


def test_the_admin_names_a_state_it_cannot_read(admin_client):
    url = reverse("admin:rtropo_outboundmessage_changelist")
    with connection.execute_wrapper(_fail_on("rtropo_backendhealth")):
        page = admin_client.get(url)
    assert page.status_code == 200
    assert [str(m) for m in page.context["messages"]] == [
        "tropo: its state cannot be read (OperationalError)"
    ]


def _fail_on(table):
    def wrapper(execute, sql, params, many, context):
        if table in sql:
            raise OperationalError(f"no such table: {table}")
        return execute(sql, params, many, context)

    return wrapper


def test_an_unreadable_spool_is_critical_and_the_run_goes_on(settings, tmp_path, tropo):
    not_a_directory = tmp_path / "spool"
    not_a_directory.write_text("")
    settings.RTROPO_SPOOL_DIR = str(not_a_directory)
    run = send_queued("-v", "0")
    assert run.code == 2
    assert "critical spool_waiting: The inbound spool" in run.stderr
    assert "NotADirectoryError" in run.stderr
    assert BackendHealth.objects.get().last_run_at is not None


def test_a_misconfigured_backend_stops_the_periodic_command_with_its_setting(backend_settings):
    backend_settings(messaging_token="")
    run = send_queued("-v", "0")
    assert run.code == 2
    assert "'messaging_token' must be a non-empty string" in run.stderr


def test_the_sweep_runs_when_the_project_stores_naive_times(settings, post_session, tropo):
    settings.USE_TZ = False
    post_session(inbound_payload(text="ping"))
    OutboundMessage.objects.update(sent_at=timezone.now() - timedelta(hours=1))
    run = send_queued("-v", "0")
    assert "results_missing" in run.stderr
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.UNCONFIRMED
    assert tropo.launches == []


def test_events_kept_back_are_written_at_exit(config):
    backend = config()
    health.inbound_received(backend)
    health.request_refused(backend, "missing or wrong secret")
    assert BackendHealth.objects.get().refused_requests == 0
    health._recorder.flush_all()
    assert BackendHealth.objects.get().refused_requests == 1
    assert backend_status(get_config("tropo")).facts.recent_refusals == 1
