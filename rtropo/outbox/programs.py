"""Tropo programs (``TropoBackend.execute_tropo_program``): checked, stored as one row of
the outbound queue, launched alone (with the voice token when it places a call) and
answered at the callback with its own verbs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from django.utils import timezone
from django.utils.crypto import constant_time_compare

from rtropo.conf import BackendConfig, normalise_number
from rtropo.exceptions import InvalidProgram
from rtropo.models import Launch, OutboundMessage

logger = logging.getLogger(__name__)

#: The verbs of Tropo's WebAPI (``choices`` is a parameter of ``ask``, not a verb).
VERBS = frozenset(
    {
        "ask",
        "call",
        "conference",
        "hangup",
        "message",
        "on",
        "record",
        "redirect",
        "reject",
        "say",
        "startRecording",
        "stopRecording",
        "transfer",
        "wait",
    }
)
#: Characters of the first ``say`` kept as the row's text, which the admin shows.
DESCRIPTION_LENGTH = 160


def check(program: object, max_bytes: int) -> None:
    """Raise :class:`~rtropo.exceptions.InvalidProgram` (a ValueError) unless ``program``
    is ``{"tropo": [verb, ...]}``, each verb a dict with one key among :data:`VERBS`,
    and its JSON is at most ``max_bytes`` bytes of UTF-8. No I/O."""
    if not isinstance(program, dict) or set(program) != {"tropo"}:
        raise InvalidProgram('a Tropo program is a dict whose only key is "tropo"')
    _check_verbs(program["tropo"])
    try:
        size = len(json.dumps(program, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise InvalidProgram(f"the Tropo program is not JSON: {exc}") from None
    if size > max_bytes:
        raise InvalidProgram(f"the Tropo program is {size} bytes of JSON, over {max_bytes}")


def _check_verbs(verbs: object) -> None:
    if not isinstance(verbs, list) or not verbs:
        raise InvalidProgram('the "tropo" of a Tropo program is a non-empty list of verbs')
    for index, verb in enumerate(verbs):
        if not isinstance(verb, dict) or len(verb) != 1 or next(iter(verb)) not in VERBS:
            raise InvalidProgram(
                f"verb {index} of the Tropo program is not a dict with one key among "
                f"{', '.join(sorted(VERBS))}: {verb!r:.80}"
            )


def enqueue(config: BackendConfig, program: dict) -> OutboundMessage:
    """Store ``program`` as one queued row, due now: its number is the first ``call`` or
    ``message`` ``to`` (when a phone number), its text the first ``say``."""
    to = _first_to(program["tropo"])
    now = timezone.now()
    row = OutboundMessage.objects.create(
        backend_name=config.name,
        identity=to[:100],
        to_number=normalise_number(to) or "",
        text=_description(program["tropo"]),
        program=program,
        next_attempt_at=now,
        created_at=now,
    )
    logger.info("Queued Tropo program %s on %s", row.pk, config.name)
    return row


def places_call(program: dict) -> bool:
    """Whether ``program`` places a phone call: a ``call`` verb whose ``network`` is not
    SMS and whose ``channel`` is not TEXT."""
    for params in _parameters(program["tropo"], ("call",)):
        network, channel = str(params.get("network", "")), str(params.get("channel", ""))
        if network.upper() != "SMS" and channel.upper() != "TEXT":
            return True
    return False


def launch_token(config: BackendConfig, launch: Launch) -> str:
    """The token to launch with: ``voice_token`` for a program that places a call when the
    backend sets one, else the messaging token."""
    if launch.program and config.voice_token:
        carried = OutboundMessage.objects.filter(launch=launch).values_list("program", flat=True)
        if any(program and places_call(program) for program in carried):
            return config.voice_token
    return config.messaging_token


def token_accepted(config: BackendConfig, token: str, reference: str | None) -> bool:
    """Whether a callback's ``token`` is the messaging token, or the voice token and
    ``reference`` names a program launch of this backend (constant-time compares)."""
    if constant_time_compare(token, config.messaging_token):
        return True
    if not (reference and config.voice_token and constant_time_compare(token, config.voice_token)):
        return False
    launches = Launch.objects.filter(backend_name=config.name, reference=reference, program=True)
    return launches.exists()


def _parameters(verbs: list[dict], names: tuple[str, ...]) -> Iterator[dict]:
    """The parameters of the verbs called one of ``names``, in order (dicts only)."""
    for verb in verbs:
        name, params = next(iter(verb.items()))
        if name in names and isinstance(params, dict):
            yield params


def _first_to(verbs: list[dict]) -> str:
    for params in _parameters(verbs, ("call", "message")):
        to = params.get("to")
        to = to[0] if isinstance(to, list) and to else to
        return str(to) if isinstance(to, str | int) else ""
    return ""


def _description(verbs: list[dict]) -> str:
    for params in _parameters(verbs, ("say", "message")):
        say = params.get("say", params)
        say = say[0] if isinstance(say, list) and say else say
        if isinstance(say, dict) and isinstance(say.get("value"), str):
            return say["value"][:DESCRIPTION_LENGTH]
    return "Tropo program"
