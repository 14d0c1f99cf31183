"""No error report or log record carries the inbound secret or the token (issue 13).

The 500s are real: an app that raises, and a database table that is gone. The
reports are Django's own: the DEBUG page, and the mail that the default
project's ``mail_admins`` handler (AdminEmailHandler) sends.
"""

import json
import logging

import django
import pytest
from django.core import mail
from django.db import connection
from django.http import HttpResponseServerError
from django.test import Client
from django.utils.log import AdminEmailHandler
from rapidsms.apps.base import AppBase
from rapidsms.router import lookup_connections, send
from rapidsms.router.blocking import BlockingRouter

from rtropo.models import OutboundMessage
from rtropo.outbox import release
from rtropo.payloads import parse_session
from tests.support.payloads import SECRET, callback_payload, inbound_payload

from . import urls

pytestmark = pytest.mark.django_db

RAW_URI = f"/tropo/?secret={SECRET}"

# The test project's URLs with a plain 500 page: RapidSMS's 500.html needs its own URLs.
urlpatterns = urls.urlpatterns


def handler500(request):
    return HttpResponseServerError("Server error")


class Breaks(AppBase):
    def handle(self, msg):
        raise RuntimeError("the app broke")


@pytest.fixture
def post_failing(settings):
    """POST a session that ends in a 500; return the response."""
    # Django 6.0 takes plain addresses and deprecates the (name, address) pairs before it.
    admin = "ops@example.com"
    settings.ADMINS = [admin] if django.VERSION >= (6, 0) else [("Ops", admin)]
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)

    def post(payload):
        response = client.post(
            f"/tropo/?secret={SECRET}&keep=1",
            data=json.dumps(payload),
            content_type="application/json",
            RAW_URI=RAW_URI,
            REQUEST_URI=RAW_URI,
        )
        assert response.status_code == 500
        return response

    return post


@pytest.fixture
def broken_database():
    """The launch table is gone (rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE rtropo_launch RENAME TO rtropo_launch_gone")


@pytest.fixture
def html_mail():
    """An AdminEmailHandler that also mails the HTML report, with its frame variables."""
    handler = AdminEmailHandler(include_html=True)
    handler.setLevel(logging.ERROR)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield
    logger.removeHandler(handler)


def failing_requests():
    """The two forced 500s: an inbound SMS whose app raises, a callback without its table."""
    return [
        pytest.param(lambda settings, request: inbound_payload(text="hi"), id="inbound"),
        pytest.param(
            lambda settings, request: (
                request.getfixturevalue("broken_database"),
                callback_payload("some-reference"),
            )[1],
            id="callback",
        ),
    ]


@pytest.fixture(params=failing_requests())
def failing_payload(request, settings, tropo):
    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[Breaks])
    return request.param(settings, request)


def assert_carries_neither(text, settings):
    """Neither the secret nor any 16 characters of the token (reports wrap long values)."""
    assert SECRET not in text
    fragments = {settings.TOKEN[i : i + 16] for i in range(len(settings.TOKEN) - 15)}
    assert [fragment for fragment in fragments if fragment in text] == []


def test_the_admin_mail_carries_neither_secret_nor_token(
    post_failing, failing_payload, settings, html_mail
):
    settings.DEBUG = False
    post_failing(failing_payload)
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert_carries_neither(message.subject + message.body, settings)
        assert "QUERY_STRING" in message.body
        assert "secret=********&keep=1" in message.body
    [(html, _)] = [alternative for message in mail.outbox for alternative in message.alternatives]
    assert "message_received" in html
    assert_carries_neither(html, settings)


def test_the_debug_page_carries_neither_secret_nor_token(post_failing, failing_payload, settings):
    settings.DEBUG = True
    page = post_failing(failing_payload).content.decode()
    assert_carries_neither(page, settings)
    assert "message_received" in page
    assert "RAW_URI" in page
    assert "REQUEST_URI" in page


def test_log_records_carry_neither_secret_nor_token(
    post_failing, failing_payload, settings, caplog
):
    post_failing(failing_payload)
    [error] = [record for record in caplog.records if record.name == "django.request"]
    assert error.levelno == logging.ERROR
    for record in caplog.records:
        assert_carries_neither(record.getMessage(), settings)
        assert_carries_neither(repr(getattr(record, "request", "")), settings)
    assert "secret=********" in repr(error.request)


def test_a_callbacks_repr_omits_its_token(settings):
    callback = parse_session(json.dumps(callback_payload("ref")).encode())
    assert callback.token == settings.TOKEN
    assert_carries_neither(repr(callback), settings)


def test_no_log_line_or_stored_error_carries_secret_token_or_reference(
    post_session, tropo, settings, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    post_session(inbound_payload(text="ping"))
    echo = json.dumps({"success": False, "token": settings.TOKEN, "reason": "Invalid token"})
    tropo.fail_with((200, {}, echo), (500, {}, echo))
    stored = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            send("hello", lookup_connections("tropo", ["+15555550002"]))
        stored += OutboundMessage.objects.values_list("last_error", flat=True)
        release.retry_now(OutboundMessage.objects.all())
    with django_capture_on_commit_callbacks(execute=True):
        send("hello", lookup_connections("tropo", ["+15555550003"]))
    post_session(callback_payload(tropo.references[-1], token="wrong"))
    post_session(callback_payload(tropo.references[-1]))
    assert len(tropo.references) == 3
    stored = " ".join(stored)
    for text in (caplog.text, stored):
        assert_carries_neither(text, settings)
        assert "old-secret" not in text
        for reference in tropo.references:
            assert reference not in text
    assert "Invalid token" in stored
