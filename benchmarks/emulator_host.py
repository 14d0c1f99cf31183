"""Run the Tropo emulator in its own process, with a control API for the benchmarks.

``python -m benchmarks.emulator_host --token T`` prints one JSON line with the
emulator's and the control server's ports, then serves until stdin closes.
``--history`` sizes the emulator's records to the run (totals come from its
counters, which never forget; per-recipient figures need every delivery kept);
``--enforce-rate`` enforces one SMS per ``--rate-interval`` seconds per sender;
``--number`` (repeatable) gives the application's numbers, a pool.

Control API (JSON):

- ``POST /reset`` ``{"app_url": ..., "delayed": false}``: forget everything, call
  back ``app_url`` (through the delay proxy when ``delayed``);
- ``GET /wait?count=N&timeout=S``: block until N deliveries, report counters,
  distinct recipients and duplicates, and the first and last delivery times
  (``time.time()``), and the deliveries by sending number;
- ``GET /senders``: each recipient's sending numbers (``{"complete", "senders"}``);
- ``POST /texts`` ``{"texts": [[phone, app_number], ...], "text", "concurrency",
  "timeout"}``: each phone texts ``text`` to that number of the app; reports the
  texts not answered 200 (``errors``) and the SMS delivered meanwhile (the replies);
- ``POST /conversations`` ``{"count", "concurrency", "text", "replies", "timeout"}``:
  phones text the app (each from its own number, ``concurrency`` at a time) and
  the time from each inbound POST to its replies' delivery is reported.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from benchmarks.delay_proxy import DelayProxy
from rtropo.emulator import DEFAULT_HISTORY, Emulator
from tests.support.http_stub import JSONHandler

_numbers = itertools.count(1)


def counters(emulator: Emulator) -> dict:
    """Totals and delivery times of the emulator since its reset.

    Totals are the emulator's counters; what needs every record (recipients,
    duplicates, created launches, the first delivery) is None once the bounded
    history has forgotten some, so that a report shows it missing, never wrong.
    """
    totals = emulator.engine.state(limit=1)["counters"]
    deliveries, launches = emulator.deliveries, emulator.launches
    complete = len(deliveries) == totals["deliveries"]
    per_recipient = collections.Counter(d.to for d in deliveries)
    times = [d.delivered_at for d in deliveries]
    return {
        "deliveries": totals["deliveries"],
        "recipients": len(per_recipient) if complete else None,
        "duplicates": totals["deliveries"] - len(per_recipient) if complete else None,
        "launches": totals["launches"],
        "created_launches": (
            sum(1 for x in launches if x.outcome == "created")
            if len(launches) == totals["launches"]
            else None
        ),
        "callbacks": totals["callbacks"],
        "results": totals["results"],
        "first_delivery": min(times) if complete and times else None,
        "last_delivery": max(times, default=None),
        "by_sender": dict(collections.Counter(d.from_ for d in deliveries)) if complete else None,
    }


def senders(emulator: Emulator) -> dict:
    """Each recipient's sending numbers since the reset, sorted; ``complete`` is False
    once the bounded history has forgotten deliveries (the mapping is then partial)."""
    deliveries = emulator.deliveries
    heard = collections.defaultdict(set)
    for delivery in deliveries:
        heard[delivery.to].add(delivery.from_)
    total = emulator.engine.state(limit=1)["counters"]["deliveries"]
    return {
        "complete": len(deliveries) == total,
        "senders": {to: sorted(numbers) for to, numbers in heard.items()},
    }


def phones_text(
    emulator: Emulator, texts: list, text: str, concurrency: int, timeout: float
) -> dict:
    """Each ``[phone, app_number]`` of ``texts`` texts ``text`` to that number; wait up to
    ``timeout`` seconds for one delivery per text (the replies) and count them."""
    before = counters(emulator)["deliveries"]
    with ThreadPoolExecutor(concurrency) as pool:
        answers = pool.map(lambda pair: emulator.send_sms(pair[0], text, pair[1]), texts)
        statuses = [answer.status for answer in answers]
    with contextlib.suppress(TimeoutError):
        emulator.wait_for_deliveries(before + len(texts), timeout)
    return {
        "count": len(texts),
        "errors": sum(1 for status in statuses if status != 200),
        "delivered": counters(emulator)["deliveries"] - before,
    }


def conversations(
    emulator: Emulator, count: int, concurrency: int, text: str, replies: int, timeout: float
) -> dict:
    """Phones text the app; return per-message latency to the last reply delivered."""
    before = counters(emulator)["deliveries"]
    started = {}
    statuses = []

    def phone(_):
        number = f"+1666{next(_numbers):07d}"
        started[number] = time.time()
        statuses.append(emulator.send_sms(number, text).status)

    began = time.time()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(phone, range(count)))
    answered = time.time()
    with contextlib.suppress(TimeoutError):
        emulator.wait_for_deliveries(before + count * replies, timeout)
    last = {}
    for delivery in emulator.deliveries:
        if delivery.to in started:
            last[delivery.to] = max(last.get(delivery.to, 0.0), delivery.delivered_at)
    latencies = sorted(last[n] - started[n] for n in last)
    return {
        "count": count,
        "replied": len(latencies),
        "errors": sum(1 for s in statuses if s != 200),
        "began": began,
        "answered": answered,
        "last_delivery": max(last.values(), default=None),
        "latencies": latencies,
        **{k: v for k, v in counters(emulator).items() if k in ("launches", "callbacks")},
    }


class ControlHandler(JSONHandler):
    """The benchmarks' side door into the emulator."""

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        emulator = self.server.emulator
        if url.path == "/wait":
            with contextlib.suppress(TimeoutError):
                emulator.wait_for_deliveries(int(query["count"]), float(query["timeout"]))
            self.send_json(200, counters(emulator))
        elif url.path == "/senders":
            self.send_json(200, senders(emulator))
        else:
            self.send_json(404, {"error": url.path})

    def do_POST(self):
        body = self.read_json()
        emulator = self.server.emulator
        if self.path == "/reset":
            emulator.reset()
            app_url = urlsplit(body["app_url"])
            if body.get("delayed"):
                self.server.app_proxy.target = (app_url.hostname, app_url.port)
                emulator.app_url = f"{self.server.app_proxy.url}{app_url.path}?{app_url.query}"
            else:
                emulator.app_url = body["app_url"]
            self.send_json(200, {"reset": True})
        elif self.path == "/conversations":
            self.send_json(200, conversations(emulator, **body))
        elif self.path == "/texts":
            self.send_json(200, phones_text(emulator, **body))
        else:
            self.send_json(404, {"error": self.path})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator_host")
    parser.add_argument("--token", required=True)
    parser.add_argument("--number", action="append", help="one of the app's numbers (repeatable)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="the delayed paths' delay")
    parser.add_argument("--history", type=int, default=DEFAULT_HISTORY)
    parser.add_argument("--enforce-rate", action="store_true")
    parser.add_argument("--rate-interval", type=float, default=1.0)
    args = parser.parse_args()
    emulator = Emulator(
        "http://127.0.0.1:9/",
        args.token,
        numbers=args.number or ["+15555550000"],
        history=args.history,
        enforce_rate=args.enforce_rate,
        rate_interval=args.rate_interval,
    ).start()
    control = ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    control.daemon_threads = True
    control.emulator = emulator
    delay = args.delay_ms / 1000
    host, port = urlsplit(emulator.url).hostname, urlsplit(emulator.url).port
    api_proxy = DelayProxy((host, port), delay).start()
    control.app_proxy = DelayProxy(None, delay).start()
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print(
        json.dumps(
            {
                "url": emulator.url,
                "session_api_url": emulator.session_api_url,
                "delayed_session_api_url": api_proxy.url + "/1.0/sessions",
                "control_port": control.server_address[1],
            }
        ),
        flush=True,
    )
    sys.stdin.read()
    control.shutdown()
    emulator.stop()


if __name__ == "__main__":
    main()
