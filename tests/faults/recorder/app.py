"""The recorder app: first to see each incoming message, in the filter phase."""

from rapidsms.apps.base import AppBase

from .store import ReceivedStore


class Recorder(AppBase):
    """Notes each incoming message in :class:`ReceivedStore` and lets it through."""

    def filter(self, msg):
        ReceivedStore.from_environ().add(msg.text, msg.fields.get("external_id") or "")
