"""The session store: schema and migrations, rows written as a real session goes, export, delete,
retention, and a process killed mid-session (the database stays consistent, nothing before is lost)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav
from tests.test_pipeline_emotion import ScriptedAsr
from voiceassist.config import Config
from voiceassist.pipeline import Models
from voiceassist.storage import SessionStore
from voiceassist.storage.schema import SCHEMA_VERSION


def raw(path: Path):
    """The encrypted file opened with the user's data key, outside the store (autocommit)."""
    from voiceassist.privacy.keys import data_key
    from voiceassist.storage.crypto import connect

    return connect(path, data_key(create=False))


@pytest.fixture
def recorded(tmp_path: Path, two_utterances) -> tuple[SessionStore, int]:
    store = SessionStore(tmp_path / "s.sqlite3")
    path, _ = two_utterances
    from voiceassist.audio.sources import FileSource
    from voiceassist.session import Session

    cfg = Config()
    cfg.store.keep_audio = True
    # the scripted recogniser gives no encoder frames: the prosody voice, whose embedding the store keeps
    cfg.emotion.speech_backend = "prosody"
    p = Session(
        cfg,
        FileSource(path),
        store=store,
        source_name="test",
        models=Models(asr=ScriptedAsr([("I feel so lonely", "en"), ("我今天很开心，跑了3公里", "zh")])),
    )
    p.start()
    assert p.wait(120)
    return store, p.recorder.session_id


def test_schema_is_versioned(tmp_path: Path):
    s = SessionStore(tmp_path / "a.db")
    assert s.schema_version == SCHEMA_VERSION
    s.close()
    s = SessionStore(tmp_path / "a.db")  # reopening migrates nothing twice
    assert s.schema_version == SCHEMA_VERSION and s.integrity_ok()
    s.close()
    con = raw(tmp_path / "a.db")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(RuntimeError, match="newer"):
        SessionStore(tmp_path / "a.db")


def test_audio_kept_by_an_older_version_moves_to_its_own_table(tmp_path: Path):
    from voiceassist.storage.db import Database
    from voiceassist.storage.schema import MIGRATIONS

    path = tmp_path / "v3.sqlite3"
    # what schema 3 wrote (the audio in the utterance's row), and before encryption: encrypted in place first
    db = Database(path, MIGRATIONS[:3], encrypted=False)
    db.write("INSERT INTO sessions (started_at, source) VALUES (1.0, 'old')")
    audio = np.arange(-8000, 8000, dtype=np.int16)
    for seg, a in ((1, audio), (2, None)):
        db.write(
            "INSERT INTO utterances (session_id, segment_id, wall_time, start_s, end_s, text, audio) "
            "VALUES (1, ?, 2.0, 0.0, 1.0, 'hi', ?)",
            (seg, None if a is None else a.tobytes()),
        )
    db.close()
    store = SessionStore(path)
    assert store.schema_version == SCHEMA_VERSION and store.integrity_ok()
    assert b"SQLite format 3" not in path.read_bytes()[:16]  # encrypted now
    u1, u2 = store.utterances(1)
    assert np.array_equal(u1["audio"], audio) and u2["audio"] is None and u1["text"] == u2["text"] == "hi"
    assert store.db.query("SELECT COUNT(*) FROM utterances WHERE audio IS NOT NULL")[0][0] == 0
    store.delete_session(1)
    assert store.db.query("SELECT COUNT(*) FROM audio")[0][0] == 0
    store.close()


def test_an_utterances_audio_is_written_once_however_often_its_row_changes(tmp_path: Path):
    """The transcript, the emotions, the reply each update the utterance's row; SQLite rewrites a whole row
    on update, so audio kept in it went to the write-ahead log again each time."""
    store = SessionStore(tmp_path / "s.sqlite3")
    sid = store.start_session("test")
    audio = np.random.default_rng(0).integers(-3000, 3000, 16000 * 10, dtype=np.int16)  # 10 s: 320 kB
    store.db.query("PRAGMA wal_checkpoint(TRUNCATE)")
    store.add_utterance(sid, 1, 0.0, 10.0, audio)
    for field, value in (("text", "I miss her"), ("language", "en"), ("speech", "{}"), ("text_emotion", "{}"),
                         ("fused", "{}"), ("reply", "That sounds hard.")):  # fmt: skip
        store.update_utterance(sid, 1, **{field: value})
    _busy, frames, _done = store.db.query("PRAGMA wal_checkpoint(PASSIVE)")[0]
    page = int(store.db.query("PRAGMA page_size")[0][0])
    assert frames * page < 1.5 * audio.nbytes  # once (it was seven times: the insert and six updates)
    assert np.array_equal(store.utterances(sid)[0]["audio"], audio)
    store.close()


