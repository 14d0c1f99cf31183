"""``DATABASES`` entries from URLs, for the test, soak and benchmark settings."""

from urllib.parse import urlparse


def postgres_database(url):
    """The ``DATABASES`` entry of a ``postgres://user:password@host:port/name`` URL."""
    parsed = urlparse(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parsed.path.lstrip("/") or "test",
        "USER": parsed.username or "postgres",
        "PASSWORD": parsed.password or "",
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": parsed.port or 5432,
    }
