"""Read and validate one Tropo backend's settings.

A backend entry in ``INSTALLED_BACKENDS`` may keep its keys under ``"config"``
(the 0.2-era style) or at the top level (RapidSMS's own style); both are
merged here, with ``config`` winning. Unknown keys are ignored so that router
options such as ``router.celery.eager`` can sit beside ours.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import re
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.tropo.com/1.0/sessions"

_NUMBER_CHARS = re.compile(r"^\+?[0-9 \t().\-]+$")


def normalise_number(value: object) -> str | None:
    """Return ``value`` as ``+`` and digits, or None when it is not a phone number.

    Accepts ASCII digits with an optional leading ``+`` and the formatting
    characters people write (spaces, dashes, dots, parentheses). Other digits
    (Arabic-Indic, fullwidth, ...) are refused. A number must start with its
    country code, which never begins with ``0``: a national ``0…`` or an
    ``00…`` international prefix is refused rather than guessed at. E.164
    allows at most 15 digits; fewer than 3 is no number at all.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _NUMBER_CHARS.match(value.strip()):
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if not 3 <= len(digits) <= 15 or digits.startswith("0"):
        return None
    return "+" + digits


@dataclasses.dataclass(frozen=True)
class BackendConfig:
    """The validated settings of one Tropo backend."""

    name: str
    messaging_token: str = dataclasses.field(repr=False)
    number: str
    api_url: str = DEFAULT_API_URL
    timeout: float = 5.0
    inbound_secrets: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    batch_size: int = 100
    max_attempts: int = 10
    lease: float = 300.0
    retry_base: float = 30.0
    retry_cap: float = 3600.0
    inline_replies: bool = True
    confirm_delivery: bool = True
    resend_unconfirmed: bool = True
    launch_delay: float = 0.1
    max_body_bytes: int = 64 * 1024
    launch_concurrency: int = 10
    sms_per_second: float = 1.0

    @classmethod
    def from_entry(cls, name: str, entry: Mapping) -> BackendConfig:
        """Build the config of backend ``name`` from its ``INSTALLED_BACKENDS`` entry."""
        merged = {str(k).lower(): v for k, v in entry.items() if str(k).lower() != "config"}
        nested = entry.get("config", entry.get("CONFIG", {})) or {}
        if not isinstance(nested, Mapping):
            raise _error(name, "config", "must be a dict")
        merged.update({str(k).lower(): v for k, v in nested.items()})
        return cls(
            name=name,
            messaging_token=_token(name, merged),
            number=_number(name, merged),
            api_url=_url(name, merged),
            timeout=_positive(name, merged, "timeout", cls.timeout, float),
            inbound_secrets=_secrets(name, merged),
            batch_size=_positive(name, merged, "batch_size", cls.batch_size, int),
            max_attempts=_positive(name, merged, "max_attempts", cls.max_attempts, int),
            lease=_positive(name, merged, "lease", cls.lease, float),
            retry_base=_positive(name, merged, "retry_base", cls.retry_base, float),
            retry_cap=_positive(name, merged, "retry_cap", cls.retry_cap, float),
            inline_replies=_bool(name, merged, "inline_replies", cls.inline_replies),
            confirm_delivery=_bool(name, merged, "confirm_delivery", cls.confirm_delivery),
            resend_unconfirmed=_bool(name, merged, "resend_unconfirmed", cls.resend_unconfirmed),
            launch_delay=_positive(
                name, merged, "launch_delay", cls.launch_delay, float, allow_zero=True
            ),
            max_body_bytes=_positive(name, merged, "max_body_bytes", cls.max_body_bytes, int),
            launch_concurrency=_positive(
                name, merged, "launch_concurrency", cls.launch_concurrency, int
            ),
            sms_per_second=_rate(name, merged, cls.sms_per_second),
        )

    @property
    def in_flight_window(self) -> int | None:
        """How many rows may be launched or awaiting a result at once; None: no limit.

        Tropo texts ``sms_per_second``, so a row's result comes only after every
        row ahead of it was texted. Half the ``lease`` at that rate keeps every
        row in flight well within its lease (the other half is headroom, also
        for inline answers, which the window does not count).
        """
        if not self.confirm_delivery or self.sms_per_second == 0:
            return None
        return max(1, math.floor(self.sms_per_second * self.lease / 2))


#: Validated configs by (backend name, where the entry came from), each with a
#: copy of the entry it was built from.
_configs: dict[tuple[str, str], tuple[Mapping, BackendConfig]] = {}


