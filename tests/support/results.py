"""Evidence that Tropo's results reach the view, for tests of the sweep."""

from django.utils import timezone

from rtropo.models import OutboundMessage


def result_settled_now(backend_name="tropo") -> OutboundMessage:
    """A message of the backend that a result confirmed just now: the sweep may resend.

    The sweep sends an unconfirmed message again only after some result
    settled a message sent later than it.
    """
    now = timezone.now()
    return OutboundMessage.objects.create(
        backend_name=backend_name,
        identity="+15555559999",
        to_number="+15555559999",
        text="confirmed earlier",
        status=OutboundMessage.Status.CONFIRMED,
        next_attempt_at=now,
        created_at=now,
        result_at=now,
    )
