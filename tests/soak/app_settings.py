"""The example project's settings on the PostgreSQL database of a soak run.

Used only when ``DATABASE_URL`` selects PostgreSQL; the soak otherwise runs
the project unchanged on its SQLite file. ``SOAK_DATABASE_URL`` names the
database the soak created for this run.
"""

import os

from demo_project.settings import *  # noqa: F403

from tests.support.databases import postgres_database

DATABASES = {"default": postgres_database(os.environ["SOAK_DATABASE_URL"])}
