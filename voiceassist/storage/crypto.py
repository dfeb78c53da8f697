"""SQLCipher under the one SQLite layer: opening an encrypted file with the data key, and encrypting a plain
file (written by an older VoiceAssist) in place.

The binding is ``sqlcipher3`` (SQLCipher 4: AES-256 pages with an HMAC each; the raw 256-bit data key, so
no key derivation on open). A file the key does not open raises ``WrongKeyError`` and is never written.

Encrypting in place: the plain file is folded out of WAL (so it is whole in one file), exported with
``sqlcipher_export`` into ``<name>.encrypting`` beside it, every table's row count checked, synced, and
renamed over the plain file (atomic). Killed at any point before the rename, the plain file is as it was
and the next start does it again; after it, the file is encrypted and complete.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from voiceassist.paths import open_private

HEADER = b"SQLite format 3\x00"


class WrongKeyError(RuntimeError):
    """The data key does not open this file (another key, or not a VoiceAssist database). Nothing was changed."""


def _driver() -> Any:
    try:
        from sqlcipher3 import dbapi2
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise RuntimeError(
            "the SQLCipher binding is missing: pip install sqlcipher3-binary (Linux x86-64) or sqlcipher3-wheels"
        ) from e
    return dbapi2


def file_state(path: Path) -> Literal["missing", "plain", "encrypted"]:
    try:
        with open(path, "rb") as f:
            head = f.read(len(HEADER))
    except FileNotFoundError:
        return "missing"
    if not head:
        return "missing"  # an empty file is a new database
    return "plain" if head == HEADER else "encrypted"


def _key_sql(key: bytes) -> str:
    return f"\"x'{key.hex()}'\""


def connect(path: Path, key: bytes, timeout: float = 10) -> Any:
    """A connection to the encrypted file ``path`` (created, 0600, when missing)."""
    db = _driver()
    if not path.exists():
        os.close(open_private(path, os.O_RDWR | os.O_CREAT))
    con = db.connect(str(path), check_same_thread=False, isolation_level=None, timeout=timeout)
    con.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is said below, not on stderr by the library
    con.execute(f"PRAGMA key = {_key_sql(key)}")
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except db.DatabaseError as e:
        con.close()
        raise WrongKeyError(
            f"cannot open {path}: the data key does not open it ({e}). Nothing was changed. It was encrypted "
            "with another key (a data key replaced or restored from elsewhere), or it is not a VoiceAssist "
            "database; put the right keys folder back, or move the file away to start afresh"
        ) from None
    return con


@contextlib.contextmanager
def _migration_lock(path: Path) -> Iterator[None]:
    fd = open_private(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows
            pass
        yield
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encrypt_in_place(path: Path, key: bytes) -> bool:
    """Encrypt the plain SQLite file ``path`` with ``key``; False when it is not plain (nothing to do)."""
    db = _driver()
    with _migration_lock(path):
        if file_state(path) != "plain":  # another process did it while we waited
            return False
        tmp = path.with_name(path.name + ".encrypting")
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):  # an interrupted run: start over
            leftover.unlink(missing_ok=True)
        con = db.connect(str(path), isolation_level=None, timeout=10)
        try:
            try:
                con.execute("PRAGMA journal_mode=DELETE")  # folds the WAL into the file, so it is whole
            except db.OperationalError as e:
                raise sqlite3.OperationalError(
                    f"cannot encrypt {path}: another program is using it ({e}); close VoiceAssist everywhere and "
                    "start again"
                ) from None
            version = int(con.execute("PRAGMA user_version").fetchone()[0])
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            quoted = str(tmp).replace("'", "''")
            con.execute(f"ATTACH DATABASE '{quoted}' AS enc KEY {_key_sql(key)}")
            con.execute("SELECT sqlcipher_export('enc')")
            con.execute(f"PRAGMA enc.user_version = {version}")
            for t in tables:
                q = t.replace('"', '""')
                a = con.execute(f'SELECT count(*) FROM main."{q}"').fetchone()[0]
                b = con.execute(f'SELECT count(*) FROM enc."{q}"').fetchone()[0]
                if a != b:
                    raise sqlite3.DatabaseError(f"encrypting {path}: table {t} has {b} rows, not {a}; not replaced")
            con.execute("DETACH DATABASE enc")
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            raise
        con.close()
        if os.name == "posix":
            os.chmod(tmp, 0o600)
        _fsync(tmp)
        os.replace(tmp, path)
        if os.name == "posix":
            _fsync(path.parent)
        return True
