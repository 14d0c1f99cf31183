"""Port of the settings that rapidsms-tropo 0.2.0's ``runtests.py`` passed to
``settings.configure()``, as module constants; changed only where Django removed APIs
(none here) and ``ROOT_URLCONF``, which names this package's port of its urls."""

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
    }
}
INSTALLED_APPS = (
    "rapidsms",
    "rtropo",
)
SITE_ID = 1
SECRET_KEY = "super-secret"
ROOT_URLCONF = "tests.upgrade_02.urls"
INSTALLED_BACKENDS = {
    "tropobackend": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": {
            "messaging_token": "12345abc",
            "number": "+12345",
        },
    }
}
