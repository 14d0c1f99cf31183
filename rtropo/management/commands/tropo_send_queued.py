"""Launch Tropo sessions for every queued message that is due."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from rtropo import periodic
from rtropo.conf import get_config, tropo_backend_names
from rtropo.status.problems import CRITICAL
from rtropo.status.report import backend_status

#: At ``-v 1`` and more, a progress line after each this many messages of a backend.
PROGRESS_EVERY = 10_000


class Command(BaseCommand):
    help = (
        "Launch Tropo sessions for the queued messages that are due, and requeue those whose "
        "callback never came; run it every minute. Exits 2 on a critical problem, 1 when a "
        "launch failed."
    )
    # Cron mails what this prints every minute: warnings are `manage.py check`'s job; a
    # backend's settings are still validated (exit 2).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--backend", action="append", dest="backends", help="Only this backend (repeatable)."
        )
        parser.add_argument(
            "--now", action="store_true", help="Also take messages backing off after a failure."
        )

    def handle(self, *args, backends=None, now=False, verbosity=1, **options):
        names = tropo_backend_names()
        unknown = sorted(set(backends or ()) - set(names))
        if unknown:
            raise CommandError(f"Not a Tropo backend in INSTALLED_BACKENDS: {', '.join(unknown)}")
        self._reported = {}
        on_launch = self._report_progress if verbosity >= 1 else None
        try:
            done = periodic.send_all_queued(backends, include_backing_off=now, on_launch=on_launch)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if verbosity >= 1:
            self._print_runs(done)
        self._report_problems(done, verbosity)
        if any(progress.failed_launches for progress in done.values()):
            raise CommandError("Tropo refused or did not answer a launch; rows will be retried.")

    def _print_runs(self, done):
        for name, progress in done.items():
            self.stdout.write(
                f"{name}: {progress.messages} message(s) in {progress.launches} launch(es), "
                f"{progress.released} requeued after a missing callback, "
                f"{progress.failed_launches} failed launch(es)"
            )
            if progress.unconfirmed:
                self.stdout.write(
                    f"{name}: {progress.unconfirmed} message(s) unconfirmed by Tropo, "
                    f"{progress.resent} of them sent again"
                )

    def _report_problems(self, names, verbosity):
        """Exit 2, one line per problem on stderr, when a backend is critical; else print
        the warnings at -v 1."""
        reports = [backend_status(get_config(name)) for name in names]
        lines = [p.line(report.backend) for report in reports for p in report.problems]
        if any(report.level == CRITICAL for report in reports):
            raise CommandError("\n".join(lines), returncode=2)
        if verbosity >= 1 and lines:
            self.stdout.write("\n".join(lines))

    def _report_progress(self, name, progress):
        step = progress.messages // PROGRESS_EVERY
        if step > self._reported.get(name, 0):
            self._reported[name] = step
            self.stdout.write(
                f"{name}: {progress.messages} message(s) so far in {progress.launches} launch(es)…"
            )
