"""The Session: it builds and owns the parts of a conversation, takes commands as messages, stores what
happened on its writer thread, and stops within one deadline however slow a stage is."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from tests.conftest import espeak, silence, wait_until, write_wav
from tests.test_pipeline_emotion import ScriptedAsr
from voiceassist.audio.sources import FileSource
from voiceassist.bus import Collector
from voiceassist.config import Config
from voiceassist.events import PipelineStopped, Reply, Transcript
from voiceassist.pipeline import Models
from voiceassist.session import CorrectEmotion, Mute, Session, SetInput, StopSpeaking
from voiceassist.storage import SessionStore


class SlowAsr(ScriptedAsr):
    """Takes ``delay`` seconds per utterance (a slow CPU, a huge model)."""

    def __init__(self, delay: float) -> None:
        super().__init__([("slow words", "en")])
        self.delay = delay
        self.started = threading.Event()

    def transcribe(self, audio, language=None, words=False):
        self.started.set()
        time.sleep(self.delay)
        return super().transcribe(audio, language)


def test_the_session_owns_its_parts_and_records_in_order(two_utterances, tmp_path: Path):
    path, _ = two_utterances
    store = SessionStore(tmp_path / "s.db")
    col = Collector()
    s = Session(
        Config(),
        FileSource(path),
        store=store,
        source_name="test",
        models=Models(asr=ScriptedAsr([("I feel so lonely", "en"), ("我今天很开心", "zh")])),
    )
    s.subscribe(col)
    assert s.responder is not None and s.pipeline.responder is s.responder  # built once, handed in
    s.start()
    assert s.wait(120)
    [info] = store.sessions()
    assert info.ended_at is not None and not info.ended_abruptly
    utts = store.utterances(info.id)
    assert [u["text"] for u in utts] == ["I feel so lonely", "我今天很开心"]
    assert all(u["reply"] for u in utts)  # replies were recorded before the session was closed
    assert [r.segment_id for r in col.of(Reply)] == [1, 2]
    # a correction is a message; it lands in the store with the utterance it belongs to
    s.send(CorrectEmotion(segment_id=1, label="sad", note="I was sad, not neutral"))
    s.stop(5.0)
    [fb] = store.feedback(info.id)
    assert fb["segment_id"] == 1 and fb["label"] == "sad" and fb["kind"] == "emotion"


def test_commands_reach_their_owner(two_utterances):
    path, _ = two_utterances
    s = Session(Config(), FileSource(path), models=Models(asr=ScriptedAsr([("hello", "en")])), speak=False)
    s.send(Mute(True))
    assert s.responder.muted
    s.send(Mute(False))
    assert not s.responder.muted
    s.send(SetInput(False))
    assert not s.pipeline.capture._input_enabled.is_set()
    s.send(SetInput(True))
    assert s.pipeline.capture._input_enabled.is_set()
    s.send(StopSpeaking())  # nothing playing: a no-op, not an error


def test_stopping_is_bounded_as_a_whole(tmp_path: Path):
    """Three utterances queued behind an ASR that takes 10 s each: stop(2) returns in about 2 s, not
    2 s per stage, and says it left work behind."""
    parts = [silence(0.3)]
    for text in ("First sentence here.", "Second one now.", "And a third."):
        parts += [espeak(text), silence(0.7)]
    path = write_wav(tmp_path / "three.wav", np.concatenate(parts))
    asr = SlowAsr(10.0)
    col = Collector()
    s = Session(Config(), FileSource(path), models=Models(asr=asr), speak=False)
    s.subscribe(col)
    s.start()
    assert asr.started.wait(30)
    t0 = time.monotonic()
    finished = s.stop(2.0)
    took = time.monotonic() - t0
    assert not finished
    assert took < 4.0, took
    assert len(col.of(PipelineStopped)) == 1


def test_stop_async_never_blocks_the_caller(two_utterances):
    path, _ = two_utterances
    asr = SlowAsr(3.0)
    col = Collector()
    s = Session(Config(), FileSource(path, realtime=True), models=Models(asr=asr), speak=False)
    s.subscribe(col)
    done: list[bool] = []
    s.start()
    assert asr.started.wait(30)
    t0 = time.monotonic()
    t = s.stop_async(8.0, on_done=done.append)
    assert time.monotonic() - t0 < 0.2  # the GUI thread goes on at once
    assert wait_until(lambda: bool(done), 15)
    t.join(1)
    assert done == [True]  # the utterance in flight was finished within the deadline
    assert [t.text for t in col.of(Transcript)] == ["slow words"]
