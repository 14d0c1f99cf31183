"""A process that POSTs one inbound SMS to the Tropo view and SIGKILLs itself while routing.

``python -m tests.support.killed_inbound DATABASE_JSON KILL_POINT TEXT``: the
database entry as JSON (the parent's test database), then where the app kills
the process: ``before-reply`` (the apps have the SMS, nothing is stored) or
``after-reply`` (one reply is stored and held for the answer). The process
dies from SIGKILL, as a server killed mid-request does.
"""

import json
import os
import signal
import sys


def main(database_json: str, kill_point: str, text: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    from tests import settings as test_settings

    test_settings.DATABASES = {"default": json.loads(database_json)}
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from rapidsms.apps.base import AppBase
    from rapidsms.router import send
    from rapidsms.router.blocking import BlockingRouter

    from tests.support.payloads import SECRET, inbound_payload

    class KillsItself(AppBase):
        def handle(self, msg):
            if kill_point == "after-reply":
                send("stored before the kill", msg.connections)
            os.kill(os.getpid(), signal.SIGKILL)

    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[KillsItself])
    Client().post(
        f"/tropo/?secret={SECRET}",
        data=json.dumps(inbound_payload(text=text)),
        content_type="application/json",
    )
    sys.exit("the app did not kill the process")


if __name__ == "__main__":
    main(*sys.argv[1:])
