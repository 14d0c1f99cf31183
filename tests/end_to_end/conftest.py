"""Real servers on loopback, nothing mocked between them.

Each test gets its own stack: the example project (``example/``) served by
Django's threaded development server in a subprocess, on its own copy of a
migrated SQLite file with the ``startproject`` DATABASES setting, and the Tropo
emulator as a real HTTP server in this process. The project's management
commands (``demo_send``, ``tropo_send_queued``) run as further subprocesses on
the same database, as cron or a shell would run them.
"""

import pytest

from tests.support.project import BACKEND_TIMEOUT, RETRY_BASE, free_port, project_env, run
from tests.support.stack import Stack


@pytest.fixture(scope="session")
def template_db(tmp_path_factory):
    """A migrated SQLite file of the example project, copied by every stack."""
    database = tmp_path_factory.mktemp("e2e-template") / "db.sqlite3"
    run(["migrate", "--noinput"], project_env(database, free_port(), {}))
    return database


@pytest.fixture
def start_stack(tmp_path, template_db):
    """Factory: ``start_stack(**backend_options)`` -> a running Stack; stopped at teardown.

    Backend options default to a 1 s Session API timeout, a long back-off and no
    SMS rate (the stack's emulator enforces none, and a short lease would shrink
    the in-flight window); teardown fails the test if the server logged a failed
    request.
    """
    stacks = []

    def start(**options):
        config = {
            "timeout": BACKEND_TIMEOUT,
            "retry_base": RETRY_BASE,
            "sms_per_second": 0,
            **options,
        }
        stack = Stack(tmp_path / f"stack{len(stacks)}", template_db, config)
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.stop()
    for stack in stacks:
        stack.assert_no_failed_requests()


@pytest.fixture
def stack(start_stack):
    """A running stack with the default settings (inline replies on)."""
    return start_stack()
