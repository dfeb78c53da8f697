"""The one SQLite layer: every file the app stores (sessions, alerts and their deliveries) goes through
``Database``: WAL journal, foreign keys, a schema versioned with ``PRAGMA user_version`` and upgraded by an
ordered list of migrations, and transactions that roll back on any error.

One connection per file, shared under a lock (``check_same_thread=False``). Every write (``write``,
``transact``, the migrations) runs on the database's own writer thread, whichever thread asks, and the
caller waits for its result: one writer per file, and a slow disk never stalls a capture or GUI thread
more than the wait it asked for. Reads run on the caller's thread.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class NewerSchemaError(RuntimeError):
    """The file was written by a newer VoiceAssist."""


class Database:
    def __init__(self, path: Path, migrations: Sequence[str]) -> None:
        """``migrations[i]`` upgrades schema version i to i + 1 (a script of ``;``-separated statements)."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"voiceassist-db-{path.stem}")
        self._writer_ident: int | None = None
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
        current = self.version
        if current > len(self.migrations):
            raise NewerSchemaError(f"{self.path} was written by a newer VoiceAssist (schema {current}); update")
        for v in range(current, len(self.migrations)):

            def upgrade(db: sqlite3.Connection, v: int = v) -> None:
                for stmt in self.migrations[v].split(";"):  # executescript would commit our transaction
                    if stmt.strip():
                        db.execute(stmt)
                db.execute(f"PRAGMA user_version = {v + 1}")

            self.transact(upgrade)

    def _on_writer(self, fn: Callable[[], T]) -> T:
        if threading.get_ident() == self._writer_ident:
            return fn()

        def run() -> T:
            self._writer_ident = threading.get_ident()
            with self._lock:
                return fn()

        return self._writer.submit(run).result()

    def transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in one transaction on the writer thread: all of it or, on any error, none of
        it (the error is raised here)."""

        def run() -> T:
            self._db.execute("BEGIN")
            try:
                out = fn(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return out

        return self._on_writer(run)

    def write(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement in its own (implicit) transaction, on the writer thread; returns the last row id."""
        return self._on_writer(lambda: int(self._db.execute(sql, tuple(args)).lastrowid or 0))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def query_dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(sql, tuple(args))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        self._on_writer(self._db.close)
        self._writer.shutdown(wait=True)
