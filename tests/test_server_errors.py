"""An unexpected error of the view, in the quickstart's project: reported, answered, masked.

The quickstart's URLconf routes only the Tropo URL, so RapidSMS's ``500.html``
(which links to ``rapidsms-login``) cannot render: a 500 left to Django would
escape it with neither report nor answer.
"""

import logging

import django
import pytest
from django.core import mail
from django.core.signals import got_request_exception
from django.test import Client

from tests.support.payloads import SECRET, callback_payload

pytestmark = pytest.mark.django_db

# The quickstart's URLconf, as its own module: no rapidsms-login, no handler500.
urlpatterns = []


@pytest.fixture
def quickstart_urls(settings):
    from tests.test_docs import run_sample

    urlpatterns[:] = run_sample("sample-urls")["urlpatterns"]
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    admin = "ops@example.com"
    settings.ADMINS = [admin] if django.VERSION >= (6, 0) else [("Ops", admin)]
    yield
    urlpatterns.clear()


@pytest.fixture
def post(quickstart_urls):
    """POST a session to the quickstart's Tropo URL (an exception escaping Django fails)."""
    client = Client(raise_request_exception=False)

    def post_to(payload, secret=SECRET):
        return client.post(
            f"/tropo/?secret={secret}", data=payload, content_type="application/json"
        )

    return post_to


@pytest.fixture
def quickstart_backend(settings):
    backends = dict(settings.INSTALLED_BACKENDS)
    backends["my-tropo-backend"] = backends["tropo"]
    settings.INSTALLED_BACKENDS = backends


@pytest.fixture
def signalled():
    received = []

    def receiver(sender, request, **kwargs):
        received.append(request)

    got_request_exception.connect(receiver)
    yield received
    got_request_exception.disconnect(receiver)


def request_records(caplog):
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_missing_backend_is_reported_and_answered_500(post, caplog, signalled):
    response = post(callback_payload("ref"))
    assert response.status_code == 500
    [record] = request_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info[0].__name__ == "ImproperlyConfigured"
    assert "secret=********" in repr(record.request)
    [message] = mail.outbox
    assert "no backend named 'my-tropo-backend'" in message.body
    assert "secret=********" in message.body
    assert SECRET not in message.subject + message.body
    assert signalled == [record.request]


def test_a_database_failure_on_a_callback_is_reported_once(post, quickstart_backend, caplog):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE rtropo_launch RENAME TO rtropo_launch_gone")
    response = post(callback_payload("some-reference"))
    assert response.status_code == 500
    assert b"reported" in response.content
    [record] = request_records(caplog)
    assert "rtropo_launch" in str(record.exc_info[1])
    [message] = mail.outbox
    assert SECRET not in message.body


def test_a_wrong_secret_is_masked_in_the_report_of_its_403(post, quickstart_backend, caplog):
    response = post(callback_payload("ref"), secret="an-old-secret")
    assert response.status_code == 403
    [record] = request_records(caplog)
    assert record.levelno == logging.WARNING
    assert "an-old-secret" not in repr(record.request)
    assert record.request.META["QUERY_STRING"] == "secret=********"
    assert record.request.GET["secret"] == "********"


def test_with_debug_on_the_error_is_django_s_debug_page(post, settings):
    settings.DEBUG = True
    response = post(callback_payload("ref"))
    assert response.status_code == 500
    assert "ImproperlyConfigured" in response.content.decode()
