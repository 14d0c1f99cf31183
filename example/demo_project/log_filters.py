"""Keep the inbound secret out of the development server's request log."""

import logging
import re

_SECRET = re.compile(r"(secret=)[^&\s\"]*")


class RedactSecret(logging.Filter):
    """Replace the value of ``secret=`` in a logged request line with ``***``."""

    def filter(self, record):
        if record.args:
            record.args = tuple(
                _SECRET.sub(r"\1***", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
