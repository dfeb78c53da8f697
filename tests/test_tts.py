"""Speech output: rendering with pyttsx3 (espeak-ng), tone changing the voice measurably, `say`, playback
on a PulseAudio virtual device, turn-taking and barge-in, and no output device at all."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import espeak, silence, wait_until, write_wav
from voiceassist.pipeline import Models
from voiceassist.tts import Player, Synthesizer, TtsError

TEXT = "I understand. Let's take this one step at a time, together."


@pytest.fixture(scope="module")
def synth() -> Synthesizer:
    s = Synthesizer()
    s.load()
    return s


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_renders_english_and_mandarin(synth: Synthesizer):
    en, sr = synth.render(TEXT, "en", "neutral")
    zh, sr_zh = synth.render("我明白，我们一步一步来。", "zh", "neutral")
    assert sr > 8000 and sr_zh > 8000
    assert len(en) / sr > 1.5 and len(zh) / sr_zh > 1.0
    assert _rms(en) > 0.01 and _rms(zh) > 0.01
    assert synth.voice_ids == {"en": "gmw/en-us", "zh": "sit/cmn-latn-pinyin"}


def test_tone_changes_duration_level_and_pitch(synth: Synthesizer):
    calm, sr = synth.render(TEXT, "en", "calm")
    cheerful, _ = synth.render(TEXT, "en", "cheerful")
    assert len(calm) > 1.2 * len(cheerful)  # slower
    assert _rms(calm) < 0.9 * _rms(cheerful)  # softer
    from voiceassist.emotion.prosody import frame_features

    def f0(x: np.ndarray) -> float:
        import soxr

        ff = frame_features(soxr.resample(x, sr, 16000).astype(np.float32))
        return float(np.median(ff["f0"][ff["voiced"] > 0]))

    assert f0(calm) < f0(cheerful)  # lower


def test_say_writes_a_wav(tmp_path: Path):
    out = tmp_path / "sad.wav"
    r = subprocess.run(
        [sys.executable, "-m", "voiceassist", "say", "I'm here for you.", "--tone", "sad", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    data, sr = sf.read(out)
    assert len(data) / sr > 0.5 and "empathetic" in r.stdout
    # the conversation's English voice (the embedded neural joe), not espeak-ng: the same voice everywhere
    assert "voice: Piper" in r.stdout and "espeak" not in r.stdout.lower()


def test_say_unknown_tone_and_no_output_device(tmp_path: Path):
    r = subprocess.run(
        [sys.executable, "-m", "voiceassist", "say", "hi", "--tone", "sarcastic"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 3 and "unknown tone" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "voiceassist", "say", "hi"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "PULSE_SERVER": "unix:/nonexistent"},
    )
    assert r.returncode == 2 and "no sound output device" in r.stderr and "Traceback" not in r.stderr


def test_no_output_device_is_a_clear_error_not_a_crash():
    p = Player(device="no such speaker")
    assert "no sound output device" in (p.unavailable() or "")
    with pytest.raises(TtsError, match="no sound output device"):
        p.play(np.zeros(1000, np.float32), 16000)
    assert not p.playing


def test_playback_and_stop_on_a_virtual_device(virtual_mic, synth: Synthesizer):
    import threading

    samples, sr = synth.render(TEXT * 2, "en", "neutral")
    p = Player("pulse")
    assert p.unavailable() is None
    started: list[float] = []
    t = threading.Thread(target=p.play, args=(samples, sr, started.append))
    t.start()
    assert wait_until(lambda: started, 5, 0.01), "playback did not start within 5 s"
    assert p.playing and p.first_sample_at == started[0]
    # stop once a known amount has been written to the device (not after a fixed sleep)
    assert wait_until(lambda: p.played_s >= 0.3, 10, 0.01), f"only {p.played_s:.2f} s written in 10 s"
    assert p.playing, "playback ended before it was stopped"
    assert p.stop()
    # (how fast it stops is measured in bench/reply_latency.py; PulseAudio's ALSA bridge holds the first
    # ~second of a new stream in its buffer on this virtual device)
    assert p.wait(5.0), "still playing"
    assert not p.playing and p.interrupted
    t.join(1.0)
    assert 0.3 <= p.played_s < len(samples) / sr / 2  # what was written before the stop, and it did stop
    assert p.stopped_at is not None and p.stop_requested_at is not None


def _live_pipeline(cfg_overrides: list[str]):
    from tests.test_pipeline_emotion import ScriptedAsr
    from voiceassist.audio.sources import MicSource
    from voiceassist.bus import Collector
    from voiceassist.config import load_config
    from voiceassist.session import Session

    # The scripted recogniser answers each call with the next line: no partial or speculative passes (they
    # would take lines meant for the final ones; they are tested in tests/test_early_turn.py and
    # tests/test_partials_live.py).
    previews_off = ["turn.partials=false", "turn.speculative_pause_ms=0"]
    cfg = load_config(None, ["tts.output_device=pulse", "audio.input_device=pulse", *previews_off, *cfg_overrides])
    col = Collector()
    asr = ScriptedAsr([("I can't sleep at night, and I feel so tired.", "en"), ("Stop, please listen.", "en")])
    p = Session(
        cfg, MicSource("pulse", cfg.audio.block_ms, cfg.audio.queue_seconds, 6.0), models=Models(asr=asr), speak=True
    )
    p.bus.subscribe(col)
    return p, col, asr


def test_replies_are_spoken_and_the_assistant_does_not_answer_itself(virtual_mic, tmp_path: Path):
    """Playback goes into the sink the microphone hears (no echo cancellation): the assistant's own
    voice is not taken as the person's input."""
    from voiceassist.events import PlaybackEnded, PlaybackStarted, Reply, SpeechDiscarded, Transcript

    wav = write_wav(
        tmp_path / "u.wav", np.concatenate([silence(0.3), espeak("I cannot sleep at night."), silence(0.3)])
    )
    p, col, asr = _live_pipeline([])
    p.start()
    try:
        virtual_mic.say(wav)
        assert wait_until(lambda: col.of(PlaybackEnded), 40), _seq(col)
    finally:
        p.stop()
    replies = col.of(Reply)
    assert len(replies) == 1 and replies[0].intent == "insomnia"
    started = col.of(PlaybackStarted)
    assert started and started[0].first_sample_at > replies[0].speech_end_at > 0
    assert len(col.of(Transcript)) == 1 and len(asr.calls) == 1  # its own voice was not transcribed
    assert any(d.reason == "assistant_speaking" for d in col.of(SpeechDiscarded))


