"""A full disk mid-session: the session store, the log and the alert outbox stop being written. The person
is told once, listening goes on, nothing written before is lost or damaged, and saving resumes by itself
when space returns.

The first test fills a real (tmpfs) file system of 16 MB and frees it again; it needs the right to mount one
(root here; skipped elsewhere). The others reach the same error paths on any machine: SQLite's own "database
or disk is full" (``PRAGMA max_page_count``) and ENOSPC from ``/dev/full``.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav
from tests.test_pipeline_emotion import ScriptedAsr
from voiceassist import events as E
from voiceassist.audio.chunk import AudioChunk
from voiceassist.bus import Collector
from voiceassist.config import AlertsConfig, Config
from voiceassist.logs import PrivateRotatingFileHandler
from voiceassist.pipeline import Models
from voiceassist.storage import SessionStore, StoreRecorder
from voiceassist.storage import recorder as recorder_mod

SENTENCES = [
    ("Good morning, how are you today?", "en"),
    ("I feel a bit tired, but I am fine.", "en"),
    ("我今天很开心", "zh"),
    ("Could you remind me to call my sister?", "en"),
    ("The weather is lovely this afternoon.", "en"),
]


@pytest.fixture(scope="module")
def five_utterances(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parts = [silence(0.8)]
    for text, _ in SENTENCES:
        parts += [espeak(text if text.isascii() else "I am very happy today"), silence(1.3)]
    return write_wav(tmp_path_factory.mktemp("audio") / "five.wav", np.concatenate(parts))


@pytest.fixture
def small_disk(tmp_path: Path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot mount a small file system here: {e}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> None:
    """Write until the file system is full (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    block = b"\0" * 65536
    try:
        while True:
            os.write(fd, block)
    except OSError as e:
        assert e.errno == 28
    try:
        while True:  # the last few bytes
            os.write(fd, b"\0")
    except OSError:
        pass
    os.close(fd)


def test_a_real_disk_fills_and_empties_mid_session(small_disk: Path, five_utterances: Path, monkeypatch):
    """The store and the log on a 16 MB file system, filled after the first utterance is shown and freed
    after the third: one message, every utterance heard, the first one untouched, the rest saved later."""
    from voiceassist.audio.sources import FileSource
    from voiceassist.session import Session

    monkeypatch.setattr(recorder_mod, "RETRY_S", 0.0)  # try again on every event (5 s in the app)
    store = SessionStore(small_disk / "sessions.sqlite3")
    log_handler = PrivateRotatingFileHandler(small_disk / "voiceassist.log", maxBytes=10_000_000, encoding="utf-8")
    root = logging.getLogger()
    root.addHandler(log_handler)
    cfg = Config()
    cfg.store.keep_audio = True  # rows that need new pages: the disk is really needed
    session = Session(
        cfg,
        FileSource(five_utterances, realtime=False, chunk_ms=30),
        store=store,
        source_name="test",
        models=Models(asr=ScriptedAsr(SENTENCES)),
    )
    shown: list[E.Transcript] = []
    filler = small_disk / "filler"

    def front_end(ev):  # subscribed after the store's writer, like every front end
        if isinstance(ev, E.Transcript):
            shown.append(ev)
            if len(shown) == 1:
                fill(filler)
            elif len(shown) == 3:
                filler.unlink()

    c = Collector()
    session.subscribe(front_end)
    session.subscribe(c)
    try:
        session.start()
        assert session.wait(120)
    finally:
        root.removeHandler(log_handler)
        log_handler.close()
    statuses = c.of(E.StoreStatus)
    assert [s.saving for s in statuses] == [False, True], [s.message for s in statuses]
    assert statuses[0].reason == "the disk is full" and "Listening goes on" in statuses[0].message
    assert len(shown) == len(SENTENCES) and len(c.of(E.FusedEmotion)) == len(SENTENCES)  # listening went on
    rows = store.utterances(session.recorder.session_id)
    assert [r["text"] for r in rows] == [t.text for t in shown]
    assert all(r["fused_label"] and r["audio"] is not None for r in rows)
    assert store.integrity_ok()
    assert session.recorder.failed is None and session.recorder.held == 0
    store.close()
    log = (small_disk / "voiceassist.log").read_text(encoding="utf-8")
    assert "records were missed while it could not be" in log and "Saving again" in log  # the log goes on


def _events(seg: int, text: str) -> list[E.Event]:
    rng = np.random.default_rng(seg)  # noise: the audio does not compress into free space
    audio = AudioChunk(rng.integers(-3000, 3000, 16000, dtype=np.int16), start_s=seg * 2.0)
    t = {"segment_id": seg, "start_s": seg * 2.0, "end_s": seg * 2.0 + 1.0}
    return [
        E.SpeechSegment(**t, audio=audio, reason="silence", speech_end_at=0.0),
        E.Transcript(
            **t,
            text=text,
            language="en",
            language_probability=1.0,
            backend="test",
            no_speech_prob=0.0,
            avg_logprob=-0.1,
        ),
    ]


def test_the_store_holds_what_it_cannot_write_and_writes_it_in_order_when_it_can(tmp_path: Path):
    store = SessionStore(tmp_path / "s.sqlite3")
    now = [0.0]
    said: list[tuple[bool, str]] = []
    rec = StoreRecorder(store, "test", keep_audio=True, on_status=lambda *a: said.append(a), clock=lambda: now[0])
    for ev in _events(1, "before the disk filled"):
        rec(ev)
    pages = store.db.query("PRAGMA page_count")[0][0]
    store.db.write(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
    for seg in range(2, 6):
        for ev in _events(seg, f"utterance {seg}"):
            rec(ev)
        now[0] += 1.0
    assert said == [(False, said[0][1])] and "the disk is full" in said[0][1]  # said once
    assert rec.failed == "the disk is full" and rec.held == 8
    assert [u["text"] for u in store.utterances(rec.session_id)] == ["before the disk filled"]  # untouched
    store.db.write("PRAGMA max_page_count = 1073741823")  # space again
    rec(E.AudioLevel(rms_dbfs=-40.0, in_speech=False))  # any event: not yet time to try again
    assert rec.held == 8
    now[0] += recorder_mod.RETRY_S
    rec(E.AudioLevel(rms_dbfs=-40.0, in_speech=False))
    assert rec.held == 0 and rec.failed is None and said[-1][0] is True and len(said) == 2
    texts = [u["text"] for u in store.utterances(rec.session_id)]
    assert texts == ["before the disk filled"] + [f"utterance {s}" for s in range(2, 6)]
    assert store.integrity_ok()


def test_a_session_whose_store_cannot_start_still_listens_and_says_so(tmp_path: Path, two_utterances):
    from voiceassist.audio.sources import FileSource
    from voiceassist.session import Session

    store = SessionStore(tmp_path / "s.sqlite3")
    store.db.write(f"PRAGMA max_page_count = {store.db.query('PRAGMA page_count')[0][0]}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(10_000):  # the last free bytes of the last page
            store.db.write("INSERT INTO sessions (started_at, source) VALUES (0, 'filler')")
    path, _ = two_utterances
    s = Session(Config(), FileSource(path, realtime=False), store=store, models=Models(asr=ScriptedAsr(SENTENCES)))
    c = Collector()
    s.subscribe(c)
    s.start()
    assert s.wait(120)
    [status] = c.of(E.StoreStatus)
    assert not status.saving and status.reason == "the disk is full"
    assert len(c.of(E.Transcript)) == 2 and s.store is None


class Inbox:
    name = "inbox"
    max_attempts = None

    def __init__(self) -> None:
        self.got: list[dict] = []
        self.lock = threading.Lock()

    def send(self, message: dict) -> None:
        with self.lock:
            self.got.append(message)


def test_an_alert_the_outbox_cannot_store_is_sent_from_memory_and_stored_later(tmp_path: Path):
    from voiceassist.alerts.service import AlertService

    inbox = Inbox()
    svc = AlertService(AlertsConfig(enabled=True), outbox_path=tmp_path / "alerts.sqlite3", channels={"inbox": inbox})
    db = svc.outbox.db
    db.write(f"PRAGMA max_page_count = {db.query('PRAGMA page_count')[0][0]}")
    big = {"utterances": [{"segment_id": 1, "note": "x" * 50_000}]}  # needs new pages
    [(alert_id, decision)] = svc.evaluate(1.0, 1, "I want to kill myself", None, big)
    assert alert_id < 0 and decision.kind == "crisis:suicide" and svc.held == 1
    assert svc.deliver_due() == 1 and inbox.got[0]["kind"] == "crisis:suicide"  # the caregiver hears it now
    assert svc.deliver_due() == 0 and len(inbox.got) == 1  # once
    assert svc.outbox.alerts() == []
    db.write("PRAGMA max_page_count = 1073741823")
    svc.deliver_due()
    [stored] = svc.outbox.alerts()
    assert stored.kind == "crisis:suicide" and svc.held == 0
    assert [d.status for d in svc.outbox.deliveries(stored.id)] == ["sent"]
    assert svc.deliver_due() == 0 and len(inbox.got) == 1  # not sent twice
    svc.stop()


def test_the_log_file_full_is_said_once_and_written_again_when_it_can(tmp_path: Path, capsys):
    h = PrivateRotatingFileHandler(tmp_path / "v.log", maxBytes=10_000_000, encoding="utf-8")
    h.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test_full_disk.log")
    logger.propagate = False
    logger.addHandler(h)
    try:
        logger.warning("before")
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full")
        reopen = h._open
        h.stream.close()
        # every write: ENOSPC (the handler closes what it opened)
        h._open = lambda: open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115
        h.stream = h._open()
        for i in range(5):
            logger.warning("lost %d", i)
        h._open = reopen  # space again
        err = capsys.readouterr().err
        assert err.count("cannot write the log file") == 1 and "Traceback" not in err
        assert h.missed == 5
        logger.warning("after")
        text = (tmp_path / "v.log").read_text(encoding="utf-8")
        assert text.splitlines() == [
            "before",
            "the log file is written again; 5 records were missed while it could not be",
            "after",
        ]
    finally:
        logger.removeHandler(h)
        h.close()
