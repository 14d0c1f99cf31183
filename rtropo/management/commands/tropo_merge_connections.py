"""Move a backend's 0.2-era connections (``15555551212``) to ``+15555551212``."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from rapidsms.models import Connection

from rtropo.conf import tropo_backend_names
from rtropo.phones import plain_number


class Command(BaseCommand):
    help = (
        "Rename each digits-only connection of a Tropo backend to '+digits', or merge it "
        "(its references, and its contact if needed) into the '+digits' one that exists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--backend", required=True, help="The Tropo backend's name in INSTALLED_BACKENDS."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would change; change nothing."
        )

    def handle(self, *args, backend, dry_run=False, **options):
        if backend not in tropo_backend_names():
            raise CommandError(f"Not a Tropo backend in INSTALLED_BACKENDS: {backend}")
        counts = Counter()
        for connection in Connection.objects.filter(backend__name=backend).order_by("pk"):
            if connection.identity.isascii() and connection.identity.isdigit():
                outcome, detail = self._migrate(connection, dry_run)
                counts[outcome] += 1
                prefix = "would be " if dry_run else ""
                self.stdout.write(f"{connection.identity}: {prefix}{outcome} {detail}")
        verb = "Would change" if dry_run else "Changed"
        self.stdout.write(
            f"{verb} {counts.total()} connection(s) of {backend}: {counts['renamed']} renamed, "
            f"{counts['merged']} merged, {counts['kept']} kept"
        )

    def _migrate(self, connection: Connection, dry_run: bool) -> tuple[str, str]:
        identity = plain_number(connection.identity)
        if identity is None:
            return "kept", "(not a phone number)"
        target = Connection.objects.filter(
            backend_id=connection.backend_id, identity=identity
        ).first()
        if target is None:
            if not dry_run:
                Connection.objects.filter(pk=connection.pk).update(identity=identity)
            return "renamed", f"to {identity}"
        if dry_run:
            references = sum(queryset.count() for _, queryset in _references(connection))
            return "merged", f"into {identity} ({references} reference(s) to move)"
        with transaction.atomic():
            moved, stuck = _move_references(connection, target)
            if stuck:
                transaction.set_rollback(True)
                return "kept", f"({', '.join(stuck)} could not move to {identity})"
            if target.contact_id is None and connection.contact_id is not None:
                target.contact_id = connection.contact_id
                target.save(update_fields=["contact"])
            connection.delete()
        return "merged", f"into {identity} ({moved} reference(s) moved)"


def _references(connection: Connection):
    """``(label, queryset)`` of every row that points at ``connection``."""
    for relation in Connection._meta.get_fields(include_hidden=True):
        reverse = relation.auto_created and not relation.concrete
        if reverse and (relation.one_to_many or relation.one_to_one):
            model, field = relation.related_model, relation.field.name
            yield f"{model._meta.label}.{field}", model._base_manager.filter(**{field: connection})


def _move_references(connection: Connection, target: Connection) -> tuple[int, list[str]]:
    """Re-point references from ``connection`` to ``target``; return (moved, labels stuck)."""
    moved, stuck = 0, []
    for label, queryset in _references(connection):
        field = label.rsplit(".", 1)[1]
        try:
            with transaction.atomic():
                moved += queryset.update(**{field: target})
        except IntegrityError:
            stuck.append(label)
    return moved, stuck
