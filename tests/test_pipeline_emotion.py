"""Emotion in the pipeline: each kept segment gets speech, text and fused emotion (in that order), live
frame curves arrive while speech is in progress, and failures degrade instead of stalling."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak, silence, write_wav
from tests.test_pipeline import RecordingAsr
from voiceassist.asr import AsrResult
from voiceassist.audio.sources import FileSource
from voiceassist.bus import Collector, EventBus
from voiceassist.config import Config, load_config
from voiceassist.events import (
    EmotionFrames,
    FusedEmotion,
    SpeechEmotion,
    SpeechSegment,
    StageError,
    StageReady,
    TextEmotion,
    Transcript,
)
from voiceassist.pipeline import Models
from voiceassist.session import Session
from voiceassist.worker import Worker


class ScriptedAsr(RecordingAsr):
    """Returns the given sentences in turn (a probe for the text side; not a recogniser)."""

    def __init__(self, texts: list[tuple[str, str]], fail_on: set[int] | None = None) -> None:
        super().__init__(fail_on)
        self.texts = texts

    def transcribe(self, audio: np.ndarray, language=None, words=False) -> AsrResult:
        super().transcribe(audio, language)
        text, lang = self.texts[(len(self.calls) - 1) % len(self.texts)]
        return AsrResult(text, lang, 1.0, 0.0, -0.1, False)


def run(path: Path, asr, cfg: Config | None = None, realtime: bool = False, **kw) -> Collector:
    collector = Collector()
    p = Session(cfg or Config(), FileSource(path, realtime=realtime, chunk_ms=30), models=Models(asr=asr), **kw)
    p.subscribe(collector)
    p.start()
    assert p.wait(timeout=120)
    return collector


def test_every_segment_gets_speech_text_and_fused_emotion_in_order(two_utterances):
    path, _ = two_utterances
    c = run(path, ScriptedAsr([("I am so happy today!", "en"), ("我好难过", "zh")]))
    ready = {e.stage: e for e in c.of(StageReady)}
    assert ready["speech-emotion"].embedded and ready["speech-emotion"].note  # no Emotion2Vec+ here: says so
    assert ready["text-emotion"].embedded
    segs = c.of(SpeechSegment)
    fused = {e.segment_id: e for e in c.of(FusedEmotion)}
    assert set(fused) == {s.segment_id for s in segs} and len(segs) == 2
    for s in segs:
        order = [
            type(e).__name__
            for e in c.events
            if e.segment_id == s.segment_id and isinstance(e, SpeechEmotion | TextEmotion | FusedEmotion)
        ]
        assert order.index("FusedEmotion") == 2  # after both of its inputs
        f = fused[s.segment_id]
        assert f.speech is not None and f.text is not None
        assert f.start_s == pytest.approx(s.start_s) and f.end_s == pytest.approx(s.end_s)
    first, second = (fused[s.segment_id] for s in segs)
    assert first.text.label == "happy" and second.text.label == "sad"
    assert second.language == "zh" and second.label != "happy"
    assert not c.of(StageError)


def test_no_words_means_voice_only(two_utterances):
    path, _ = two_utterances
    c = run(path, ScriptedAsr([("", "en")]))
    fused = c.of(FusedEmotion)
    assert len(fused) == 2 and all(f.text is None and f.rule == "speech only" for f in fused)
    assert not c.of(TextEmotion)


def test_asr_failure_still_gives_the_voice_emotion(two_utterances):
    path, _ = two_utterances
    c = run(path, ScriptedAsr([("fine", "en")], fail_on={1}))
    assert any(e.stage == "asr" for e in c.of(StageError))
    assert len(c.of(FusedEmotion)) == 2


def test_emotion2vec_model_in_the_models_dir_is_used(two_utterances, tiny_e2v: Path):
    path, _ = two_utterances
    cfg = load_config(None, [f"paths.models_dir={json.dumps(str(tiny_e2v.parent))}", "emotion.device=cpu"])
    c = run(path, ScriptedAsr([("hello", "en")]), cfg)
    ready = {e.stage: e for e in c.of(StageReady)}["speech-emotion"]
    assert not ready.embedded and "Emotion2Vec+" in ready.description and ready.note is None
    emb = [e.estimate.embedding for e in c.of(SpeechEmotion)]
    assert len(emb) == 2 and all(x is not None and x.shape == (32,) for x in emb)


def test_a_corrupt_emotion_model_degrades_to_the_embedded_backend(two_utterances, tiny_e2v: Path, tmp_path: Path):
    import shutil

    bad = tmp_path / "emotion2vec_plus_base"
    shutil.copytree(tiny_e2v, bad)
    (bad / "model.pt").write_bytes(b"not a checkpoint")
    path, _ = two_utterances
    cfg = load_config(None, [f"paths.models_dir={json.dumps(str(tmp_path))}"])
    c = run(path, ScriptedAsr([("hello", "en")]), cfg)
    ready = {e.stage: e for e in c.of(StageReady)}["speech-emotion"]
    assert ready.embedded and ready.note and "model.pt" in ready.note
    assert any(e.stage == "speech-emotion" for e in c.of(StageError))
    assert len(c.of(FusedEmotion)) == 2


def test_live_frame_curves_arrive_while_speaking(tmp_path: Path):
    """Replayed in real time: curve updates come during the utterance (before its SpeechSegment), each
    continuing where the last stopped, about every live_interval_ms."""
    speech = espeak("This is a fairly long sentence so that the live view has several updates to draw.")
    path = write_wav(tmp_path / "long.wav", np.concatenate([silence(0.5), speech, silence(1.0)]))
    c = run(path, ScriptedAsr([("ok", "en")]), realtime=True)
    seg = c.of(SpeechSegment)[0]
    frames = [e for e in c.of(EmotionFrames) if e.segment_id == seg.segment_id]
    assert len(frames) >= 0.5 * (len(speech) / 16000) / 0.25
    assert all(f.t < seg.t for f in frames[:-1])
    for a, b in itertools.pairwise(frames):
        assert b.start_s == pytest.approx(a.start_s + len(a.probs) / a.frame_rate, abs=1e-6)
        assert b.audio_captured_at > a.audio_captured_at
    assert all(f.probs.shape[1] == 9 and f.t >= f.audio_captured_at for f in frames)
    total = sum(len(f.probs) for f in frames)
    assert total >= 0.8 * (seg.end_s - seg.start_s) * 50 - 30


def test_file_analysis_does_not_compute_live_curves(two_utterances):
    path, _ = two_utterances
    c = run(path, ScriptedAsr([("ok", "en")]))
    assert not c.of(EmotionFrames)


def test_emotion_can_be_turned_off(two_utterances):
    path, _ = two_utterances
    c = run(path, RecordingAsr(), load_config(None, ["emotion.enabled=false"]))
    assert len(c.of(Transcript)) == 2
    assert not c.of(SpeechEmotion) and not c.of(FusedEmotion)


def test_worker_offer_keeps_only_the_newest_item():
    import threading

    gate = threading.Event()
    seen: list[int] = []

    def handle(item: int):
        gate.wait(5)
        seen.append(item)
        return []

    w: Worker[int] = Worker("probe", EventBus(), handle)
    w.start()
    w.submit(0)  # blocks the worker until the gate opens
    for i in range(1, 6):
        w.offer(i)
    gate.set()
    assert w.drain(5)
    assert seen == [0, 5]


def analyze(*args: str) -> tuple[int, str, str]:
    p = subprocess.run(
        [sys.executable, "-m", "voiceassist", "analyze", *args], capture_output=True, text=True, timeout=300
    )
    return p.returncode, p.stdout, p.stderr


@pytest.mark.slow
def test_analyze_emotion_frames_and_embeddings(tmp_path: Path, tiny_e2v: Path):
    speech = espeak("I am so stressed at work, I cannot sleep at night.")
    path = write_wav(tmp_path / "rec.wav", np.concatenate([silence(0.5), speech, silence(0.8)]))
    out, emb = tmp_path / "result.json", tmp_path / "emb"
    code, _, stderr = analyze(
        str(path),
        "-o",
        str(out),
        "--granularity",
        "frame",
        "--embeddings",
        str(emb),
        "--set",
        f"paths.models_dir={json.dumps(str(tiny_e2v.parent))}",
    )
    assert code == 0, stderr
    doc = json.loads(out.read_text())
    seg = doc["segments"][0]
    e = seg["emotion"]
    assert set(e) >= {"speech", "text", "fused", "fallback_action", "suggested_response", "frames"}
    for side in ("speech", "text", "fused"):
        assert set(e[side]) >= {"label", "confidence", "scores", "backend"}
        assert len(e[side]["scores"]) == 9 and sum(e[side]["scores"].values()) == pytest.approx(1.0, abs=1e-3)
    assert "Emotion2Vec+" in e["speech"]["backend"]
    assert e["text"]["label"] == "fearful" and "stressed" in e["text"]["keywords"]
    probs = np.array(e["frames"]["probs"])
    assert probs.shape[1] == 9 and abs(len(probs) - (seg["end"] - seg["start"]) * 50) < 40
    utter = np.load(emb / "seg0001.npy")
    frames = np.load(emb / "seg0001_frames.npy")
    assert utter.shape == (32,) and frames.shape == (len(probs), 32)
    np.testing.assert_allclose(frames.mean(axis=0), utter, atol=1e-5)
    assert doc["backends"]["speech-emotion"]["embedded"] is False


def test_voice_analysis_switched_off_runs_no_voice_model_and_fuses_the_words(two_utterances):
    """privacy.voice_emotion off (the person's choice): no speech-emotion stage, no voice curves; every
    utterance still gets an emotion, from its words alone."""
    path, _ = two_utterances
    cfg = Config()
    cfg.privacy.voice_emotion = False
    c = run(path, ScriptedAsr([("I am so happy today!", "en"), ("我好难过", "zh")]), cfg)
    assert "speech-emotion" not in {e.stage for e in c.of(StageReady)}
    assert not c.of(SpeechEmotion) and not c.of(EmotionFrames)
    fused = c.of(FusedEmotion)
    assert len(fused) == 2 and all(f.speech is None and f.text is not None for f in fused)
    assert fused[0].label == "happy"
