"""The misconfigurations an operator must be told of, against a plain fake of the Session API.

Each scenario is named by ``tropo_status`` (level and code) and by a non-zero
exit of ``tropo_send_queued`` at its first run; time moves by ageing the stored
timestamps, not by sleeping.
"""

import collections
import json

import pytest
from rapidsms.router import send

from rtropo.conf import get_config
from rtropo.models import Launch, OutboundMessage
from rtropo.status import health
from tests.support.clock import travel
from tests.support.commands import problem_codes, send_queued, tropo_status
from tests.support.payloads import callback_payload, inbound_payload, load_fixture

pytestmark = pytest.mark.django_db

INVALID_TOKEN = (200, {}, '{"success": false, "reason": "Invalid token"}')
HTTP_500 = (500, {}, "")
LEASE = 30


@pytest.fixture
def send_now(django_capture_on_commit_callbacks):
    """RapidSMS's send(), its launch run as after the commit."""

    def send_text(text, connections):
        with django_capture_on_commit_callbacks(execute=True):
            send(text, connections)

    return send_text


def answers(response):
    """(number, text) of each message verb of a TropoML answer, and its result URL."""
    verbs = json.loads(response.content)["tropo"]
    sent = [(v["message"]["to"], v["message"]["say"]["value"]) for v in verbs if "message" in v]
    nexts = {verb["on"]["next"] for verb in verbs if "on" in verb}
    return sent, next(iter(nexts), None)


def post_result(client, next_url, session_id):
    result = load_fixture("result.json")
    result["result"]["sessionId"] = session_id
    response = client.post(next_url, data=json.dumps(result), content_type="application/json")
    assert response.status_code == 200


def test_a_wrong_messaging_token_is_critical_launch_refused(config, tropo, send_now, connection):
    config()
    tropo.fail_with(INVALID_TOKEN)
    send_now("hello", [connection])
    status = tropo_status()
    assert status.code == 2
    assert ("critical", "launch_refused") in problem_codes(status)
    assert "Invalid token" in status.stdout
    run = send_queued("-v", "0")
    assert (run.code, run.stdout) == (2, "")
    assert problem_codes(run) == [("critical", "launch_refused")]


def test_a_messaging_url_without_its_secret_is_critical_requests_refused(
    config, tropo, send_now, connection, post_session
):
    config()
    send_now("hello", [connection])
    [reference] = tropo.references
    assert post_session(callback_payload(reference), secret=None).status_code == 403
    health.flush(get_config("tropo"))  # the throttle's timer, within a minute of the launch
    status = tropo_status()
    assert status.code == 2
    assert problem_codes(status) == [("critical", "requests_refused")]
    assert "refused 1 request(s)" in status.stdout
    assert "missing or wrong secret" in status.stdout
    run = send_queued("-v", "0")
    assert run.code == 2
    assert problem_codes(run) == [("critical", "requests_refused")]


def test_a_periodic_command_never_scheduled_is_named_and_its_first_run_clears_it(
    config, tropo, send_now, connection
):
    config()
    tropo.fail_with(HTTP_500)
    send_now("hello", [connection])
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.QUEUED
    travel(200)  # past the back-off: due for nearly three minutes, and nothing launches it
    status = tropo_status()
    assert status.code == 1
    assert problem_codes(status) == [("warning", "due_late"), ("warning", "command_not_run")]
    run = send_queued("-v", "0")
    assert (run.code, run.stdout, run.stderr) == (0, "", "")
    assert tropo_status().code == 0


def answer_callbacks(client, tropo, answered):
    """Play Tropo's callback for every launch not yet called back; count what was texted."""
    for reference in tropo.references[answered:]:
        launch = Launch.objects.get(reference=reference)
        payload = callback_payload(reference, session_id=f"{launch.pk:032x}")
        response = client.post(
            "/tropo/?secret=new-secret", data=json.dumps(payload), content_type="application/json"
        )
        yield from answers(response)[0]


def test_result_posts_that_never_arrive_are_critical_and_nothing_is_sent_again(
    config, tropo, post_session
):
    config(lease=LEASE)
    sent, _ = answers(post_session(inbound_payload(text="ping")))
    assert sent == [("+15555550001", "pong")]
    travel(LEASE + 1)
    run = send_queued("-v", "0")
    assert run.code == 2
    assert problem_codes(run) == [("critical", "results_missing")]
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.UNCONFIRMED
    assert tropo.launches == []
    status = tropo_status()
    assert status.code == 2
    assert problem_codes(status) == [("critical", "results_missing")]


def test_with_results_lost_no_recipient_gets_more_than_two_copies(
    config, tropo, send_now, post_session, client, connection, caplog
):
    """Results work for one answer, then every later result is lost, for ten lease times."""
    config(lease=LEASE, max_attempts=10)
    lost, _ = answers(post_session(inbound_payload(text="ping", session_id="1" * 32)))
    send_now("campaign", [connection])
    texted = collections.Counter(lost)
    texted.update(answer_callbacks(client, tropo, 0))
    _, next_url = answers(post_session(inbound_payload(text="ping", session_id="2" * 32)))
    post_result(client, next_url, "2" * 32)  # the last result that ever arrives
    for _ in range(10):
        travel(LEASE + 1)
        answered = len(tropo.references)
        send_queued("-v", "0")
        texted.update(answer_callbacks(client, tropo, answered))
    assert texted[("+15555550001", "pong")] == 2  # the reply before the result: once more
    assert texted[("+15555550001", "campaign")] == 2
    assert max(texted.values()) <= 2
    assert "not sent again: no result was accepted since they were sent" in caplog.text


def test_a_healthy_deployment_is_ok_and_its_cron_prints_nothing(
    config, tropo, send_now, post_session, client, connection
):
    config(lease=LEASE)
    send_now("hello", [connection])
    [reference] = tropo.references
    payload = callback_payload(reference, session_id="c" * 32)
    response = client.post(
        "/tropo/?secret=new-secret", data=json.dumps(payload), content_type="application/json"
    )
    post_result(client, answers(response)[1], "c" * 32)
    _, next_url = answers(post_session(inbound_payload(text="ping")))
    post_result(client, next_url, inbound_payload()["session"]["id"])
    run = send_queued("-v", "0")
    assert (run.code, run.stdout, run.stderr) == (0, "", "")
    status = tropo_status()
    assert status.code == 0
    assert status.stdout.startswith("tropo: ok\n")
    assert OutboundMessage.objects.filter(status="confirmed").count() == 2


def test_once_a_result_is_accepted_again_the_kept_messages_are_sent_again_once(
    config, tropo, post_session, client, caplog
):
    config(lease=LEASE)
    answers(post_session(inbound_payload(text="ping", session_id="1" * 32)))
    travel(LEASE + 1)
    assert send_queued("-v", "0").code == 2
    _, next_url = answers(post_session(inbound_payload(text="ping", session_id="2" * 32)))
    post_result(client, next_url, "2" * 32)  # the result URL works again
    run = send_queued("-v", "0")
    assert (run.code, run.stderr) == (0, "")
    assert "1 unconfirmed message(s) on tropo are sent again: a result was accepted" in (
        caplog.text
    )
    texted = collections.Counter(answer_callbacks(client, tropo, 0))
    assert texted == {("+15555550001", "pong"): 1}
    assert tropo_status().code == 0
