"""Celery tasks. Importing this module needs Celery installed."""

from celery import shared_task

from rtropo import queue
from rtropo.conf import get_config, tropo_backend_names


@shared_task(ignore_result=True)
def send_queued(include_backing_off=False):
    """The work of ``manage.py tropo_send_queued``, for celery beat."""
    for name in tropo_backend_names():
        queue.send_queued(get_config(name), include_backing_off=include_backing_off)
