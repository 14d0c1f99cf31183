"""Inbound sessions: the only code that changes their status.

A session is recorded ``received`` before the router sees it, with a claim
(``claimed_until``, ``lease`` seconds ahead) for the request routing it, and
marked ``routed`` once the apps returned and their replies are stored. A
session still ``received`` after its claim ran out (the process died, an app
raised, a reply could not be stored) is claimed again, by a repeat of the same
session or by the sweep of ``tropo_send_queued``; after ``max_attempts``
routings it ends ``failed``. Delivery to the apps is therefore at least once.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from rtropo.conf import BackendConfig
from rtropo.db import write_transaction
from rtropo.models import InboundSession
from rtropo.payloads import InboundSMS

logger = logging.getLogger(__name__)

Status = InboundSession.Status


class Recorded(enum.Enum):
    """What :func:`record` found, and so what the request should do."""

    NEW = "new"
    RECLAIMED = "reclaimed"
    BEING_ROUTED = "being routed"
    ROUTED = "routed"
    FAILED = "failed"

    @property
    def to_route(self) -> bool:
        """Whether this request holds the claim and routes the session."""
        return self in (Recorded.NEW, Recorded.RECLAIMED)


def record(config: BackendConfig, sms: InboundSMS) -> tuple[Recorded, InboundSession | None]:
    """Record ``sms`` as received and claimed; or find what became of an earlier record.

    A new record commits on its own, before the apps run, so that concurrent
    requests do not wait for each other's apps. Outside a transaction the
    INSERT commits by itself, in one round trip; inside one, a savepoint keeps
    a duplicate from breaking the caller's transaction. A repeat of a session
    whose claim ran out claims it again.
    """
    now = timezone.now()
    session = InboundSession(
        backend_name=config.name,
        session_id=sms.session_id,
        identity=sms.from_number,
        text=sms.text,
        to_number=sms.to_number or "",
        account_id=sms.account_id or "",
        status=Status.RECEIVED,
        attempts=1,
        claimed_until=now + timedelta(seconds=config.lease),
        received_at=now,
    )
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            session.save(force_insert=True)
    except IntegrityError:
        return _recorded_before(config, sms.session_id)
    return Recorded.NEW, session


def fields(session: InboundSession) -> dict:
    """The ``fields`` of the RapidSMS message for this session."""
    return {
        "external_id": session.session_id,
        "to": session.to_number or None,
        "tropo_account_id": session.account_id or None,
    }


def mark_routed(session: InboundSession) -> bool:
    """Mark ``session`` routed; False when it was no longer ``received``."""
    return bool(
        InboundSession.objects.filter(pk=session.pk, status=Status.RECEIVED).update(
            status=Status.ROUTED, routed_at=timezone.now(), claimed_until=None, last_error=""
        )
    )


def routing_failed(config: BackendConfig, session: InboundSession, error: str) -> None:
    """Note why routing ``session`` failed; fail it once ``max_attempts`` routings failed.

    A session not failed stays ``received`` and is routed again once its claim
    runs out. Runs while the database may be down: then it only logs.
    """
    logger.error(
        "Routing inbound session %s failed (attempt %d of %d): %s",
        session.session_id,
        session.attempts,
        config.max_attempts,
        error,
    )
    changes = {"last_error": error}
    if session.attempts >= config.max_attempts:
        changes["status"] = Status.FAILED
    try:
        InboundSession.objects.filter(pk=session.pk, status=Status.RECEIVED).update(**changes)
    except Exception:
        logger.exception("Could not note the failure of inbound session %s", session.session_id)
        return
    if "status" in changes:
        logger.error(
            "Inbound session %s failed after %d routings; not routed again",
            session.session_id,
            session.attempts,
        )


def claim_due(config: BackendConfig, limit: int) -> list[InboundSession]:
    """Claim up to ``limit`` sessions of this backend left ``received`` past their claim.

    The claim is a short transaction whose rows are locked with
    ``SKIP LOCKED``, so that concurrent sweeps take different sessions. A
    session routed ``max_attempts`` times already is failed instead.
    """
    now = timezone.now()
    with write_transaction():
        due = list(
            _expired(InboundSession.objects.filter(backend_name=config.name), now)
            .order_by("claimed_until", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "attempts")[:limit]
        )
        spent = [pk for pk, attempts in due if attempts >= config.max_attempts]
        claimed = [pk for pk, attempts in due if attempts < config.max_attempts]
        _fail_spent(spent)
        InboundSession.objects.filter(pk__in=claimed).update(
            claimed_until=now + timedelta(seconds=config.lease), attempts=F("attempts") + 1
        )
    return list(InboundSession.objects.filter(pk__in=claimed).order_by("pk"))


def _recorded_before(config: BackendConfig, session_id: str):
    now = timezone.now()
    with write_transaction():
        session = InboundSession.objects.filter(session_id=session_id).select_for_update().first()
        if session is None or session.status == Status.ROUTED:
            return Recorded.ROUTED, session
        if session.status == Status.FAILED:
            return Recorded.FAILED, session
        if session.claimed_until is not None and session.claimed_until > now:
            return Recorded.BEING_ROUTED, session
        if session.attempts >= config.max_attempts:
            _fail_spent([session.pk])
            return Recorded.FAILED, session
        session.attempts += 1
        session.claimed_until = now + timedelta(seconds=config.lease)
        session.save(update_fields=["attempts", "claimed_until"])
    return Recorded.RECLAIMED, session


def _expired(sessions, now):
    return sessions.filter(
        Q(claimed_until__lte=now) | Q(claimed_until=None), status=Status.RECEIVED
    )


def _fail_spent(pks: list[int]) -> None:
    if not pks:
        return
    spent = InboundSession.objects.filter(pk__in=pks)
    spent.filter(last_error="").update(last_error="the process died while routing")
    spent.update(status=Status.FAILED, claimed_until=None)
    for session_id, attempts, error in spent.values_list("session_id", "attempts", "last_error"):
        logger.error(
            "Inbound session %s failed: %d routings did not finish (last: %s)",
            session_id,
            attempts,
            error,
        )
