"""Launching: when to ask Tropo for a session, and the asking.

The launch policy (join a pending launch, or launch while launches come back
full), the Session API call between the queue's status transitions, and the
per-backend run of ``tropo_send_queued``. The status changes themselves are
:mod:`rtropo.outbox.queue`'s; every Session API call here happens outside a
transaction.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.exceptions import TropoAPIError
from rtropo.models import Launch
from rtropo.outbox import client, release, take
from rtropo.status import health

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


def request_launch(config: BackendConfig, *, join: bool = True) -> None:
    """Make sure sessions will come for all the due rows of this backend.

    Joins a pending launch with room (unless ``join`` is False); else launches
    rounds of up to ``launch_concurrency`` sessions, again as long as every
    launch of a round is full; stops at a failed launch (the rows it took
    back off).
    """
    if join and join_pending_launch(config):
        return
    while launches := launch_round(config):
        if any(_stops(config, launch) for launch in launches):
            return


def _stops(config: BackendConfig, launch: Launch) -> bool:
    return launch.status == Launch.Status.FAILED or launch.size < config.batch_size


def launch_due(config: BackendConfig, *, include_backing_off: bool = False) -> Launch | None:
    """Launch one session for up to ``batch_size`` due rows; None when none is due.

    A launch that Tropo refused or did not answer comes back with status
    ``failed``, its rows released to back off.
    """
    launches = _launch(config, take.take_due(config, include_backing_off=include_backing_off))
    return launches[0] if launches else None


def launch_round(config: BackendConfig, *, include_backing_off: bool = False) -> list[Launch]:
    """Launch up to ``launch_concurrency`` sessions of ``batch_size`` due rows at once.

    The rows are taken in one transaction; the Session API calls run in a
    pool of at most ``launch_concurrency`` threads, which do HTTP only: the
    launches are recorded (or released, each failed one ``failed``) in this
    thread. Returns [] when no row is due (or the in-flight window is full).
    """
    launches = take.take_due(
        config, include_backing_off=include_backing_off, batches=config.launch_concurrency
    )
    return _launch(config, launches)


def _launch(config: BackendConfig, launches: list[Launch]) -> list[Launch]:
    outcomes = _call_session_api(config, launches)
    launched = []
    for launch, outcome in zip(launches, outcomes, strict=True):
        if isinstance(outcome, TropoAPIError):
            logger.warning("Launch %s on %s failed: %s", launch.pk, config.name, outcome)
            health.launch_failed(config, outcome)
            release.release(config, launch, str(outcome))
            launch.status = Launch.Status.FAILED
        else:
            launched.append((launch, outcome))
    take.record_sessions(launched)
    if launched:
        health.launch_succeeded(config)
    for launch, session_id in launched:
        logger.info(
            "Launched session %s (launch %s) for %d message(s) on %s",
            session_id,
            launch.pk,
            launch.size,
            config.name,
        )
    return launches


def _call_session_api(config: BackendConfig, launches: list[Launch]) -> list:
    """Each launch's session id, or the TropoAPIError of its failed call."""
    if len(launches) <= 1:
        return [_try_launch(config, launch) for launch in launches]
    workers = min(len(launches), config.launch_concurrency)
    outcomes: list = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rtropo-launch") as pool:
        for launch in launches:
            try:
                outcomes.append(pool.submit(_try_launch, config, launch))
            except RuntimeError:
                # At interpreter exit (the launcher's last flush) no thread may start.
                outcomes.append(_try_launch(config, launch))
    return [outcome.result() if isinstance(outcome, Future) else outcome for outcome in outcomes]


def _try_launch(config: BackendConfig, launch: Launch) -> str | TropoAPIError:
    try:
        return client.launch_session(config, launch.reference)
    except TropoAPIError as exc:
        return exc
