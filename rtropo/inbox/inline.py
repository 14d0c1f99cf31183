"""Collect, in this thread only, the replies routing an inbound SMS queues instead of
launching them, and the ones it failed to store (RapidSMS's router swallows those errors)."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rtropo.models import OutboundMessage

_active: contextvars.ContextVar[Capture | None] = contextvars.ContextVar(
    "rtropo_inline_capture", default=None
)


@dataclasses.dataclass
class Capture:
    """The rows routing queued for ``backend_name`` (as inserted, by id), and the store
    errors; replies to ``sender`` go from ``number``, the pool number it texted."""

    backend_name: str
    sender: str = ""
    number: str = ""
    rows: dict[int, OutboundMessage] = dataclasses.field(default_factory=dict)
    store_errors: list[str] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def capture(backend_name: str, *, sender: str = "", number: str = ""):
    """Collect rows queued for ``backend_name`` in this thread until the block ends."""
    current = Capture(backend_name, sender, number)
    token = _active.set(current)
    try:
        yield current
    finally:
        _active.reset(token)


def current(backend_name: str) -> Capture | None:
    """The capture active in this thread for ``backend_name``, if any."""
    active = _active.get()
    return active if active is not None and active.backend_name == backend_name else None
