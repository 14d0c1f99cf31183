"""Answer an inbound SMS: record it, route it through the apps and answer their replies
inline or leave them to the launch path; spool it while the database cannot record it."""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, InternalError, OperationalError
from django.http import HttpResponse

from rtropo import db, tropoml
from rtropo.conf import BackendConfig
from rtropo.inbox import received, routing, spool
from rtropo.outbox import answers, scheduler
from rtropo.outbox.references import ResultRequest
from rtropo.payloads import InboundSMS
from rtropo.status import health

logger = logging.getLogger(__name__)


def answer(config: BackendConfig, sms: InboundSMS, result: ResultRequest | None) -> HttpResponse:
    """The answer to ``sms``: its replies inline when the backend allows it (asking for
    their result when ``result`` is set), else a hangup; a 503 when it cannot be kept."""
    try:
        recorded, session = received.record(config, sms)
    except (OperationalError, InterfaceError, InternalError) as exc:
        # The database cannot record it: down, unreachable, read-only during a fail-over.
        return _spool(config, sms, exc)
    health.inbound_received(config)
    if not recorded.to_route or session is None:
        logger.warning("Inbound session %s %s: hangup", sms.session_id, recorded.value)
        return tropoml.answer([])
    logger.info("Inbound SMS %s from %s on %s", sms.session_id, sms.from_number, config.name)
    try:
        captured = routing.route(config, session, on_due=lambda: scheduler.schedule(config))
    except routing.ReplyNotStored:
        logger.error(
            "Inbound session %s not routed: a reply was not stored (HTTP 503)", sms.session_id
        )
        return HttpResponse(status=503)
    if config.inline_replies and config.inbound_secrets and captured.rows:
        return _answer_inline(config, session, captured, result)
    if routing.finish(session, list(captured.rows)):
        scheduler.schedule(config)
    return tropoml.answer([])


def _answer_inline(config: BackendConfig, session, captured, result) -> tropoml.Answer:
    with db.write_transaction(reads_first=False):
        received.mark_routed(session)
        rows = answers.claim_inline(
            config,
            captured.rows,
            session.session_id,
            captured.number,
            result_digest=result.digest if result else "",
        )
    if rows:
        logger.info(
            "Inbound session %s: answering %d message(s) inline", session.session_id, len(rows)
        )
    response = tropoml.message_answer(rows, result)
    if len(rows) < len(captured.rows):
        response.after_sent(lambda: scheduler.schedule(config))
    return response


def _spool(config: BackendConfig, sms: InboundSMS, error: Exception) -> HttpResponse:
    """Spool ``sms`` for ``tropo_send_queued`` to route: a hangup once on disk, else a 503."""
    first_line = str(error).strip().partition("\n")[0]
    reason = f"{type(error).__name__}: {first_line}"
    try:
        spool.store(config.name, sms)
    except (OSError, ImproperlyConfigured) as exc:
        logger.error(
            "Inbound SMS %s on %s refused (HTTP 503): the database could not record it (%s) "
            "and the spool could not be written (%r)",
            sms.session_id,
            config.name,
            reason,
            exc,
        )
        return HttpResponse(status=503)
    logger.warning(
        "Inbound SMS %s on %s spooled, the database could not record it (%s): hangup",
        sms.session_id,
        config.name,
        reason,
    )
    return tropoml.answer([])
