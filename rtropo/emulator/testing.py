"""A pytest fixture for suites that test against the emulator.

Enable it with ``pytest_plugins = ["rtropo.emulator.testing"]``, then::

    def test_reply(tropo_emulator, live_server):
        tropo = tropo_emulator(app_url=live_server.url + "/tropo/", token="TOKEN")
        tropo.send_sms("+15555550001", "ping")
        tropo.wait_for_deliveries(1)

A voice program (``call`` then ``say``) is a ``PhoneCall`` instead of deliveries::

    [call] = tropo.wait_for_calls(1)
    assert tropo.calls_to("+14155550100") == [call]
    assert call.spoken == ("Your appointment is tomorrow at 10.",)

Every emulator the factory started is stopped at teardown.

With pytest-django, an SQLite test database that would live in memory (Django's
default) is given a file in the temporary directory instead: the emulator calls
the live server while the test runs, and threads sharing one in-memory
connection fail with "database table is locked".
"""

import os
import tempfile
from pathlib import Path

import pytest

from .runner import Emulator


def pytest_configure(config):
    """Give each in-memory SQLite test database of a Django project a file."""
    if not config.pluginmanager.hasplugin("django"):
        return
    from django.conf import settings
    from django.db import connections

    if not (settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE")):
        return
    for connection in connections.all():
        test = connection.settings_dict["TEST"]
        if connection.vendor == "sqlite" and connection.creation.is_in_memory_db(
            test["NAME"] or ":memory:"
        ):
            name = f"rtropo-test-{connection.alias}-{os.getpid()}.sqlite3"
            test["NAME"] = str(Path(tempfile.gettempdir()) / name)


@pytest.fixture
def tropo_emulator():
    """Factory: ``tropo_emulator(app_url=..., token=..., **kwargs)`` -> a started Emulator."""
    started = []

    def start(**kwargs):
        emulator = Emulator(**kwargs).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in reversed(started):
        emulator.stop()
