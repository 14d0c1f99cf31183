"""Delete old sent and confirmed messages, finished launches, answer references and
inbound dedup records."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from rtropo.db import write_transaction
from rtropo.models import AnswerReference, InboundSession, Launch, OutboundMessage

#: At ``-v 1`` and more, a progress line after each this many rows of a kind.
PROGRESS_EVERY = 10_000


class Command(BaseCommand):
    help = (
        "Delete the sent and confirmed messages, finished launches, answer references and "
        "inbound dedup records older than --days; other messages are kept for an operator."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, required=True, help="Keep records younger than this (≥ 1)."
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows deleted per transaction."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args, days, batch_size, dry_run, verbosity=1, **options):
        if days < 1:
            raise CommandError("--days must be at least 1: inbound dedup needs a window.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        finished = [OutboundMessage.Status.SENT, OutboundMessage.Status.CONFIRMED]
        targets = {
            "sent message(s)": OutboundMessage.objects.filter(
                status__in=finished, sent_at__lt=cutoff
            ),
            "finished launch(es)": Launch.objects.filter(
                status__in=[Launch.Status.ANSWERED, Launch.Status.FAILED],
                created_at__lt=cutoff,
                messages__isnull=True,
            ),
            "answer reference(s)": AnswerReference.objects.filter(created_at__lt=cutoff),
            "inbound session(s)": InboundSession.objects.filter(received_at__lt=cutoff),
        }
        for label, queryset in targets.items():
            if dry_run:
                count = queryset.count()
            else:
                count = self._delete(label, queryset, batch_size, verbosity)
            if verbosity >= 1:
                verb = "would delete" if dry_run else "deleted"
                self.stdout.write(f"{verb} {count} {label} older than {days} day(s)")

    def _delete(self, label, queryset, batch_size: int, verbosity: int) -> int:
        """Delete the rows of ``queryset`` by primary key, one short transaction per batch."""
        deleted = reported = 0
        while True:
            with write_transaction():
                ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
                if not ids:
                    return deleted
                deleted += queryset.filter(pk__in=ids).delete()[0]
            if verbosity >= 1 and deleted // PROGRESS_EVERY > reported:
                reported = deleted // PROGRESS_EVERY
                self.stdout.write(f"deleted {deleted} {label} so far…")
