"""The benchmark project's own app: SQLite's journal mode on every new connection."""

from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created


def set_sqlite_journal(sender, connection, **kwargs):
    """Switch a new SQLite connection to ``BENCH_SQLITE_JOURNAL`` (empty: leave it)."""
    mode = settings.BENCH_SQLITE_JOURNAL
    if connection.vendor == "sqlite" and mode:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA journal_mode={mode}")


class BenchmarksConfig(AppConfig):
    """Connects :func:`set_sqlite_journal` once Django is ready."""

    name = "benchmarks"

    def ready(self):
        connection_created.connect(set_sqlite_journal)
