"""Shown means stored: ``listen --json`` is killed with SIGKILL the moment it prints an event of each kind a
person sees (a transcript, the fused emotion, the mood, a reply), several times over; every item it printed
is in the encrypted session store afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav

pytestmark = pytest.mark.slow

KINDS = ("Transcript", "FusedEmotion", "MoodUpdate", "Reply")


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parts = [silence(0.3)]
    for text in ("I feel tired today.", "My sister called me this morning.", "We talked for an hour."):
        parts += [espeak(text), silence(0.9)]
    return write_wav(tmp_path_factory.mktemp("audio") / "talk.wav", np.concatenate(parts))


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "cfg"),
        "XDG_STATE_HOME": str(home / "state"),
    }


def _store(home: Path):  # type: ignore[no-untyped-def]
    from voiceassist.privacy.keys import KeyStore
    from voiceassist.storage import SessionStore

    key = KeyStore(home / "state" / "voiceassist" / "keys").load(create=False)
    return SessionStore(home / "data" / "voiceassist" / "sessions.sqlite3", key=key)


def kill_at_first(kind: str, talk: Path, home: Path) -> dict:
    """Run listen until it prints the first event of ``kind``; SIGKILL it there; that event."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "voiceassist", "listen", "--file", str(talk), "--json", "--set", "tts.enabled=false"],
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            ev = json.loads(line)
            if ev.get("event") == kind:
                proc.send_signal(signal.SIGKILL)  # at the very moment it is shown
                return ev
        raise AssertionError(f"listen ended without printing a {kind}")
    finally:
        proc.kill()
        proc.wait(30)
        proc.stdout.close()


@pytest.mark.parametrize("kind", KINDS)
def test_what_was_printed_is_in_the_store_after_a_kill(kind: str, talk: Path, tmp_path: Path):
    for attempt in range(3):
        home = tmp_path / f"home{attempt}"
        shown = kill_at_first(kind, talk, home)
        store = _store(home)
        try:
            [session] = store.sessions()
            rows = {r["segment_id"]: r for r in store.utterances(session.id)}
            row = rows.get(shown["segment_id"])
            assert row is not None, f"{kind} of segment {shown['segment_id']} shown but its utterance not stored"
            if kind == "Transcript":
                assert row["text"] == shown["text"]
            elif kind == "FusedEmotion":
                assert row["fused_label"] == shown["label"]
            elif kind == "Reply":
                assert row["reply"] == shown["text"]
            else:
                moods = store.db.query("SELECT segment_id FROM moods WHERE session_id=?", (session.id,))
                assert (shown["segment_id"],) in [tuple(m) for m in moods]
        finally:
            store.close()
