"""``runserver`` for the server the fault harness kills: it starts without touching the
database, as gunicorn does, so that it can be started again while the database is down.

Django's own ``runserver`` reads the migration tables before it serves (to warn
of unapplied migrations), and exits when the database cannot be reached.
"""

from django.contrib.staticfiles.management.commands.runserver import Command as RunServer


class Command(RunServer):
    def check_migrations(self):
        """The harness migrates before it starts the server: nothing to warn of."""
