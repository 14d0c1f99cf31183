"""System checks for the Tropo backends in ``INSTALLED_BACKENDS``."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from rtropo.backends import tropo_backend_names
from rtropo.conf import BackendConfig


@checks.register()
def check_backends(app_configs=None, **kwargs):
    """Report misconfigured Tropo backends (E001) and risky settings (W001, W002)."""
    messages = []
    for name in tropo_backend_names():
        try:
            config = BackendConfig.from_entry(name, settings.INSTALLED_BACKENDS[name])
        except ImproperlyConfigured as exc:
            messages.append(checks.Error(str(exc), id="rtropo.E001"))
            continue
        if not config.inbound_secrets:
            messages.append(
                checks.Warning(
                    f"Tropo backend {name!r} has no 'inbound_secret': anyone who learns "
                    "the messaging URL can inject inbound SMS, so replies to inbound SMS "
                    "are never answered inline but launched to the number.",
                    hint="Set 'inbound_secret' and add ?secret=<it> to the URL at Tropo.",
                    id="rtropo.W001",
                )
            )
        if not config.api_url.startswith("https://"):
            messages.append(
                checks.Warning(
                    f"Tropo backend {name!r} sends its messaging token over plain HTTP "
                    f"({config.api_url}).",
                    hint="Use an https:// 'api_url' outside local testing.",
                    id="rtropo.W002",
                )
            )
    return messages
