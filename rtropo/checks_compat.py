"""System check: the installed django-tables2 renders RapidSMS 2.2's table pages."""

from importlib.metadata import version

from django.apps import apps
from django.core import checks


@checks.register(checks.Tags.compatibility)
def check_django_tables2(app_configs=None, **kwargs):
    """Report a django-tables2 without the ``querystring`` tag RapidSMS's templates use (E010).

    RapidSMS 2.2's ``django_tables2/bootstrap-tables.html`` (message log, registration,
    HTTP tester) uses ``{% querystring %}``, which django-tables2 3.0 renamed.
    """
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
