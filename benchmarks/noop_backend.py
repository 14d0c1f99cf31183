"""The floor of every backend: one that sends nothing, so only the router's own cost remains."""

from rapidsms.backends.base import BackendBase


class NoopBackend(BackendBase):
    """Accept every message and do nothing with it."""

    def send(self, id_, text, identities, context=None):
        """Nothing to do: what is measured is ``rapidsms.router.send()`` itself."""
