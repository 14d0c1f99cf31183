"""Settings of the Celery worker process: the test settings under CeleryRouter.

DATABASE_URL must name the test database the test process uses; the Tropo
backend launches through the loopback Session API stub at RTROPO_STUB_URL.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import NUMBER, TOKEN

RAPIDSMS_ROUTER = "rapidsms.router.celery.CeleryRouter"

INSTALLED_BACKENDS = {
    "tropo": {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": {
            "messaging_token": TOKEN,
            "number": NUMBER,
            "api_url": os.environ.get("RTROPO_STUB_URL", "http://127.0.0.1:9") + "/sessions",
            "inbound_secret": "new-secret",
            "timeout": 2.0,
        },
    },
}
