"""Which ``INSTALLED_BACKENDS`` entries are Tropo backends.

It sits above :mod:`rtropo.outgoing` and :mod:`rtropo.conf` so that neither
has to import the other to answer it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from rtropo.outgoing import TropoBackend

logger = logging.getLogger(__name__)


def tropo_backend_names() -> list[str]:
    """Names of the entries whose ENGINE is :class:`TropoBackend` or a subclass of it.

    The ENGINE may be a class or its dotted path, as RapidSMS accepts both. An
    ENGINE that cannot be imported is no Tropo backend we can tell of; the
    router reports it when it loads the backends.
    """
    names = []
    for name, entry in (getattr(settings, "INSTALLED_BACKENDS", {}) or {}).items():
        engine = _engine(name, entry.get("ENGINE"))
        if isinstance(engine, type) and issubclass(engine, TropoBackend):
            names.append(name)
    return names


def _engine(name: str, engine: object) -> object:
    if not isinstance(engine, str):
        return engine
    try:
        return import_string(engine)
    except ImportError:
        logger.debug("ENGINE %r of backend %r does not import", engine, name)
        return None
