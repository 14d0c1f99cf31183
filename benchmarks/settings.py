"""Django settings of the benchmark project.

Read from the environment so that every process of one run (the app server, the
sending workers) sees the same database and the same emulator:

- ``BENCH_DATABASE``: ``sqlite:/path/to/file`` (SQLite in WAL mode),
  ``sqlite-rollback:/path/to/file`` (SQLite's default rollback journal) or
  ``postgres://user@host:port/name``;
- ``BENCH_API_URL``: the emulator's Session API URL;
- ``BENCH_CACHE``: the directory that holds the 0.2.0 package (``rtropo02``);
- ``BENCH_SMS_PER_SECOND``: the campaign and pool backends' ``sms_per_second``, per
  number (default 1, Tropo's long-code rate; the quick run scales it with the
  emulator's rate; 0 texts at no rate);
- ``BENCH_POOL_NUMBERS``: the pool backend's ``numbers``, comma-separated (default
  the first ten of :func:`pool_numbers`).
"""

import os
import sys

from benchmarks.loadgen import SECRET
from tests.support.databases import postgres_database

SECRET_KEY = "benchmarks-only"  # noqa: S105 - a throwaway project on loopback
DEBUG = False
USE_TZ = True
ROOT_URLCONF = "benchmarks.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ALLOWED_HOSTS = ["*"]
WSGI_APPLICATION = "benchmarks.wsgi.application"

CACHE_DIR = os.environ.get("BENCH_CACHE", "")
if CACHE_DIR and CACHE_DIR not in sys.path:
    sys.path.append(CACHE_DIR)

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rapidsms",
    "rapidsms.backends.database",
    "rapidsms.contrib.handlers",
    "rtropo",
    "benchmarks.apps.BenchmarksConfig",
]

MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]


#: SQLite journal mode per URL scheme; "" leaves SQLite's default (rollback) journal.
SQLITE_JOURNALS = {"sqlite:": "WAL", "sqlite-rollback:": ""}


def _database(url):
    for scheme in SQLITE_JOURNALS:
        if url.startswith(scheme):
            return {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": url.removeprefix(scheme),
                "OPTIONS": {"timeout": 30},
                "CONN_MAX_AGE": 60,
            }
    return {**postgres_database(url), "CONN_MAX_AGE": 60}


_URL = os.environ.get("BENCH_DATABASE", "sqlite:bench.sqlite3")
DATABASES = {"default": _database(_URL)}
BENCH_SQLITE_JOURNAL = next(
    (mode for scheme, mode in SQLITE_JOURNALS.items() if _URL.startswith(scheme)), ""
)

TOKEN = "b" * 88
NUMBER = "+15555550000"
API_URL = os.environ.get("BENCH_API_URL", "http://127.0.0.1:9/1.0/sessions")
_TROPO = {
    "messaging_token": TOKEN,
    "number": NUMBER,
    "api_url": API_URL,
    "timeout": 30.0,
    "inbound_secret": SECRET,
    # The emulator of every case but the campaign texts at no rate, as from a short code.
    "sms_per_second": 0,
}


def pool_numbers(count: int) -> list[str]:
    """The first ``count`` numbers of the pool backend's pool: none is a recipient
    (``benchmarks.worker.identities``) or ``NUMBER``."""
    return [f"+1555555{1000 + i:04d}" for i in range(count)]


_SMS_PER_SECOND = float(os.environ.get("BENCH_SMS_PER_SECOND", "1"))
_POOL = os.environ.get("BENCH_POOL_NUMBERS", "")
POOL_NUMBERS = _POOL.split(",") if _POOL else pool_numbers(10)

INSTALLED_BACKENDS = {
    "tropo": {"ENGINE": "rtropo.outgoing.TropoBackend", "config": dict(_TROPO)},
    "tropo_launch": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": dict(_TROPO, inline_replies=False),
    },
    "tropo_noconfirm": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": dict(_TROPO, confirm_delivery=False),
    },
    "tropo_campaign": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": dict(_TROPO, sms_per_second=_SMS_PER_SECOND),
    },
    "tropo_pool": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": {
            **{key: value for key, value in _TROPO.items() if key != "number"},
            "numbers": POOL_NUMBERS,
            "sms_per_second": _SMS_PER_SECOND,
        },
    },
    "db": {"ENGINE": "rapidsms.backends.database.DatabaseBackend"},
    "http": {"ENGINE": "rapidsms.backends.database.DatabaseBackend"},
    "noop": {"ENGINE": "benchmarks.noop_backend.NoopBackend"},
}
if CACHE_DIR and os.path.isdir(os.path.join(CACHE_DIR, "rtropo02")):
    INSTALLED_BACKENDS["tropo02"] = {
        "ENGINE": "rtropo02.outgoing.TropoBackend",
        "config": {"messaging_token": TOKEN, "number": NUMBER},
    }

RAPIDSMS_HANDLERS = [
    "rapidsms.contrib.echo.handlers.echo.EchoHandler",
    "rapidsms.contrib.echo.handlers.ping.PingHandler",
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
