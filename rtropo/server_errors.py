"""Report an unexpected error of the Tropo view as Django does, and answer a plain 500:
a project's ``handler500`` may not render (RapidSMS's ``500.html`` needs URLs a project
serving only the Tropo URL lacks), which would lose the report too."""

from django.core.signals import got_request_exception
from django.http import HttpResponse
from django.utils.log import log_response


def report(request, exc: Exception) -> HttpResponse:
    """Report ``exc``, raised while handling ``request``, and return the 500 to answer.

    As Django does: the ``got_request_exception`` signal and one ERROR record of
    ``django.request`` with the request and traceback (mailed to ``ADMINS``).
    """
    got_request_exception.send(sender=None, request=request)
    response = HttpResponse(
        "Server error: the error was reported.", status=500, content_type="text/plain"
    )
    log_response(
        "Internal Server Error: %s", request.path, response=response, request=request, exception=exc
    )
    return response
