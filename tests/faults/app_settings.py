"""The example project's settings for the server that the fault harness kills.

Adds the kill points (:mod:`tests.faults.kills`, armed by ``FAULT_KILL_*``) and
the recorder app (:mod:`tests.faults.recorder`, writing to ``FAULT_RECEIVED_DB``).
``FAULT_DATABASE_URL`` (``postgres://...``) puts the project on the PostgreSQL
database the harness created; without it the project keeps its SQLite file.
``FAULT_SPOOL_DIR`` is the run's inbound spool.
"""

import os

from demo_project.settings import *  # noqa: F403
from demo_project.settings import INSTALLED_APPS, MIDDLEWARE

from tests.support.databases import postgres_database

INSTALLED_APPS = ["tests.faults.recorder", *INSTALLED_APPS]
MIDDLEWARE = ["tests.faults.kills.KillMiddleware", *MIDDLEWARE]

if os.environ.get("FAULT_DATABASE_URL"):
    DATABASES = {"default": postgres_database(os.environ["FAULT_DATABASE_URL"])}

if os.environ.get("FAULT_SPOOL_DIR"):
    RTROPO_SPOOL_DIR = os.environ["FAULT_SPOOL_DIR"]
