"""SIGKILL the app server at random points of the Tropo requests it serves.

Installed by :mod:`tests.faults.app_settings` as the outermost middleware of the
server that the fault harness kills. Every POST to the messaging URL has kill
points: before and after each SQL statement it runs (through Django's
``connection.execute_wrapper``), and once the view has returned, before the
answer leaves. At each point the process SIGKILLs itself with the probability
that ``FAULT_KILL_RATES`` (JSON: kind of request to probability) gives the kind
of request, drawn from a generator seeded by ``FAULT_KILL_SEED``; each kill
first appends one line (kind of request and point) to ``FAULT_KILL_LOG``.
Without ``FAULT_KILL_RATES`` (or with no rate above 0) the middleware changes
nothing.

No product code is touched: the view, the queue and RapidSMS run as a project
runs them, and die wherever the draw says.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import threading

from django.db import connection

_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', re.IGNORECASE)


def request_kind(body: bytes) -> str:
    """What Tropo is POSTing: ``inbound``, ``callback``, ``result`` or ``other``."""
    try:
        document = json.loads(body)
    except ValueError:
        return "other"
    if not isinstance(document, dict):
        return "other"
    if "result" in document:
        return "result"
    session = document.get("session")
    if not isinstance(session, dict):
        return "other"
    return "callback" if session.get("parameters") else "inbound"


def statement_label(sql: str) -> str:
    """The verb and first table of a statement, e.g. ``UPDATE rtropo_outboundmessage``."""
    verb = sql.split(None, 1)[0].upper() if sql.strip() else "?"
    table = _TABLE.search(sql)
    return f"{verb} {table.group(1)}" if table else verb


class KillPlan:
    """The seeded draws of one server process; thread-safe."""

    def __init__(self, seed: str, rates: dict[str, float], log_path: str):
        self.rates = rates
        self.log_path = log_path
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def from_environ(cls) -> KillPlan | None:
        """The plan the environment asks for; None when it asks for no kills."""
        rates = json.loads(os.environ.get("FAULT_KILL_RATES") or "{}")
        if not any(rate > 0 for rate in rates.values()):
            return None
        return cls(os.environ["FAULT_KILL_SEED"], rates, os.environ["FAULT_KILL_LOG"])

    def maybe_kill(self, kind: str, point: str) -> None:
        """SIGKILL this process at ``point`` of a ``kind`` request, if the draw says so."""
        with self._lock:
            if self._random.random() >= self.rates.get(kind, 0):
                return
            line = f"{kind}\t{point}\n".encode()
            log = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(log, line)
            os.close(log)
            os.kill(os.getpid(), signal.SIGKILL)


class _Request:
    """The kill points of one request: its statements, counted, and its answer."""

    def __init__(self, plan: KillPlan, kind: str):
        self.plan, self.kind, self.statements = plan, kind, 0

    def around_statement(self, execute, sql, params, many, context):
        self.statements += 1
        label = f"statement {self.statements} ({statement_label(sql)})"
        self.plan.maybe_kill(self.kind, f"before {label}")
        result = execute(sql, params, many, context)
        self.plan.maybe_kill(self.kind, f"after {label}")
        return result


class KillMiddleware:
    """Arms the kill points of every POST to ``/tropo/`` when a plan is configured."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.plan = KillPlan.from_environ()

    def __call__(self, request):
        if self.plan is None or request.method != "POST" or not request.path.startswith("/tropo/"):
            return self.get_response(request)
        armed = _Request(self.plan, request_kind(request.body))
        with connection.execute_wrapper(armed.around_statement):
            response = self.get_response(request)
        self.plan.maybe_kill(armed.kind, "answer built, not sent")
        return response
