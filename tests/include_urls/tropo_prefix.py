"""``rtropo.urls`` under ``tropo/``."""

from django.urls import include, path

urlpatterns = [path("tropo/", include("rtropo.urls"))]
