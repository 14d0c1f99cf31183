"""``make demo``: example/demo.py starts everything, a text gets its answer, Ctrl-C stops it."""

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from tests.support.project import DIRECT, EXAMPLE, STARTUP_TIMEOUT, free_port, project_env

DEMO = EXAMPLE / "demo.py"
READY_LINE = "Press Ctrl-C to stop."


def start_demo(tmp_path, *args):
    env = project_env(tmp_path / "demo.sqlite3", 0, {})
    for name in ("DEMO_EMULATOR_HOST", "DEMO_EMULATOR_PORT", "DEMO_TROPO_OPTIONS"):
        env.pop(name)
    return subprocess.Popen(  # noqa: S603 - our own interpreter and demo script
        [sys.executable, str(DEMO), *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_lines(stream, lines):
    for line in stream:
        lines.put(line)
    lines.put(None)


def wait_for_line(lines, text, seen, timeout=STARTUP_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {text!r} in the demo's output:\n{''.join(seen)}") from None
        if line is None:
            raise AssertionError(f"the demo exited before {text!r}:\n{''.join(seen)}")
        seen.append(line)
        if text in line:
            return


def post_json(url, data):
    request = urllib.request.Request(
        url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )
    with DIRECT.open(request, timeout=STARTUP_TIMEOUT) as response:
        return json.loads(response.read())


def test_the_demo_answers_a_text_and_stops_cleanly_on_ctrl_c(tmp_path):
    port, emulator_port = free_port(), free_port()
    demo = start_demo(tmp_path, "--port", str(port), "--emulator-port", str(emulator_port))
    lines, seen = queue.Queue(), []
    reader = threading.Thread(target=read_lines, args=(demo.stdout, lines), daemon=True)
    reader.start()
    try:
        wait_for_line(lines, READY_LINE, seen)
        answer = post_json(
            f"http://127.0.0.1:{emulator_port}/emulator/api/inbound",
            {"from": "+15555555001", "text": "ping"},
        )
        demo.send_signal(signal.SIGINT)
        wait_for_line(lines, "Demo stopped.", seen)
        assert demo.wait(timeout=STARTUP_TIMEOUT) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        reader.join(timeout=STARTUP_TIMEOUT)
        demo.stdout.close()

    output = "".join(seen)
    assert answer["status"] == 200
    assert [(d["to"], d["text"]) for d in answer["deliveries"]] == [("+15555555001", "pong")]
    assert f"http://127.0.0.1:{emulator_port}/" in output
    assert "user 'admin', password 'admin'" in output
    assert "secret=***" in output
    assert "e2e-inbound-secret" not in output
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_the_demo_names_a_port_that_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = start_demo(tmp_path, "--port", str(port), "--emulator-port", str(free_port()))
        output, _ = demo.communicate(timeout=STARTUP_TIMEOUT)

    assert demo.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in output
    assert not (tmp_path / "demo.sqlite3").exists()
