"""The one SQLite layer: every file the app stores (sessions, alerts and their deliveries) goes through
``Database``: encrypted with the data key (SQLCipher, ``storage/crypto.py``), WAL journal, foreign keys,
``secure_delete`` (deleted rows are overwritten, not left in free pages), a schema versioned with
``PRAGMA user_version`` and upgraded by an ordered list of migrations, and transactions that roll back on
any error. A plain file from an older version is encrypted in place on first open; the files are 0600.

One connection per file, shared under a lock (``check_same_thread=False``). Every write (``write``,
``transact``, the migrations) runs on the database's own writer thread, whichever thread asks, and the
caller waits for its result: one writer per file, and a slow disk never stalls a capture or GUI thread
more than the wait it asked for. Reads run on the caller's thread. Errors are ``sqlite3`` errors whatever
the driver.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from voiceassist.paths import is_app_path, private_dir, private_file

T = TypeVar("T")
log = logging.getLogger(__name__)


def failure_reason(e: BaseException) -> str:
    """What went wrong, in a person's words."""
    text = str(e).lower()
    if "full" in text or getattr(e, "errno", None) == errno.ENOSPC or "no space" in text:
        return "the disk is full"
    return str(e)


class NewerSchemaError(RuntimeError):
    """The file was written by a newer VoiceAssist."""


@contextmanager
def _sqlite_errors() -> Iterator[None]:
    """SQLCipher's exceptions as the ``sqlite3`` ones of the same name (callers catch ``sqlite3.Error``)."""
    try:
        yield
    except sqlite3.Error:
        raise
    except Exception as e:
        mod = type(e).__module__
        if mod.startswith("sqlcipher3"):
            cls = getattr(sqlite3, type(e).__name__, sqlite3.DatabaseError)
            raise cls(str(e)) from e
        raise


class Database:
    def __init__(self, path: Path, migrations: Sequence[str], key: bytes | None = None, encrypted: bool = True) -> None:
        """``migrations[i]`` upgrades schema version i to i + 1 (a script of ``;``-separated statements).
        ``key``: the data key (default: the user's, ``voiceassist.privacy.keys``); ``encrypted`` False: a
        plain SQLite file (benchmarks only)."""
        from voiceassist.storage import crypto

        self.path = path
        if is_app_path(path.parent):
            private_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.encrypted = encrypted
        state = crypto.file_state(path)
        self.created = state == "missing"
        """The file was new (not there, or empty) when opened."""
        if encrypted:
            if key is None:
                from voiceassist.privacy.keys import data_key

                key = data_key(create=state != "encrypted")
            if state == "plain" and crypto.encrypt_in_place(path, key):
                log.info("encrypted %s in place with the data key", path)
            self._db = crypto.connect(path, key)
        else:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._lock = threading.RLock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"voiceassist-db-{path.stem}")
        self._writer_ident: int | None = None
        with _sqlite_errors():
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")
        for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            private_file(f)  # older versions left them 0644
        self.migrations = list(migrations)
        self.found_version = self.version
        """The schema version the file had before this open migrated it."""
        self.migrate()

    @property
    def version(self) -> int:
        with self._lock, _sqlite_errors():
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        current = self.version
        if current > len(self.migrations):
            raise NewerSchemaError(f"{self.path} was written by a newer VoiceAssist (schema {current}); update")
        for v in range(current, len(self.migrations)):

            def upgrade(db: Any, v: int = v) -> None:
                for stmt in self.migrations[v].split(";"):  # executescript would commit our transaction
                    if stmt.strip():
                        db.execute(stmt)
                db.execute(f"PRAGMA user_version = {v + 1}")

            self.transact(upgrade)

    def _on_writer(self, fn: Callable[[], T]) -> T:
        if threading.get_ident() == self._writer_ident:
            with _sqlite_errors():
                return fn()

        def run() -> T:
            self._writer_ident = threading.get_ident()
            with self._lock, _sqlite_errors():
                return fn()

        return self._writer.submit(run).result()

    def transact(self, fn: Callable[[Any], T]) -> T:
        """``fn(connection)`` in one transaction on the writer thread: all of it or, on any error, none of
        it (the error is raised here)."""

        def run() -> T:
            self._db.execute("BEGIN")
            try:
                out = fn(self._db)
                self._db.execute("COMMIT")  # a COMMIT that fails (busy) leaves the transaction open: rolled back
            except BaseException:
                if self._db.in_transaction:  # SQLite has already rolled back after some errors (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            return out

        return self._on_writer(run)

    def write(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One statement in its own (implicit) transaction, on the writer thread; returns the last row id."""
        return self._on_writer(lambda: int(self._db.execute(sql, tuple(args)).lastrowid or 0))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock, _sqlite_errors():
            return list(self._db.execute(sql, tuple(args)).fetchall())

    def query_dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock, _sqlite_errors():
            cur = self._db.execute(sql, tuple(args))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def close(self) -> None:
        """Idempotent (the window closes its store before a wipe, and again at exit)."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        self._on_writer(self._db.close)
        self._writer.shutdown(wait=True)
