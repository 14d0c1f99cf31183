"""Hostile input to the Tropo view, generated with hypothesis.

Every test first queues two messages and launches a session for them, so a
pending launch with rows waits for its callback; fuzzed requests must never
claim them. Invariants: no 5xx (the test client re-raises view errors), no
``message`` verb in any answer, nothing routed or queued, every rejection logged
with its reason.
"""

import copy
import json
import logging
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rapidsms.router import lookup_connections, send

from rtropo.models import InboundSession, Launch, OutboundMessage
from tests.support.payloads import SECRET, load_fixture

pytestmark = pytest.mark.django_db

URL = f"/tropo/?secret={SECRET}"
JSON = "application/json"
fuzz = hypothesis_settings(
    max_examples=200,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
not_strings = json_values.filter(lambda v: not isinstance(v, str))
not_objects = json_values.filter(lambda v: not isinstance(v, dict))
huge_strings = st.integers(10_001, 60_000).map(lambda n: "x" * n)
bad_numbers = (
    st.text(max_size=30).filter(lambda s: any(c.isalpha() for c in s))
    | st.integers(0, 99).map(str)
    | st.integers(10**15, 10**20).map(str)
)
with_nul = st.tuples(st.text(max_size=20), st.text(max_size=20)).map("\x00".join)
noise = st.dictionaries(st.text(max_size=10).map(lambda k: f"x_{k}"), json_values, max_size=3)


class Fuzzer:
    """Posts to the view and checks the invariants after each request."""

    def __init__(self, client, caplog, launch):
        self.client = client
        self.caplog = caplog
        self.launch = launch
        self.statuses = {}

    def request(self, method="POST", url=URL, body=b"", content_type=JSON):
        before = self._counts()
        self.caplog.clear()
        response = self.client.generic(method, url, data=body, content_type=content_type)
        assert response.status_code < 500
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.get("Content-Type", "").startswith(JSON):
            assert json.loads(response.content) == {"tropo": [{"hangup": {}}]}
        assert self._counts() == before
        if response.status_code >= 400:
            assert self._logged(f"Rejected {method} to the Tropo view of tropo")
            assert self._logged(f"(HTTP {response.status_code})")
        else:
            assert self._logged("names no pending launch")
        return response

    def post_json(self, document, url=URL):
        return self.request(body=json.dumps(document).encode(), url=url)

    def check_rows_untouched(self):
        launch = Launch.objects.get()
        assert (launch.pk, launch.status) == (self.launch.pk, Launch.Status.PENDING)
        assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"launched"}

    def _counts(self):
        return (
            InboundSession.objects.count(),
            OutboundMessage.objects.count(),
            OutboundMessage.objects.filter(status="sent").count(),
            Launch.objects.count(),
        )

    def _logged(self, text):
        return any(
            r.levelno >= logging.WARNING and text in r.getMessage() for r in self.caplog.records
        )


