"""The test settings with DEBUG off and only the quickstart's URLconf.

``SERVED_DATABASE`` is the SQLite file, ``SERVED_REPORTS`` the file that
receives each ADMINS mail of ``django.request`` as a JSON line.
"""

import os

import django

from tests.served import SECRET
from tests.settings import *  # noqa: F403 - the test project, served
from tests.settings import NUMBER, TOKEN

DEBUG = False
ROOT_URLCONF = "tests.served.urls"
ADMINS = ["ops@example.com"] if django.VERSION >= (6, 0) else [("Ops", "ops@example.com")]
if django.VERSION < (6, 1):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SERVED_DATABASE"]}
}
INSTALLED_BACKENDS = {
    "my-tropo-backend": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": {
            "messaging_token": TOKEN,
            "number": NUMBER,
            "inbound_secret": SECRET,
            # Nothing listens there: the served tests launch nothing.
            "api_url": "http://127.0.0.1:9/1.0/sessions",
        },
    },
}
RAPIDSMS_HANDLERS = [
    "tests.served.handlers.CrashHandler",
    "rapidsms.contrib.echo.handlers.ping.PingHandler",
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "reports": {
            "class": "tests.served.handlers.FileReportHandler",
            "path": os.environ.get("SERVED_REPORTS", os.devnull),
            "include_html": True,
            "level": "ERROR",
        },
    },
    "loggers": {"django.request": {"handlers": ["reports"], "level": "ERROR"}},
}