def _seq(col) -> list[tuple]:
    """What the session did, in order (for a failing assertion's message)."""
    skip = ("AudioLevel", "EmotionFrames", "PartialTranscript", "StoreStatus", "MoodUpdate")
    detail = ("reason", "issue", "error", "message", "stage", "text")
    return [
        (type(e).__name__, e.segment_id, round(e.t, 2), *(str(getattr(e, k))[:60] for k in detail if hasattr(e, k)))
        for e in col.events
        if type(e).__name__ not in skip
    ]


def test_barge_in_stops_playback_and_the_person_is_heard(virtual_mic, tmp_path: Path):
    from voiceassist.events import BargeIn, PlaybackEnded, PlaybackStarted, Reply, Transcript

    virtual_mic.speakers_apart()  # e.g. headphones: the microphone does not hear the assistant
    first = write_wav(
        tmp_path / "a.wav", np.concatenate([silence(0.3), espeak("I cannot sleep at night."), silence(0.3)])
    )
    second = write_wav(
        tmp_path / "b.wav", np.concatenate([espeak("Stop, stop, please listen to me now."), silence(0.6)])
    )
    p, col, asr = _live_pipeline(["tts.barge_in=true", "tts.barge_in_ms=300", "tts.rate_scale=0.6"])
    p.start()
    try:
        virtual_mic.say(first)
        assert wait_until(lambda: col.of(PlaybackStarted), 30), _seq(col)
        time.sleep(0.3)
        virtual_mic.say(second)
        assert wait_until(lambda: len(col.of(Reply)) >= 2, 40), _seq(col)
    finally:
        p.stop()
    seq = _seq(col)
    barge = col.of(BargeIn)
    assert len(barge) == 1 and barge[0].stopped_after_s < 1.0, seq
    ended = col.of(PlaybackEnded)
    assert ended and ended[0].interrupted, seq
    assert ended[0].interrupted and 0 < ended[0].played_s < ended[0].total_s
    assert col.of(PlaybackStarted)[0].duration_s > 0
    assert len(col.of(Transcript)) == 2 and len(asr.calls) == 2  # the interrupting utterance is processed
