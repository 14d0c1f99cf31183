"""Read and validate a Tropo backend's settings: keys sit under its entry's ``config`` or
at the top level (``config`` wins); unknown keys are ignored (router options)."""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import typing
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from rtropo.phones import NotAPhoneNumber, known_region, plain_number, to_e164

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.tropo.com/1.0/sessions"

#: The numeric settings that may be zero; every other one must be more than zero.
_ZERO_ALLOWED = {"launch_delay", "sms_per_second"}


def normalise_number(value: object, region: str | None = None) -> str | None:
    """Return ``value`` in E.164 (``+`` and digits), or None when it is not a possible phone
    number (as ``rtropo.phones.to_e164`` checks it): with ``+`` it is international; without,
    national in ``region`` or, with no region, international digits (a leading ``0`` is
    refused). Spaces, dashes, dots and parentheses are dropped."""
    try:
        return to_e164(value, region)
    except NotAPhoneNumber:
        return None


@dataclasses.dataclass(frozen=True)
class BackendConfig:
    """The validated settings of one Tropo backend."""

    name: str
    messaging_token: str = dataclasses.field(repr=False)
    numbers: tuple[str, ...]
    voice_token: str = dataclasses.field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    default_region: str | None = None
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
    sms_per_second: float = 1.0

    @classmethod
    def from_entry(cls, name: str, entry: Mapping) -> BackendConfig:
        """The config of backend ``name`` from its entry; ImproperlyConfigured names the key."""
        values = {str(k).lower(): v for k, v in entry.items() if str(k).lower() != "config"}
        nested = entry.get("config", entry.get("CONFIG", {})) or {}
        if not isinstance(nested, Mapping):
            raise _error(name, "config", "must be a dict")
        values.update({str(k).lower(): v for k, v in nested.items()})
        region = _region(name, values.get("default_region"))
        parsed: dict[str, typing.Any] = {
            "name": name,
            "messaging_token": _token(name, values.get("messaging_token")),
            "voice_token": _token(name, values.get("voice_token"), "voice_token"),
            "default_region": region,
            "numbers": _numbers(name, values.get("number"), values.get("numbers"), region),
            "api_url": _url(name, values.get("api_url", DEFAULT_API_URL)),
            "inbound_secrets": _secrets(name, values.get("inbound_secret")),
        }
        kinds = typing.get_type_hints(cls)
        for key in (field.name for field in dataclasses.fields(cls) if field.name not in parsed):
            value = values.get(key, getattr(cls, key))
            if kinds[key] is bool:
                parsed[key] = _flag(name, key, value)
            else:
                parsed[key] = _amount(name, key, value, kinds[key])
        return cls(**parsed)

    @property
    def number(self) -> str:
        """The pool's first number (the only one of a pool of one)."""
        return self.numbers[0]

    @property
    def in_flight_window(self) -> int | None:
        """How many rows of one number may be launched or awaiting a result at once (None:
        no limit): half the ``lease`` at ``sms_per_second``, so that Tropo, texting at that
        number's rate, texts each row within its lease."""
        if not self.confirm_delivery or self.sms_per_second == 0:
            return None
        return max(1, math.floor(self.sms_per_second * self.lease / 2))


#: By backend name: a copy of the entry (without ENGINE) and the config built from it.
_configs: dict[str, tuple[dict, BackendConfig]] = {}


def get_config(name: str) -> BackendConfig:
    """Return the config of the Tropo backend called ``name`` in ``INSTALLED_BACKENDS``."""
    try:
        entry = (getattr(settings, "INSTALLED_BACKENDS", {}) or {})[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"INSTALLED_BACKENDS has no backend named {name!r} (used by the Tropo view)."
        ) from None
    return configured(name, entry)


def configured(name: str, entry: Mapping) -> BackendConfig:
    """The config of backend ``name`` built from ``entry`` (its ENGINE may be left out), validated
    again only when the entry changed (RapidSMS builds a backend per message)."""
    keys = {str(k).lower(): v for k, v in entry.items() if str(k).lower() != "engine"}
    cached = _configs.get(name)
    if cached is not None and cached[0] == keys:
        return cached[1]
    config = BackendConfig.from_entry(name, entry)
    _configs[name] = (copy.deepcopy(keys), config)
    return config


