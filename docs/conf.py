"""Sphinx configuration of the rapidsms-tropo documentation.

It builds from ``requirements/docs.txt`` and the package alone: Django is set up
with the smallest project that imports the package, and the optional imports of
two modules (Celery for ``rtropo.tasks``, pytest for the emulator's plugin) are
mocked.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "rapidsms", "rtropo"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    USE_TZ=True,
)
django.setup()

import rtropo  # noqa: E402

project = "rapidsms-tropo"
author = "the rapidsms-tropo developers"
copyright = "2026, the rapidsms-tropo developers"
release = rtropo.__version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}
autodoc_mock_imports = ["celery", "pytest"]
nitpicky = False
