"""Errors raised by the Tropo backend."""


class TropoError(Exception):
    """Base class of this package's errors."""


class TropoAPIError(TropoError):
    """The Session API did not launch a session.

    ``response`` is the :class:`requests.Response` when Tropo answered (None on a
    connection error or time-out); a ``requests`` error that caused it is chained
    as ``__cause__``. The message never carries the token.
    """

    def __init__(self, message, response=None):
        super().__init__(message)
        self.response = response


class InvalidPayload(TropoError):
    """A request to the messaging URL is not a Tropo session we accept."""
