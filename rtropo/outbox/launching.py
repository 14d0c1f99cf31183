"""Launching: when to ask Tropo for a session, and the asking (always outside a
transaction, between the take and its record or release)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.exceptions import TropoAPIError
from rtropo.models import Launch
from rtropo.outbox import client, programs, release, take
from rtropo.status import health

logger = logging.getLogger(__name__)

#: How long after its launch a session's callback is still awaited by new sends.
JOIN_WINDOW = timedelta(seconds=10)


def join_pending_launch(config: BackendConfig, number: str) -> bool:
    """Count on a pending launch of ``number`` with room to collect its due rows (call
    once they are committed); whether one will.

    Only a launch that took fewer than ``batch_size`` rows and is younger than
    :data:`JOIN_WINDOW` plus the time-out qualifies: a later callback is presumed
    lost, and waiting for its lease would hold up every later message.

    This is what keeps single sends spaced wider than ``launch_delay`` from costing
    a session each: 30 of them while callbacks come every tenth send launch 4
    sessions instead of 30.
    """
    now = timezone.now()
    return bool(
        Launch.objects.filter(
            backend_name=config.name,
            number=number,
            status=Launch.Status.PENDING,
            program=False,
            size__lt=config.batch_size,
            created_at__gt=now - JOIN_WINDOW - timedelta(seconds=config.timeout),
            expires_at__gt=now,
        ).update(join_count=F("join_count") + 1)
    )


def request_launch(config: BackendConfig, *, join: bool = True) -> None:
    """Make sure sessions will come for all the due rows of this backend.

    For each number with due rows: joins a pending launch of it with room (unless
    ``join`` is False); else launches as long as launches come back full or carry a
    program. Stops at a failed launch (its rows back off).
    """
    for number in take.numbers_due(config):
        if join and number and join_pending_launch(config, number):
            continue
        while launch := launch_due(config, number):
            if launch.status == Launch.Status.FAILED:
                return
            if launch.size < config.batch_size and not launch.program:
                break


def launch_due(
    config: BackendConfig, number: str, *, include_backing_off: bool = False
) -> Launch | None:
    """Launch one session for up to ``batch_size`` due rows of ``number`` (or a due
    program); None when none is taken. A launch Tropo refused or did not answer comes
    back ``failed``, its rows backing off."""
    launch = take.take_due(config, number, include_backing_off=include_backing_off)
    if launch is None:
        return None
    token = programs.launch_token(config, launch)
    try:
        session_id = client.launch_session(config, launch.reference, token)
    except TropoAPIError as exc:
        logger.warning("Launch %s on %s failed: %s", launch.pk, config.name, exc)
        health.launch_failed(config, exc)
        release.release(config, launch, str(exc))
        launch.status = Launch.Status.FAILED
        return launch
    take.record_session(launch, session_id)
    health.launch_succeeded(config)
    logger.info(
        "Launched session %s (launch %s) for %d message(s) on %s",
        session_id,
        launch.pk,
        launch.size,
        config.name,
    )
    return launch
