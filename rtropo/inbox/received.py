"""Inbound sessions' status: ``received`` and claimed while routed, then ``routed``, or
``failed`` after ``max_attempts``; a claim that ran out is taken again (at least once)."""

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
    """What :func:`record` found, and so what the request should do (the value, for logs)."""

    NEW = "is new"
    RECLAIMED = "was recorded before and not routed"
    BEING_ROUTED = "is being routed by another request"
    ROUTED = "was routed already"
    FAILED = "failed for good earlier"

    @property
    def to_route(self) -> bool:
        """Whether this request holds the claim and routes the session."""
        return self in (Recorded.NEW, Recorded.RECLAIMED)


def record(config: BackendConfig, sms: InboundSMS) -> tuple[Recorded, InboundSession | None]:
    """Record ``sms`` received and claimed, committed before the apps run; or find what
    became of an earlier record of it, claiming it again when its claim ran out."""
    now = timezone.now()
    session = InboundSession(
        backend_name=config.name,
        session_id=sms.session_id,
        identity=sms.from_number,
        text=sms.text,
        to_number=sms.to_number or "",
        account_id=sms.account_id or "",
        attempts=1,
        claimed_until=now + timedelta(seconds=config.lease),
        received_at=now,
    )
    # A savepoint only inside a transaction: outside one the INSERT commits by itself.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            session.save(force_insert=True)
    except IntegrityError:
        return _recorded_before(config, sms.session_id)
    return Recorded.NEW, session


def mark_routed(session: InboundSession) -> None:
    """Mark ``session`` routed, unless it is no longer ``received``."""
    InboundSession.objects.filter(pk=session.pk, status=Status.RECEIVED).update(
        status=Status.ROUTED, routed_at=timezone.now(), claimed_until=None, last_error=""
    )


def routing_failed(config: BackendConfig, session: InboundSession, error: str) -> None:
    """Note why routing ``session`` failed, failing it once ``max_attempts`` routings
    failed (else it is routed again after its claim). Only logs while the database is down."""
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


def claim_due(config: BackendConfig) -> list[InboundSession]:
    """Claim up to ``batch_size`` sessions of this backend left ``received`` past their claim,
    failing those routed ``max_attempts`` times; concurrent sweeps claim different ones."""
    now = timezone.now()
    with write_transaction():
        due = list(
            InboundSession.objects.filter(
                Q(claimed_until__lte=now) | Q(claimed_until=None),
                backend_name=config.name,
                status=Status.RECEIVED,
            )
            .order_by("claimed_until", "pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "attempts")[: config.batch_size]
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


def _fail_spent(pks: list[int]) -> None:
    spent = InboundSession.objects.filter(pk__in=pks)
    spent.filter(last_error="").update(last_error="the process died while routing")
    spent.update(status=Status.FAILED, claimed_until=None)
    for row in spent.values_list("session_id", "attempts", "last_error"):
        logger.error("Inbound session %s failed: %d routings did not finish (last: %s)", *row)