def _error(name: str, key: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"Tropo backend {name!r}: setting {key!r} {problem} "
        f"(in INSTALLED_BACKENDS[{name!r}] or its 'config')."
    )


def _token(name: str, token: object, key: str = "messaging_token") -> str:
    """A token setting; the ``voice_token`` may be left out (``""``)."""
    if key == "voice_token" and token in (None, ""):
        return ""
    if token is None:
        raise _error(name, key, "is required")
    if not isinstance(token, str) or not token.strip():
        raise _error(name, key, "must be a non-empty string")
    return token.strip()


def _region(name: str, value: object) -> str | None:
    if value is None:
        return None
    region = known_region(value)
    if region is None:
        raise _error(name, "default_region", f"must be a region code such as 'NG', not {value!r}")
    return region


def _numbers(name: str, number: object, numbers: object, region: str | None) -> tuple[str, ...]:
    """The application's pool of numbers: ``numbers`` (a list), or ``number`` alone (a
    pool of one); each once, in the order given."""
    if number is not None and numbers is not None:
        raise _error(name, "numbers", "cannot be set with 'number' (list them all in 'numbers')")
    if numbers is None:
        if number is None:
            raise _error(name, "number", "is required (or 'numbers', a list)")
        return (_number(name, "number", number, region),)
    if not isinstance(numbers, list | tuple) or not numbers:
        raise _error(name, "numbers", "must be a non-empty list of phone numbers")
    return tuple(dict.fromkeys(_number(name, "numbers", value, region) for value in numbers))


def _number(name: str, key: str, value: object, region: str | None) -> str:
    """One of the application's numbers: national in ``region`` when it has no ``+``, else
    ``+`` and digits as Tropo shows it (a short code has no E.164 form)."""
    try:
        if region is not None and not str(value).strip().startswith("+"):
            return to_e164(value, region)
    except NotAPhoneNumber as why:
        raise _error(name, key, f"must be a phone number (it {why}): {value!r}") from None
    number = plain_number(value)
    if number is None:
        raise _error(name, key, f"must be a phone number such as '+1-555-555-1212', not {value!r}")
    return number


def _url(name: str, url: object) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _error(name, "api_url", "must be an http:// or https:// URL")
    return url


def _secrets(name: str, secrets: object) -> tuple[str, ...]:
    if secrets is None:
        return ()
    if isinstance(secrets, str):
        secrets = [secrets]
    if not isinstance(secrets, list | tuple) or not all(isinstance(s, str) and s for s in secrets):
        raise _error(name, "inbound_secret", "must be a non-empty string or a list of them")
    return tuple(secrets)


def _flag(name: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _error(name, key, "must be True or False")
    return value


def _amount(name: str, key: str, value: object, kind: type) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _error(name, key, "must be a finite number")
    if kind is int and value != int(value):
        raise _error(name, key, "must be a whole number")
    if key in _ZERO_ALLOWED and value < 0:
        raise _error(name, key, "must be zero or more")
    if key not in _ZERO_ALLOWED and value <= 0:
        raise _error(name, key, "must be more than zero")
    return kind(value)


def tropo_backend_names() -> list[str]:
    """Names of the ``INSTALLED_BACKENDS`` entries whose ENGINE (a class or its dotted path)
    is ``rtropo.outgoing.TropoBackend`` or a subclass; an ENGINE that does not import is
    left to the router to report."""
    names = []
    for name, entry in (getattr(settings, "INSTALLED_BACKENDS", {}) or {}).items():
        engine = entry.get("ENGINE")
        if isinstance(engine, str):
            try:
                engine = import_string(engine)
            except ImportError:
                logger.debug("ENGINE %r of backend %r does not import", engine, name)
        # By name: importing rtropo.outgoing here would import the whole send path.
        if isinstance(engine, type) and any(
            f"{base.__module__}.{base.__qualname__}" == "rtropo.outgoing.TropoBackend"
            for base in engine.__mro__
        ):
            names.append(name)
    return names
