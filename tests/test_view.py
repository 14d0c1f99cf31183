"""The messaging URL: authentication, parsing, inbound routing and callbacks."""

import json

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rapidsms.apps.base import AppBase
from rapidsms.backends.database.models import BackendMessage
from rapidsms.router import lookup_connections, send
from rapidsms.router.blocking import BlockingRouter

from rtropo import periodic
from rtropo.conf import get_config
from rtropo.models import InboundSession, Launch, OutboundMessage
from tests.support.payloads import SECRET, callback_payload, inbound_payload, load_fixture

pytestmark = pytest.mark.django_db

Status = OutboundMessage.Status


def tropo_document(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content.decode("utf-8"))["tropo"]


def messages_in(response):
    return [verb["message"] for verb in tropo_document(response) if "message" in verb]


def queue_and_launch(django_capture_on_commit_callbacks, *identities, text="hello"):
    with django_capture_on_commit_callbacks(execute=True):
        send(text, lookup_connections("tropo", list(identities)))
    return Launch.objects.order_by("-pk").first()


# Authentication and shape


def test_get_is_not_allowed(client, caplog):
    assert client.get("/tropo/?secret=new-secret").status_code == 405
    assert "method not allowed" in caplog.text


@pytest.mark.parametrize("secret", [None, "", "wrong", "new-secret-and-more"])
def test_missing_or_wrong_secret_is_forbidden(post_session, secret, caplog):
    response = post_session(inbound_payload(), secret=secret)
    assert response.status_code == 403
    assert "missing or wrong secret" in caplog.text
    assert not InboundSession.objects.exists()


@pytest.mark.parametrize("secret", ["old-secret", "new-secret"])
def test_every_secret_of_the_rotation_list_is_accepted(post_session, tropo, secret):
    assert post_session(inbound_payload(), secret=secret).status_code == 200


def test_no_secret_configured_accepts_any_request(post_session, backend_settings, tropo):
    backend_settings(inbound_secret=None)
    assert post_session(inbound_payload(), secret=None).status_code == 200


def test_form_posts_are_unsupported_media(client, caplog):
    response = client.post("/tropo/?secret=new-secret", data={"session": "x"})
    assert response.status_code == 415
    assert "content type is not JSON" in caplog.text


def test_bodies_over_the_cap_are_refused(post_session, backend_settings, caplog):
    backend_settings(max_body_bytes=100)
    response = post_session(inbound_payload(text="x" * 200))
    assert response.status_code == 413
    assert "body too large" in caplog.text


@pytest.mark.parametrize("body", [b"{", b'{"result": {}}', b'"session"'])
def test_bodies_that_are_not_sessions_are_bad_requests(post_session, body, caplog):
    assert post_session(body).status_code == 400
    assert "Rejected POST" in caplog.text


# Inbound SMS


def test_inbound_sms_is_routed_and_the_reply_rides_inline(post_session, tropo):
    response = post_session(inbound_payload(text="ping"))
    assert response.status_code == 200
    row = OutboundMessage.objects.get()
    assert messages_in(response) == [
        {
            "say": {"value": "pong"},
            "to": "+15555550001",
            "from": "+15555550000",
            "network": "SMS",
            "channel": "TEXT",
            "name": f"rtropo-{row.pk}",
        }
    ]
    assert "hangup" not in tropo_document(response)[-1]
    assert tropo.launches == []
    assert row.status == Status.SENT
    assert row.external_id == "3b43948e921da539a358747c389567a8"
    assert row.session_id == "3b43948e921da539a358747c389567a8"


def test_inbound_fields_reach_the_router(post_session, tropo, settings):
    from rapidsms.messages.incoming import IncomingMessage

    seen = []
    original = IncomingMessage.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append((self.text, self.connections[0].identity, self.fields))

    IncomingMessage.__init__ = spy
    try:
        post_session(inbound_payload(text="hello 🙂"))
    finally:
        IncomingMessage.__init__ = original
    assert seen == [
        (
            "hello 🙂",
            "+15555550001",
            {
                "external_id": "3b43948e921da539a358747c389567a8",
                "to": "+15555551212",
                "tropo_account_id": "12345",
            },
        )
    ]
    json.dumps(seen[0][2])


