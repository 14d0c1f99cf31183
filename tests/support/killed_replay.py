"""A process that replays the inbound spool and SIGKILLs itself part-way through.

``python -m tests.support.killed_replay DATABASE_JSON SPOOL_DIR KILL_POINT``: the
database entry as JSON (the parent's test database), the spool directory, then
where the process dies: ``after-insert`` (the spooled session's INSERT has
committed, its entry is not removed yet) or ``while-routing`` (an app has the
SMS). The process dies from SIGKILL, as a server killed mid-command does.
"""

import json
import os
import pathlib
import signal
import sys


def main(database_json: str, spool_dir: str, kill_point: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    from tests import settings as test_settings

    test_settings.DATABASES = {"default": json.loads(database_json)}
    test_settings.RTROPO_SPOOL_DIR = spool_dir
    import django

    django.setup()
    from django.conf import settings
    from rapidsms.apps.base import AppBase
    from rapidsms.router.blocking import BlockingRouter

    from rtropo import periodic

    class KillsItself(AppBase):
        def handle(self, msg):
            os.kill(os.getpid(), signal.SIGKILL)

    def kill_before_removal(path, missing_ok=False):
        os.kill(os.getpid(), signal.SIGKILL)

    settings.RAPIDSMS_ROUTER = BlockingRouter(apps=[KillsItself])
    if kill_point == "after-insert":
        # Removing the entry is the next step once the session's INSERT has committed.
        pathlib.Path.unlink = kill_before_removal
    periodic.send_all_queued(["tropo"])
    sys.exit("the replay did not kill the process")


if __name__ == "__main__":
    main(*sys.argv[1:])
