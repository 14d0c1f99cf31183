"""SQL statements and commits per inbound request: ``message_received`` against RapidSMS.

``python -m benchmarks.inbound_queries [--database URL] [--case NAME] [--sql] [--json]
[--profile N]`` migrates a scratch database (SQLite in a temporary directory by
default, or ``--database postgres://...``), then for each case posts one
warm-up and one measured request to the views of the benchmark project
in-process (Django's test client, the same apps and handlers as the inbound
benchmark) and prints a table: per case, the statements Django ran
(``CaptureQueriesContext``, which also records BEGIN, COMMIT and savepoints)
and the commits (explicit ones, and writes made outside a transaction, which
the database commits on its own), for the Tropo view and for RapidSMS's
``GenericHttpBackendView`` where it has an equivalent.

Cases: an inbound SMS without reply (``hello``); ``ping`` answered inline with
delivery confirmation on (``/tropo/``) and off (``/tropo-noconfirm/``);
``ping`` whose reply is launched (``/tropo-launch/``); Tropo's result POST
that follows an inline answer; the answer to the callback of a launch.
``--profile N`` adds a cProfile of N requests of each case.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import os
import pstats
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import PHONES, SECRET, request_for

WRITES = {"INSERT", "UPDATE", "DELETE"}
#: A request to measure: (path with query, body, content type).
Request = tuple[str, bytes, str]


def _setup(database: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    os.environ["BENCH_DATABASE"] = database
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _post(client, request: Request):
    target, body, content_type = request
    response = client.generic("POST", target, body, content_type=content_type)
    assert response.status_code == 200, (target, response.status_code)
    return response


def _inbound(kind: str, path: str, text: str) -> Callable[[object, int], Request]:
    """The n-th inbound SMS ``text`` to ``path``: nothing to prepare."""

    def prepare(client, n: int) -> Request:
        return request_for(kind, path, text, n)

    return prepare


def _result_of_inline_answer(client, n: int) -> Request:
    """Answer a ``ping`` inline with confirmation on; the result Tropo posts for it."""
    target, body, content_type = request_for("tropo", "/tropo/", "ping", n)
    answer = json.loads(_post(client, (target, body, content_type)).content)["tropo"]
    next_url = next(verb["on"]["next"] for verb in answer if "on" in verb)
    actions = [
        {"name": verb["message"]["name"], "disposition": "SUCCESS"}
        for verb in answer
        if "message" in verb
    ]
    result = {
        "result": {
            "sessionId": json.loads(body)["session"]["id"],
            "callId": None,
            "state": "DISCONNECTED",
            "sessionDuration": 1,
            "sequence": 1,
            "complete": True,
            "error": None,
            "actions": actions[0] if len(actions) == 1 else actions,
        }
    }
    return next_url, json.dumps(result).encode(), "application/json"


def _launch_callback(client, n: int) -> Request:
    """Queue one message and launch it (as a launch would); the callback Tropo posts."""
    import uuid

    from benchmarks.settings import TOKEN
    from rtropo.conf import get_config
    from rtropo.outbox import queue, take

    config = get_config("tropo")
    sender = f"+1777{n % PHONES:07d}"
    queue.enqueue(config, [queue.Recipient(sender, sender)], "pong")
    launch = take.take_due(config, config.number)
    callback = {
        "session": {
            "id": uuid.uuid4().hex,
            "accountId": "12345",
            "timestamp": "2026-12-01T00:00:00.000Z",
            "userType": "NONE",
            "initialText": None,
            "callId": None,
            "parameters": {"token": TOKEN, "action": "create", "rtropo_ref": launch.reference},
        }
    }
    return f"/tropo/?secret={SECRET}", json.dumps(callback).encode(), "application/json"


@dataclasses.dataclass(frozen=True)
class Case:
    """One request kind, for the Tropo view and (if any) its RapidSMS equivalent."""

    name: str
    tropo: Callable[[object, int], Request]
    generic: Callable[[object, int], Request] | None


CASES = (
    Case("hello", _inbound("tropo", "/tropo/", "hello"), _inbound("http", "/http/", "hello")),
    Case(
        "ping inline, confirmation on",
        _inbound("tropo", "/tropo/", "ping"),
        _inbound("http", "/http/", "ping"),
    ),
    Case(
        "ping inline, confirmation off",
        _inbound("tropo", "/tropo-noconfirm/", "ping"),
        _inbound("http", "/http/", "ping"),
    ),
    Case(
        "ping launched",
        _inbound("tropo", "/tropo-launch/", "ping"),
        _inbound("http", "/http/", "ping"),
    ),
    Case("result of an inline answer", _result_of_inline_answer, None),
    Case("launch callback answer", _launch_callback, None),
)


def measure(prepare: Callable[[object, int], Request]) -> dict:
    """Statements and commits of one request, after a warm-up from the same phone.

    The warm-up creates the phone's RapidSMS connection, as for the 50 phones
    of the load generator; what ``prepare`` posts to set the request up is not
    counted.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    _post(client, prepare(client, 0))
    request = prepare(client, PHONES)
    autocommitted = []

    def note_autocommit(execute, sql, params, many, context):
        if not connection.in_atomic_block and sql.split(None, 1)[0].upper() in WRITES:
            autocommitted.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(note_autocommit):
        _post(client, request)
    statements = [q["sql"] for q in captured.captured_queries]
    explicit = sum(1 for s in statements if s.upper().startswith("COMMIT"))
    return {
        "statements": len(statements),
        "commits": explicit + len(autocommitted),
        "explicit_commits": explicit,
        "autocommitted_writes": len(autocommitted),
        "sql": statements,
    }


