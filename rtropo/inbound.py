"""Inbound sessions: each is recorded once, before the router sees it."""

from __future__ import annotations

import contextlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from rtropo.models import InboundSession


def record(backend_name: str, session_id: str, identity: str, text: str) -> bool:
    """Record an inbound session before it is routed; False if it was recorded before.

    The record commits on its own, before the apps run, so that concurrent
    requests do not wait for each other's apps, and so that a session whose apps
    failed is neither routed again nor forgotten. Outside a transaction the
    INSERT commits by itself, in one round trip; inside one, a savepoint keeps
    a duplicate from breaking the caller's transaction.
    """
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            InboundSession.objects.create(
                backend_name=backend_name,
                session_id=session_id,
                identity=identity,
                text=text,
                received_at=timezone.now(),
            )
    except IntegrityError:
        return False
    return True