def get_config(name: str) -> BackendConfig:
    """Return the config of the Tropo backend called ``name`` in ``INSTALLED_BACKENDS``.

    Built and validated once per process and entry: it is built again when the
    entry no longer equals the one it was built from (``override_settings``,
    or a dict changed in place).
    """
    backends = getattr(settings, "INSTALLED_BACKENDS", {}) or {}
    try:
        entry = backends[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"INSTALLED_BACKENDS has no backend named {name!r} (used by the Tropo view)."
        ) from None
    return _cached(name, "settings", entry)


def configured(name: str, entry: Mapping) -> BackendConfig:
    """The config of the backend RapidSMS configures as ``name`` with ``entry``.

    RapidSMS builds every backend again for each message; an entry equal to
    the last one of that name is not validated again.
    """
    return _cached(name, "configure", entry)


def _cached(name: str, source: str, entry: Mapping) -> BackendConfig:
    cached = _configs.get((name, source))
    if cached is not None and cached[0] == entry:
        return cached[1]
    config = BackendConfig.from_entry(name, entry)
    _configs[(name, source)] = (copy.deepcopy(entry), config)
    return config


def _error(name: str, key: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"Tropo backend {name!r}: setting {key!r} {problem} "
        f"(in INSTALLED_BACKENDS[{name!r}] or its 'config')."
    )


def _token(name: str, values: dict) -> str:
    token = values.get("messaging_token")
    if token is None:
        raise _error(name, "messaging_token", "is required")
    if not isinstance(token, str) or not token.strip():
        raise _error(name, "messaging_token", "must be a non-empty string")
    return token.strip()


def _number(name: str, values: dict) -> str:
    if values.get("number") is None:
        raise _error(name, "number", "is required")
    number = normalise_number(values["number"])
    if number is None:
        raise _error(name, "number", "must be a phone number such as '+1-555-555-1212'")
    return number


def _url(name: str, values: dict) -> str:
    url = values.get("api_url", DEFAULT_API_URL)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _error(name, "api_url", "must be an http:// or https:// URL")
    return url


def _secrets(name: str, values: dict) -> tuple[str, ...]:
    secrets = values.get("inbound_secret")
    if secrets is None:
        return ()
    if isinstance(secrets, str):
        secrets = [secrets]
    if not isinstance(secrets, list | tuple) or not all(isinstance(s, str) and s for s in secrets):
        raise _error(name, "inbound_secret", "must be a non-empty string or a list of them")
    return tuple(secrets)


def _positive(name: str, values: dict, key: str, default, kind, *, allow_zero=False):
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(name, key, "must be a number")
    if kind is int and value != int(value):
        raise _error(name, key, "must be a whole number")
    if value < 0 or (value == 0 and not allow_zero):
        raise _error(name, key, "must be zero or more" if allow_zero else "must be more than zero")
    return kind(value)


def _rate(name: str, values: dict, default: float) -> float:
    rate = _positive(name, values, "sms_per_second", default, float, allow_zero=True)
    if not math.isfinite(rate):
        raise _error(name, "sms_per_second", "must be a finite number (0: no limit)")
    return rate


def _bool(name: str, values: dict, key: str, default: bool) -> bool:
    value = values.get(key, default)
    if not isinstance(value, bool):
        raise _error(name, key, "must be True or False")
    return value


#: The backend class whose entries (and its subclasses') are Tropo backends.
BACKEND_CLASS = "rtropo.outgoing.TropoBackend"


def tropo_backend_names() -> list[str]:
    """Names of the ``INSTALLED_BACKENDS`` entries whose ENGINE is the Tropo backend or a
    subclass of it, given as a class or as its dotted path.

    An ENGINE that cannot be imported is left to the router to report.
    """
    names = []
    for name, entry in (getattr(settings, "INSTALLED_BACKENDS", {}) or {}).items():
        engine = _engine(name, entry.get("ENGINE"))
        if isinstance(engine, type) and BACKEND_CLASS in _class_paths(engine):
            names.append(name)
    return names


def _class_paths(cls: type) -> set[str]:
    return {f"{base.__module__}.{base.__qualname__}" for base in cls.__mro__}


def _engine(name: str, engine: object) -> object:
    if not isinstance(engine, str):
        return engine
    try:
        return import_string(engine)
    except ImportError:
        logger.debug("ENGINE %r of backend %r does not import", engine, name)
        return None
