"""URLs: the Tropo messaging URL and the admin."""

from django.contrib import admin
from django.urls import path

from rtropo.views import message_received

urlpatterns = [
    path("admin/", admin.site.urls),
    path("tropo/", message_received, {"backend_name": "tropo"}, name="tropo"),
]
