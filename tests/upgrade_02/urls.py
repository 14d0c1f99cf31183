"""Port of rapidsms-tropo 0.2.0's ``rtropo/tests/urls.py``, changed only where Django
removed APIs: ``patterns()`` is a list and ``django.conf.urls.url`` is ``re_path``
(and the relative imports name where the modules are now)."""

from django.urls import re_path

from rtropo.views import message_received
from tests.upgrade_02.utils import BACKEND_NAME

urlpatterns = [
    re_path(
        r"^backend_tropo/$",
        name="tropo-backend",
        view=message_received,
        kwargs={"backend_name": BACKEND_NAME},
    ),
    # Dummies
    re_path(r"^rapidsms-login", name="rapidsms-login", view=message_received),
]
