"""status.report and tropo_status: the facts, each problem's rule, the output, the exit codes."""

import dataclasses
import json
from datetime import timedelta

import pytest
from django.core import checks
from django.db import connection
from django.utils import timezone

from rtropo.checks import check_launch_refusals
from rtropo.inbox import spool
from rtropo.models import BackendHealth, Launch, OutboundMessage
from rtropo.outbox import launching, queue
from rtropo.payloads import InboundSMS
from rtropo.status import problems
from rtropo.status.report import backend_status
from tests.support.clock import travel
from tests.support.commands import tropo_status

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


def enqueue(config, *numbers):
    return queue.enqueue(config, [queue.Recipient(n, n) for n in numbers], "hi")


def codes(report):
    return [(problem.level, problem.code) for problem in report.problems]


def test_an_empty_backend_is_healthy_and_reports_every_status(config):
    report = backend_status(config())
    assert (report.level, report.exit_code, report.problems) == ("ok", 0, [])
    assert report.facts.rows == dict.fromkeys(Status.values, 0)
    assert report.facts.health.last_run_at is None


def test_the_facts_count_rows_due_awaiting_and_launches(config, tropo):
    settings = config(batch_size=2)
    enqueue(settings, "+15555550001", "+15555550002", "+15555550003")
    launching.launch_due(settings, settings.number)
    OutboundMessage.objects.filter(pk=3).update(
        status=Status.SENT, sent_at=timezone.now(), result_requested=True
    )
    facts = backend_status(settings).facts
    assert facts.rows["launched"] == 2 and facts.rows["sent"] == 1
    assert (facts.due, facts.awaiting_result, facts.pending_launches) == (0, 1, 1)
    assert facts.oldest_awaiting_at is not None and facts.oldest_launch_at is not None


def test_due_rows_are_late_after_two_minutes_and_critical_past_the_lease(config):
    settings = config(lease=600)
    enqueue(settings, "+15555550001")
    BackendHealth.objects.create(backend_name="tropo", last_run_at=timezone.now())
    travel(60)
    assert codes(backend_status(settings)) == []
    travel(120)
    assert codes(backend_status(settings)) == [("warning", "due_late")]
    travel(600)
    assert ("critical", "due_late") in codes(backend_status(settings))


def test_rows_waiting_while_launches_and_callbacks_go_on_are_not_late(config):
    """A campaign's rows wait for the in-flight window for as long as it takes."""
    settings = config(lease=300)
    enqueue(settings, "+15555550001")
    travel(600)
    BackendHealth.objects.create(
        backend_name="tropo", last_run_at=timezone.now(), last_callback_at=timezone.now()
    )
    assert codes(backend_status(settings)) == []
    travel(180)
    assert codes(backend_status(settings)) == [("warning", "due_late")]
    BackendHealth.objects.update(last_launch_at=timezone.now())
    assert codes(backend_status(settings)) == []
    travel(400)
    assert ("critical", "due_late") in codes(backend_status(settings))


def test_a_callback_is_late_after_a_minute_and_critical_past_the_lease(config, tropo):
    settings = config(lease=300)
    enqueue(settings, "+15555550001")
    launching.launch_due(settings, settings.number)
    travel(90)
    assert codes(backend_status(settings)) == [("warning", "callback_late")]
    travel(300)
    assert codes(backend_status(settings)) == [("critical", "callback_late")]


def test_the_command_is_missing_when_rows_are_due_and_it_ran_over_five_minutes_ago(config):
    settings = config()
    BackendHealth.objects.create(backend_name="tropo", last_run_at=timezone.now())
    travel(400)
    assert codes(backend_status(settings)) == []
    enqueue(settings, "+15555550001")
    assert codes(backend_status(settings)) == [("warning", "command_not_run")]


def test_results_missing_for_answers_past_the_lease_sent_after_the_last_result(config):
    settings = config(lease=60)
    [pk, other] = enqueue(settings, "+15555550001", "+15555550002")
    OutboundMessage.objects.filter(pk=pk).update(
        status=Status.SENT, sent_at=timezone.now(), result_requested=True
    )
    OutboundMessage.objects.filter(pk=other).update(status=Status.CONFIRMED)
    travel(30)
    assert codes(backend_status(settings)) == []
    travel(31)
    assert codes(backend_status(settings)) == [("critical", "results_missing")]
    OutboundMessage.objects.filter(pk=pk).update(status=Status.UNCONFIRMED)
    assert codes(backend_status(settings)) == [("critical", "results_missing")]
    OutboundMessage.objects.filter(pk=other).update(result_at=timezone.now())
    assert codes(backend_status(settings)) == []
    OutboundMessage.objects.filter(pk=other).update(result_at=None)
    assert codes(backend_status(config(confirm_delivery=False))) == []


