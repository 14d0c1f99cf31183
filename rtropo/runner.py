"""One run over the Tropo backends: what ``tropo_send_queued``, the Celery task
and the demo call: the inbound spool is replayed and inbound sessions left received
are routed, then due rows launched."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rtropo import health, spool
from rtropo.backends import tropo_backend_names
from rtropo.conf import get_config
from rtropo.dispatch import Progress, send_queued
from rtropo.routing import route_due

logger = logging.getLogger(__name__)


def send_all_queued(
    names: list[str] | None = None,
    *,
    include_backing_off: bool = False,
    on_launch: Callable[[str, Progress], None] | None = None,
) -> dict[str, Progress]:
    """:func:`~rtropo.dispatch.send_queued` for these Tropo backends (default: all), by name.

    Each backend's spooled inbound SMS are recorded and routed first
    (:func:`~rtropo.spool.replay`), then its inbound sessions left ``received``
    past their claim (:func:`~rtropo.routing.route_due`), so that their
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


def _for_backend(on_launch: Callable[[str, Progress], None], name: str):
    return lambda progress: on_launch(name, progress)
