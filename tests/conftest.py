"""Fixtures of the unit tests: the Session API intercepted, the Tropo view, settings."""

import copy
import itertools
import json

import pytest
import responses

from tests.support.payloads import API_URL, SECRET


class TropoStub:
    """The Session API intercepted with real ``requests`` responses.

    Records each launch's JSON body; ``fail_with`` makes the next launches
    fail with the given (status, body) pairs.
    """

    def __init__(self, mock):
        self.mock = mock
        self.launches = []
        self.failures = []
        self._ids = itertools.count(1)
        mock.add_callback(responses.POST, API_URL, callback=self._reply)

    def _reply(self, request):
        body = json.loads(request.body)
        self.launches.append(body)
        if self.failures:
            return self.failures.pop(0)
        session_id = f"{next(self._ids):032x}\n"
        return 200, {}, json.dumps({"success": True, "token": body["token"], "id": session_id})

    @property
    def references(self):
        return [launch["rtropo_ref"] for launch in self.launches]

    def fail_with(self, *replies):
        self.failures.extend(replies)


@pytest.fixture(autouse=True)
def fresh_health_throttle():
    """Each test starts as a fresh process would: no health event pending or just written."""
    from rtropo.status import health

    health.forget()


@pytest.fixture
def tropo():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield TropoStub(mock)


@pytest.fixture
def post_session(client):
    """POST a session object to the Tropo view as Tropo would."""

    def post(payload, secret=SECRET, **extra):
        url = "/tropo/" if secret is None else f"/tropo/?secret={secret}"
        body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
        return client.post(url, data=body, content_type="application/json", **extra)

    return post


@pytest.fixture
def backend_settings(settings):
    """Edit the test backend's config: ``backend_settings(batch_size=2)``."""

    def update(**config):
        backends = copy.deepcopy(settings.INSTALLED_BACKENDS)
        backends["tropo"]["config"].update(config)
        settings.INSTALLED_BACKENDS = backends

    return update


@pytest.fixture
def config(backend_settings):
    """The test backend's config, after optional edits: ``config(max_attempts=2)``."""
    from rtropo.conf import get_config

    def build(**changes):
        backend_settings(**changes)
        return get_config("tropo")

    return build


@pytest.fixture
def connection(db):
    from rapidsms.router import lookup_connections

    return lookup_connections("tropo", ["+15555550001"])[0]
