"""Time travel for the queue: age every timestamp the backend stored, instead of sleeping."""

from datetime import timedelta

from django.db.models import DateTimeField, F

from rtropo.models import BackendHealth, InboundSession, Launch, OutboundMessage


def travel(seconds: float) -> None:
    """Make the stored rows, launches, sessions and health look ``seconds`` older."""
    delta = timedelta(seconds=seconds)
    for model in (OutboundMessage, Launch, InboundSession, BackendHealth):
        names = [f.name for f in model._meta.fields if isinstance(f, DateTimeField)]
        model.objects.update(**{name: F(name) - delta for name in names})
