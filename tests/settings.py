"""Settings of the test project. DATABASE_URL=postgres://... selects PostgreSQL."""

import os
import tempfile
from pathlib import Path

import django

from tests.support.databases import postgres_database

SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
ROOT_URLCONF = "tests.urls"
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ALLOWED_HOSTS = ["*"]
if django.VERSION >= (6, 1):
    # Django 6.1 sends mail through MAILERS and warns when a project has none.
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rapidsms",
    "rapidsms.backends.database",
    "rapidsms.router.db",
    "rapidsms.contrib.handlers",
    "rapidsms.contrib.default",
    "rtropo",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database():
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        # A file, not SQLite's shared-cache memory database: threads (the launcher,
        # live servers) must see SQLite's real locking, with its busy time-out.
        test_name = Path(tempfile.gettempdir()) / f"rtropo-tests-{os.getpid()}.sqlite3"
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": "rtropo-tests.sqlite3",
            "TEST": {"NAME": str(test_name)},
        }
    return postgres_database(url)


DATABASES = {"default": _database()}

TOKEN = "a1b2c3d4" * 11
NUMBER = "+1 (555) 555-0000"

INSTALLED_BACKENDS = {
    "tropo": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": {
            "messaging_token": TOKEN,
            "number": NUMBER,
            "api_url": "https://tropo.test/1.0/sessions",
            "inbound_secret": ["old-secret", "new-secret"],
            "launch_delay": 0,
        },
    },
}

RAPIDSMS_HANDLERS = [
    "rapidsms.contrib.echo.handlers.echo.EchoHandler",
    "rapidsms.contrib.echo.handlers.ping.PingHandler",
]
DEFAULT_RESPONSE = "Sorry, %(project_name)s could not understand your message."
PROJECT_NAME = "RapidSMS"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "root": {"handlers": ["null"], "level": "DEBUG"},
}