def test_a_session_is_written_as_it_goes(recorded):
    store, sid = recorded
    [info] = store.sessions()
    assert info.id == sid and info.utterances == 2 and info.ended_at is not None
    u1, u2 = store.utterances(sid)
    assert u1["text"] == "I feel so lonely" and u1["fused_label"] == "sad" and u1["reply"]
    assert u2["language"] == "zh" and u2["fused"]["label"] == u2["fused_label"]
    # numbers both ways: what the recogniser wrote (shown), and what text emotion and the reply read
    assert u2["text"] == "我今天很开心，跑了3公里" and u2["text_emotion"]["words_read"] == "我今天很开心,跑了三公里"
    assert u1["speech"]["backend"].startswith("prosody") and u1["text_emotion"]["label"] == "sad"
    assert u1["embedding"].shape == (12,) and u1["embedding_dim"] == 12
    assert u1["audio"] is not None and len(u1["audio"]) > 16000  # keep_audio was on
    _start, rate, probs = store.frames(sid, u1["segment_id"])
    assert rate == 10.0 and probs.shape[1] == 9 and abs(len(probs) - (u1["end_s"] - u1["start_s"]) * 10) < 3
    moods = store.moods(sid)
    assert [m["segment_id"] for m in moods] == [1, 2] and moods[1]["n"] == 2


def test_export_delete_and_retention(recorded, tmp_path: Path):
    store, sid = recorded
    doc = store.export_json(sid)
    json.dumps(doc)  # serialisable
    assert len(doc["utterances"]) == 2 and doc["utterances"][0]["text"] == "I feel so lonely"
    csv_text = store.export_csv(sid)
    assert csv_text.splitlines()[0].startswith("segment_id,start_s") and "我今天很开心，跑了3公里" in csv_text
    files = store.export_embeddings(sid, tmp_path / "emb")
    assert len(files) == 2 and np.load(files[0]).shape == (12,)
    old = store.start_session("old", now=time.time() - 40 * 86400)
    assert store.apply_retention(30) == 1 and [s.id for s in store.sessions()] == [sid]
    assert old not in [s.id for s in store.sessions()]
    assert store.db.query("SELECT COUNT(*) FROM audio WHERE session_id=?", (sid,))[0][0] == 2  # keep_audio was on
    store.delete_session(sid)
    assert store.sessions() == [] and store.utterances(sid) == [] and store.moods(sid) == []
    assert store.db.query("SELECT COUNT(*) FROM audio")[0][0] == 0  # the audio goes with its session


def test_audio_is_not_kept_by_default(tmp_path: Path, two_utterances):
    store = SessionStore(tmp_path / "s.db")
    path, _ = two_utterances
    from voiceassist.audio.sources import FileSource
    from voiceassist.session import Session

    p = Session(
        Config(), FileSource(path), store=store, source_name="t", models=Models(asr=ScriptedAsr([("hello", "en")]))
    )
    p.start()
    assert p.wait(120)
    assert all(u["audio"] is None for u in store.utterances(p.recorder.session_id))


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path):
    import threading

    from voiceassist.storage import Database

    db = Database(tmp_path / "t.db", ["CREATE TABLE t (x INTEGER NOT NULL)"])
    writers: set[str] = set()

    def half(c):
        writers.add(threading.current_thread().name)
        c.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("the second half failed")

    with pytest.raises(RuntimeError, match="second half"):
        db.transact(half)
    assert db.query("SELECT COUNT(*) FROM t") == [(0,)]
    db.transact(lambda c: (writers.add(threading.current_thread().name), c.execute("INSERT INTO t VALUES (2)")))
    t = threading.Thread(target=lambda: db.write("INSERT INTO t VALUES (3)"))  # another thread asks
    t.start()
    t.join()
    db.close()  # waits for the writer: the third row is in
    db = Database(tmp_path / "t.db", ["CREATE TABLE t (x INTEGER NOT NULL)"])
    assert db.query("SELECT x FROM t ORDER BY x") == [(2,), (3,)]
    assert len(writers) == 1 and next(iter(writers)).startswith("voiceassist-db")  # one writer thread


