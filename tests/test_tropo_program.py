"""TropoBackend.execute_tropo_program: a Tropo program stored, launched alone, answered
with its own verbs at the callback and settled by its result."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from rtropo import periodic
from rtropo.conf import get_config
from rtropo.exceptions import InvalidProgram, TropoError
from rtropo.models import Launch, OutboundMessage
from rtropo.outbox import queue, scheduler
from rtropo.outgoing import TropoBackend
from rtropo.status.facts import gather
from tests.support.payloads import callback_payload, result_payload
from tests.support.results import result_settled_now

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status
VOICE_TOKEN = "v0ice" * 10
SESSION = "76b05a0b25127dbf59a4627f6dcd38a7"
#: The appointment reminder of Tropo's WebAPI guide: a phone call that speaks.
REMINDER = {
    "tropo": [
        {"call": {"to": "+1 555 555 0001"}},
        {"say": {"value": "Your clinic appointment is tomorrow at 9:00."}},
    ]
}
TEXT_CONVERSATION = {
    "tropo": [
        {"call": {"to": "+15555550002", "network": "SMS", "channel": "TEXT"}},
        {"say": {"value": "Reply YES to confirm."}},
    ]
}


@pytest.fixture
def backend(settings):
    def build():
        return TropoBackend(None, "tropo", **settings.INSTALLED_BACKENDS["tropo"])

    return build


@pytest.fixture
def execute(backend, django_capture_on_commit_callbacks):
    """Run a program through the backend, with on-commit work run as after a commit."""

    def run(program):
        with django_capture_on_commit_callbacks(execute=True):
            return backend().execute_tropo_program(program)

    return run


def document(response):
    return json.loads(response.content.decode("utf-8"))["tropo"]


@pytest.mark.parametrize(
    ("program", "problem"),
    [
        ([{"say": {"value": "hi"}}], 'only key is "tropo"'),
        ({"tropo": [], "x": 1}, 'only key is "tropo"'),
        ({"tropo": []}, "non-empty list"),
        ({"tropo": {"say": {"value": "hi"}}}, "non-empty list"),
        ({"tropo": [{"speak": {"value": "hi"}}]}, "verb 0 .* not a dict with one key among"),
        ({"tropo": [{"say": {}, "hangup": {}}]}, "verb 0"),
        ({"tropo": [{"say": {}}, "hangup"]}, "verb 1"),
        ({"tropo": [{"say": {"value": object()}}]}, "not JSON"),
        ({"tropo": [{"wait": {"milliseconds": float("nan")}}]}, "not JSON"),
        ({"tropo": [{"say": {"value": "x" * 70_000}}]}, "bytes of JSON, over 65536"),
    ],
)
def test_an_invalid_program_is_refused_and_nothing_is_stored(backend, tropo, program, problem):
    with pytest.raises(InvalidProgram, match=problem) as raised:
        backend().execute_tropo_program(program)
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, TropoError)
    assert not OutboundMessage.objects.exists()
    assert tropo.launches == []


def test_every_documented_verb_is_accepted(backend, tropo):
    verbs = ["ask", "call", "conference", "hangup", "message", "on", "record", "redirect"]
    verbs += ["reject", "say", "startRecording", "stopRecording", "transfer", "wait"]
    row_id = backend().execute_tropo_program({"tropo": [{verb: {}} for verb in verbs]})
    assert OutboundMessage.objects.get(pk=row_id).text == "Tropo program"


def test_the_program_is_stored_before_the_call_returns(backend, tropo):
    # Inside the caller's transaction nothing is launched yet: the row alone holds it.
    row_id = backend().execute_tropo_program(REMINDER)
    row = OutboundMessage.objects.get(pk=row_id)
    assert row.program == REMINDER
    assert (row.status, row.to_number, row.identity) == (
        Status.QUEUED,
        "+15555550001",
        "+1 555 555 0001",
    )
    assert row.text == "Your clinic appointment is tomorrow at 9:00."
    assert tropo.launches == []


def sms(number="+15555550003"):
    """Queue one message without launching it."""
    [row_id] = queue.enqueue(get_config("tropo"), [queue.Recipient(number, number)], "sms")
    return row_id


def test_a_call_launches_at_once_with_the_voice_token(backend_settings, execute, tropo):
    backend_settings(voice_token=VOICE_TOKEN)
    row_id = execute(REMINDER)
    assert [launch["token"] for launch in tropo.launches] == [VOICE_TOKEN]
    launch = Launch.objects.get()
    assert (launch.program, launch.size) == (True, 1)
    row = OutboundMessage.objects.get(pk=row_id)
    assert (row.status, row.launch_id, row.attempts) == (Status.LAUNCHED, launch.pk, 1)
    assert "appointment" not in json.dumps(tropo.launches)


def test_a_program_is_launched_alone_before_the_due_messages(
    backend_settings, backend, tropo, settings
):
    backend_settings(voice_token=VOICE_TOKEN, batch_size=5)
    first = sms()
    row_id = backend().execute_tropo_program(REMINDER)
    second = sms("+15555550004")
    assert periodic.send_queued(get_config("tropo")).launches == 2
    assert [launch["token"] for launch in tropo.launches] == [VOICE_TOKEN, settings.TOKEN]
    program_launch, sms_launch = Launch.objects.order_by("pk")
    assert (sms_launch.program, sms_launch.size, program_launch.program) == (False, 2, True)
    launched = dict(OutboundMessage.objects.values_list("pk", "launch_id"))
    assert launched == {first: sms_launch.pk, second: sms_launch.pk, row_id: program_launch.pk}


def test_a_text_conversation_launches_with_the_messaging_token(
    backend_settings, execute, tropo, settings
):
    backend_settings(voice_token=VOICE_TOKEN)
    execute(TEXT_CONVERSATION)
    assert [launch["token"] for launch in tropo.launches] == [settings.TOKEN]


def test_without_a_voice_token_a_call_launches_with_the_messaging_token(execute, tropo, settings):
    execute(REMINDER)
    assert [launch["token"] for launch in tropo.launches] == [settings.TOKEN]


def test_the_callback_answers_the_program_and_asks_for_its_result(
    backend_settings, execute, tropo, post_session
):
    backend_settings(voice_token=VOICE_TOKEN)
    row_id = execute(REMINDER)
    # A message queued meanwhile is not added to the program's session: it is launched.
    waiting = sms()
    [reference] = tropo.references
    response = post_session(callback_payload(reference, token=VOICE_TOKEN))
    verbs = document(response)
    assert verbs[:2] == REMINDER["tropo"]
    assert [verb["on"]["event"] for verb in verbs[2:]] == [
        "continue",
        "incomplete",
        "error",
        "hangup",
    ]
    row = OutboundMessage.objects.get(pk=row_id)
    assert (row.status, row.session_id, row.result_requested) == (Status.SENT, SESSION, True)
    assert OutboundMessage.objects.get(pk=waiting).status == Status.LAUNCHED
    assert Launch.objects.filter(program=False).count() == 1


def test_without_confirmation_the_program_ends_with_a_hangup(
    backend_settings, execute, tropo, post_session
):
    backend_settings(confirm_delivery=False)
    execute(TEXT_CONVERSATION)
    verbs = document(post_session(callback_payload(tropo.references[0])))
    assert verbs == [*TEXT_CONVERSATION["tropo"], {"hangup": {}}]


def test_the_voice_token_is_refused_for_a_message_launch(
    backend_settings, tropo, post_session, django_capture_on_commit_callbacks
):
    backend_settings(voice_token=VOICE_TOKEN)
    config = get_config("tropo")
    with django_capture_on_commit_callbacks(execute=True):
        sms()
        scheduler.schedule(config)
    response = post_session(callback_payload(tropo.references[0], token=VOICE_TOKEN))
    assert response.status_code == 403
    assert OutboundMessage.objects.get().status == Status.LAUNCHED


def test_a_replayed_callback_is_answered_with_a_hangup_and_sends_nothing(
    execute, tropo, post_session
):
    row_id = execute(REMINDER)
    payload = callback_payload(tropo.references[0])
    assert document(post_session(payload))[:2] == REMINDER["tropo"]
    assert document(post_session(payload)) == [{"hangup": {}}]
    row = OutboundMessage.objects.get(pk=row_id)
    assert (row.status, row.attempts) == (Status.SENT, 1)


def test_a_failed_launch_backs_off_and_is_retried(execute, tropo, config):
    tropo.fail_with((500, {}, "down"))
    before = timezone.now()
    row_id = execute(REMINDER)
    row = OutboundMessage.objects.get(pk=row_id)
    assert (row.status, row.attempts) == (Status.QUEUED, 1)
    assert row.last_error == "Session API answered HTTP 500"
    assert row.next_attempt_at > before
    assert periodic.send_queued(config()).launches == 0
    assert periodic.send_queued(config(), include_backing_off=True).launches == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, len(tropo.launches)) == (Status.LAUNCHED, 2, 2)
    assert Launch.objects.filter(status=Launch.Status.FAILED, program=True).count() == 1


@pytest.mark.parametrize(
    ("complete", "error", "status"),
    [(True, None, Status.CONFIRMED), (False, "Call failed: busy", Status.FAILED)],
)
def test_the_result_settles_the_program(
    execute, tropo, post_session, client, complete, error, status
):
    row_id = execute(REMINDER)
    verbs = document(post_session(callback_payload(tropo.references[0])))
    next_url = verbs[-1]["on"]["next"]
    payload = result_payload(SESSION, complete=complete, error=error)
    response = client.post(next_url, data=json.dumps(payload), content_type="application/json")
    assert document(response) == [{"hangup": {}}]
    row = OutboundMessage.objects.get(pk=row_id)
    assert row.status == status
    assert row.result_at is not None


def test_the_admin_shows_the_program_row(execute, tropo, admin_client):
    execute(REMINDER)
    page = admin_client.get("/admin/rtropo/outboundmessage/").content.decode()
    assert "Tropo program" in page
    assert "+15555550001" in page


def test_tropo_status_counts_the_program_like_a_message(backend):
    backend().execute_tropo_program(REMINDER)
    facts = gather(get_config("tropo"), timezone.now())
    assert (facts.rows.get("queued"), facts.due) == (1, 1)


def test_a_program_without_a_result_is_unconfirmed_and_launched_again(
    execute, tropo, post_session, config
):
    row_id = execute(REMINDER)
    post_session(callback_payload(tropo.references[0]))
    OutboundMessage.objects.filter(pk=row_id).update(sent_at=timezone.now() - timedelta(hours=1))
    result_settled_now()
    assert periodic.send_queued(config()).launches == 1
    row = OutboundMessage.objects.get(pk=row_id)
    assert (row.status, row.unconfirmed_count, row.attempts) == (Status.LAUNCHED, 1, 2)
    assert Launch.objects.filter(program=True).count() == 2
