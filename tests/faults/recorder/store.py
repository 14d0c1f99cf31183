"""Where the recorder app notes what reached the apps: a SQLite file of its own.

Each note is one INSERT in autocommit, so that it is on disk before the app
goes on and a SIGKILL later in the request cannot take it back. The file
is named by ``FAULT_RECEIVED_DB``; every process of the project (the app
server, ``tropo_send_queued``) writes to the same one.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
from pathlib import Path

_SCHEMA = "CREATE TABLE IF NOT EXISTS received (text TEXT NOT NULL, session_id TEXT NOT NULL)"


class ReceivedStore:
    """The messages the apps received, each note one row."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @classmethod
    def from_environ(cls) -> ReceivedStore:
        return cls(os.environ["FAULT_RECEIVED_DB"])

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def create(self) -> None:
        """Create the empty store."""
        with contextlib.closing(self._connect()) as db:
            db.execute(_SCHEMA)

    def add(self, text: str, session_id: str) -> None:
        """Note that the apps received ``text`` (of inbound session ``session_id``)."""
        with contextlib.closing(self._connect()) as db:
            db.execute("INSERT INTO received VALUES (?, ?)", (text, session_id))

    def texts(self) -> collections.Counter:
        """How often the apps received each text."""
        with contextlib.closing(self._connect()) as db:
            return collections.Counter(text for (text,) in db.execute("SELECT text FROM received"))
