"""The published rapidsms-tropo 0.2.0, fetched from PyPI at benchmark time.

Its ``setup.py`` imports the long-gone ``distribute``, so ``pip download`` fails
at the metadata step; with ``--no-clean`` the unpacked sdist stays behind all the
same. Its ``rtropo`` package is copied to ``<cache>/rtropo02`` (never committed)
and imported under that name. On Python 3.11, Django 5 and RapidSMS 2.2 its
``outgoing`` and ``views`` modules import unchanged; ``urls.py`` (``patterns()``,
removed in Django 1.10) and the tests are not copied, the benchmark project routes
to its view itself. The one change is made at load time: the module-level
``base_url`` (hard-coded to api.tropo.com) is pointed at the emulator.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

PACKAGE = "rtropo02"
REQUIREMENT = "rapidsms-tropo==0.2.0"
COPIED = ("__init__.py", "outgoing.py", "views.py", "models.py")
#: Seconds ``pip download`` may take (a stalled index fails the fetch, not the run).
PIP_TIMEOUT = 300


def _pip_download(scratch: str, env: dict) -> None:
    """Download (and unpack, kept in ``scratch``) the 0.2 sdist; PIP_TIMEOUT bounds it."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-clean",
            "--no-build-isolation",
            "-d",
            os.path.join(scratch, "dl"),
            REQUIREMENT,
        ],
        env=env,
        capture_output=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )


def fetch(cache_dir: Path, refetch: bool = False) -> Path | None:
    """Make ``<cache_dir>/rtropo02`` from PyPI; return it, or None if PyPI is unreachable."""
    target = cache_dir / PACKAGE
    if target.is_dir() and not refetch:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rtropo02-", dir=cache_dir) as scratch:
        env = dict(os.environ, TMPDIR=scratch)
        try:
            _pip_download(scratch, env)
        except subprocess.TimeoutExpired:
            logger.warning("Fetching %s from PyPI took over %ss", REQUIREMENT, PIP_TIMEOUT)
            return None
        found = glob.glob(os.path.join(scratch, "pip-*", "rapidsms-tropo_*", "rtropo"))
        if not found:
            logger.warning("Could not fetch %s from PyPI", REQUIREMENT)
            return None
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        for name in COPIED:
            shutil.copy(os.path.join(found[0], name), target / name)
    return target


def point_at(api_url: str) -> None:
    """Aim the imported 0.2.0 backend's hard-coded Session API URL at ``api_url``."""
    from rtropo02 import outgoing

    outgoing.base_url = api_url
