"""An app that breaks on ``crash``, and the ADMINS mail written to a file."""

import json

from django.utils.log import AdminEmailHandler
from rapidsms.contrib.handlers.handlers.base import BaseHandler


class CrashHandler(BaseHandler):
    """Raises on the text ``crash``: an app's bug."""

    @classmethod
    def dispatch(cls, router, msg):
        if msg.text == "crash":
            raise RuntimeError("the app broke on crash")
        return False


class FileReportHandler(AdminEmailHandler):
    """AdminEmailHandler whose mail (subject, text, HTML) is appended to ``path`` as JSON.

    The report is AdminEmailHandler's own; only the transport differs, so that
    the test reads what ADMINS would get.
    """

    def __init__(self, path, **kwargs):
        super().__init__(**kwargs)
        self.path = path

    def send_mail(self, subject, message, *args, **kwargs):
        mail = {"subject": subject, "message": message, "html": kwargs.get("html_message")}
        with open(self.path, "a", encoding="utf-8") as reports:
            reports.write(json.dumps(mail) + "\n")