def profile(prepare: Callable[[object, int], Request], count: int) -> str:
    """The top of a cProfile of ``count`` requests, by cumulative time."""
    from django.test import Client

    client = Client()
    _post(client, prepare(client, 0))
    requests = [prepare(client, n + 1) for n in range(count)]
    profiler = cProfile.Profile()
    profiler.enable()
    for request in requests:
        _post(client, request)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def table(results: list[dict]) -> str:
    """The Markdown table of statements and commits per case."""
    lines = [
        "| case | Tropo statements | Tropo commits | generic statements | generic commits |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        tropo, generic = result["tropo"], result["generic"]
        lines.append(
            f"| {result['case']} | {tropo['statements']} | {tropo['commits']} | "
            + (f"{generic['statements']} | {generic['commits']} |" if generic else "— | — |")
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inbound_queries")
    parser.add_argument("--database", help="postgres://... (default: scratch SQLite)")
    parser.add_argument("--case", action="append", help="only this case (repeatable)")
    parser.add_argument("--sql", action="store_true", help="print each statement too")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", type=int, default=0, help="profile this many requests")
    args = parser.parse_args()
    cases = [case for case in CASES if not args.case or case.name in args.case]
    with tempfile.TemporaryDirectory() as scratch:
        _setup(args.database or "sqlite:" + os.path.join(scratch, "queries.sqlite3"))
        from django.db import connection

        results = [
            {
                "case": case.name,
                "tropo": measure(case.tropo),
                "generic": measure(case.generic) if case.generic else None,
            }
            for case in cases
        ]
        if args.json:
            print(json.dumps({"database": connection.vendor, "cases": results}, indent=2))
        else:
            print(f"Statements and commits per request ({connection.vendor})\n")
            print(table(results))
        for result in results if args.sql and not args.json else ():
            for view in ("tropo", "generic"):
                if result[view]:
                    print(f"\n== {result['case']}, {view}")
                    print("\n".join(f"  {sql}" for sql in result[view]["sql"]))
        for case in cases if args.profile else ():
            for view, prepare in (("tropo", case.tropo), ("generic", case.generic)):
                if prepare:
                    print(f"== cProfile, {args.profile} requests: {case.name}, {view}")
                    print(profile(prepare, args.profile))


if __name__ == "__main__":
    main()
