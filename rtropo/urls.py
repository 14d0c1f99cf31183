"""The URLconf of 0.2, for projects that include it: ``include("rtropo.urls")`` under
any prefix routes ``<prefix><backend_name>/`` to the Tropo view, named ``tropo``.

A backend name is word characters and dashes, as in 0.2; one that is not a Tropo backend
of ``INSTALLED_BACKENDS`` does not match (404), so a stranger's guess is not a server error.
"""

from django.urls import path, register_converter

from rtropo.conf import tropo_backend_names
from rtropo.views import message_received


class TropoBackendName:
    """The name of a Tropo backend in ``INSTALLED_BACKENDS``, read at each request."""

    regex = r"[\w-]+"

    def to_python(self, value: str) -> str:
        if value not in tropo_backend_names():
            raise ValueError(f"{value!r} is not a Tropo backend")
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TropoBackendName, "tropo_backend")

urlpatterns = [
    path("<tropo_backend:backend_name>/", message_received, name="tropo"),
]
