"""The children of a test are bounded in time (tests/support/processes.py): one that
ignores the signal meant to stop it, or never prints, fails the test and is killed."""

import signal
import subprocess
import sys

import pytest

from tests.support.processes import read_line, stop

READY = "import time; print('ready', flush=True); time.sleep(120)"
IGNORES_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN); " + READY
#: Long enough for a child to start on a loaded machine; the test then fails, not waits.
START_TIMEOUT = 30.0


@pytest.fixture
def start():
    children = []

    def start(code):
        child = subprocess.Popen(  # noqa: S603 - our own interpreter
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        )
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()
        child.wait(timeout=START_TIMEOUT)
        child.stdout.close()


def test_a_child_that_ignores_sigint_fails_the_stop_and_is_killed(start):
    child = start(IGNORES_SIGINT)
    assert read_line(child.stdout, START_TIMEOUT) == "ready\n"
    with pytest.raises(AssertionError, match=r"did not exit within 0.5s of SIGINT: killed"):
        stop(child, signal.SIGINT, timeout=0.5)
    assert child.returncode == -signal.SIGKILL


def test_a_child_that_stops_on_sigint_gives_its_exit_status(start):
    child = start(READY)
    assert read_line(child.stdout, START_TIMEOUT) == "ready\n"
    assert stop(child, signal.SIGINT, timeout=START_TIMEOUT) == -signal.SIGINT


def test_a_child_that_prints_nothing_fails_the_read(start):
    child = start("import time; time.sleep(120)")
    with pytest.raises(AssertionError, match=r"no line from the child within 0.5s"):
        read_line(child.stdout, timeout=0.5)
