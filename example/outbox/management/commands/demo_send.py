"""Send an SMS from the app to one or more phones through ``rapidsms.router.send``."""

from django.core.management.base import BaseCommand
from rapidsms.router import lookup_connections, send


class Command(BaseCommand):
    help = (
        "Send TEXT to every NUMBER in one message through the Tropo backend. "
        "With --repeat N, send N separate messages 'TEXT #1' .. 'TEXT #N' instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("text")
        parser.add_argument("numbers", nargs="+", metavar="number")
        parser.add_argument("--backend", default="tropo")
        parser.add_argument(
            "--repeat", type=int, default=0, help="send this many numbered messages"
        )

    def handle(self, *args, text, numbers, backend, repeat, **options):
        connections = lookup_connections(backend, numbers)
        texts = [f"{text} #{n}" for n in range(1, repeat + 1)] if repeat else [text]
        for body in texts:
            send(body, connections)
        self.stdout.write(f"Sent {len(texts)} message(s) to {len(connections)} number(s).")
