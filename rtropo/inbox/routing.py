"""Hand claimed inbound sessions to the RapidSMS apps: a new SMS for the view, the
sessions left behind for ``tropo_send_queued``. Routing runs outside any transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rapidsms.models import Connection
from rapidsms.router import lookup_connections, receive

from rtropo import db
from rtropo.conf import BackendConfig
from rtropo.inbox import inline, received
from rtropo.models import InboundSession
from rtropo.outbox import pool, queue

logger = logging.getLogger(__name__)


class ReplyNotStored(Exception):
    """A reply the apps sent while routing could not be queued; the session stays received."""


def route(
    config: BackendConfig, session: InboundSession, *, on_due: Callable[[], None] | None = None
) -> inline.Capture:
    """Route ``session`` through the apps; return the capture of the replies they queued, for
    :func:`finish`; replies to its sender go from the pool number it was sent to. If an app
    raises or a reply is not stored (:class:`ReplyNotStored`), it
    stays ``received`` and its stored replies are made due (calling ``on_due``)."""
    connection = _connection(config.name, session.identity)
    fields = {
        "external_id": session.session_id,
        "to": session.to_number or None,
        "tropo_account_id": session.account_id or None,
    }
    number = _answering_number(config, session)
    with inline.capture(config.name, sender=session.identity, number=number) as captured:
        try:
            receive(session.text, connection, fields=fields)
        except Exception as exc:
            _give_back(config, session, captured, f"an app raised {exc!r}", on_due)
            raise
    if captured.store_errors:
        error = "; ".join(captured.store_errors)
        _give_back(config, session, captured, error, on_due)
        raise ReplyNotStored(error)
    return captured


def finish(session: InboundSession, message_ids: list[int]) -> int:
    """Mark ``session`` routed and make its replies due, together; return how many."""
    if not message_ids:
        received.mark_routed(session)
        return 0
    with db.write_transaction(reads_first=False):
        received.mark_routed(session)
        return queue.make_due(message_ids)


def route_claimed(config: BackendConfig, session: InboundSession) -> bool:
    """Route ``session``, claimed by this process, outside any request; True once routed.
    Its replies are left to the launch path."""
    try:
        captured = route(config, session)
    except Exception:
        logger.exception("Routing inbound session %s failed", session.session_id)
        return False
    finish(session, list(captured.rows))
    return True


def route_due(config: BackendConfig) -> int:
    """Route this backend's sessions left ``received`` past their claim; return how many."""
    routed = 0
    while sessions := received.claim_due(config):
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


def _answering_number(config: BackendConfig, session: InboundSession) -> str:
    """The pool number that answers ``session``: the one it was sent to, which becomes the
    sender's number ("" when it is not one of the pool's)."""
    number = pool.inbound_number(config, session.to_number)
    if number:
        pool.stick(config, session.identity, number)
    elif session.to_number:
        logger.warning(
            "Inbound session %s is to %s, not one of the numbers of %s: replies go from "
            "each recipient's own number",
            session.session_id,
            session.to_number,
            config.name,
        )
    return number


def _connection(backend_name: str, identity: str) -> Connection:
    """What ``lookup_connections`` returns, read with its backend in one query when it exists."""
    found = Connection.objects.select_related("backend").filter(
        backend__name=backend_name, identity=identity
    )
    return found.first() or lookup_connections(backend_name, [identity])[0]


def _give_back(config, session, captured, error: str, on_due) -> None:
    received.routing_failed(config, session, error)
    try:
        due = queue.make_due(list(captured.rows))
    except Exception:
        logger.exception(
            "Could not release the replies of inbound session %s; they go out after the lease",
            session.session_id,
        )
        return
    if due and on_due is not None:
        on_due()
