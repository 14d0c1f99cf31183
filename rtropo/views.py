"""The messaging URL: the one view Tropo POSTs to."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from rtropo import server_errors, tropoml, url_secret
from rtropo.conf import BackendConfig, get_config
from rtropo.exceptions import InvalidPayload
from rtropo.inbox import inbound
from rtropo.outbox import answers, programs, references, results, scheduler, take
from rtropo.payloads import LaunchCallback, TropoResult, parse_session
from rtropo.status import health

logger = logging.getLogger(__name__)


@csrf_exempt
@transaction.non_atomic_requests
def message_received(request, backend_name):
    """Answer an inbound SMS, the callback of a session we launched, or an answer's result.
    The URL's secret is masked before anything else runs. With ``DEBUG`` off an unexpected
    error is reported (:func:`rtropo.server_errors.report`) and answered 500."""
    offered = url_secret.take(request)
    try:
        return _handle(request, backend_name, offered)
    except Exception as exc:
        if settings.DEBUG:
            raise
        return server_errors.report(request, exc)


def _handle(request, backend_name: str, offered: references.ResultAddress):
    config = get_config(backend_name)
    if request.method != "POST":
        return _reject(request, config, "method not allowed", HttpResponseNotAllowed(["POST"]))
    address = url_secret.check(config, offered)
    if address is None:
        health.request_refused(config, "missing or wrong secret")
        return _reject(request, config, "missing or wrong secret", HttpResponse(status=403))
    if request.content_type != "application/json":
        return _reject(request, config, "content type is not JSON", HttpResponse(status=415))
    # No local holds the body: error reports show locals, and a callback's carries the token.
    try:
        session = parse_session(_read_body(request, config.max_body_bytes))
    except RequestDataTooBig:
        return _reject(request, config, "body too large", HttpResponse(status=413))
    except InvalidPayload as exc:
        return _reject(request, config, str(exc), HttpResponse(status=400))
    if isinstance(session, TropoResult):
        return _answer_result(request, config, session)
    result_request = address.request_result() if config.confirm_delivery else None
    if isinstance(session, LaunchCallback):
        return _answer_callback(request, config, session, result_request)
    return inbound.answer(config, session, result_request)


def _answer_callback(request, config: BackendConfig, callback: LaunchCallback, result):
    if not programs.token_accepted(config, callback.token, callback.reference):
        health.request_refused(config, "callback with a wrong token")
        return _reject(request, config, f"callback {callback.session_id} has a wrong token")
    health.callback_answered(config)
    rows = None
    if callback.reference:
        digest = result.digest if result else ""
        rows = answers.claim_for_callback(
            config, callback.reference, callback.session_id, result_digest=digest
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
    if rows and rows[0].program is not None:
        response = tropoml.program_answer(rows[0].program, result)
    else:
        response = tropoml.message_answer(rows, result)
    if take.has_due(config):
        response.after_sent(lambda: scheduler.schedule(config))
    return response


def _answer_result(request, config: BackendConfig, result: TropoResult):
    """Settle the rows of the answer whose result this is; hang up in every case."""
    reference = request.GET.get(references.RESULT_PARAMETER, "")
    refused = f"result {result.session_id} confirms nothing"
    if not reference:
        health.request_refused(config, "result without its reference")
        return _reject(request, config, f"{refused}: it has no reference")
    answer = results.answer_of(config, references.digest(reference))
    if answer is None:
        return _reject(request, config, f"{refused}: its reference is unknown")
    if answer.session_id != result.session_id:
        return _reject(request, config, f"{refused}: its sessionId is not the answer's")
    settled = results.record_result(config, answer, results.read_result(result))
    if not settled.changed:
        logger.info("Result of session %s changes nothing: settled or resent", result.session_id)
        return tropoml.answer([])
    logger.info("Result of session %s on %s: %s", result.session_id, config.name, settled)
    response = tropoml.answer([])
    if settled.resent or (config.in_flight_window and take.has_due(config)):
        response.after_sent(lambda: scheduler.schedule(config, now=True))
    return response


def _read_body(request, limit: int) -> bytes:
    body = request.read(limit + 1)
    if len(body) > limit:
        raise RequestDataTooBig
    return body


def _reject(request, config: BackendConfig, reason: str, response: HttpResponse | None = None):
    """Log why the request is refused; answer ``response``, by default a TropoML 403 hangup."""
    if response is None:
        response = tropoml.answer([], status=403)
    logger.warning(
        "Rejected %s to the Tropo view of %s from %s: %s (HTTP %d)",
        request.method,
        config.name,
        request.META.get("REMOTE_ADDR", "?"),
        reason,
        response.status_code,
    )
    return response
