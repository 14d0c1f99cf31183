"""Celery tasks. Importing this module needs Celery installed."""

from celery import shared_task

from rtropo import periodic


@shared_task(ignore_result=True)
def send_queued(include_backing_off=False):
    """The work of ``manage.py tropo_send_queued``, for celery beat."""
    periodic.send_all_queued(include_backing_off=include_backing_off)
