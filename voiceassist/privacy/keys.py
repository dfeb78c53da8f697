"""The data key: one random 256-bit key that encrypts every database the app keeps (SQLCipher raw key).

Where it lives is recorded in ``<user state dir>/keys/data-key.json`` (never the key itself, except in the
key-file kind):

- ``keyring``: in the OS keyring (``keyring``: Secret Service, macOS Keychain, Windows Credential Locker);
  the record names the entry.
- ``file``: in the record, which only the user can read (0600 in a 0700 folder). Where no keyring exists
  (a headless Linux), ``auto`` falls back to this and says so.
- ``passphrase``: in the record, wrapped (AES-GCM) under a key derived from a passphrase (Argon2id); the
  passphrase comes from ``$VOICEASSIST_PASSPHRASE`` or the front end's prompt, and is never stored.

The key is made once; a key that cannot be had (a locked keyring, a wrong passphrase, a missing record for
data that is encrypted) is an error that says what to do, never a new key over old data.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from voiceassist.paths import private_dir, user_keys_dir

log = logging.getLogger(__name__)

KEY_BYTES = 32
SERVICE = "voiceassist"
RECORD = "data-key.json"
STORES = ("keyring", "file", "passphrase")
PASSPHRASE_ENV = "VOICEASSIST_PASSPHRASE"
STORE_ENV = "VOICEASSIST_KEY_STORE"
"""Where a new key goes: auto (the default: keyring, else a key file), keyring, file or passphrase."""
WRAP_KDF = {"type": "argon2id", "time_cost": 3, "memory_cost": 65536, "parallelism": 1}
_AAD = b"voiceassist data key v1"


class DataKeyError(RuntimeError):
    """The data key cannot be had; the message says why and what to do. Nothing was changed."""


class WrongPassphraseError(DataKeyError):
    pass


_prompt: Callable[[str], str] | None = None
_cache: dict[str, bytes] = {}
_cache_lock = threading.Lock()


def set_passphrase_prompt(prompt: Callable[[str], str] | None) -> None:
    """How a front end asks for the passphrase (a terminal's getpass, a dialog); None: env only."""
    global _prompt
    _prompt = prompt


def _derive(passphrase: str, salt: bytes, kdf: dict[str, Any]) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=int(kdf["time_cost"]),
        memory_cost=int(kdf["memory_cost"]),
        parallelism=int(kdf["parallelism"]),
        hash_len=32,
        type=Type.ID,
    )


