"""The periodic run over the Tropo backends (``tropo_send_queued``, its Celery task, the
demo): what the view could not finish is finished, then due rows are launched."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable

from rtropo.conf import BackendConfig, get_config, tropo_backend_names
from rtropo.inbox import spool
from rtropo.inbox.routing import route_due
from rtropo.models import Launch
from rtropo.outbox import release, results, sweep
from rtropo.outbox.launching import launch_due
from rtropo.outbox.take import numbers_due
from rtropo.status import health

logger = logging.getLogger(__name__)


def send_all_queued(
    names: list[str] | None = None,
    *,
    include_backing_off: bool = False,
    on_launch: Callable[[str, Progress], None] | None = None,
) -> dict[str, Progress]:
    """:func:`send_queued` for these Tropo backends (default: all), by name, after routing
    their spooled SMS and sessions left ``received`` (so that the replies go out too).

    ``on_launch(name, progress)`` is called after each launch of backend ``name``.
    """
    done = {}
    for name in names or tropo_backend_names():
        config = get_config(name)
        report = None if on_launch is None else functools.partial(on_launch, name)
        try:
            spool.replay(config)
        except OSError:
            logger.exception("Could not replay the inbound spool of %s", name)
        route_due(config)
        done[name] = send_queued(config, include_backing_off=include_backing_off, on_launch=report)
        health.command_ran(config)
    return done


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
    """Release expired launches and sweep unconfirmed rows, then launch, number by number,
    until no row is due.

    The sweep queues an unconfirmed row again only when a result was accepted
    after it was sent. Stops at a failed launch: Tropo is down, and its rows back
    off. ``on_launch(progress)`` is called after each successful launch.
    """
    progress = Progress(released=release.release_expired(config))
    progress.unconfirmed, progress.resent = sweep.expire_unconfirmed(
        config, resend_sent_by=results.last_result_at(config)
    )
    for number in numbers_due(config, include_backing_off=include_backing_off):
        while launch := launch_due(config, number, include_backing_off=include_backing_off):
            if launch.status == Launch.Status.FAILED:
                progress.failed_launches += 1
                return progress
            progress.launches += 1
            progress.messages += launch.size
            if on_launch is not None:
                on_launch(progress)
    return progress
