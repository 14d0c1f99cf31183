"""Launching: when to ask Tropo for a session, and the asking.

The launch policy (join a pending launch, or launch while launches come back
full), the Session API call between the queue's status transitions, and the
per-backend run of ``tropo_send_queued``. The status changes themselves are
:mod:`rtropo.queue`'s; every Session API call here happens outside a
transaction.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from rtropo import queue, session_api
from rtropo.conf import BackendConfig
from rtropo.exceptions import TropoAPIError
from rtropo.models import Launch

logger = logging.getLogger(__name__)

#: How long after its launch a session's callback is still awaited by new sends.
JOIN_WINDOW = timedelta(seconds=10)


def join_pending_launch(config: BackendConfig) -> bool:
    """Count on a pending launch with room to collect this backend's due rows.

    Joining is an UPDATE of the launch row, made after the rows are committed.
    An answer being written holds that row, so the UPDATE waits for it and then
    finds the launch answered; an answer written later sees the rows and
    collects them. Either way no row is stranded.

    Only a launch that took fewer than ``batch_size`` rows has room, and only
    one younger than :data:`JOIN_WINDOW` plus the time-out: a session whose
    callback is that late is presumed lost, and waiting for its lease would
    hold up every later message.
    """
    now = timezone.now()
    return bool(
        Launch.objects.filter(
            backend_name=config.name,
            status=Launch.Status.PENDING,
            size__lt=config.batch_size,
            created_at__gt=now - JOIN_WINDOW - timedelta(seconds=config.timeout),
            expires_at__gt=now,
        ).update(join_count=F("join_count") + 1)
    )


def request_launch(config: BackendConfig) -> None:
    """Make sure sessions will come for all the due rows of this backend.

    Joins a pending launch with room; else launches, again as long as each
    launch is full; stops at a failed launch (the rows it took back off).
    """
    if join_pending_launch(config):
        return
    while launch := launch_due(config):
        if launch.status == Launch.Status.FAILED or launch.size < config.batch_size:
            return


def launch_due(config: BackendConfig, *, include_backing_off: bool = False) -> Launch | None:
    """Launch one session for up to ``batch_size`` due rows; None when none is due.

    A launch that Tropo refused or did not answer comes back with status
    ``failed``, its rows released to back off.
    """
    launch = queue.take_due(config, include_backing_off=include_backing_off)
    if launch is None:
        return None
    try:
        session_id = session_api.launch_session(config, launch.reference)
    except TropoAPIError as exc:
        logger.warning("Launch %s on %s failed: %s", launch.pk, config.name, exc)
        queue.release(config, launch, str(exc))
        launch.status = Launch.Status.FAILED
        return launch
    queue.record_session(launch, session_id)
    logger.info(
        "Launched session %s (launch %s) for %d message(s) on %s",
        session_id,
        launch.pk,
        launch.size,
        config.name,
    )
    return launch


@dataclasses.dataclass
class Progress:
    """What one run of :func:`send_queued` did."""

    released: int = 0
    launches: int = 0
    messages: int = 0
    failed_launches: int = 0


def send_queued(
    config: BackendConfig,
    *,
    include_backing_off: bool = False,
    on_launch: Callable[[Progress], None] | None = None,
) -> Progress:
    """Release expired launches, then launch sessions until no row is due.

    Stops at the first failed launch: Tropo is down, and the rows it took are
    backing off again. ``on_launch(progress)`` is called after each launch.
    """
    progress = Progress(released=queue.release_expired(config))
    while launch := launch_due(config, include_backing_off=include_backing_off):
        if launch.status == Launch.Status.FAILED:
            progress.failed_launches += 1
            break
        progress.launches += 1
        progress.messages += launch.size
        if on_launch is not None:
            on_launch(progress)
    return progress
