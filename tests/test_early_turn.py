"""End of turn and previews: the completeness rules, the pitch test, the segmenter's adjustable hangover,
the capture-side scheduling (EarlyTurn) and the ASR-side reuse (AsrStage), with a deterministic frame
classifier; then the real pipeline on live (real-time) audio in tests/test_partials_live.py."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.conftest import SR, silence
from tests.test_vad import by_amplitude, loud
from voiceassist.asr import AsrResult
from voiceassist.asr.turn import completeness, hangover_ms, pitch_falls
from voiceassist.asr.whisper import window_frames
from voiceassist.audio.chunk import AudioChunk
from voiceassist.audio.vad import Segmenter
from voiceassist.config import Config, TurnConfig, VadConfig
from voiceassist.events import PartialTranscript, SpeechSegment, Transcript
from voiceassist.pipeline.transcribe import AsrStage, EarlyTurn, Hint, Preview


@pytest.mark.parametrize(
    ("text", "lang", "kind"),
    [
        ("I went to the shop and", "en", "trailing"),
        ("I was thinking, um", "en", "trailing"),
        ("so I called my mother because", "en", "trailing"),
        ("I went to the shop,", "en", "trailing"),
        ("Well...", "en", "trailing"),
        ("I went to the shop.", "en", "complete"),
        ("Can you play some music?", "en", "complete"),
        ("I think I can.", "en", "complete"),
        ("I love this", "en", "unknown"),
        ("", "en", "unknown"),
        ("我今天去了超市，然后", "zh", "trailing"),
        ("我觉得就是", "zh", "trailing"),
        ("嗯……", "zh", "trailing"),
        ("因为", "zh", "trailing"),
        ("我今天去了超市。", "zh", "complete"),
        ("你能帮我放首歌吗？", "zh", "complete"),
        ("我今天去了超市", "zh", "unknown"),
    ],
)
def test_completeness(text, lang, kind):
    assert completeness(text, lang) == kind


def test_hangover_follows_the_words_and_the_pitch_and_fixed_ignores_them():
    vad, turn = VadConfig(hangover_ms=500), TurnConfig(complete_hangover_ms=300, trailing_hangover_ms=1200)
    assert hangover_ms(turn, vad, "I went to the shop.", "en", True) == 300
    assert hangover_ms(turn, vad, "I went to the shop.", "en", False) == 500  # the pitch did not fall
    assert hangover_ms(turn, vad, "I went to the shop.", "en", None) == 500
    assert hangover_ms(turn, vad, "Is it raining?", "en", False) == 300  # questions often rise
    assert hangover_ms(turn, vad, "I went to the shop and", "en", True) == 1200
    assert hangover_ms(turn, vad, "", "en", True) == 500
    fixed = TurnConfig(end_of_turn="fixed")
    for text in ("I went to the shop.", "and", "Is it raining?"):
        assert hangover_ms(fixed, vad, text, "en", True) == 500


def tone(f_start: float, f_end: float, seconds: float = 1.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    f = np.linspace(f_start, f_end, len(t))
    phase = 2 * np.pi * np.cumsum(f) / SR
    return (0.3 * np.sin(phase) * (1 + 0.3 * np.sin(2 * phase))).astype(np.float32)


def test_pitch_falls_on_a_falling_tone_only():
    flat_then_fall = np.concatenate([tone(200, 200, 1.2), tone(200, 140, 0.5)])
    assert pitch_falls(flat_then_fall) is True
    assert pitch_falls(np.concatenate([tone(200, 200, 1.2), tone(200, 260, 0.5)])) is False
    assert pitch_falls(tone(180, 180)) is False
    assert pitch_falls(np.zeros(SR, np.float32)) is None  # nothing voiced
    assert pitch_falls(tone(200, 150, 0.2)) is None  # too short to tell


def test_encoder_window_covers_the_utterance_and_30_means_full():
    assert window_frames(3 * SR, 10) == 1000
    assert window_frames(int(9.5 * SR), 10) == 1100  # the utterance plus 1 s, whole seconds
    assert window_frames(int(0.3 * SR), 5) == 500
    assert window_frames(3 * SR, 30) == 0  # as Whisper was trained
    assert window_frames(int(29.5 * SR), 10) == 0  # needs the whole window anyway
    for n in range(0, 30 * SR, SR // 3):
        w = window_frames(n, 10)
        assert w == 0 or w >= n / SR * 100 + 100


# -- the segmenter's hangover -----------------------------------------------------------------------


def push_all(seg: Segmenter, audio: np.ndarray, chunk_s: float = 0.03, after=None):
    events, n = [], int(chunk_s * SR)
    for i in range(0, len(audio), n):
        events += seg.push(AudioChunk(audio[i : i + n], i / SR, captured_at=(i + n) / SR))
        if after is not None:
            events += after(seg, (i + n) / SR)
    return events


def segs(events):
    return [e for e in events if isinstance(e, SpeechSegment)]


def test_a_longer_hangover_keeps_a_pause_inside_and_a_shorter_one_ends_at_once():
    cfg = VadConfig(hangover_ms=500)
    audio = np.concatenate([silence(0.5), loud(1.0), silence(0.7), loud(1.0), silence(1.5)])
    assert len(segs(push_all(Segmenter(cfg, classifier=by_amplitude), audio))) == 2  # fixed: cut in two

    def lengthen(seg, _t):
        return seg.set_hangover(seg.current_id, 1000) if seg.current_id else []

    assert len(segs(push_all(Segmenter(cfg, classifier=by_amplitude), audio, after=lengthen))) == 1

    seg = Segmenter(cfg, classifier=by_amplitude)
    events = push_all(seg, np.concatenate([silence(0.5), loud(1.0), silence(0.3)]))
    assert not segs(events) and seg.current_pause_s >= 0.25
    assert seg.set_hangover(seg.current_id + 1, 90) == []  # another utterance's hint: ignored
    closed = segs(seg.set_hangover(seg.current_id, 200))  # 0.3 s heard already: ends now
    assert len(closed) == 1 and seg.current_id is None


def test_speech_audio_is_exactly_what_the_utterance_keeps():
    seg = Segmenter(VadConfig(hangover_ms=500, postroll_ms=150), classifier=by_amplitude)
    push_all(seg, np.concatenate([silence(0.5), loud(1.2), silence(0.25)]))
    got = seg.speech_audio()
    assert got is not None
    events = push_all(seg, silence(1.0))
    (final,) = segs(events)
    assert np.array_equal(got[0].samples, final.audio.samples)
    assert got[0].start_s == final.start_s and got[1] == final.speech_end_at


# -- EarlyTurn (capture side) -------------------------------------------------------------------------


def early_turn(cfg: Config, busy=False):
    offered: list[Preview] = []
    return EarlyTurn(cfg, offered.append, lambda: busy), offered


def test_partials_while_voicing_then_one_speculative_at_the_pause():
    cfg = Config()
    cfg.turn.partial_every_ms, cfg.turn.speculative_pause_ms = 500, 200
    early, offered = early_turn(cfg)
    seg = Segmenter(cfg.vad, classifier=by_amplitude)
    push_all(seg, np.concatenate([silence(0.3), loud(2.0), silence(0.45)]), after=early.step)
    partials = [p for p in offered if not p.speculative]
    spec = [p for p in offered if p.speculative]
    assert len(partials) == 3  # at 0.5, 1.0 and 1.5 s of voiced speech (2.0 is not yet another 0.5)
    assert all(b.audio.duration_s > a.audio.duration_s for a, b in itertools.pairwise(partials))
    assert len(spec) == 1  # once per pause, not once per frame
    assert np.array_equal(spec[0].audio.samples, seg.speech_audio()[0].samples)


def test_no_partials_while_the_worker_has_finals_to_do():
    cfg = Config()
    early, offered = early_turn(cfg, busy=True)
    seg = Segmenter(cfg.vad, classifier=by_amplitude)
    push_all(seg, np.concatenate([silence(0.3), loud(2.5)]), after=early.step)
    assert offered == []


def test_a_hint_ends_the_turn_only_while_nothing_new_was_said():
    cfg = Config()
    early, offered = early_turn(cfg)
    seg = Segmenter(cfg.vad, classifier=by_amplitude)
    push_all(seg, np.concatenate([silence(0.3), loud(1.0), silence(0.25)]), after=early.step)
    (spec,) = [p for p in offered if p.speculative]
    early.hint(Hint(spec.segment_id, spec.voiced_key + 1, 90))  # about words that have moved on
    assert early.step(seg, 0.0) == []
    early.hint(Hint(spec.segment_id, spec.voiced_key, 90))
    (final,) = segs(early.step(seg, 0.0))
    assert np.array_equal(final.audio.samples, spec.audio.samples)
    fixed = Config()
    fixed.turn.end_of_turn = "fixed"
    early, offered = early_turn(fixed)
    seg = Segmenter(fixed.vad, classifier=by_amplitude)
    push_all(seg, np.concatenate([silence(0.3), loud(1.0), silence(0.25)]), after=early.step)
    (spec,) = [p for p in offered if p.speculative]
    early.hint(Hint(spec.segment_id, spec.voiced_key, 90))
    assert early.step(seg, 0.0) == []  # fixed: the hangover does not move


# -- AsrStage (ASR-worker side) -------------------------------------------------------------------------


class CountingAsr:
    """Records the audio it is asked to transcribe; the text is its length (so reuse is visible)."""

    description = "counting"
    embedded = False

    def __init__(self, fail_previews: bool = False) -> None:
        self.calls: list[int] = []
        self.fail = fail_previews

    def transcribe(self, audio, language=None, words=False):
        self.calls.append(len(audio))
        if self.fail and len(self.calls) == 1:
            raise RuntimeError("preview decoder failed")
        return AsrResult(f"{len(audio)} samples.", "en", 1.0, 0.0, -0.1, False)


def stage(asr, cfg: Config | None = None):
    cfg = cfg or Config()
    early, _ = early_turn(cfg)
    finals: list[Transcript] = []
    return AsrStage(cfg, lambda: asr, early, lambda seg, tr: finals.append(tr)), early, finals


def final_of(sid: int, samples: np.ndarray) -> SpeechSegment:
    return SpeechSegment(
        segment_id=sid, start_s=0.0, end_s=len(samples) / SR, audio=AudioChunk(samples, 0.0), reason="silence",
        speech_end_at=0.0,
    )  # fmt: skip


def test_the_final_reuses_the_speculative_pass_on_the_same_audio_only():
    audio = loud(1.0)
    asr = CountingAsr()
    st, early, finals = stage(asr)
    out = list(st.handle(Preview(1, AudioChunk(audio, 0.0, 5.0), True, 10)))
    assert [type(e) for e in out] == [PartialTranscript] and out[0].captured_at == 5.0
    early.closed(1)
    (tr,) = st.handle(final_of(1, audio.copy()))
    assert tr.early and asr.calls == [len(audio)] and finals == [tr]
    # the person went on after the pause: the final audio is longer, decoded afresh
    list(st.handle(Preview(2, AudioChunk(audio, 0.0), True, 10)))
    early.closed(2)
    longer = np.concatenate([audio, loud(0.5)])
    (tr2,) = st.handle(final_of(2, longer))
    assert not tr2.early and asr.calls[-1] == len(longer) and tr2.text == f"{len(longer)} samples."


class PreviewingAsr(CountingAsr):
    """Has a cheap pass for partials (as Whisper does): which pass each preview took is recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.previews: list[int] = []

    def preview(self, audio, language=None):
        self.previews.append(len(audio))
        return AsrResult("a preview.", "en", 1.0, 0.0, -0.1, False)