@pytest.fixture
def fuzzer(tropo, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        send("private", lookup_connections("tropo", ["+15555550001", "+15555550002"]))
    launch = Launch.objects.get()
    fuzzer = Fuzzer(Client(), caplog, launch)
    yield fuzzer
    fuzzer.check_rows_untouched()
    assert len(tropo.launches) == 1


def set_path(document, path, value):
    """Replace (or with ``value is DELETE`` remove) the item at ``path``."""
    *parents, last = path
    target = document
    for key in parents:
        target = target[key]
    if value is DELETE:
        target.pop(last, None)
    else:
        target[last] = value
    return document


DELETE = object()


@st.composite
def broken_inbound(draw):
    """The inbound fixture with one required part wrong, plus random extra keys."""
    document = load_fixture("inbound-sms.json")
    document["session"].update(draw(noise))
    path, bad = draw(
        st.sampled_from(
            [
                (("session", "id"), not_strings | st.just("") | st.just(DELETE)),
                (("session", "id"), st.text(min_size=65, max_size=200)),
                (("session", "initialText"), not_strings | st.just(DELETE)),
                (("session", "initialText"), huge_strings),
                (("session", "from"), not_objects | st.just(DELETE)),
                (("session", "from", "id"), not_strings | bad_numbers | st.just(DELETE)),
                (("session", "to"), not_objects.filter(lambda v: v is not None)),
                (("session", "to", "id"), not_strings | bad_numbers),
                (("session", "accountId"), not_strings.filter(lambda v: v is not None)),
                (("session", "id"), with_nul),
                (("session", "initialText"), with_nul),
                (("session", "accountId"), with_nul),
                (("session",), not_objects | st.just(DELETE)),
            ]
        )
    )
    return set_path(document, path, draw(bad))


@st.composite
def forged_callback(draw):
    """A launch callback with a forged token, reference or shape."""
    document = load_fixture(draw(st.sampled_from(["launch-callback.json", "inbound-sms.json"])))
    session = document["session"]
    session.update(draw(noise))
    session["parameters"] = {
        "token": settings.TOKEN,
        "action": "create",
        "rtropo_ref": draw(st.text(max_size=100)),
    }
    forgery = draw(st.sampled_from(["token", "reference", "parameters", "types"]))
    if forgery == "token":
        session["parameters"]["token"] = draw(
            st.text(min_size=1).filter(lambda t: t != settings.TOKEN)
        )
    elif forgery == "reference":
        session["parameters"]["rtropo_ref"] = draw(
            st.one_of(st.none(), st.text(max_size=100), st.text(min_size=40, max_size=50), with_nul)
        )
    elif forgery == "parameters":
        session["parameters"] = draw(not_objects.filter(lambda v: v is not None))
    else:
        key = draw(st.sampled_from(["token", "rtropo_ref"]))
        session["parameters"][key] = draw(not_strings.filter(lambda v: v is not None))
    return document


@fuzz
@given(document=broken_inbound())
def test_broken_inbound_sessions_are_rejected(fuzzer, document):
    assert fuzzer.post_json(document).status_code in (400, 413)


@fuzz
@given(document=forged_callback())
def test_forged_callbacks_never_get_message_verbs(fuzzer, document):
    assert fuzzer.post_json(document).status_code in (200, 400, 403)


def test_the_real_reference_with_a_wrong_token_is_forbidden(fuzzer):
    document = load_fixture("launch-callback.json")
    document["session"]["parameters"] = {"token": "x", "rtropo_ref": fuzzer.launch.reference}
    assert fuzzer.post_json(document).status_code == 403


@fuzz
@given(
    body=st.binary(max_size=2000)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.integers(1, 30_000).map(lambda depth: b"[" * depth + b"]" * depth)
    | st.integers(1, 5_000).map(lambda depth: b'{"session":' * depth + b"1" + b"}" * depth)
    | st.binary(min_size=1, max_size=200).map(lambda b: b'{"session": "' + b + b"\xff\xfe")
)
def test_random_bodies_are_bad_requests(fuzzer, body):
    status = fuzzer.request(body=body).status_code
    assert status == (415 if not body else 400)


@fuzz
@given(size=st.integers(65_537, 200_000), wrapped=st.booleans())
def test_oversized_bodies_are_refused_unread(fuzzer, size, wrapped):
    text = "x" * size
    body = json.dumps({"session": {"id": "a", "initialText": text}}) if wrapped else text
    assert fuzzer.request(body=body.encode()).status_code == 413


@fuzz
@given(
    content_type=st.sampled_from(
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/xml",
            "application/json-patch+json",
            "text/json",
        ]
    )
    | st.text(max_size=40).filter(lambda t: t.split(";")[0].strip().lower() != JSON),
    body=st.binary(min_size=1, max_size=300)
    | st.just(json.dumps(load_fixture("inbound-sms.json")).encode()),
)
def test_other_content_types_are_unsupported(fuzzer, content_type, body):
    assert fuzzer.request(body=body, content_type=content_type).status_code == 415


#: Query parameters other than ``secret``.
QUERY_PARAMETERS = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k != "secret"),
    st.text(max_size=20),
    max_size=4,
)


@fuzz
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
    | st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=10).filter(lambda m: m != "POST"),
    body=st.binary(max_size=100) | st.just(json.dumps(load_fixture("inbound-sms.json")).encode()),
)
def test_other_methods_are_not_allowed(fuzzer, method, body):
    assert fuzzer.request(method=method, body=body).status_code == 405


@fuzz
@given(
    params=QUERY_PARAMETERS,
    secret=st.none() | st.text(max_size=30).filter(lambda s: s not in ("old-secret", SECRET)),
)
def test_query_strings_without_a_valid_secret_are_forbidden(fuzzer, params, secret):
    query = dict(params) if secret is None else {**params, "secret": secret}
    document = load_fixture("inbound-sms.json")
    response = fuzzer.post_json(document, url=f"/tropo/?{urlencode(query)}")
    assert response.status_code == 403


@fuzz
@given(
    params=QUERY_PARAMETERS,
    document=broken_inbound(),
)
def test_extra_query_parameters_change_nothing(fuzzer, params, document):
    url = f"/tropo/?{urlencode({**params, 'secret': SECRET})}"
    assert fuzzer.post_json(document, url=url).status_code in (400, 413)


def test_fuzzing_reached_every_rejection(fuzzer):
    """The strategies above are able to produce each kind of rejection."""
    inbound = load_fixture("inbound-sms.json")
    fuzzer.request(method="GET")
    fuzzer.post_json(inbound, url="/tropo/")
    fuzzer.request(body=b"{}", content_type="text/plain")
    fuzzer.request(body=b" " * 70_000)
    fuzzer.request(body=b"\xff")
    fuzzer.post_json(copy.deepcopy(load_fixture("launch-callback-with-parameters.json")))
    assert fuzzer.statuses == {405: 1, 403: 2, 415: 1, 413: 1, 400: 1}