def test_refused_requests_count_only_within_ten_minutes(config):
    settings = config()
    BackendHealth.objects.create(
        backend_name="tropo",
        refused_requests=4,
        refused_since=timezone.now(),
        last_refused_request_at=timezone.now(),
        last_refused_request_reason="missing or wrong secret",
    )
    [problem] = backend_status(settings).problems
    assert (problem.level, problem.code) == ("critical", "requests_refused")
    assert "refused 4 request(s)" in problem.message
    travel(601)
    assert backend_status(settings).problems == []


def test_tropo_status_prints_lines_and_exits_with_the_worst_level(config):
    enqueue(config(), "+15555550001")
    travel(200)
    run = tropo_status()
    assert run.code == 1
    lines = run.stdout.splitlines()
    assert lines[0] == "tropo: warning"
    assert lines[1] == "  rows: 1 queued, 0 launched, 0 sent, 0 confirmed, 0 unconfirmed, 0 failed"
    assert "  last tropo_send_queued: never" in lines
    assert lines[-1].startswith("  warning command_not_run: tropo_send_queued has never run")


def test_tropo_status_json_has_the_facts_and_the_problems(config):
    enqueue(config(), "+15555550001")
    travel(200)
    run = tropo_status("--json")
    [line] = run.stdout.splitlines()
    report = json.loads(line)
    assert (report["backend"], report["level"], report["due"]) == ("tropo", "warning", 1)
    assert report["rows"]["queued"] == 1
    assert report["last_run_at"] is None
    assert [p["code"] for p in report["problems"]] == ["due_late", "command_not_run"]
    assert set(report["problems"][0]) == {"level", "code", "message"}


def test_tropo_status_refuses_an_unknown_backend():
    run = tropo_status("--backend", "nope")
    assert run.code == 1
    assert "Not a Tropo backend in INSTALLED_BACKENDS: nope" in run.stderr


def test_a_healthy_backend_exits_0(config):
    run = tropo_status("--backend", "tropo")
    assert (run.code, run.stdout.splitlines()[0]) == (0, "tropo: ok")


# System checks


def test_check_warns_of_a_refused_last_launch_until_a_launch_succeeds(config):
    config()
    now = timezone.now()
    BackendHealth.objects.create(
        backend_name="tropo", last_refusal_at=now, last_refusal_reason="Invalid token"
    )
    [warning] = check_launch_refusals()
    assert warning.id == "rtropo.W003" and "Invalid token" in warning.msg
    BackendHealth.objects.update(last_launch_at=now + timedelta(seconds=1))
    assert check_launch_refusals() == []


def test_check_before_migrate_is_silent(config):
    config()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE rtropo_backendhealth")
    assert check_launch_refusals() == []


def test_plain_http_is_only_a_deployment_warning(config):
    config(api_url="http://10.0.0.1/sessions")
    assert "rtropo.W002" not in [m.id for m in checks.run_checks()]
    assert "rtropo.W002" in [m.id for m in checks.run_checks(include_deployment_checks=True)]


def test_launches_are_not_counted_as_late_when_answered(config, tropo):
    settings = config()
    enqueue(settings, "+15555550001")
    launch = launching.launch_due(settings, settings.number)
    Launch.objects.filter(pk=launch.pk).update(status=Launch.Status.ANSWERED)
    travel(900)
    assert "callback_late" not in [code for _, code in codes(backend_status(settings))]


def test_spooled_sms_are_a_warning_then_critical_when_not_replayed(config, settings, tmp_path):
    settings.RTROPO_SPOOL_DIR = str(tmp_path)
    backend = config()
    assert "spool_waiting" not in [code for _, code in codes(backend_status(backend))]
    spool.store("tropo", InboundSMS("a" * 32, "hello", "+15555550001", None, None))
    report = backend_status(backend)
    assert codes(report) == [("warning", "spool_waiting")]
    assert report.as_dict()["spooled"] == 1
    assert "inbound SMS in the spool: 1" in tropo_status().stdout
    stale = dataclasses.replace(
        report.facts, spooled=spool.Summary(tmp_path, 1, problems.SPOOL_GRACE.total_seconds() + 1)
    )
    assert problems.spool_waiting(backend, stale).level == "critical"
