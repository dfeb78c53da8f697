"""The one SQLite layer: every file the app stores (sessions, alerts and their deliveries) goes through
``Database``: WAL journal, foreign keys, a schema versioned with ``PRAGMA user_version`` and upgraded by an
ordered list of migrations, and transactions that roll back on any error.

One connection per file, shared by threads under a lock (``check_same_thread=False``); the session store
is written from one writer thread (voiceassist/session.py), the outbox from the alert service.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class NewerSchemaError(RuntimeError):
    """The file was written by a newer VoiceAssist."""


class Database:
    def __init__(self, path: Path, migrations: Sequence[str]) -> None:
        """``migrations[i]`` upgrades schema version i to i + 1 (a script of ``;``-separated statements)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.migrations = list(migrations)
        self.migrate()

    @property
    def version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        with self._lock:
            current = self.version
            if current > len(self.migrations):
                raise NewerSchemaError(f"{self.path} was written by a newer VoiceAssist (schema {current}); update")
            for v in range(current, len(self.migrations)):
                with self.transaction() as db:
                    for stmt in self.migrations[v].split(";"):  # executescript would commit our transaction
                        if stmt.strip():
                            db.execute(stmt)
                    db.execute(f"PRAGMA user_version = {v + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``with db.transaction() as c: c.execute(...)``: all of it or, on any error, none of it."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def write(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement in its own (implicit) transaction; returns the last row id."""
        with self._lock:
            return int(self._db.execute(sql, tuple(args)).lastrowid or 0)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def query_dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(sql, tuple(args))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            self._db.close()