def test_a_partial_takes_the_cheap_pass_and_the_speculative_one_the_final_pass():
    asr = PreviewingAsr()
    st, early, _ = stage(asr)
    (p,) = st.handle(Preview(1, AudioChunk(loud(0.8), 0.0), False, 5))
    assert p.text == "a preview." and asr.previews == [len(loud(0.8))] and asr.calls == []
    audio = loud(1.0)
    (spec,) = st.handle(Preview(1, AudioChunk(audio, 0.0), True, 9))  # reusable: the final's own pass
    assert spec.text == f"{len(audio)} samples." and asr.calls == [len(audio)] and len(asr.previews) == 1
    early.closed(1)
    (tr,) = st.handle(final_of(1, audio.copy()))
    assert tr.early and asr.calls == [len(audio)]


def test_previews_of_an_ended_utterance_are_dropped_unseen_and_failures_dropped_quietly():
    asr = CountingAsr()
    st, early, _ = stage(asr)
    early.closed(3)
    assert list(st.handle(Preview(3, AudioChunk(loud(1.0), 0.0), False, 1))) == []
    assert asr.calls == []
    failing = CountingAsr(fail_previews=True)
    st, early, finals = stage(failing)
    assert list(st.handle(Preview(4, AudioChunk(loud(1.0), 0.0), True, 1))) == []  # logged, not raised
    early.closed(4)
    (tr,) = st.handle(final_of(4, loud(1.0)))
    assert not tr.early and tr.text and finals == [tr]


