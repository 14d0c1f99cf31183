"""A test's child processes, bounded in time: a child that does not print or does not
stop fails the test instead of hanging the suite."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading

STOP_TIMEOUT = 10.0


def stop(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
    """Send ``sig`` to ``process`` if it still runs; return its exit status once it exits.

    A child still running ``timeout`` seconds after the signal is SIGKILLed and reaped,
    and an AssertionError names the signal it did not stop on.
    """
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
        raise AssertionError(
            f"pid {process.pid} ({process.args[:3]}) did not exit within {timeout}s "
            f"of {signal.Signals(sig).name}: killed"
        ) from None


def read_line(stream, timeout: float) -> str:
    """The next line of a child's text ``stream`` (``""`` at its end), or an AssertionError
    after ``timeout`` seconds without one."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no line from the child within {timeout}s") from None
