"""Report each Tropo backend's queue, what it last saw of Tropo, and its problems."""

import json
import sys
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.db import Error as DatabaseError

from rtropo.conf import get_config, tropo_backend_names
from rtropo.status import problems
from rtropo.status.facts import HEALTH_FIELDS
from rtropo.status.report import BackendStatus, backend_status


class Command(BaseCommand):
    help = (
        "Report each Tropo backend's rows, what it last saw of Tropo and its problems. "
        "Exits 0 when healthy, 1 on a warning, 2 on a critical problem."
    )
    # Monitoring runs this every minute: warnings are `manage.py check`'s job.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--backend", action="append", dest="backends", help="Only this backend (repeatable)."
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="One JSON object a line."
        )

    def handle(self, *args, backends=None, as_json=False, **options):
        names = tropo_backend_names()
        unknown = sorted(set(backends or ()) - set(names))
        if unknown:
            raise CommandError(f"Not a Tropo backend in INSTALLED_BACKENDS: {', '.join(unknown)}")
        try:
            reports = [backend_status(get_config(name)) for name in backends or names]
        except DatabaseError as exc:
            raise CommandError(
                f"Could not read the state of the Tropo backends: {type(exc).__name__}: {exc}",
                returncode=2,
            ) from exc
        for report in reports:
            if as_json:
                self.stdout.write(json.dumps(report.as_dict(), sort_keys=True))
            else:
                self.stdout.write("\n".join(human_lines(report)))
        worst = max((report.exit_code for report in reports), default=0)
        if worst:
            sys.exit(worst)


def human_lines(report: BackendStatus) -> list[str]:
    """The report as lines: the level, the facts (a line per number of a pool of several),
    then one line per problem."""
    facts = report.facts
    rows = ", ".join(f"{count} {name}" for name, count in facts.rows.items())
    lines = [f"{report.backend}: {report.level}", f"  rows: {rows}"]
    lines.append(
        f"  due: {facts.due}{_oldest(facts, facts.oldest_due_at)}; awaiting a result: "
        f"{facts.awaiting_result}{_oldest(facts, facts.oldest_awaiting_at)}; pending launches: "
        f"{facts.pending_launches}{_oldest(facts, facts.oldest_launch_at)}"
    )
    if len(facts.numbers) > 1:
        lines.extend(
            f"  {number}: {each['recipients']} recipients, {each['due']} due, "
            f"{each['in_flight']} in flight"
            for number, each in facts.numbers.items()
        )
    health = facts.health
    for field, label in HEALTH_FIELDS.items():
        lines.append(f"  {label}: {_when(facts, getattr(health, field))}{_reason(health, field)}")
        if field == "last_callback_at":
            lines.append(f"  last result: {_when(facts, facts.last_result_at)}")
    lines.append(f"  requests refused in the last 10 minutes: {facts.recent_refusals}")
    lines.append(f"  inbound SMS in the spool: {facts.spooled.entries}")
    lines.extend(
        f"  {problem.level} {problem.code}: {problem.message}" for problem in report.problems
    )
    return lines


def _oldest(facts, moment) -> str:
    return "" if moment is None else f" (oldest {problems.duration(facts.age(moment))})"


def _when(facts, moment) -> str:
    if moment is None:
        return "never"
    ago = problems.duration(facts.age(moment))
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({ago} ago)"


def _reason(health, field: str) -> str:
    reasons = {
        "last_refusal_at": health.last_refusal_reason,
        "last_refused_request_at": health.last_refused_request_reason,
    }
    reason = reasons.get(field)
    return f": {reason}" if reason and getattr(health, field) else ""