def test_a_newer_schema_is_refused_and_old_outboxes_are_upgraded(tmp_path: Path):

    from voiceassist.alerts.outbox import Outbox
    from voiceassist.storage import NewerSchemaError

    path = tmp_path / "s.db"
    SessionStore(path).close()
    con = raw(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(NewerSchemaError):
        SessionStore(path)
    # an outbox written before its schema was versioned (user_version 0, tables already there), and before
    # it was encrypted (a plain file)
    old = tmp_path / "alerts.db"
    plain = sqlite3.connect(old)
    plain.execute(
        "CREATE TABLE alerts (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, kind TEXT "
        "NOT NULL, severity TEXT NOT NULL, rule TEXT NOT NULL, evidence TEXT NOT NULL, suppressed INTEGER "
        "NOT NULL DEFAULT 0, test INTEGER NOT NULL DEFAULT 0)"
    )
    plain.execute(
        "INSERT INTO alerts (created_at, kind, severity, rule, evidence) VALUES (1, 'crisis', 'urgent', 'r', '{}')"
    )
    plain.commit()
    plain.close()
    box = Outbox(old)
    assert box.db.version >= 1 and box.alert(1).kind == "crisis"
    assert old.read_bytes()[:16] != b"SQLite format 3\x00"  # encrypted on the way


def test_a_session_left_open_by_a_killed_process_is_closed_abruptly(tmp_path: Path):
    path = tmp_path / "s.db"
    store = SessionStore(path)
    sid = store.start_session("microphone", now=1000.0)
    store.add_utterance(sid, 1, 0.5, 2.0)
    last = store.utterances(sid)[0]["wall_time"]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.db.write("UPDATE sessions SET pid=? WHERE id=?", (dead.pid, sid))  # its process is gone
    live = store.start_session("microphone")  # this process: still recording
    store.close()
    store = SessionStore(path)
    assert store.closed_abandoned == 1
    info = {s.id: s for s in store.sessions()}
    assert info[sid].ended_abruptly and info[sid].ended_at == pytest.approx(last)
    assert info[live].ended_at is None and not info[live].ended_abruptly


@pytest.mark.slow
def test_killed_mid_session_keeps_everything_before(tmp_path: Path):
    """`voiceassist listen --file` writes the store; SIGKILL it after two utterances were processed."""
    parts = [silence(0.3)]
    for text in (
        "I feel tired today.",
        "My sister called me.",
        "We talked for an hour.",
        "Then I went to bed.",
        "The night was quiet.",
        "In the morning it rained.",
    ):
        parts += [espeak(text), silence(1.0)]
    wav = write_wav(tmp_path / "long.wav", np.concatenate(parts))
    data_home = tmp_path / "data"
    env = {**os.environ, "XDG_DATA_HOME": str(data_home), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceassist", "listen", "--file", str(wav), "--json", "--set", "tts.enabled=false"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    fused = 0
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while True:
        line = proc.stdout.readline()  # (iterating the pipe would read ahead and block)
        if not line:
            break
        if '"event": "MoodUpdate"' in line:
            fused += 1
        if fused >= 2 or time.monotonic() > deadline:
            break
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    store = SessionStore(data_home / "voiceassist" / "sessions.sqlite3")
    assert store.integrity_ok()
    [info] = store.sessions()
    assert info.ended_abruptly and info.ended_at is not None  # it was killed: closed as such on reopening
    done = [u for u in store.utterances(info.id) if u["fused_label"]]
    assert len(done) >= 2 and done[0]["text"] and done[1]["text"]
    assert len(store.moods(info.id)) >= 2
    store.close()
