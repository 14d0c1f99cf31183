"""Hand a claimed inbound session to the RapidSMS apps, and the sweep of sessions left behind.

Used by the view for a new SMS and by ``tropo_send_queued`` for sessions whose
claim ran out before they were routed. Routing happens outside any
transaction; the status changes are :mod:`rtropo.inbox.received`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rapidsms.models import Connection
from rapidsms.router import lookup_connections, receive

from rtropo import db
from rtropo.conf import BackendConfig
from rtropo.inbox import inline, received
from rtropo.models import InboundSession
from rtropo.outbox import queue

logger = logging.getLogger(__name__)


class ReplyNotStored(Exception):
    """A reply the apps sent while routing could not be queued; the session stays received."""


def route(
    config: BackendConfig,
    session: InboundSession,
    *,
    on_due: Callable[[], None] | None = None,
) -> inline.Capture:
    """Route ``session`` through the apps; return the capture of the replies they queued.

    When an app raises, or a reply could not be stored (:class:`ReplyNotStored`),
    the failure is noted on the session, which stays ``received`` to be routed
    again, and the replies that were stored are made due for the launch path
    (``on_due`` is called then). The caller marks a routed session with
    :func:`finish` or in its own transaction.
    """
    connection = _connection(config.name, session.identity)
    with inline.capture(config.name) as captured:
        try:
            receive(session.text, connection, fields=received.fields(session))
        except Exception as exc:
            _give_back(config, session, captured, f"an app raised {exc!r}", on_due)
            raise
    if captured.store_errors:
        error = "; ".join(captured.store_errors)
        _give_back(config, session, captured, error, on_due)
        raise ReplyNotStored(error)
    return captured


def finish(session: InboundSession, message_ids: list[int]) -> int:
    """Mark ``session`` routed and make its replies due, in one transaction; return how many."""
    if not message_ids:
        received.mark_routed(session)
        return 0
    with db.write_transaction(reads_first=False):
        received.mark_routed(session)
        return queue.make_due(message_ids)


def route_claimed(config: BackendConfig, session: InboundSession) -> bool:
    """Route ``session``, claimed by this process, outside any request; True once routed.

    Its replies are made due: the launch path sends them. When routing fails
    the session stays ``received``, to be routed again after its claim.
    """
    try:
        captured = route(config, session)
    except Exception:
        logger.exception("Routing inbound session %s failed", session.session_id)
        return False
    finish(session, captured.message_ids)
    return True


def route_due(config: BackendConfig) -> int:
    """Route the sessions of this backend left ``received`` past their claim; return how many.

    Their replies are made due: the launch path sends them.
    """
    routed = 0
    while sessions := received.claim_due(config, config.batch_size):
        for session in sessions:
            logger.info(
                "Routing inbound session %s again (attempt %d)",
                session.session_id,
                session.attempts,
            )
            routed += route_claimed(config, session)
    if routed:
        logger.info("Routed %d inbound session(s) left received on %s", routed, config.name)
    return routed


def _connection(backend_name: str, identity: str) -> Connection:
    """The RapidSMS connection of ``identity`` on the backend, created if need be.

    What ``lookup_connections`` returns, with its backend, in one SELECT when
    the connection exists (its two ``get_or_create`` read the backend, then
    the connection).
    """
    found = list(
        Connection.objects.select_related("backend").filter(
            backend__name=backend_name, identity=identity
        )[:1]
    )
    return found[0] if found else lookup_connections(backend_name, [identity])[0]


def _give_back(config, session, captured, error: str, on_due) -> None:
    received.routing_failed(config, session, error)
    if not captured.message_ids:
        return
    try:
        due = queue.make_due(captured.message_ids)
    except Exception:
        logger.exception(
            "Could not release the replies of inbound session %s; they go out after the lease",
            session.session_id,
        )
        return
    if due and on_due is not None:
        on_due()
