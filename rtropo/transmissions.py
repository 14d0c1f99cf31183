"""Tropo's results on RapidSMS's DatabaseRouter: a confirmed row's ``Transmission`` becomes
``D`` (delivered), a failed row's ``E`` (errored), and its ``Message`` follows through
``set_status()``.

Only when ``rapidsms.router.db`` is installed and ``RAPIDSMS_ROUTER`` is DatabaseRouter or a
subclass; otherwise the receivers return without a query. Rows whose ``message_id`` is not an
integer (BlockingRouter's ids) are ignored, and so are the transmissions of a message that
already has an errored one: RapidSMS retries every transmission of it that is not ``S``.
"""

import functools
import logging

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string

from rtropo import signals

logger = logging.getLogger(__name__)
DEFAULT_ROUTER = "rapidsms.router.blocking.BlockingRouter"


@functools.cache
def enabled() -> bool:
    """Whether results go to DatabaseRouter's transmissions; decided once per settings."""
    if not apps.is_installed("rapidsms.router.db"):
        return False
    router = getattr(settings, "RAPIDSMS_ROUTER", DEFAULT_ROUTER)
    try:
        from rapidsms.router.db import DatabaseRouter

        router = import_string(router) if isinstance(router, str) else router
    except ImportError:
        logger.warning("DatabaseRouter or RAPIDSMS_ROUTER %r cannot be imported", router)
        return False
    return issubclass(router if isinstance(router, type) else type(router), DatabaseRouter)


@receiver(setting_changed)
def _forget(setting, **kwargs):
    if setting in ("RAPIDSMS_ROUTER", "INSTALLED_APPS"):
        enabled.cache_clear()


def settle(row, status: str) -> None:
    """Move ``row``'s transmission to ``status`` and have its message's status follow."""
    pk = _message_pk(row) if enabled() else None
    if pk is None:
        return
    from rapidsms.router.db.models import Message, Transmission

    if Transmission.objects.filter(message_id=pk, status="E").exists():
        return
    now = timezone.now()
    changes = {"status": status, "updated": now, **({"delivered": now} if status == "D" else {})}
    matched = Transmission.objects.filter(
        message_id=pk,
        connection__identity=row.identity,
        connection__backend__name=row.backend_name,
    ).update(**changes)
    if matched:
        Message.objects.get(pk=pk).set_status()


def _message_pk(row) -> int | None:
    """The ``Message`` pk in ``row.message_id``; None for other ids (BlockingRouter's uuid hex)."""
    text = row.message_id
    return int(text) if text.isdecimal() and len(text) < 19 else None


@receiver(signals.message_confirmed, dispatch_uid="rtropo.transmissions.delivered")
def _delivered(message, **kwargs):
    settle(message, "D")


@receiver(signals.message_failed, dispatch_uid="rtropo.transmissions.errored")
def _errored(message, **kwargs):
    settle(message, "E")
