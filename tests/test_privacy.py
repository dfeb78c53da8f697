"""Encryption at rest, the data key, private files, minimisation and data-wipe: real SQLCipher files opened
with and without the key, a plain database encrypted in place (and killed while it is), every file the app
creates checked for its mode, and a wrong key or passphrase that changes nothing."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from voiceassist.pipeline import Models
from voiceassist.privacy import keys
from voiceassist.privacy.keys import DataKeyError, KeyStore, WrongPassphraseError
from voiceassist.storage import SessionStore
from voiceassist.storage.crypto import WrongKeyError, connect, encrypt_in_place, file_state

KEY = bytes(range(32))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fill(store: SessionStore, n: int = 3, audio: bool = True) -> int:
    sid = store.start_session("test")
    for i in range(1, n + 1):
        store.add_utterance(sid, i, i, i + 0.5, np.full(16000, i, dtype=np.int16) if audio else None)
        store.update_utterance(
            sid, i, text=f"I could not sleep last night {i}", embedding=np.ones(8, np.float32).tobytes()
        )
        store.add_feedback(sid, i, {"kind": "emotion", "label": "sad"})
    return sid


def test_an_encrypted_store_opens_with_its_key_only(tmp_path: Path):
    path = tmp_path / "s.sqlite3"
    store = SessionStore(path, key=KEY)
    sid = _fill(store)
    store.close()
    raw = path.read_bytes()
    assert file_state(path) == "encrypted" and not raw.startswith(b"SQLite format 3")
    assert b"could not sleep" not in raw and b"emotion" not in raw  # nothing readable in the file
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):  # plain SQLite: no key, no data
        sqlite3.connect(path).execute("SELECT * FROM utterances").fetchall()
    before = _digest(path)
    with pytest.raises(WrongKeyError, match=r"does not open it.*Nothing was changed"):
        SessionStore(path, key=bytes(32))
    assert _digest(path) == before  # a wrong key never writes, "repairs" or replaces the file
    store = SessionStore(path, key=KEY)
    u = store.utterances(sid)
    assert u[0]["text"] == "I could not sleep last night 1" and u[0]["audio"][0] == 1
    assert len(store.feedback(sid)) == 3
    store.close()


def test_a_plain_store_is_encrypted_in_place_with_nothing_lost(tmp_path: Path):
    from voiceassist.storage.db import Database
    from voiceassist.storage.schema import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = Database(path, MIGRATIONS, encrypted=False)  # what an older VoiceAssist wrote
    db.close()
    old = SessionStore.__new__(SessionStore)
    old.path, old.db = path, Database(path, MIGRATIONS, encrypted=False)
    old._retention_days, old._purged_at = 0.0, 0.0
    sid = _fill(old, 5)
    rows = old.db.query("SELECT * FROM utterances ORDER BY segment_id")
    old.db.close()
    assert file_state(path) == "plain"
    store = SessionStore(path, key=KEY)  # first start of this version
    assert file_state(path) == "encrypted" and store.schema_version == len(MIGRATIONS)
    assert store.db.query("SELECT * FROM utterances ORDER BY segment_id") == rows
    assert store.start_session("next") == sid + 1  # AUTOINCREMENT carried over
    store.close()
    assert not list(tmp_path.glob("*.encrypting*"))


def _big_plain(path: Path) -> int:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, blob BLOB)")
    for _ in range(400):
        con.execute("INSERT INTO t (blob) VALUES (?)", (os.urandom(64 * 1024),))
    con.commit()
    con.close()
    return 400


@pytest.mark.slow
def test_encrypting_in_place_killed_at_any_point_loses_nothing(tmp_path: Path):
    """SIGKILL the migration while the encrypted copy is being written, and right after: the file is either
    still plain and whole, or encrypted and whole; the next start finishes the job."""
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from voiceassist.storage.crypto import encrypt_in_place
        encrypt_in_place(Path(sys.argv[1]), bytes(range(32)))
        print("done", flush=True)
        """
    )
    seen = set()
    for attempt, delay in enumerate([0.0, 0.05, 0.15, 0.3, 0.6, None]):
        path = tmp_path / f"s{attempt}.sqlite3"
        n = _big_plain(path)
        proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.DEVNULL)
        tmp = path.with_name(path.name + ".encrypting")
        if delay is not None:
            deadline = time.monotonic() + 30
            while not tmp.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(delay)
            proc.kill()
        proc.wait(60)
        state = file_state(path)
        seen.add(state)
        if state == "plain":
            assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone()[0] == n
        else:
            assert connect(path, KEY).execute("SELECT count(*) FROM t").fetchone()[0] == n
        encrypt_in_place(path, KEY)  # the next start
        con = connect(path, KEY)
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == n
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
        assert not tmp.exists()
    assert "plain" in seen  # some kills landed mid-copy (the others after it)


