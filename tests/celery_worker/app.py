"""The Celery app of the integration test: ``celery -A tests.celery_worker.app worker``.

The worker finds its broker and queue in RTROPO_CELERY_BROKER and
RTROPO_CELERY_QUEUE; Django settings come from DJANGO_SETTINGS_MODULE
(``tests.celery_worker.settings`` in the worker).
"""

import os

import django
from celery import Celery
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.celery_worker.settings")
if not apps.ready:
    django.setup()

DEFAULT_BROKER = "redis://127.0.0.1:6379/9"

app = Celery("rtropo_tests")
app.conf.update(
    broker_url=os.environ.get("RTROPO_CELERY_BROKER", DEFAULT_BROKER),
    task_default_queue=os.environ.get("RTROPO_CELERY_QUEUE", "rtropo-tests"),
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    imports=("rtropo.tasks", "rapidsms.router.celery.tasks"),
)
app.set_default()
