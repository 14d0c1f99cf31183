"""Launch Tropo sessions for every queued message that is due."""

from django.core.management.base import BaseCommand, CommandError

from rtropo import queue
from rtropo.conf import tropo_backend_names


class Command(BaseCommand):
    help = (
        "Launch Tropo sessions for queued messages that are due, and requeue those "
        "whose callback never came. Run it every minute from cron or celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--backend",
            action="append",
            dest="backends",
            help="Only this backend (repeatable). Default: every Tropo backend.",
        )
        parser.add_argument(
            "--now",
            action="store_true",
            help="Also take messages still backing off after a failed launch.",
        )

    def handle(self, *args, backends=None, now=False, **options):
        names = tropo_backend_names()
        unknown = sorted(set(backends or ()) - set(names))
        if unknown:
            raise CommandError(f"Not a Tropo backend in INSTALLED_BACKENDS: {', '.join(unknown)}")
        failures = 0
        for name, progress in queue.send_all_queued(backends, include_backing_off=now).items():
            failures += progress.failed_launches
            self.stdout.write(
                f"{name}: {progress.messages} message(s) in {progress.launches} launch(es), "
                f"{progress.released} requeued after a missing callback, "
                f"{progress.failed_launches} failed launch(es)"
            )
        if failures:
            raise CommandError("Tropo refused or did not answer a launch; rows will be retried.")