def test_the_key_goes_to_the_keyring_when_there_is_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]
        store: ClassVar[dict] = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    old = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        ks = KeyStore(tmp_path / "keys")
        key = ks.load()
        rec = ks.record()
        assert rec["store"] == "keyring" and "key" not in rec and key.hex() not in ks.path.read_text()
        assert Memory.store[("voiceassist", rec["name"])] == key.hex()
        keys.forget_cached()
        assert ks.load(create=False) == key
        # the keyring fails now (locked): a clear error, never a new key over the old data
        keyring.set_keyring(keyring.backends.fail.Keyring())
        keys.forget_cached()
        with pytest.raises(DataKeyError, match=r"OS keyring, which failed.*nothing was changed"):
            ks.load()
        assert ks.record() == rec
    finally:
        keyring.set_keyring(old)
        keys.forget_cached()


def test_no_keyring_falls_back_to_a_private_key_file_and_says_so(tmp_path: Path, caplog):
    ks = KeyStore(tmp_path / "keys")
    key = ks.load()
    assert ks.record()["store"] == "file" and ks.note and "readable only by you" in ks.note
    assert "no usable OS keyring" in caplog.text
    assert (ks.path.stat().st_mode & 0o777) == 0o600 and (ks.folder.stat().st_mode & 0o777) == 0o700
    keys.forget_cached()
    assert ks.load(create=False) == key
    os.environ[keys.STORE_ENV] = "keyring"
    try:
        with pytest.raises(DataKeyError, match="no usable OS keyring"):  # asked for a keyring: no fallback
            KeyStore(tmp_path / "other").load()
    finally:
        del os.environ[keys.STORE_ENV]


def test_a_wrong_passphrase_is_said_and_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "correct horse battery")
    monkeypatch.setenv(keys.STORE_ENV, "passphrase")
    folder = tmp_path / "keys"
    key = KeyStore(folder).load()
    rec = KeyStore(folder).record()
    assert rec["store"] == "passphrase" and key.hex() not in KeyStore(folder).path.read_text()
    store = SessionStore(tmp_path / "s.db", key=key)
    _fill(store)
    store.close()
    before = _digest(tmp_path / "s.db"), KeyStore(folder).path.read_text()
    keys.forget_cached()
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "wrong horse")
    with pytest.raises(WrongPassphraseError, match=r"wrong passphrase.*nothing was changed"):
        KeyStore(folder).load()
    assert (_digest(tmp_path / "s.db"), KeyStore(folder).path.read_text()) == before
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "correct horse battery")
    assert KeyStore(folder).load() == key
    keys.forget_cached()


def test_a_missing_key_for_encrypted_data_is_an_error_not_a_new_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    keys.forget_cached()
    path = tmp_path / "s.db"
    SessionStore(path).close()
    KeyStore().delete()
    before = _digest(path)
    with pytest.raises(DataKeyError, match=r"record .* is missing"):
        SessionStore(path)
    assert _digest(path) == before and KeyStore().record() is None
    keys.forget_cached()


FILE_MODES = textwrap.dedent(
    """
    import os, sys, logging
    os.umask(0)  # the worst umask: everything would be world-writable
    from pathlib import Path
    from voiceassist.logs import setup_logging
    from voiceassist.config import Config
    from voiceassist.config_file import edit_config
    from voiceassist.config import default_config_path
    from voiceassist.storage import SessionStore, default_store_path
    from voiceassist.alerts.service import AlertService
    import numpy as np
    setup_logging()
    logging.getLogger("x").warning("a line in the log")
    edit_config(default_config_path(), {"store": {"keep_audio": True}})
    s = SessionStore(default_store_path())
    sid = s.start_session("t")
    s.add_utterance(sid, 1, 0, 1, np.zeros(1600, np.int16))
    s.close()
    a = AlertService(Config().alerts)
    a.send_test()
    a.stop()
    """
)


