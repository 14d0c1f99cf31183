"""The messaging URL: the one view Tropo POSTs to."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, InternalError, OperationalError, transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from rtropo import db, server_errors, tropoml, url_secret
from rtropo.conf import BackendConfig, get_config
from rtropo.exceptions import InvalidPayload
from rtropo.inbox import inline, received, routing, spool
from rtropo.outbox import answers, references, results, scheduler, take
from rtropo.outbox.references import ResultAddress, ResultRequest
from rtropo.payloads import InboundSMS, LaunchCallback, TropoResult, parse_session
from rtropo.status import health

logger = logging.getLogger(__name__)


@csrf_exempt
@transaction.non_atomic_requests
def message_received(request, backend_name):
    """Handle an inbound SMS, the callback of a session we launched, or an answer's result.

    The request's secret is masked before anything else runs. With ``DEBUG``
    off, an unexpected error is reported as Django reports it (see
    :func:`rtropo.server_errors.report`) and answered with a plain 500 here,
    so that no error page of the project has to render.
    """
    offered = url_secret.take(request)
    try:
        return _handle(request, backend_name, offered)
    except Exception as exc:
        if settings.DEBUG:
            raise
        return server_errors.report(request, exc)


def _handle(request, backend_name: str, offered: ResultAddress):
    config = get_config(backend_name)
    if request.method != "POST":
        return _reject(request, config, "method not allowed", HttpResponseNotAllowed(["POST"]))
    address = url_secret.check(config, offered)
    if address is None:
        health.request_refused(config, "missing or wrong secret")
        return _reject(request, config, "missing or wrong secret", HttpResponse(status=403))
    if request.content_type != "application/json":
        return _reject(request, config, "content type is not JSON", HttpResponse(status=415))
    try:
        session = parse_session(_read_body(request, config.max_body_bytes))
    except _BodyTooLarge:
        return _reject(request, config, "body too large", HttpResponse(status=413))
    except InvalidPayload as exc:
        return _reject(request, config, str(exc), HttpResponse(status=400))
    if isinstance(session, TropoResult):
        return _answer_result(request, config, session)
    result_request = address.request_result() if config.confirm_delivery else None
    if isinstance(session, LaunchCallback):
        return _answer_callback(request, config, session, result_request)
    return _route_inbound(config, session, result_request)


def _answer_callback(
    request, config: BackendConfig, callback: LaunchCallback, result: ResultRequest | None
):
    if not constant_time_compare(callback.token, config.messaging_token):
        health.request_refused(config, "callback with a wrong token")
        response = tropoml.answer([], status=403)
        return _reject(
            request, config, f"callback {callback.session_id} has a wrong token", response
        )
    health.callback_answered(config)
    rows = None
    if callback.reference:
        rows = answers.claim_for_callback(
            config, callback.reference, callback.session_id, result_digest=_digest(result)
        )
    if rows is None:
        logger.warning(
            "Callback %s on %s names no pending launch (unknown, expired or answered): hangup",
            callback.session_id,
            config.name,
        )
        return tropoml.answer([])
    logger.info(
        "Callback %s on %s: answering %d message(s)", callback.session_id, config.name, len(rows)
    )
    response = _answer(config, rows, result)
    if take.has_due(config):
        response.after_sent(lambda: scheduler.schedule(config))
    return response


def _answer_result(request, config: BackendConfig, result: TropoResult):
    """Settle the rows of the answer whose result this is; hang up in every case."""
    reference = request.GET.get(references.RESULT_PARAMETER, "")
    if not reference:
        health.request_refused(config, "result without its reference")
        return _refuse_result(request, config, result, "it has no reference")
    answer = results.answer_of(config, references.digest(reference))
    if answer is None:
        return _refuse_result(request, config, result, "its reference is unknown")
    if answer.session_id != result.session_id:
        return _refuse_result(request, config, result, "its sessionId is not the answer's")
    settled = results.record_result(config, answer, results.read_result(result))
    if not settled.changed:
        logger.info(
            "Result of session %s on %s changes nothing: its messages were settled already "
            "or sent again since",
            result.session_id,
            config.name,
        )
        return tropoml.answer([])
    logger.info(
        "Result of session %s on %s: %d confirmed, %d failed, %d unconfirmed, %d to send again",
        result.session_id,
        config.name,
        settled.confirmed,
        settled.failed,
        settled.unconfirmed,
        settled.resent,
    )
    response = tropoml.answer([])
    if settled.resent or (config.in_flight_window and take.has_due(config)):
        response.after_sent(lambda: scheduler.schedule(config, now=True))
    return response


def _refuse_result(request, config: BackendConfig, result: TropoResult, reason: str):
    response = tropoml.answer([], status=403)
    return _reject(
        request, config, f"result {result.session_id} confirms nothing: {reason}", response
    )


#: What the database raises when it cannot record an SMS for a while (down, unreachable,
#: a read-only primary during a fail-over): the SMS is spooled instead.
UNRECORDABLE = (OperationalError, InterfaceError, InternalError)


def _route_inbound(config: BackendConfig, sms: InboundSMS, result: ResultRequest | None):
    try:
        recorded, session = received.record(config, sms)
    except UNRECORDABLE as exc:
        return _spool_inbound(config, sms, exc)
    health.inbound_received(config)
    if not recorded.to_route:
        logger.warning("Inbound session %s %s: hangup", sms.session_id, _REPEAT[recorded])
        return tropoml.answer([])
    logger.info("Inbound SMS %s from %s on %s", sms.session_id, sms.from_number, config.name)
    try:
        captured = routing.route(config, session, on_due=lambda: scheduler.schedule(config))
    except routing.ReplyNotStored:
        logger.error(
            "Inbound session %s not routed: a reply was not stored (HTTP 503)", sms.session_id
        )
        return HttpResponse(status=503)
    if not config.inline_replies or not config.inbound_secrets or not captured.message_ids:
        if routing.finish(session, captured.message_ids):
            scheduler.schedule(config)
        return tropoml.answer([])
    with db.write_transaction(reads_first=False):
        received.mark_routed(session)
        rows, response = _answer_inline(config, captured, sms.session_id, result)
    if len(rows) < len(captured.message_ids):
        response.after_sent(lambda: scheduler.schedule(config))
    return response


def _spool_inbound(config: BackendConfig, sms: InboundSMS, error: Exception):
    """Keep ``sms``, which the database could not record, in the spool: a hangup once it
    is on disk (``tropo_send_queued`` routes it), a 503 when it could not be written."""
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


_REPEAT = {
    received.Recorded.ROUTED: "was routed already",
    received.Recorded.FAILED: "failed for good earlier",
    received.Recorded.BEING_ROUTED: "is being routed by another request",
}


def _answer_inline(
    config: BackendConfig,
    captured: inline.Capture,
    session_id: str,
    result: ResultRequest | None,
):
    """Claim the rows this request queued; return them and the answer that carries them."""
    rows = []
    if captured.message_ids:
        rows = answers.claim_inline(
            config,
            captured.message_ids,
            session_id,
            result_digest=_digest(result),
        )
    if rows:
        logger.info("Inbound session %s: answering %d message(s) inline", session_id, len(rows))
    return rows, _answer(config, rows, result)


def _answer(config: BackendConfig, rows, result: ResultRequest | None) -> tropoml.Answer:
    """The TropoML answer that sends ``rows``, asking for its result when ``result`` is set."""
    if result is None or not rows:
        verbs = [tropoml.message_verb(row.to_number, row.text, config.number) for row in rows]
        return tropoml.answer(verbs)
    verbs = [
        tropoml.message_verb(
            row.to_number, row.text, config.number, name=references.verb_name(row.pk)
        )
        for row in rows
    ]
    return tropoml.answer(verbs, result_url=result.url)


def _digest(result: ResultRequest | None) -> str:
    return "" if result is None else result.digest


class _BodyTooLarge(Exception):
    """The request body is over ``max_body_bytes``."""


def _read_body(request, limit: int) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _BodyTooLarge
    body = request.read(limit + 1)
    if len(body) > limit:
        raise _BodyTooLarge
    return body


def _reject(request, config: BackendConfig, reason: str, response: HttpResponse):
    logger.warning(
        "Rejected %s to the Tropo view of %s from %s: %s (HTTP %d)",
        request.method,
        config.name,
        request.META.get("REMOTE_ADDR", "?"),
        reason,
        response.status_code,
    )
    return response
