"""A threaded HTTP load generator for the inbound benchmarks.

``python -m benchmarks.loadgen --port P --kind tropo --text hello --count N`` POSTs
inbound SMS to the app over keep-alive connections, ``--concurrency`` at a time,
and prints one JSON line: the time taken, every latency and the errors
(:func:`combine` turns rounds of them into requests per second and percentiles).

Kinds: ``tropo`` (a Tropo inbound session, a new session id each time, to
``--path``), ``http`` (RapidSMS's GenericHttpBackendView form) and ``empty``
(the same Tropo body to an empty Django view).

Like Tropo, the load generator runs what an answer asks of it: when an answer
ends with an ``on`` handler that has a ``next`` URL (confirmation on), it POSTs
the result of that answer (every named ``message`` verb a SUCCESS) to that URL on
the same connection. The answer and its result count as one exchange: its
latency covers both, and a result not answered 200 is an error.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from rtropo.emulator import events, tropoml

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "inbound-sms.json"
PHONES = 50
SECRET = "bench-inbound-secret"  # noqa: S105 - the inbound_secret of the benchmark project
TEMPLATE = FIXTURE.read_text(encoding="utf-8")


def tropo_body(text: str, sender: str) -> bytes:
    """A Tropo inbound SMS session with a fresh session id."""
    document = json.loads(TEMPLATE)
    session = document["session"]
    session["id"] = uuid.uuid4().hex
    session["initialText"] = text
    session["from"]["id"] = sender
    return json.dumps(document).encode()


def request_for(kind: str, path: str, text: str, n: int) -> tuple[str, bytes, str]:
    """(path, body, content type) of the n-th request."""
    sender = f"1777{n % PHONES:07d}"
    if kind == "http":
        body = urlencode({"identity": "+" + sender, "text": text}).encode()
        return "/http/", body, "application/x-www-form-urlencoded"
    target = "/empty/" if kind == "empty" else f"{path}?secret={SECRET}"
    return target, tropo_body(text, sender), "application/json"


def result_for(answer: bytes, content_type: str | None, session: dict) -> tuple | None:
    """What Tropo POSTs after running ``answer`` to ``session`` (the inbound session
    object): ``(next, result JSON)``; None if the answer asks for no result."""
    if b'"on"' not in answer:
        return None
    document = tropoml.parse_document(answer, content_type)
    route = events.route(document.handlers, "continue")
    if route.next is None:
        return None
    actions = [
        events.ActionReport(verb.name, "SUCCESS")
        for verb in document.verbs
        if getattr(verb, "name", None)
    ]
    result = events.result_object(
        session_id=session["id"],
        call_id=session.get("callId"),
        state=events.ANSWERED,
        duration=0,
        sequence=1,
        event="continue",
        error=None,
        actions=actions,
    )
    return route.next, json.dumps(result).encode()


def _post(conn, target: str, body: bytes, content_type: str):
    conn.request("POST", target, body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    return response.status, response.read(), response.getheader("Content-Type")


def exchange(conn, port: int, target: str, body: bytes, content_type: str) -> tuple:
    """One inbound request and, if its answer asks for one, its result: (status, results)."""
    status, answer, answer_type = _post(conn, target, body, content_type)
    if status != 200 or content_type != "application/json":
        return status, 0
    result = result_for(answer, answer_type, json.loads(body)["session"])
    if result is None:
        return status, 0
    url = urlsplit(events.resolve_next(f"http://127.0.0.1:{port}{target}", result[0]))
    status, _, _ = _post(conn, f"{url.path}?{url.query}", result[1], "application/json")
    return status, 1


def run(port: int, kind: str, path: str, text: str, count: int, concurrency: int) -> dict:
    """Send ``count`` requests; return the time they took, each latency and the errors
    (a request whose client thread died counts as an error)."""
    numbers = itertools.count()
    latencies: list[float] = []
    errors = []
    results = []
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while (n := next(numbers)) < count:
            target, body, content_type = request_for(kind, path, text, n)
            began = time.perf_counter()
            posted = 0
            try:
                status, posted = exchange(conn, port, target, body, content_type)
            except tropoml.TropoMLError as exc:
                status = repr(exc)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = repr(exc)
            spent = time.perf_counter() - began
            with lock:
                latencies.append(spent)
                results.append(posted)
                if status != 200:
                    errors.append(status)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "requests": count,
        "errors": len(errors) + count - len(latencies),
        "results_posted": sum(results),
        "first_errors": [str(e) for e in errors[:3]],
        "seconds": elapsed,
        "latencies_ms": [1000 * latency for latency in latencies],
    }


def percentile(values: list[float], fraction: float) -> float | None:
    """The value below which ``fraction`` of ``values`` lie (nearest rank); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def combine(rounds: list[dict]) -> dict:
    """One case's figures from its rounds: throughput over their sum, percentiles over all."""
    latencies = [latency for r in rounds for latency in r["latencies_ms"]]
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    return {
        "requests": requests,
        "rounds": len(rounds),
        "errors": sum(r["errors"] for r in rounds),
        "results_posted": sum(r["results_posted"] for r in rounds),
        "first_errors": [e for r in rounds for e in r["first_errors"]][:3],
        "seconds": seconds,
        "rps": requests / seconds,
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=["tropo", "http", "empty"], required=True)
    parser.add_argument("--path", default="/tropo/")
    parser.add_argument("--text", default="hello")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    run(args.port, args.kind, args.path, args.text, args.warmup, args.concurrency)
    result = run(args.port, args.kind, args.path, args.text, args.count, args.concurrency)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