def test_every_file_the_app_creates_is_private(tmp_path: Path):
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    r = subprocess.run([sys.executable, "-c", FILE_MODES], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run(
        [sys.executable, "-m", "voiceassist", "alerts", "set-pin", "--pin", "246813"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run(  # the API server's token, made on first use
        [sys.executable, "-m", "voiceassist", "serve", "--show-token"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    files, folders = [], []
    for base in ("data", "config", "state"):
        root = tmp_path / base / "voiceassist"
        folders.append(root)
        for p in root.rglob("*"):
            (folders if p.is_dir() else files).append(p)
    names = {p.name for p in files}
    assert {"sessions.sqlite3", "alerts.sqlite3", "voiceassist.log", "config.toml", "data-key.json"} <= names
    loose = [f"{p} {p.stat().st_mode & 0o777:o}" for p in files if p.stat().st_mode & 0o777 != 0o600]
    loose += [f"{p} {p.stat().st_mode & 0o777:o}" for p in folders if p.stat().st_mode & 0o777 != 0o700]
    assert not loose


def test_older_files_are_made_private_on_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from voiceassist.storage.sessions import default_store_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = default_store_path()
    path.parent.mkdir(parents=True)
    os.chmod(path.parent, 0o755)
    sqlite3.connect(path).execute("CREATE TABLE x (y)").connection.close()
    os.chmod(path, 0o644)
    SessionStore(path).close()
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700


def test_transcripts_are_not_kept_when_switched_off(tmp_path: Path, two_utterances):
    from tests.test_pipeline_emotion import ScriptedAsr
    from voiceassist.audio.sources import FileSource
    from voiceassist.config import Config
    from voiceassist.session import Session

    cfg = Config()
    cfg.store.keep_transcripts = False
    store = SessionStore(tmp_path / "s.db")
    path, _ = two_utterances
    s = Session(
        cfg,
        FileSource(path),
        store=store,
        source_name="t",
        models=Models(asr=ScriptedAsr([("I feel so lonely", "en")])),
    )
    s.start()
    assert s.wait(120)
    [u, *_] = store.utterances(s.recorder.session_id)
    assert u["text"] == "" and u["reply"] is None and u["fused_label"] and "keywords" not in (u["text_emotion"] or {})
    store.close()


def test_retention_purges_on_schedule_while_recording(tmp_path: Path):
    store = SessionStore(tmp_path / "s.db")
    old = store.start_session("old", now=time.time() - 40 * 86400)
    store.apply_retention(30)
    assert old not in [s.id for s in store.sessions()]
    old = store.start_session("old again", now=time.time() - 40 * 86400)
    store._purged_at -= store.PURGE_EVERY_S  # an hour later
    sid = store.start_session("now")
    assert [s.id for s in store.sessions()] == [sid]
    assert store.db.query("PRAGMA secure_delete")[0][0] == 1
    store.close()


def test_wipe_removes_all_data_and_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for k in ("DATA", "STATE", "CONFIG"):
        monkeypatch.setenv(f"XDG_{k}_HOME", str(tmp_path / k.lower()))
    keys.forget_cached()
    from voiceassist.alerts.outbox import default_outbox_path
    from voiceassist.alerts.service import AlertService
    from voiceassist.config import Config
    from voiceassist.logs import setup_logging
    from voiceassist.privacy.wipe import wipe_all
    from voiceassist.storage.sessions import default_store_path

    log_file = setup_logging()
    store = SessionStore(default_store_path())
    _fill(store)
    store.close()
    a = AlertService(Config().alerts)
    a.send_test()
    a.stop()
    assert KeyStore().record() is not None and log_file is not None and log_file.exists()
    rep = wipe_all(Config())
    import logging

    for h in list(logging.getLogger().handlers):
        logging.getLogger().removeHandler(h)
        h.close()
    assert not default_store_path().exists() and not default_outbox_path().exists()
    assert not log_file.exists() and KeyStore().record() is None and not rep.caregiver_told
    assert len(rep.removed) >= 3
    keys.forget_cached()


def test_the_privacy_command(tmp_path: Path):
    env = {**os.environ, **{f"XDG_{k}_HOME": str(tmp_path / k.lower()) for k in ("DATA", "CONFIG", "STATE", "CACHE")}}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "voiceassist", "privacy", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    r = cli("status")
    assert r.returncode == 0 and "no data key yet" in r.stdout and "Keep transcripts" in r.stdout
    r = subprocess.run([sys.executable, "-c", FILE_MODES], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    r = cli("status")
    assert "in the key file" in r.stdout and "sessions.sqlite3: encrypted" in r.stdout and "all private" in r.stdout
    assert cli("purge").returncode == 3  # retention 0 and no --older-than: said, nothing deleted
    r = cli("purge", "--older-than", "30")
    assert r.returncode == 0 and "deleted 0 sessions" in r.stdout
    r = cli("wipe")  # no terminal, no --yes: refused
    assert r.returncode == 3 and "--yes" in r.stderr
    r = cli("wipe", "--yes")
    assert r.returncode == 0 and "and the data key" in r.stdout, r.stderr
    assert not (tmp_path / "data" / "voiceassist" / "sessions.sqlite3").exists()
    assert not (tmp_path / "state" / "voiceassist" / "keys" / "data-key.json").exists()
    assert (tmp_path / "config" / "voiceassist" / "config.toml").exists()  # settings stay
