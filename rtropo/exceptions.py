"""Errors raised by the Tropo backend."""


class TropoError(Exception):
    """Base class of this package's errors."""


class TropoAPIError(TropoError):
    """The Session API did not launch a session; the message never carries the token.

    ``response`` is Tropo's :class:`requests.Response` (None when Tropo did not answer);
    a ``requests`` error that caused it is its ``__cause__``.
    """

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


class InvalidPayload(TropoError):
    """A request to the messaging URL is not a Tropo session we accept."""


class InvalidProgram(TropoError, ValueError):
    """A program handed to ``execute_tropo_program()`` is not one we can run."""
