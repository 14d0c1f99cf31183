"""``rtropo.urls``, 0.2's URLconf: included under any prefix, reversed as ``tropo`` with the
backend name, and a real POST through it reaches the Tropo view."""

import copy
import json

import pytest
from django.urls import Resolver404, resolve, reverse

from rtropo.models import InboundSession, OutboundMessage
from rtropo.views import message_received
from tests.support.payloads import SECRET, inbound_payload

pytestmark = pytest.mark.django_db

PREFIXES = {
    "tests.include_urls.tropo_prefix": "/tropo/",
    "tests.include_urls.sms_in_prefix": "/sms/in/",
}


@pytest.fixture(params=sorted(PREFIXES))
def prefix(request, settings):
    """The prefix ``rtropo.urls`` is included under, with its URLconf as the root one."""
    settings.ROOT_URLCONF = request.param
    return PREFIXES[request.param]


def post_inbound(client, url, text="ping"):
    body = json.dumps(inbound_payload(text=text))
    return client.post(url, data=body, content_type="application/json")


def test_reverse_puts_the_backend_name_under_the_prefix(prefix):
    assert reverse("tropo", kwargs={"backend_name": "tropo"}) == f"{prefix}tropo/"
    assert reverse("tropo", kwargs={"backend_name": "my-tropo_2"}) == f"{prefix}my-tropo_2/"


def test_the_url_resolves_to_the_view_with_the_backend_name(prefix):
    match = resolve(f"{prefix}tropo/")
    assert match.func is message_received
    assert match.kwargs == {"backend_name": "tropo"}
    assert match.url_name == "tropo"


def test_an_inbound_sms_posted_with_the_secret_is_routed(prefix, client, tropo):
    url = reverse("tropo", kwargs={"backend_name": "tropo"})
    response = post_inbound(client, f"{url}?secret={SECRET}")
    assert response.status_code == 200
    sms = InboundSession.objects.get()
    assert (sms.backend_name, sms.identity, sms.text) == ("tropo", "+15555550001", "ping")
    assert sms.status == InboundSession.Status.ROUTED
    verbs = json.loads(response.content)["tropo"]
    assert [verb["message"]["say"]["value"] for verb in verbs if "message" in verb] == ["pong"]
    assert OutboundMessage.objects.get().status == OutboundMessage.Status.SENT


@pytest.mark.parametrize("query", ["", "?secret=", "?secret=wrong"])
def test_a_post_without_the_secret_is_refused(prefix, client, query, caplog):
    response = post_inbound(client, f"{prefix}tropo/{query}")
    assert response.status_code == 403
    assert "missing or wrong secret" in caplog.text
    assert not InboundSession.objects.exists()


def test_a_dashed_backend_name_is_that_backend(prefix, client, settings, tropo):
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["my-tropo"] = backends["tropo"]
    settings.INSTALLED_BACKENDS = backends
    response = post_inbound(client, f"{prefix}my-tropo/?secret={SECRET}")
    assert response.status_code == 200
    assert InboundSession.objects.get().backend_name == "my-tropo"


@pytest.mark.parametrize("name", ["nope", "tropo.x", "message_tester"])
def test_a_name_that_is_no_tropo_backend_does_not_match(prefix, settings, name):
    """Not matched, so the project's 404 answers (not the view's 500 for a bad name)."""
    backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
    backends["message_tester"] = {"ENGINE": "rapidsms.backends.database.DatabaseBackend"}
    settings.INSTALLED_BACKENDS = backends
    with pytest.raises(Resolver404):
        resolve(f"{prefix}{name}/")