def test_the_turn_is_held_open_until_the_speculative_words_are_known():
    cfg = Config()  # adaptive; vad.hangover_ms 500, turn.trailing_hangover_ms 1000
    early, offered = early_turn(cfg)
    seg = Segmenter(cfg.vad, classifier=by_amplitude)
    events = push_all(seg, np.concatenate([silence(0.3), loud(1.0), silence(0.8)]), after=early.step)
    assert not segs(events), "closed before the words of the pause were known"
    (spec,) = [p for p in offered if p.speculative]
    early.hint(Hint(spec.segment_id, spec.voiced_key, 500))  # the words say: the usual hangover
    assert len(segs(early.step(seg, 0.0))) == 1  # 0.8 s of silence already heard: ends at once
    # no hint ever comes (the pass was lost): the turn still ends, after the longest hangover
    early, offered = early_turn(cfg)
    seg = Segmenter(cfg.vad, classifier=by_amplitude)
    events = push_all(seg, np.concatenate([silence(0.3), loud(1.0), silence(1.3)]), after=early.step)
    assert len(segs(events)) == 1
    # speech resumes after the pause: the hold is lifted, the usual hangover ends the turn
    early, offered = early_turn(cfg)
    seg = Segmenter(cfg.vad, classifier=by_amplitude)
    push_all(seg, np.concatenate([silence(0.3), loud(1.0), silence(0.3)]), after=early.step)
    assert [p.speculative for p in offered].count(True) == 1
    assert not segs(push_all(seg, loud(0.5), after=early.step))
    assert len(segs(push_all(seg, silence(0.7)))) == 1  # no step: nothing holds it now
