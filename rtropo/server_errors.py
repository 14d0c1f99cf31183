"""Report an unexpected error of the Tropo view as Django does, and answer it with a 500.

Django turns an exception that escapes a view into its error report and then
renders the project's ``handler500``. A project whose 500 page cannot render
(RapidSMS's ``500.html`` needs URLs that a project serving only the Tropo URL
lacks) loses both: the exception escapes Django and the WSGI server logs the
request line instead. The view answers its own errors here, so neither page
nor template is needed.
"""

from __future__ import annotations

from django.core.signals import got_request_exception
from django.http import HttpResponse
from django.utils.log import log_response


def report(request, exc: Exception) -> HttpResponse:
    """Report ``exc``, raised while handling ``request``, and return the 500 to answer.

    The report is Django's own: the ``got_request_exception`` signal (what
    error trackers listen to) and an ERROR record of ``django.request`` with
    the request and the traceback, which the ``mail_admins`` handler
    (AdminEmailHandler) mails to ``ADMINS``. The record is marked logged, so
    that Django does not log the 500 a second time.
    """
    got_request_exception.send(sender=None, request=request)
    response = HttpResponse(
        "Server error: the error was reported.", status=500, content_type="text/plain"
    )
    log_response(
        "Internal Server Error: %s",
        request.path,
        response=response,
        request=request,
        exception=exc,
    )
    return response
