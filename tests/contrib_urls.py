"""The test project's URLs with RapidSMS's messagelog and messaging UI, the login and
logout pages their base template links to and django-selectable's lookups."""

from django.urls import include, path

from tests.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("accounts/", include("rapidsms.urls.login_logout")),
    path("messagelog/", include("rapidsms.contrib.messagelog.urls")),
    path("messaging/", include("rapidsms.contrib.messaging.urls")),
    path("selectable/", include("selectable.urls")),
]
