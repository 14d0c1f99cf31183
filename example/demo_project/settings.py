"""Settings of the demo project: RapidSMS's echo app behind a Tropo backend.

The backend talks to the local Tropo emulator (``python -m rtropo.emulator``)
instead of api.tropo.com. These environment variables change the wiring;
``example/demo.py`` and the end-to-end tests set them:

- ``DEMO_EMULATOR_HOST`` / ``DEMO_EMULATOR_PORT``: where the emulator listens
  (127.0.0.1:8088);
- ``DEMO_TROPO_TOKEN`` / ``DEMO_TROPO_SECRET`` / ``DEMO_TROPO_NUMBER``: the messaging
  token, the inbound secret (``?secret=`` on the messaging URL) and the app's number;
- ``DEMO_TROPO_OPTIONS``: a JSON object of further backend settings, e.g.
  ``{"inline_replies": false, "timeout": 1}``;
- ``DEMO_DATABASE``: the SQLite file (``example/db.sqlite3``);
- ``DEMO_LOG_LEVEL``: the level of the ``rtropo`` log on the console (INFO).
"""

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "django-insecure-demo-only-never-use-this-key-in-production"  # noqa: S105
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rapidsms",
    "rapidsms.contrib.handlers",
    "rapidsms.contrib.messagelog",
    "rapidsms.contrib.default",
    "rtropo",
    "outbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "demo_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "demo_project.wsgi.application"

# What `django-admin startproject` writes: plain SQLite, no extra options.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DATABASE") or BASE_DIR / "db.sqlite3",
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# RapidSMS: "ping" answers "pong", "echo <text>" answers <text>, anything else
# gets DEFAULT_RESPONSE.
RAPIDSMS_HANDLERS = [
    "rapidsms.contrib.echo.handlers.echo.EchoHandler",
    "rapidsms.contrib.echo.handlers.ping.PingHandler",
]
PROJECT_NAME = "the RapidSMS demo"
DEFAULT_RESPONSE = "Sorry, %(project_name)s could not understand your message."

EMULATOR_HOST = os.environ.get("DEMO_EMULATOR_HOST", "127.0.0.1")
EMULATOR_PORT = int(os.environ.get("DEMO_EMULATOR_PORT", "8088"))

INSTALLED_BACKENDS = {
    "tropo": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": {
            "messaging_token": os.environ.get("DEMO_TROPO_TOKEN", "demo-messaging-token"),
            "number": os.environ.get("DEMO_TROPO_NUMBER", "+15555550000"),
            "api_url": f"http://{EMULATOR_HOST}:{EMULATOR_PORT}/1.0/sessions",
            "inbound_secret": os.environ.get("DEMO_TROPO_SECRET", "demo-secret"),
            **json.loads(os.environ.get("DEMO_TROPO_OPTIONS") or "{}"),
        },
    },
}

# The emulator speaks plain HTTP on loopback; a real deployment uses https://.
SILENCED_SYSTEM_CHECKS = ["rtropo.W002"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secret": {"()": "demo_project.log_filters.RedactSecret"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "requests": {"class": "logging.StreamHandler", "filters": ["redact_secret"]},
    },
    "loggers": {
        "rtropo": {
            "handlers": ["console"],
            "level": os.environ.get("DEMO_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
        "django.server": {"handlers": ["requests"], "level": "INFO", "propagate": False},
    },
}
