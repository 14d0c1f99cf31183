"""Answering Tropo: mark the rows an answer carries sent, and record the answer when it
asks for a result (a launch's callback, or an inline answer to an inbound SMS).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import (
    Case,
    F,
    PositiveIntegerField,
    Subquery,
    When,
)
from django.utils import timezone

from rtropo import db, signals
from rtropo.conf import BackendConfig
from rtropo.models import AnswerReference, Launch, OutboundMessage
from rtropo.outbox import queue, take
from rtropo.outbox import window as in_flight_window

Status = OutboundMessage.Status


def claim_for_callback(
    config: BackendConfig, reference: str, session_id: str, *, result_digest: str = ""
) -> list[OutboundMessage] | None:
    """Answer the callback of launch ``reference``: mark its rows sent and return them.

    Also takes other due rows of the backend, up to ``batch_size`` in all and
    within the in-flight window. Returns None when the reference is unknown,
    expired or already answered. ``result_digest`` (the answer's result
    reference, hashed) is noted with the rows (an :class:`AnswerReference`)
    when the answer asks for a result.

    Statements: the launch's UPDATE, its rows' SELECT, the due rows' SELECT
    (none when the launch is full) and :func:`_answer_rows`', which also give
    the due rows their launch and attempt.
    """
    now = timezone.now()
    with db.write_transaction():
        answered = Launch.objects.filter(
            backend_name=config.name,
            reference=reference,
            status=Launch.Status.PENDING,
            expires_at__gt=now,
        ).update(status=Launch.Status.ANSWERED, answered_at=now, session_id=session_id)
        if not answered:
            return None
        this_launch = Launch.objects.filter(reference=reference).values("pk")
        own = list(
            OutboundMessage.objects.filter(launch__in=this_launch, status=Status.LAUNCHED)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        extra = take.due_ids(config, now, config.batch_size - len(own))
        changes = {}
        if extra:
            changes = {
                "launch_id": Subquery(this_launch[:1]),
                "attempts": Case(
                    When(pk__in=extra, then=F("attempts") + 1),
                    default=F("attempts"),
                    output_field=PositiveIntegerField(),
                ),
            }
        return _answer_rows(config, own + extra, session_id, result_digest, **changes)


def claim_inline(
    config: BackendConfig,
    message_ids: list[int],
    session_id: str,
    *,
    result_digest: str = "",
    held: dict[int, OutboundMessage] | None = None,
) -> list[OutboundMessage]:
    """Mark the first of these held rows sent in an inbound answer: as many as
    ``batch_size`` and the in-flight window's room allow.

    The others are made due for the launch path, which sends them as the
    window makes room. A row that is no longer ``queued`` (an admin failed it,
    say) is left as it is. Call it in a transaction that already wrote (on
    SQLite, holding the write lock): the window is counted before the writes.
    In the caller's transaction no savepoint is needed, since nothing here is
    undone on its own. ``held`` (the rows as this request inserted them, by id)
    spares reading the rows back, see :func:`_mark_sent`.
    """
    with transaction.atomic(savepoint=False):
        inline_now = in_flight_window.room(config, min(config.batch_size, len(message_ids)))
        queue.make_due(message_ids[inline_now:])
        return _answer_rows(
            config,
            message_ids[:inline_now],
            session_id,
            result_digest,
            only_queued=True,
            count_attempt=True,
            held=held,
        )


#: What an answer reads of the rows it sends; ``message_sent`` receivers get whole rows.
ANSWER_FIELDS = ("pk", "to_number", "text")


def _answer_rows(
    config: BackendConfig, ids: list[int], session_id: str, result_digest: str, **options
) -> list[OutboundMessage]:
    """Mark these rows sent in one answer (see :func:`_mark_sent` for ``options``).

    When the answer asks for a result (``result_digest``, its reference
    hashed), the rows it carries are noted under that digest.
    """
    marked = _mark_sent(ids, session_id, result_requested=bool(result_digest), **options)
    if result_digest and marked:
        AnswerReference.objects.create(
            backend_name=config.name,
            digest=result_digest,
            session_id=session_id,
            message_ids=[row.pk for row in marked],
            created_at=timezone.now(),
        )
    return marked


def _mark_sent(
    ids: list[int],
    session_id: str,
    *,
    only_queued: bool = False,
    count_attempt: bool = False,
    result_requested: bool = False,
    held: dict[int, OutboundMessage] | None = None,
    **expressions,
) -> list[OutboundMessage]:
    """Mark these rows sent in ``session_id``; return the ones this call marked.

    ``expressions`` are more columns the same UPDATE sets (a callback gives
    the due rows it takes their launch and attempt that way).
    When the UPDATE marked every row and ``held`` has them all, they are not
    read back: ``held`` is updated with what the UPDATE set. The number, text
    and id an answer needs never change after the INSERT. Rows read back
    carry only the :data:`ANSWER_FIELDS`, unless ``message_sent`` has
    receivers, which get the rows as stored.
    """
    rows = OutboundMessage.objects.filter(pk__in=ids)
    changes = {
        "status": Status.SENT,
        "sent_at": timezone.now(),
        "session_id": session_id,
        "last_error": "",
        "result_requested": result_requested,
    }
    attempt = {"attempts": F("attempts") + 1} if count_attempt else {}
    updated = (rows.filter(status=Status.QUEUED) if only_queued else rows).update(
        **changes, **attempt, **expressions
    )
    if (
        held is not None
        and not expressions
        and updated == len(ids)
        and all(pk in held for pk in ids)
        and not signals.message_sent.has_listeners(OutboundMessage)
    ):
        marked = [held[pk] for pk in sorted(ids)]
        for row in marked:
            for name, value in changes.items():
                setattr(row, name, value)
            if count_attempt:
                row.attempts += 1
        return marked
    marked = rows.filter(status=Status.SENT, session_id=session_id).order_by("pk")
    if not signals.message_sent.has_listeners(OutboundMessage):
        return list(marked.only(*ANSWER_FIELDS))
    marked = list(marked)
    signals.announce(signals.message_sent, marked)
    return marked
