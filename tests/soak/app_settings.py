"""The example project's settings on the PostgreSQL database of a soak run.

Used only when ``DATABASE_URL`` selects PostgreSQL; the soak otherwise runs
the project unchanged on its SQLite file. ``SOAK_DATABASE_URL`` names the
database the soak created for this run.
"""

import os
from urllib.parse import urlparse

from demo_project.settings import *  # noqa: F403

_url = urlparse(os.environ["SOAK_DATABASE_URL"])
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "127.0.0.1",
        "PORT": _url.port or 5432,
    }
}
