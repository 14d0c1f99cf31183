"""Settings of the Celery worker process: the test settings under CeleryRouter.

DATABASE_URL must name the test database the test process uses; the Tropo
backend launches through the loopback Session API stub at RTROPO_STUB_URL.
"""

import copy
import os

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_BACKENDS as TEST_BACKENDS

RAPIDSMS_ROUTER = "rapidsms.router.celery.CeleryRouter"

INSTALLED_BACKENDS = copy.deepcopy(TEST_BACKENDS)
INSTALLED_BACKENDS["tropo"]["config"].update(
    api_url=os.environ.get("RTROPO_STUB_URL", "http://127.0.0.1:9") + "/sessions",
    timeout=2.0,
)