def test_unicode_reply_travels_as_utf8(post_session, tropo):
    response = post_session(inbound_payload(text="echo Habari 你好 🙂"))
    assert messages_in(response)[0]["say"]["value"] == "Habari 你好 🙂"
    assert "你好".encode() in response.content


def test_a_replayed_inbound_session_is_not_routed_again(post_session, tropo, caplog):
    first = post_session(inbound_payload(text="ping"))
    second = post_session(inbound_payload(text="ping"))
    assert len(messages_in(first)) == 1
    assert messages_in(second) == []
    assert OutboundMessage.objects.count() == 1
    assert "routed already" in caplog.text


def test_inline_replies_off_launches_a_session(
    post_session, tropo, backend_settings, django_capture_on_commit_callbacks
):
    backend_settings(inline_replies=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_session(inbound_payload(text="ping"))
    assert tropo_document(response) == [{"hangup": {}}]
    assert len(tropo.launches) == 1
    assert OutboundMessage.objects.get().status == Status.LAUNCHED


class TwoReplies(AppBase):
    def handle(self, msg):
        msg.respond("first")
        msg.respond("second")
        return True


def test_replies_beyond_batch_size_take_the_launch_path(
    post_session, tropo, backend_settings, settings, django_capture_on_commit_callbacks
):
    backend_settings(batch_size=1)
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[TwoReplies])
    with django_capture_on_commit_callbacks(execute=True):
        response = post_session(inbound_payload(text="anything"))
    assert [m["say"]["value"] for m in messages_in(response)] == ["first"]
    second = OutboundMessage.objects.get(text="second")
    assert second.status == Status.LAUNCHED
    assert len(tropo.launches) == 1


class SendsWhileTheQueueIsWorked(AppBase):
    def handle(self, msg):
        send("held for the answer", msg.connections)
        periodic.send_queued(get_config("tropo"))
        return True


def test_a_held_reply_is_not_taken_by_a_concurrent_launch(post_session, tropo, settings):
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[SendsWhileTheQueueIsWorked])
    response = post_session(inbound_payload(text="anything"))
    assert [m["say"]["value"] for m in messages_in(response)] == ["held for the answer"]
    assert tropo.launches == []
    assert OutboundMessage.objects.get().session_id == "3b43948e921da539a358747c389567a8"


class SendsThenFails(AppBase):
    def handle(self, msg):
        send("on its way", msg.connections)
        raise RuntimeError("the app broke")


def test_an_app_that_fails_keeps_the_session_on_record_and_launches_what_it_sent(
    post_session, tropo, settings
):
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[SendsThenFails])
    settings.DEBUG_PROPAGATE_EXCEPTIONS = True
    with pytest.raises(RuntimeError, match="the app broke"):
        post_session(inbound_payload(text="anything"))
    assert InboundSession.objects.get().text == "anything"
    assert OutboundMessage.objects.get().status == Status.LAUNCHED
    assert len(tropo.launches) == 1
    replay = Client().post(
        f"/tropo/?secret={SECRET}",
        data=json.dumps(inbound_payload(text="anything")),
        content_type="application/json",
    )
    assert tropo_document(replay) == [{"hangup": {}}]
    assert OutboundMessage.objects.count() == 1


class Listens(AppBase):
    in_transaction: list[bool] = []

    def handle(self, msg):
        self.in_transaction.append(db_connection.in_atomic_block)
        return True


@pytest.mark.django_db(transaction=True)
def test_apps_run_after_the_session_record_commits_and_leave_the_outbox_alone(
    post_session, tropo, settings
):
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[Listens])
    Listens.in_transaction.clear()
    with CaptureQueriesContext(db_connection) as queries:
        response = post_session(inbound_payload(text="thanks"))
    assert tropo_document(response) == [{"hangup": {}}]
    assert Listens.in_transaction == [False]
    assert InboundSession.objects.get().text == "thanks"
    touched = [q["sql"] for q in queries.captured_queries if "rtropo_outboundmessage" in q["sql"]]
    assert touched == []


# Callbacks


