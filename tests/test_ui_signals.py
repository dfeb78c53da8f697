"""Signals to the window: Ctrl-C (SIGINT) and SIGTERM stop the session the normal way (the utterance in
flight finished, the session row closed) and the app exits cleanly within seconds; after a SIGKILL the
session is closed as "ended abruptly" on the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, wait_until, write_wav

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parts = [silence(0.4)]
    for text in (
        "I feel tired today.",
        "My sister called me this morning.",
        "We talked for an hour.",
        "Then I went for a walk.",
        "The park was quiet.",
        "I came home and made some tea.",
    ):
        parts += [espeak(text), silence(1.0)]
    return write_wav(tmp_path_factory.mktemp("audio") / "long.wav", np.concatenate(parts))


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "cfg"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "QT_QPA_PLATFORM": "offscreen",
    }


def _key(db: Path) -> bytes:
    """The data key the app made in its own (test) state dir."""
    from voiceassist.privacy.keys import KeyStore

    return KeyStore(db.parents[2] / "state" / "voiceassist" / "keys").load(create=False)


def _rows(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    try:
        from voiceassist.privacy.keys import DataKeyError
        from voiceassist.storage.crypto import connect

        try:
            con = connect(db, _key(db), timeout=5)
        except (DataKeyError, RuntimeError):  # not made yet, or the file is still being created
            return []
        try:
            return con.execute(
                "SELECT s.id, s.ended_at, s.ended_abruptly, COUNT(u.text) FROM sessions s LEFT JOIN "
                "utterances u ON u.session_id = s.id AND u.text != '' GROUP BY s.id"
            ).fetchall()
        finally:
            con.close()
    except Exception:  # sqlite3's and sqlcipher3's errors (locked, being written): not there yet
        return []


def _start(tmp: Path, recording: Path) -> tuple[subprocess.Popen, Path]:
    db = tmp / "data" / "voiceassist" / "sessions.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceassist", "app", "--file", str(recording), "--set", "tts.enabled=false"],
        env=_env(tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the first utterance is transcribed and stored: the session is live, mid-recording
    assert wait_until(lambda: any(r[3] >= 1 for r in _rows(db)) or proc.poll() is not None, timeout=120)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    return proc, db


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_session_the_normal_way(sig: signal.Signals, tmp_path: Path, long_recording: Path):
    proc, db = _start(tmp_path, long_recording)
    t0 = time.monotonic()
    proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the window did not exit within 20 s of {sig.name}")
    assert proc.returncode == 0, err[-3000:]
    assert time.monotonic() - t0 < 15
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    [(_sid, ended_at, abrupt, n)] = _rows(db)
    assert ended_at is not None and not abrupt and n >= 1


def test_after_sigkill_the_session_is_closed_as_ended_abruptly(tmp_path: Path, long_recording: Path):
    from voiceassist.storage import SessionStore

    proc, db = _start(tmp_path, long_recording)
    proc.kill()
    proc.communicate(timeout=20)
    [(_sid, ended_at, _abrupt, _n)] = _rows(db)
    assert ended_at is None  # nobody closed it
    store = SessionStore(db, key=_key(db))  # the next start
    try:
        assert store.closed_abandoned == 1
        [info] = store.sessions()
        assert info.ended_abruptly and info.ended_at is not None and info.utterances >= 1
    finally:
        store.close()
