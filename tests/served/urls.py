"""The quickstart's urls.py (docs/quickstart.rst, ``sample-urls``): the Tropo URL only."""

from django.urls import path

from rtropo.views import message_received

urlpatterns = [
    path("tropo/", message_received, {"backend_name": "my-tropo-backend"}),
]
