"""docs/quickstart.rst pasted into a project fresh from ``startproject``, as a newcomer would.

Every code block, in order: settings appended to ``settings.py``, ``urls.py`` replaced,
a file written where its first comment line says, the ``send()`` sample pasted into
``manage.py shell``, and every ``$ python ...`` command run in the project (the
servers in the background, on free ports in place of 8000 and 8085). The text the
page sends gets its answer, the message sent from code reaches its phone, and the
admin still loads. Installing (``git clone``, ``pip install``) and ``make demo`` are
the repository's, not the project's: this run has the package already.
"""

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import processes, rst_blocks
from tests.support.project import (
    COMMAND_TIMEOUT,
    DIRECT,
    REPO,
    STARTUP_TIMEOUT,
    assert_no_failures,
    free_port,
)

QUICKSTART = REPO / "docs" / "quickstart.rst"
NOT_IN_A_PROJECT = {("make", "demo"), ("git", "clone"), ("pip", "install")}
SENT = "Your clinic appointment is tomorrow at 9:00."


class Newcomer:
    """A project made by ``startproject`` in ``root``, and the processes started in it."""

    def __init__(self, root: Path):
        self.root = root
        self.app_port, self.emulator_port = free_port(), free_port()
        self.app_url = f"http://127.0.0.1:{self.app_port}"
        self.emulator_url = f"http://127.0.0.1:{self.emulator_port}"
        unset = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
        self.env = {key: value for key, value in os.environ.items() if key not in unset}
        self.env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        self.env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
        self.background: list[tuple[subprocess.Popen, Path]] = []
        root.mkdir()
        self.run([sys.executable, "-m", "django", "startproject", "mysite", str(root)])

    def localize(self, text: str) -> str:
        """The docs' text with this run's free ports for the documented 8000 and 8085."""
        text = text.replace("127.0.0.1:8000", f"127.0.0.1:{self.app_port}")
        return text.replace("127.0.0.1:8085", f"127.0.0.1:{self.emulator_port}")

    def run(self, argv, stdin=None) -> str:
        result = subprocess.run(  # noqa: S603 - our own interpreter, the docs' commands
            argv,
            cwd=self.root,
            env=self.env,
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"{argv[1:]} exited {result.returncode}:\n{result.stderr}"
        assert_no_failures(result.stderr, " ".join(argv[1:]))
        return result.stdout

    def start(self, argv, ready) -> Path:
        """Start ``argv`` in the background; wait until ``ready()``; returns its log."""
        log_path = self.root / f"background-{len(self.background)}.log"
        with log_path.open("w", encoding="utf-8") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter, the docs' commands
                argv, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.background.append((process, log_path))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready(log_path.read_text(encoding="utf-8")):
            assert process.poll() is None, f"{argv[1:]} exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"{argv[1:]} not ready:\n{log_path.read_text()}"
            time.sleep(0.1)
        return log_path

    def stop(self):
        for process, _ in self.background:
            processes.stop(process)

    def logs(self) -> str:
        return "".join(path.read_text(encoding="utf-8") for _, path in self.background)


# -- pasting ------------------------------------------------------------------------


def paste_python(newcomer: Newcomer, block: rst_blocks.Block) -> None:
    """Put a Python block where the quickstart says it goes."""
    text = newcomer.localize(block.text) + "\n"
    first_line = text.splitlines()[0]
    if block.name.startswith("sample-settings"):
        with (newcomer.root / "mysite" / "settings.py").open("a", encoding="utf-8") as file:
            file.write("\n" + text)
    elif block.name == "sample-urls":
        (newcomer.root / "mysite" / "urls.py").write_text(text, encoding="utf-8")
    elif first_line.startswith("# ") and first_line.endswith(".py"):
        (newcomer.root / first_line[2:]).write_text(text, encoding="utf-8")
    elif block.name == "sample-send":
        pasted = newcomer.root / "pasted.py"
        pasted.write_text(text, encoding="utf-8")
        with pasted.open(encoding="utf-8") as stdin:
            newcomer.run([sys.executable, "manage.py", "shell"], stdin=stdin)
    else:
        pytest.fail(f"no rule for pasting {block.name} ({QUICKSTART.name}:{block.line})")


def run_console(newcomer: Newcomer, command: list[str]) -> None:
    """Run one ``$ `` command of the quickstart in the project."""
    if tuple(command[:2]) in NOT_IN_A_PROJECT:
        return
    assert command[0] == "python", command
    argv = [sys.executable, *command[1:]]
    if command[1:3] == ["manage.py", "runserver"]:
        newcomer.start(
            [*argv, "--noreload", f"127.0.0.1:{newcomer.app_port}"],
            ready=lambda log: "Quit the server with" in log,
        )
    elif command[1:3] == ["-m", "rtropo.emulator"]:
        newcomer.start(
            [*argv, "--port", str(newcomer.emulator_port)], ready=lambda log: "Session API:" in log
        )
    else:
        newcomer.run(argv)


def paste_quickstart(newcomer: Newcomer) -> list[str]:
    """Paste every block in order; returns the output lines the docs show for commands."""
    shown = []
    for block in rst_blocks.code_blocks(QUICKSTART):
        if block.language == "python":
            paste_python(newcomer, block)
            continue
        assert block.language == "console", block
        for line in newcomer.localize(block.text).splitlines():
            if line.startswith("$ "):
                run_console(newcomer, shlex.split(line[2:], comments=True))
            else:
                shown.append(line)
    return shown


# -- looking -----------------------------------------------------------------------


def emulator_api(newcomer: Newcomer, path: str, data=None) -> dict:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(
        newcomer.emulator_url + path, data=body, headers={"Content-Type": "application/json"}
    )
    with DIRECT.open(request, timeout=STARTUP_TIMEOUT) as response:
        return json.loads(response.read())


def delivered(newcomer: Newcomer, to: str, text: str) -> list[dict]:
    """The deliveries of ``text`` to ``to``, once there is one (or after the time-out)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        deliveries = emulator_api(newcomer, "/emulator/api/state")["deliveries"]
        found = [d for d in deliveries if (d["to"], d["text"]) == (to, text)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def admin_status(newcomer: Newcomer, path: str) -> tuple[int, str]:
    """The status and ``Location`` of a GET of the project's ``path``, not redirected."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
    try:
        with opener.open(newcomer.app_url + path, timeout=STARTUP_TIMEOUT) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")


@pytest.fixture
def newcomer(tmp_path):
    project = Newcomer(tmp_path / "project")
    yield project
    project.stop()


def test_the_pasted_quickstart_answers_texts_sends_and_keeps_the_admin(newcomer):
    shown = paste_quickstart(newcomer)
    assert f"Session API: {newcomer.emulator_url}/1.0/sessions" in shown
    assert set(shown) <= set(newcomer.logs().splitlines())

    sent = delivered(newcomer, "+15555550001", SENT)
    assert len(sent) == 1, newcomer.logs()
    assert sent[0]["from"] == "+15555550000"
    answer = emulator_api(
        newcomer, "/emulator/api/inbound", {"from": "+15555550002", "text": "hello Ada"}
    )
    assert answer["status"] == 200
    assert [(d["to"], d["text"]) for d in answer["deliveries"]] == [("+15555550002", "Hello, Ada!")]
    assert admin_status(newcomer, "/admin/") == (302, "/admin/login/?next=/admin/")
    assert admin_status(newcomer, "/admin/login/")[0] == 200
    assert_no_failures(newcomer.logs(), "the quickstart's servers")
