"""Django app configuration."""

from django.apps import AppConfig


class TropoConfig(AppConfig):
    """Registers the system checks of the Tropo backend and its DatabaseRouter receivers."""

    name = "rtropo"
    verbose_name = "Tropo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rtropo import checks, transmissions  # noqa: F401  (registers checks and receivers)