class KeyStore:
    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else user_keys_dir()
        self.path = self.folder / RECORD
        self.note: str | None = None
        """Said once when the key went somewhere else than asked (no keyring: a key file)."""

    # -- the record --------------------------------------------------------------------------------
    def record(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as e:
            raise DataKeyError(f"cannot read the data key's record {self.path}: {e}") from e
        try:
            rec = json.loads(text)
            if rec.get("store") not in STORES:
                raise ValueError(f"unknown store {rec.get('store')!r}")
            return dict(rec)
        except (ValueError, AttributeError) as e:
            raise DataKeyError(
                f"the data key's record {self.path} is damaged ({e}); nothing was changed. Restore it from a "
                "backup, or start afresh with 'voiceassist privacy wipe' (the encrypted data is then lost)"
            ) from e

    def _write(self, rec: dict[str, Any]) -> None:
        from voiceassist.config_file import write_atomic

        private_dir(self.folder)
        write_atomic(self.path, json.dumps(rec, indent=1), mode=0o600)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Across processes: two first starts at once make one key."""
        private_dir(self.folder)
        from voiceassist.paths import open_private

        fd = open_private(self.folder / ".lock", os.O_RDWR | os.O_CREAT)
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)
            except ImportError:  # pragma: no cover - Windows: one process at a time is the user's job
                pass
            yield
        finally:
            os.close(fd)

    # -- getting the key ---------------------------------------------------------------------------
    def load(self, create: bool = True) -> bytes:
        """The data key; made (where ``$VOICEASSIST_KEY_STORE`` says, default auto) when there is none and
        ``create``. ``create`` False (there is encrypted data): a missing key is an error."""
        with _cache_lock:
            if str(self.folder) in _cache:
                return _cache[str(self.folder)]
        with self._locked():
            rec = self.record()
            if rec is None:
                if not create:
                    raise DataKeyError(
                        f"the data key's record {self.path} is missing, so the encrypted data cannot be read; "
                        "nothing was changed. Restore the keys folder from a backup, or start afresh with "
                        "'voiceassist privacy wipe' (the encrypted data is then lost)"
                    )
                key = self._create(os.environ.get(STORE_ENV, "auto"))
            else:
                key = self._unlock(rec)
        with _cache_lock:
            _cache[str(self.folder)] = key
        return key

    def _unlock(self, rec: dict[str, Any]) -> bytes:
        store = rec["store"]
        if store == "file":
            return _hex_key(rec.get("key"), self.path)
        if store == "keyring":
            import keyring

            try:
                value = keyring.get_password(SERVICE, rec["name"])
            except Exception as e:
                raise DataKeyError(
                    f"the data key is kept in the OS keyring, which failed: {type(e).__name__}: {e}. Unlock the "
                    "keyring (log in to the desktop session) and start again; nothing was changed"
                ) from e
            if value is None:
                raise DataKeyError(
                    f"the OS keyring has no entry {SERVICE}/{rec['name']} (the data key): it was removed, or this "
                    "is another keyring. Nothing was changed; the encrypted data cannot be read without it"
                )
            return _hex_key(value, Path(f"keyring {SERVICE}/{rec['name']}"))
        passphrase = ask_passphrase("Passphrase for VoiceAssist's data: ")
        return unwrap(rec, passphrase)

    def _create(self, store: str) -> bytes:
        if store not in ("auto", *STORES):
            raise DataKeyError(f"${STORE_ENV} must be auto, keyring, file or passphrase, got {store!r}")
        key = os.urandom(KEY_BYTES)
        self._put(key, store)
        return key

    def _put(self, key: bytes, store: str, passphrase: str | None = None) -> str:
        """Keep ``key`` in ``store`` (auto: keyring, else a key file); returns where it went."""
        if store in ("auto", "keyring"):
            try:
                name = self._to_keyring(key)
            except DataKeyError as e:
                if store == "keyring":
                    raise
                self.note = f"{e}; the data key is kept in {self.path} instead, readable only by you"
                log.warning("%s", self.note)
            else:
                self._write({"version": 1, "store": "keyring", "name": name, "created": time.time()})
                return "keyring"
        if store == "passphrase":
            phrase = passphrase if passphrase is not None else ask_passphrase("New passphrase for VoiceAssist: ")
            if len(phrase) < 8:
                raise DataKeyError("the passphrase must be at least 8 characters")
            self._write({"version": 1, "store": "passphrase", "created": time.time(), **wrap(key, phrase)})
            return "passphrase"
        self._write({"version": 1, "store": "file", "key": key.hex(), "created": time.time()})
        return "file"

    def _to_keyring(self, key: bytes) -> str:
        import keyring

        name = f"data-key-{uuid.uuid4().hex[:12]}"
        try:
            keyring.set_password(SERVICE, name, key.hex())
            ok = keyring.get_password(SERVICE, name) == key.hex()
        except Exception as e:
            raise DataKeyError(f"no usable OS keyring ({type(e).__name__}: {e})") from e
        if not ok:
            raise DataKeyError("the OS keyring did not give the data key back")
        return name

    def move(self, store: str, passphrase: str | None = None) -> str:
        """Keep the same key somewhere else (the databases are not touched); the old place is cleared."""
        if self.record() is None:  # no key yet: make it there
            with self._locked():
                key = os.urandom(KEY_BYTES)
                where = self._put(key, store, passphrase)
            with _cache_lock:
                _cache[str(self.folder)] = key
            return where
        key = self.load(create=False)
        with self._locked():
            old = self.record()
            where = self._put(key, store, passphrase)
            if old and old["store"] == "keyring" and where != "keyring":
                _forget_keyring(old["name"])
        return where

    def describe(self) -> str:
        rec = self.record()
        if rec is None:
            return "no data key yet (made on first start)"
        if rec["store"] == "keyring":
            return f"in the OS keyring ({SERVICE}/{rec['name']})"
        if rec["store"] == "file":
            return f"in the key file {self.path} (readable only by you)"
        return f"in {self.path}, wrapped under your passphrase (Argon2id + AES-GCM)"

    def delete(self) -> None:
        """Remove the key wherever it is (data-wipe): the encrypted files are unreadable after this."""
        with _cache_lock:
            _cache.pop(str(self.folder), None)
        try:
            rec = self.record()
        except DataKeyError:
            rec = None
        if rec and rec["store"] == "keyring":
            _forget_keyring(rec["name"])
        for f in (self.path, self.folder / ".lock"):
            f.unlink(missing_ok=True)


def _forget_keyring(name: str) -> None:
    import keyring

    try:
        keyring.delete_password(SERVICE, name)
    except Exception as e:  # gone already, or the keyring is locked: say so, the record goes anyway
        log.warning("could not remove the keyring entry %s/%s: %s", SERVICE, name, e)


def _hex_key(value: Any, where: Path) -> bytes:
    try:
        key = bytes.fromhex(str(value))
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise DataKeyError(f"the data key in {where} is damaged; nothing was changed")
    return key


def ask_passphrase(prompt: str) -> str:
    env = os.environ.get(PASSPHRASE_ENV)
    if env:
        return env
    if _prompt is None:
        raise DataKeyError(
            f"the data key is protected by a passphrase: set ${PASSPHRASE_ENV}, or run from a terminal or the window"
        )
    return _prompt(prompt)


def wrap(key: bytes, passphrase: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(16), os.urandom(12)
    kek = _derive(passphrase, salt, WRAP_KDF)
    return {
        "kdf": {**WRAP_KDF, "salt": salt.hex()},
        "nonce": nonce.hex(),
        "wrapped": AESGCM(kek).encrypt(nonce, key, _AAD).hex(),
    }


def unwrap(rec: dict[str, Any], passphrase: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        kek = _derive(passphrase, bytes.fromhex(rec["kdf"]["salt"]), rec["kdf"])
        return AESGCM(kek).decrypt(bytes.fromhex(rec["nonce"]), bytes.fromhex(rec["wrapped"]), _AAD)
    except InvalidTag:
        raise WrongPassphraseError(
            "wrong passphrase: the data key could not be unlocked; nothing was changed (try again)"
        ) from None
    except (KeyError, ValueError, TypeError) as e:
        raise DataKeyError(f"the wrapped data key is damaged ({e}); nothing was changed") from e


def data_key(create: bool = True, folder: Path | None = None) -> bytes:
    """The user's data key (cached for the process)."""
    return KeyStore(folder).load(create=create)


def forget_cached() -> None:
    with _cache_lock:
        _cache.clear()
