"""Segmenter: the state machine with a deterministic frame classifier, then real webrtcvad on speech."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.conftest import SR, silence
from voiceassist.audio.chunk import AudioChunk
from voiceassist.audio.vad import Segmenter, VadState
from voiceassist.config import VadConfig
from voiceassist.events import SpeechDiscarded, SpeechSegment, SpeechStarted


def loud(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(-12000, 12000, int(seconds * SR)).astype(np.int16)


def by_amplitude(frame: np.ndarray) -> bool:
    return bool(np.abs(frame).max() > 1000)


def run(audio: np.ndarray, cfg: VadConfig | None = None, chunk_s: float = 0.1, classifier=by_amplitude):
    seg = Segmenter(cfg or VadConfig(), classifier=classifier)
    events = []
    n = int(chunk_s * SR)
    for i in range(0, len(audio), n):
        events += seg.push(AudioChunk(audio[i : i + n], i / SR, captured_at=float(i + n) / SR))
    events += seg.flush()
    return events, seg


def segments(events):
    return [e for e in events if isinstance(e, SpeechSegment)]


def test_one_utterance_boundaries_preroll_and_postroll():
    cfg = VadConfig(preroll_ms=300, postroll_ms=150, hangover_ms=600)
    events, seg = run(np.concatenate([silence(1.0), loud(2.0), silence(1.5)]), cfg)
    segs = segments(events)
    assert len(segs) == 1
    s = segs[0]
    assert s.start_s == pytest.approx(1.0 - 0.3, abs=0.031)  # pre-roll before the first voiced frame
    assert s.end_s == pytest.approx(3.0 + 0.15, abs=0.031)  # post-roll after the last voiced frame
    assert s.audio.duration_s == pytest.approx(s.end_s - s.start_s, abs=1e-6)
    assert s.audio.start_s == s.start_s
    assert s.reason == "silence"
    assert s.speech_end_at == pytest.approx(3.0, abs=0.031)
    started = [e for e in events if isinstance(e, SpeechStarted)]
    assert [e.segment_id for e in started] == [s.segment_id]
    assert seg.state is VadState.SILENCE


def test_preroll_audio_is_the_audio_before_the_start():
    audio = np.concatenate([silence(1.0), loud(1.0), silence(1.0)])
    audio[int(0.8 * SR) : int(0.9 * SR)] = 500  # quiet (unvoiced) but recognisable, inside the pre-roll
    s = segments(run(audio, VadConfig(preroll_ms=300))[0])[0]
    offset = int((0.85 - s.start_s) * SR)
    assert s.audio.samples[offset] == 500


def test_short_pause_does_not_split_but_long_pause_does():
    cfg = VadConfig(hangover_ms=600)
    short = np.concatenate([silence(0.5), loud(1.0), silence(0.3), loud(1.0), silence(1.0)])
    assert len(segments(run(short, cfg)[0])) == 1
    long = np.concatenate([silence(0.5), loud(1.0), silence(1.2), loud(1.0), silence(1.0)])
    segs = segments(run(long, cfg)[0])
    assert len(segs) == 2
    assert segs[0].segment_id < segs[1].segment_id
    assert segs[0].end_s <= segs[1].start_s


def test_hangover_sets_when_the_segment_is_emitted():
    audio = np.concatenate([silence(0.5), loud(1.0), silence(2.0)])
    for hangover in (300, 900):
        cfg = VadConfig(hangover_ms=hangover, postroll_ms=100, end_ratio=1.0)  # all hangover frames unvoiced
        seg = Segmenter(cfg, classifier=by_amplitude)
        emitted_at = None
        for i in range(0, len(audio), 160):  # 10 ms chunks
            if segments(seg.push(AudioChunk(audio[i : i + 160], i / SR))):
                emitted_at = (i + 160) / SR
                break
        assert emitted_at == pytest.approx(1.5 + hangover / 1000, abs=0.035)


def test_click_shorter_than_min_speech_is_discarded():
    cfg = VadConfig(min_speech_ms=250, start_window_ms=60)
    events, _ = run(np.concatenate([silence(0.5), loud(0.12), silence(1.5)]), cfg)
    assert segments(events) == []
    assert len([e for e in events if isinstance(e, SpeechDiscarded)]) == 1


def test_isolated_voiced_frame_does_not_start_speech():
    audio = silence(2.0)
    audio[int(1.0 * SR) : int(1.03 * SR)] = 20000  # one 30 ms frame
    events, _ = run(audio)
    assert [e for e in events if isinstance(e, SpeechStarted)] == []


def test_long_monologue_is_cut_at_max_length_without_gaps():
    cfg = VadConfig(max_segment_s=5.0)
    events, _ = run(np.concatenate([silence(0.5), loud(12.0), silence(1.0)]), cfg)
    segs = segments(events)
    assert [s.reason for s in segs] == ["max_length", "max_length", "silence"]
    assert all(s.audio.duration_s <= 5.0 + 1e-6 for s in segs)
    for a, b in itertools.pairwise(segs):
        assert b.start_s == pytest.approx(a.end_s)  # contiguous: nothing lost at the cut
    assert len([e for e in events if isinstance(e, SpeechStarted)]) == 3


def test_speech_running_at_end_of_stream_is_flushed():
    events, _ = run(np.concatenate([silence(0.5), loud(1.0)]))
    segs = segments(events)
    assert len(segs) == 1 and segs[0].reason == "end_of_stream"
    assert segs[0].end_s == pytest.approx(1.5, abs=0.031)


@pytest.mark.parametrize("chunk_s", [0.01, 0.037, 0.1, 1.0])
def test_result_does_not_depend_on_chunk_size(chunk_s: float):
    audio = np.concatenate([silence(0.7), loud(1.3), silence(1.0), loud(0.8), silence(1.0)])
    reference = [t for s in segments(run(audio, chunk_s=0.03)[0]) for t in (s.start_s, s.end_s)]
    got = [t for s in segments(run(audio, chunk_s=chunk_s)[0]) for t in (s.start_s, s.end_s)]
    assert got == pytest.approx(reference)
    assert len(got) == 4


def test_current_audio_grows_while_speaking():
    seg = Segmenter(VadConfig(), classifier=by_amplitude)
    seg.push(AudioChunk(silence(0.5), 0.0))
    assert len(seg.current_audio()) == 0
    seg.push(AudioChunk(loud(0.6), 0.5))
    assert seg.in_speech
    assert len(seg.current_audio()) / SR == pytest.approx(0.6 + 0.3, abs=0.031)


def test_webrtcvad_on_espeak_speech(two_utterances):
    import soundfile as sf

    path, truth = two_utterances
    audio, _ = sf.read(str(path), dtype="int16")
    segs = segments(run(audio, VadConfig(aggressiveness=2), chunk_s=0.03, classifier=None)[0])
    assert len(segs) == 2
    for s, (t0, t1) in zip(segs, truth, strict=True):
        assert t0 - 0.45 <= s.start_s <= t0 + 0.05  # pre-roll covers the onset
        assert t1 - 0.2 <= s.end_s <= t1 + 0.45


def test_webrtcvad_ignores_silence_and_steady_hum():
    t = np.arange(5 * SR) / SR
    hum = (300 * np.sin(2 * np.pi * 50 * t)).astype(np.int16)  # mains hum, about -40 dBFS
    for audio in (silence(5.0), hum):
        assert segments(run(audio, VadConfig(aggressiveness=3), classifier=None)[0]) == []
