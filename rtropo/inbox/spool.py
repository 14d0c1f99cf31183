"""The inbound spool: SMS the database could not record, kept on this server's disk (one
durable file each, never seen partial) until ``tropo_send_queued`` replays them.

The directory is ``RTROPO_SPOOL_DIR``, or ``BASE_DIR / "rtropo-spool"``.
"""

import dataclasses
import json
import logging
import os
import re
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DataError

from rtropo.conf import BackendConfig
from rtropo.inbox import received, routing
from rtropo.payloads import InboundSMS

logger = logging.getLogger(__name__)

SETTING = "RTROPO_SPOOL_DIR"
DEFAULT_NAME = "rtropo-spool"
_TEMP_PREFIX = ".tmp-"
#: An entry's name: the time it was written (nanoseconds), then a unique part.
_ENTRY_NAME = re.compile(r"^(?P<written>\d{20})-[0-9a-f]{32}\.json$")
_FIELDS = ("session_id", "text", "from_number", "to_number", "account_id")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One spooled SMS, for the backend called ``backend_name``."""

    path: Path
    backend_name: str
    sms: InboundSMS


@dataclasses.dataclass(frozen=True)
class Summary:
    """What the spool holds: its entries (all backends) and the age of the oldest, in seconds."""

    directory: Path | None
    entries: int
    oldest_age: float | None
    error: str | None = None


def directory() -> Path:
    """The spool directory; ImproperlyConfigured naming the setting when none is configured."""
    configured = getattr(settings, SETTING, None)
    if configured:
        return Path(configured)
    base = getattr(settings, "BASE_DIR", None)
    if base:
        return Path(base) / DEFAULT_NAME
    raise ImproperlyConfigured(
        f"Set {SETTING} (or BASE_DIR): the directory where inbound SMS wait while "
        "the database cannot record them."
    )


def store(backend_name: str, sms: InboundSMS) -> Path:
    """Write ``sms`` to the spool, durably: file and directory are fsync'd; return its path.

    Raises OSError (or ImproperlyConfigured) when the SMS could not be stored.
    """
    folder = directory()
    _make_directory(folder)
    document = {"backend_name": backend_name, **{key: getattr(sms, key) for key in _FIELDS}}
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
    temporary = folder / f"{_TEMP_PREFIX}{name}"
    _write_synced(temporary, json.dumps(document).encode("utf-8"))
    try:
        os.replace(temporary, folder / name)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(folder)
    return folder / name


def pending(backend_name: str) -> list[Entry]:
    """The entries of this backend, oldest first. An unreadable entry is logged and kept."""
    entries = []
    for path in _entry_paths():
        entry = _read(path)
        if entry is not None and entry.backend_name == backend_name:
            entries.append(entry)
    return entries


def replay(config: BackendConfig) -> int:
    """Record and route this backend's spooled SMS, oldest first; return how many were routed.

    An entry is removed once its session is recorded (never twice; replies take the
    launch path). One the database refuses is logged and kept; a database still
    unavailable raises, keeping the entries.
    """
    routed = 0
    for entry in pending(config.name):
        try:
            recorded, session = received.record(config, entry.sms)
        except DataError:
            logger.exception("Spooled SMS %s could not be recorded; kept", entry.sms.session_id)
            continue
        entry.path.unlink(missing_ok=True)
        _fsync_directory(entry.path.parent)
        if recorded is not received.Recorded.NEW:
            logger.info("Spooled SMS %s %s", entry.sms.session_id, _RECORDED_BEFORE[recorded])
        if recorded.to_route and session is not None and routing.route_claimed(config, session):
            routed += 1
    return routed


_RECORDED_BEFORE = {
    received.Recorded.RECLAIMED: "was recorded before and not routed: routing it",
    received.Recorded.BEING_ROUTED: "was recorded before and is being routed",
    received.Recorded.ROUTED: "was routed already",
    received.Recorded.FAILED: "failed for good earlier",
}


def summary() -> Summary:
    """How many entries the spool holds and how old the oldest is; empty when none is set up."""
    try:
        folder = directory()
    except ImproperlyConfigured:
        return Summary(None, 0, None)
    try:
        paths = _entry_paths()
    except OSError as exc:
        return Summary(folder, 0, None, error=f"{type(exc).__name__}: {exc.strerror or exc}")
    written = [int(m["written"]) for path in paths if (m := _ENTRY_NAME.match(path.name))]
    if not written:
        return Summary(folder, 0, None)
    return Summary(folder, len(written), max(0.0, (time.time_ns() - min(written)) / 1e9))


def _entry_paths() -> list[Path]:
    try:
        folder = directory()
        names = os.listdir(folder)
    except (ImproperlyConfigured, FileNotFoundError):
        return []
    return [folder / name for name in sorted(names) if _ENTRY_NAME.match(name)]


def _read(path: Path) -> Entry | None:
    try:
        document = json.loads(path.read_bytes())
        sms = InboundSMS(**{key: document[key] for key in _FIELDS})
        return Entry(path, document["backend_name"], sms)
    except FileNotFoundError:
        return None  # replayed meanwhile by another run
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.error("Spool entry %s is unreadable, kept for an operator: %r", path, exc)
        return None


def _make_directory(folder: Path) -> None:
    if folder.is_dir():
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _fsync_directory(folder.parent)


def _write_synced(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _fsync_directory(folder: Path) -> None:
    """Make the directory's entries (a rename, a removal) durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
