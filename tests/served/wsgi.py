"""WSGI entry point of the served project."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.served.settings")
application = get_wsgi_application()
