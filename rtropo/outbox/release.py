"""Giving up on launches: their rows back off and are queued again, or fail after
``max_attempts``; and the admin's retry."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.utils import timezone

from rtropo import db, signals
from rtropo.conf import BackendConfig
from rtropo.models import Launch, OutboundMessage

logger = logging.getLogger(__name__)

Status = OutboundMessage.Status


def release(config: BackendConfig, launch: Launch, error: str) -> int:
    """Give up on a launch: requeue its rows with back-off, or fail those out of attempts.

    Does nothing when the launch was answered meanwhile. Returns the number of rows released.
    """
    now = timezone.now()
    with db.write_transaction():
        gave_up = Launch.objects.filter(pk=launch.pk, status=Launch.Status.PENDING).update(
            status=Launch.Status.FAILED, error=error
        )
        if not gave_up:
            return 0
        launched = OutboundMessage.objects.filter(launch=launch, status=Status.LAUNCHED)
        rows = list(launched.select_for_update())
        for row in rows:
            row.last_error, row.launch, row.session_id = error, None, ""
            if row.attempts >= config.max_attempts:
                row.status = Status.FAILED
            else:
                row.status = Status.QUEUED
                row.next_attempt_at = now + timedelta(seconds=backoff(config, row.attempts))
        OutboundMessage.objects.bulk_update(
            rows, ["status", "last_error", "launch", "session_id", "next_attempt_at"]
        )
    failed = [row for row in rows if row.status == Status.FAILED]
    for row in failed:
        logger.error(
            "Message %s to %s failed after %d attempts: %s",
            row.pk,
            row.identity,
            row.attempts,
            error,
        )
    signals.announce_failed(failed)
    return len(rows)


def release_expired(config: BackendConfig) -> int:
    """Release launches of this backend whose callback did not come within the lease."""
    # Read in full first: an open read cursor under a release's write transaction
    # deadlocks SQLite against a concurrent writer.
    expired = list(
        Launch.objects.filter(
            backend_name=config.name,
            status=Launch.Status.PENDING,
            expires_at__lte=timezone.now(),
        ).order_by("pk")
    )
    return sum(
        release(config, launch, "Tropo did not call back within the lease") for launch in expired
    )


def retry_now(messages) -> int:
    """Make queued, failed and unconfirmed rows of ``messages`` due now, with fresh attempts."""
    return messages.filter(status__in=[Status.QUEUED, Status.FAILED, Status.UNCONFIRMED]).update(
        status=Status.QUEUED, next_attempt_at=timezone.now(), attempts=0
    )


def backoff(config: BackendConfig, attempts: int) -> float:
    """Seconds to wait before the next launch after ``attempts`` failed ones: exponential
    from ``retry_base``, capped at ``retry_cap``, with equal jitter (a random point in the
    upper half) so that many failed rows do not come back at once."""
    delay = min(config.retry_cap, config.retry_base * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.5, 1.0)
