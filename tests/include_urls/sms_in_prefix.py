"""``rtropo.urls`` under ``sms/in/``, beside a route of the project's own."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sms/in/", include("rtropo.urls")),
]
