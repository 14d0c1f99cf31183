import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import requests

from tests.support.processes import read_line, stop

ROOT = Path(__file__).parents[2]


def run(args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-W", "error", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        **kwargs,
    )


def test_cli_help():
    result = run(["-m", "rtropo.emulator", "--help"])
    assert result.returncode == 0, result.stderr
    for option in (
        "--app-url",
        "--token",
        "--number",
        "--host",
        "--port",
        "--allowed-host",
        "--history",
        "--hint",
        "--enforce-rate",
    ):
        assert option in result.stdout


def test_cli_history_must_be_positive():
    app_url = "http://127.0.0.1:8000/tropo/"
    result = run(["-m", "rtropo.emulator", "--app-url", app_url, "--token", "T", "--history", "0"])
    assert result.returncode == 2
    assert "must be at least 1" in result.stderr


def test_emulator_imports_without_django_or_pytest():
    code = (
        "import sys; sys.modules['django'] = None; sys.modules['pytest'] = None\n"
        "import rtropo.emulator, rtropo.emulator.__main__\n"
        "assert not any(m.startswith('rtropo.') and not m.startswith('rtropo.emulator')"
        " for m in sys.modules), sorted(sys.modules)"
    )
    result = run(["-c", code])
    assert result.returncode == 0, result.stderr


def test_pytest_plugin_fixture(tmp_path):
    (tmp_path / "test_uses_plugin.py").write_text(
        textwrap.dedent(
            """
            import requests

            pytest_plugins = ["rtropo.emulator.testing"]

            def test_it(tropo_emulator):
                tropo = tropo_emulator(app_url="http://127.0.0.1:1/", token="T")
                reply = requests.post(tropo.session_api_url, json={"token": "T"}, timeout=5)
                assert reply.json()["success"] is True
            """
        )
    )
    result = run(
        ["-m", "pytest", "-q", "-p", "no:django", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_cli_serves_until_interrupted():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-W", "error", "-m", "rtropo.emulator", "--port", "0"]
    command += ["--app-url", "http://127.0.0.1:1/", "--token", "T", "--hint", "Text ping"]
    command += ["--allowed-host", "tropo.test", "--history", "10"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        page_line = read_line(process.stdout, timeout=30)
        assert page_line.startswith("Tropo emulator page: http://127.0.0.1:")
        url = page_line.split(": ", 1)[1].strip()
        page = requests.get(url, headers={"Host": "tropo.test"}, timeout=5).text
        assert 'id="sms-form"' in page
        assert '<p id="sms-hint">Text ping</p>' in page
        state = requests.get(url + "emulator/api/state", timeout=5).json()
        assert state["history"] == 10
    finally:
        returncode = stop(process, signal.SIGINT, timeout=10)
        stderr = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
    assert returncode == 0, stderr


def test_cli_refuses_an_app_url_it_cannot_send_to():
    secret = "k8Dq" + "x" * 36
    for app_url, reason in (
        (f"http://127.0.0.1:8000/tropo/?secret={secret}…", "non-ASCII character '…'"),
        (f"127.0.0.1:8000/tropo/?secret={secret}", "is not an http:// or https:// URL"),
        (f"ftp://127.0.0.1/tropo/?secret={secret}", "is not an http:// or https:// URL"),
        (f"http:///tropo/?secret={secret}", "has no host"),
    ):
        result = run(["-m", "rtropo.emulator", "--app-url", app_url, "--token", "T", "--port", "0"])
        assert result.returncode == 2, app_url
        assert f"argument --app-url: app URL {app_url[:20]}" in result.stderr
        assert reason in result.stderr
        assert "Traceback" not in result.stderr
        assert secret not in result.stderr
        assert result.stdout == ""
