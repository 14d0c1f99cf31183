"""The periodic run over the Tropo backends (``tropo_send_queued``, its Celery task and
the demo): what the view could not finish is finished here, then due rows are launched."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from rtropo.conf import BackendConfig, get_config, tropo_backend_names
from rtropo.inbox import spool
from rtropo.inbox.routing import route_due
from rtropo.models import Launch
from rtropo.outbox import release, results, sweep
from rtropo.outbox.launching import launch_round
from rtropo.status import health

logger = logging.getLogger(__name__)


def send_all_queued(
    names: list[str] | None = None,
    *,
    include_backing_off: bool = False,
    on_launch: Callable[[str, Progress], None] | None = None,
) -> dict[str, Progress]:
    """:func:`~rtropo.periodic.send_queued` for these Tropo backends (default: all), by name.

    Each backend's spooled inbound SMS are recorded and routed first
    (:func:`~rtropo.inbox.spool.replay`), then its inbound sessions left ``received``
    past their claim (:func:`~rtropo.inbox.routing.route_due`), so that their
    replies go out in the same run. Each backend's run is recorded in its health.

    ``on_launch(name, progress)`` is called after each launch of backend ``name``.
    """
    done = {}
    for name in names or tropo_backend_names():
        report = None if on_launch is None else _for_backend(on_launch, name)
        try:
            spool.replay(get_config(name))
        except OSError:
            logger.exception("Could not replay the inbound spool of %s", name)
        route_due(get_config(name))
        done[name] = send_queued(
            get_config(name), include_backing_off=include_backing_off, on_launch=report
        )
        health.command_ran(get_config(name))
    return done


def _before_any_send() -> datetime:
    """A time before every row's send, naive or aware as the project stores times: with no
    result ever accepted, the sweep sends no row again."""
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    return moment if settings.USE_TZ else timezone.make_naive(moment)


@dataclasses.dataclass
class Progress:
    """What one run of :func:`send_queued` did."""

    released: int = 0
    unconfirmed: int = 0
    resent: int = 0
    launches: int = 0
    messages: int = 0
    failed_launches: int = 0


def send_queued(
    config: BackendConfig,
    *,
    include_backing_off: bool = False,
    on_launch: Callable[[Progress], None] | None = None,
) -> Progress:
    """Release expired launches and sweep unconfirmed rows, then launch until no row is due.

    Sent rows whose result did not come within the lease become unconfirmed
    (and, when the backend resends them and a result was accepted for it
    after they were sent, due at once). Launches in rounds of
    :func:`launch_round`; stops after a round with a failed launch: Tropo is
    down, and the rows it took are backing off again. ``on_launch(progress)``
    is called after each successful launch.
    """
    progress = Progress(released=release.release_expired(config))
    progress.unconfirmed, progress.resent = sweep.expire_unconfirmed(
        config, resend_sent_by=results.last_result_at(config) or _before_any_send()
    )
    while launches := launch_round(config, include_backing_off=include_backing_off):
        for launch in launches:
            if launch.status == Launch.Status.FAILED:
                progress.failed_launches += 1
                continue
            progress.launches += 1
            progress.messages += launch.size
            if on_launch is not None:
                on_launch(progress)
        if progress.failed_launches:
            break
    return progress


def _for_backend(on_launch: Callable[[str, Progress], None], name: str):
    return lambda progress: on_launch(name, progress)