def test_callback_answers_one_message_verb_per_recipient(
    post_session, tropo, django_capture_on_commit_callbacks
):
    launch = queue_and_launch(django_capture_on_commit_callbacks, "+15555550001", "+15555550002")
    response = post_session(callback_payload(launch.reference))
    assert response.status_code == 200
    assert [(m["to"], m["say"]["value"], m["from"]) for m in messages_in(response)] == [
        ("+15555550001", "hello", "+15555550000"),
        ("+15555550002", "hello", "+15555550000"),
    ]
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    launch.refresh_from_db()
    assert launch.status == Launch.Status.ANSWERED


def test_a_replayed_callback_gets_no_message_verbs(
    post_session, tropo, django_capture_on_commit_callbacks, caplog
):
    launch = queue_and_launch(django_capture_on_commit_callbacks, "+15555550001")
    assert len(messages_in(post_session(callback_payload(launch.reference)))) == 1
    replay = post_session(callback_payload(launch.reference))
    assert replay.status_code == 200
    assert tropo_document(replay) == [{"hangup": {}}]
    assert "names no pending launch" in caplog.text


def test_a_wrong_token_is_forbidden_and_sends_nothing(
    post_session, tropo, django_capture_on_commit_callbacks
):
    launch = queue_and_launch(django_capture_on_commit_callbacks, "+15555550001")
    response = post_session(callback_payload(launch.reference, token="voice-token"))
    assert response.status_code == 403
    assert messages_in(response) == []
    assert OutboundMessage.objects.get().status == Status.LAUNCHED


@pytest.mark.parametrize("reference", [None, "", "forged", "x" * 500])
def test_unknown_references_send_nothing(
    post_session, tropo, django_capture_on_commit_callbacks, reference
):
    queue_and_launch(django_capture_on_commit_callbacks, "+15555550001")
    payload = callback_payload(reference)
    if reference is None:
        del payload["session"]["parameters"]["rtropo_ref"]
    response = post_session(payload)
    assert response.status_code == 200
    assert messages_in(response) == []
    assert OutboundMessage.objects.get().status == Status.LAUNCHED


def test_the_fixture_callback_with_its_own_parameters_sends_nothing(post_session, tropo):
    payload = load_fixture("launch-callback-with-parameters.json")
    assert messages_in(post_session(payload)) == []
    assert post_session(payload).status_code == 403


def test_an_expired_reference_sends_nothing(
    post_session, tropo, django_capture_on_commit_callbacks
):
    launch = queue_and_launch(django_capture_on_commit_callbacks, "+15555550001")
    Launch.objects.update(expires_at=timezone.now())
    assert messages_in(post_session(callback_payload(launch.reference))) == []


def test_a_reference_of_another_backend_sends_nothing(
    post_session, tropo, django_capture_on_commit_callbacks
):
    launch = queue_and_launch(django_capture_on_commit_callbacks, "+15555550001")
    Launch.objects.update(backend_name="other")
    assert messages_in(post_session(callback_payload(launch.reference))) == []


def test_a_callback_also_takes_other_due_rows_and_launches_for_the_rest(
    post_session, tropo, backend_settings, django_capture_on_commit_callbacks
):
    backend_settings(batch_size=3)
    first = queue_and_launch(django_capture_on_commit_callbacks, "+15555550001")
    for n in range(2, 7):
        queue_and_launch(django_capture_on_commit_callbacks, f"+1555555000{n}")
    assert len(tropo.launches) == 1
    response = post_session(callback_payload(first.reference))
    assert [m["to"] for m in messages_in(response)] == [
        "+15555550001",
        "+15555550002",
        "+15555550003",
    ]
    assert len(tropo.launches) == 2
    second = Launch.objects.get(reference=tropo.references[1])
    response = post_session(callback_payload(second.reference, session_id="f" * 32))
    assert [m["to"] for m in messages_in(response)] == [
        "+15555550004",
        "+15555550005",
        "+15555550006",
    ]
    assert OutboundMessage.objects.exclude(status=Status.SENT).count() == 0
    assert len(tropo.launches) == 2


def test_database_backend_is_untouched(post_session, tropo):
    post_session(inbound_payload(text="ping"))
    assert not BackendMessage.objects.exists()
