"""Run a script in a fresh interpreter whose interesting part happens at exit.

The script is :data:`PRELUDE` (Django set up on a new SQLite file, a
:class:`~tests.support.session_api_stub.SessionAPIStub` as ``stub`` with its
``stub_options``, the ``tropo`` backend pointed at it with ``tropo_options``)
followed by the test's own code.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

PRELUDE = """
import atexit, os, sys, time
sys.path.insert(0, {root!r})
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.support.session_api_stub import SessionAPIStub
stub = SessionAPIStub(**{stub_options!r}).__enter__()
entry = settings.INSTALLED_BACKENDS["tropo"]
config = dict(entry["config"], api_url=stub.url + "/sessions", **{tropo_options!r})
backends = dict(settings.INSTALLED_BACKENDS, tropo={{**entry, "config": config}})
settings.INSTALLED_BACKENDS = backends
"""


def run(tmp_path: Path, code: str, *, stub_options=None, tropo_options=None):
    """Run PRELUDE + ``code`` in ``tmp_path``; return the finished process."""
    script = tmp_path / "exiting.py"
    prelude = PRELUDE.format(
        root=str(ROOT), stub_options=stub_options or {}, tropo_options=tropo_options or {}
    )
    script.write_text(prelude + code)
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
