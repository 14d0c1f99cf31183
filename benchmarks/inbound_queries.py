"""SQL statements and commits per inbound request: ``message_received`` against RapidSMS.

``python -m benchmarks.inbound_queries [--database URL] [--text hello] [--profile N]``
migrates a scratch database (SQLite in a temporary directory by default, or
``--database postgres://...``), posts one warm-up and then one measured inbound
SMS to each view of the benchmark project in-process (Django's test client, the
same apps and handlers as the inbound benchmark) and prints, per view, the
statements Django ran (``CaptureQueriesContext``, which also records BEGIN,
COMMIT and savepoints), the number of commits (explicit ones, and writes made
outside a transaction, which the database commits on its own), and optionally a cProfile of
``--profile`` requests.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.loadgen import PHONES

VIEWS = (("tropo", "/tropo/"), ("http", "/http/"))
WRITES = {"INSERT", "UPDATE", "DELETE"}


def _setup(database: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    os.environ["BENCH_DATABASE"] = database
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _post(client, kind: str, path: str, text: str, n: int):
    from benchmarks.loadgen import request_for

    target, body, content_type = request_for(kind, path, text, n)
    response = client.generic("POST", target, body, content_type=content_type)
    assert response.status_code == 200, response.status_code
    return response


def measure(kind: str, path: str, text: str) -> dict:
    """Statements and commits of one inbound request to ``path``.

    A warm-up request from the same phone first, so that its RapidSMS connection
    exists, as for the 50 phones of the load generator.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    _post(client, kind, path, text, 0)
    autocommitted = []

    def note_autocommit(execute, sql, params, many, context):
        if not connection.in_atomic_block and sql.split(None, 1)[0].upper() in WRITES:
            autocommitted.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(note_autocommit):
        _post(client, kind, path, text, PHONES)
    statements = [q["sql"] for q in captured.captured_queries]
    explicit = sum(1 for s in statements if s.upper().startswith("COMMIT"))
    return {
        "view": path,
        "text": text,
        "statements": len(statements),
        "commits": explicit + len(autocommitted),
        "explicit_commits": explicit,
        "autocommitted_writes": len(autocommitted),
        "sql": statements,
    }


def profile(kind: str, path: str, text: str, count: int) -> str:
    """The top of a cProfile of ``count`` requests to ``path``, by cumulative time."""
    from django.test import Client

    client = Client()
    _post(client, kind, path, text, 0)
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(count):
        _post(client, kind, path, text, n + 1)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inbound_queries")
    parser.add_argument("--database", help="postgres://... (default: scratch SQLite)")
    parser.add_argument("--text", default="hello", help="hello (no reply) or ping (pong)")
    parser.add_argument("--profile", type=int, default=0, help="profile this many requests")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        _setup(args.database or "sqlite:" + os.path.join(scratch, "queries.sqlite3"))
        results = [measure(kind, path, args.text) for kind, path in VIEWS]
        print(json.dumps(results, indent=2))
        for kind, path in VIEWS if args.profile else ():
            print(f"== cProfile, {args.profile} requests to {path} ({args.text!r})")
            print(profile(kind, path, args.text, args.profile))


if __name__ == "__main__":
    main()
