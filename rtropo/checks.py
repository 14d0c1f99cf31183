"""System checks for the Tropo backends in ``INSTALLED_BACKENDS``."""

import logging
from importlib.metadata import version

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction

from rtropo.conf import BackendConfig, tropo_backend_names

logger = logging.getLogger(__name__)


@checks.register()
def check_backends(app_configs=None, **kwargs):
    """Report misconfigured Tropo backends (E001) and backends without a secret (W001)."""
    errors = []
    valid = _configs(errors)
    return errors + [
        checks.Warning(
            f"Tropo backend {name!r} has no 'inbound_secret': anyone who learns the messaging "
            "URL can inject inbound SMS, so replies to inbound SMS are never answered inline "
            "but launched to the number.",
            hint="Set 'inbound_secret' and add ?secret=<it> to the URL at Tropo.",
            id="rtropo.W001",
        )
        for name, config in valid
        if not config.inbound_secrets
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_api_urls(app_configs=None, **kwargs):
    """Under ``check --deploy``: backends whose token goes over plain HTTP (W002)."""
    return [
        checks.Warning(
            f"Tropo backend {name!r} sends its messaging token over plain HTTP ({config.api_url}).",
            hint="Use an https:// 'api_url' outside local testing.",
            id="rtropo.W002",
        )
        for name, config in _configs([])
        if not config.api_url.startswith("https://")
    ]


@checks.register()
def check_launch_refusals(app_configs=None, **kwargs):
    """Backends whose last launch Tropo refused (W003); nothing before ``migrate``."""
    from rtropo.models import BackendHealth
    from rtropo.status import health as backend_health

    names = [name for name, _ in _configs([])]
    if not names:
        return []
    try:
        with transaction.atomic():  # a failed read leaves a caller's transaction usable
            stored = list(BackendHealth.objects.filter(backend_name__in=names))
    except DatabaseError:
        logger.debug("No health table to read yet (before migrate?)", exc_info=True)
        return []
    return [
        checks.Warning(
            f"Tropo refused the last launch of backend {health.backend_name!r}: "
            f"{health.last_refusal_reason}",
            hint="Check its 'messaging_token' and 'api_url'; 'manage.py tropo_status' tells more.",
            id="rtropo.W003",
        )
        for health in stored
        if backend_health.launch_refusal_current(health)
    ]


def _configs(messages: list):
    """(name, config) of each valid Tropo backend; an E001 into ``messages`` for others."""
    valid = []
    for name in tropo_backend_names():
        try:
            valid.append((name, BackendConfig.from_entry(name, settings.INSTALLED_BACKENDS[name])))
        except ImproperlyConfigured as exc:
            messages.append(checks.Error(str(exc), id="rtropo.E001"))
    return valid


@checks.register(checks.Tags.compatibility)
def check_django_tables2(app_configs=None, **kwargs):
    """Report a django-tables2 without the ``querystring`` tag RapidSMS 2.2's table
    templates use (E010); django-tables2 3.0 renamed it."""
    if not apps.is_installed("django_tables2"):
        return []
    from django_tables2.templatetags.django_tables2 import register

    if "querystring" in register.tags:
        return []
    return [
        checks.Error(
            f"django-tables2 {version('django-tables2')} has no {{% querystring %}} tag: "
            "RapidSMS's table pages (message log, registration, HTTP tester) cannot render.",
            hint="Install django-tables2<2.9 (pip install 'django-tables2>=2.1.1,<2.9').",
            id="rtropo.E010",
        )
    ]
