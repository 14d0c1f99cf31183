"""A pytest fixture for suites that test against the emulator.

Enable it with ``pytest_plugins = ["rtropo.emulator.testing"]``, then::

    def test_reply(tropo_emulator, live_server):
        tropo = tropo_emulator(app_url=live_server.url + "/tropo/", token="TOKEN")
        tropo.send_sms("+15555550001", "ping")
        tropo.wait_for_deliveries(1)

Every emulator the factory started is stopped at teardown.
"""

import pytest

from .runner import Emulator


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
