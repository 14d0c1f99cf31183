"""The RapidSMS backend that sends through Tropo."""

from __future__ import annotations

import logging

from django.db import transaction
from rapidsms.backends.base import BackendBase
from rapidsms.errors import MessageSendingError

from rtropo.conf import configured
from rtropo.inbox import inline
from rtropo.outbox import programs, queue, scheduler
from rtropo.phones import NotAPhoneNumber, to_e164

logger = logging.getLogger(__name__)


class TropoBackend(BackendBase):
    """Queue outgoing SMS durably and deliver them through Tropo sessions, launched once
    the transaction commits: at once when they fill a batch, else after ``launch_delay``."""

    def configure(self, **kwargs):
        """Validate the settings; no I/O, since RapidSMS builds a backend per message."""
        self.config = configured(self.name, kwargs)

    def execute_tropo_program(self, program: dict) -> int:
        """Store the Tropo ``program`` (``{"tropo": [verb, ...]}``) as one queued row and
        return its id; once the transaction commits it is launched in a session of its own
        and answered with its verbs at the callback. Raises
        :class:`~rtropo.exceptions.InvalidProgram` (a ValueError), before any I/O, when
        ``program`` is not one we can run."""
        programs.check(program, self.config.max_body_bytes)
        row = programs.enqueue(self.config, program)
        config = self.config
        transaction.on_commit(lambda: scheduler.schedule(config, now=True))
        return row.pk

    def send(self, id_, text, identities, context=None):
        """Queue ``text`` for every identity that is a possible phone number (national ones
        in the backend's ``default_region``); report the others as failed identities."""
        recipients, failed, reasons = [], [], []
        for identity in identities:
            try:
                number = to_e164(identity, self.config.default_region)
            except NotAPhoneNumber as why:
                failed.append(identity)
                reasons.append(f"{identity!r} {why}")
            else:
                recipients.append(queue.Recipient(identity=str(identity), number=number))
        if recipients:
            capture = inline.current(self.name)
            try:
                ids = queue.enqueue(self.config, recipients, text, id_, context, held=capture)
            except Exception as exc:
                if capture is not None:
                    capture.store_errors.append(f"storing a reply failed: {exc!r}")
                raise
            if capture is None:
                config, full = self.config, len(ids) >= self.config.batch_size
                transaction.on_commit(lambda: scheduler.schedule(config, now=full))
        if failed:
            problems = "; ".join(reasons)
            logger.warning(
                "Message %s: %d identities are not phone numbers: %s", id_, len(failed), problems
            )
            raise MessageSendingError(
                f"{len(failed)} identities are not phone numbers: {problems}",
                failed_identities=failed,
            )
