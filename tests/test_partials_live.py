"""Partial transcripts and the adaptive end of turn on live audio: a recording replayed in real time
through the whole pipeline with the embedded Whisper model. No timing is asserted (the machine's speed
varies); what must hold on any machine is: partials come before their final and never for noise, the
final text is what the final pass alone would write, and pauses inside a sentence do not cut it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import SR, espeak, silence, write_wav
from voiceassist.audio.sources import FileSource
from voiceassist.bus import Collector
from voiceassist.config import Config
from voiceassist.events import PartialTranscript, SpeechSegment, Transcript
from voiceassist.pipeline import Models
from voiceassist.session import Session


def live(path: Path, asr, cfg: Config | None = None) -> Collector:
    cfg = cfg or Config()
    cfg.emotion.enabled = False  # transcription only: the turn-taking under test is the ASR stage's
    c = Collector()
    s = Session(cfg, FileSource(path, realtime=True), models=Models(asr=asr), speak=False)
    s.bus.subscribe(c)
    s.start()
    assert s.wait(60)
    s.stop(10)
    return c


def utterances_by_mode(path: Path, asr, modes: tuple[str, ...], said: tuple[str, ...]) -> dict[str, int]:
    """Utterances the recording became under each ``turn.end_of_turn`` (a 600 ms usual hangover); every
    mode must still hear the words ``said``."""
    counts = {}
    for mode in modes:
        cfg = Config()
        cfg.vad.hangover_ms = 600
        cfg.turn.end_of_turn = mode  # type: ignore[assignment]
        c = live(path, asr, cfg)
        counts[mode] = len(c.of(SpeechSegment))
        words = " ".join(tr.text for tr in c.of(Transcript)).lower()
        assert all(w in words for w in said), (mode, words)
    return counts


def test_partials_come_before_their_final_and_the_final_is_what_the_final_pass_writes(tmp_path, whisper_backend):
    speech = espeak("I have been feeling really tired this week and I do not know why.", rate=150)
    path = write_wav(tmp_path / "long.wav", np.concatenate([silence(0.5), speech, silence(1.5)]))
    c = live(path, whisper_backend)
    (seg,) = c.of(SpeechSegment)
    (tr,) = c.of(Transcript)
    partials = c.of(PartialTranscript)
    assert partials, "no partial transcript for a 4 s sentence"
    assert all(p.segment_id == seg.segment_id and p.t <= tr.t for p in partials)
    assert all(p.captured_at <= p.t for p in partials)
    ends = [p.audio_end_s for p in partials]
    assert ends == sorted(ends)  # each one heard more than the last (stale ones are dropped, not shown late)
    assert tr.text == whisper_backend.transcribe(seg.audio.as_float32()).text
    assert "tired" in tr.text.lower()


def test_no_partial_words_for_noise_or_music(tmp_path, whisper_backend):
    rng = np.random.default_rng(7)
    t = np.arange(int(4 * SR)) / SR
    chords = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    noise = rng.normal(0, 0.2, len(t))
    for name, x in (("music", 0.15 * chords), ("noise", noise)):
        audio = np.clip(np.rint(x * 32767), -32768, 32767).astype(np.int16)
        path = write_wav(tmp_path / f"{name}.wav", np.concatenate([silence(0.3), audio, silence(1.0)]))
        c = live(path, whisper_backend)
        assert [p.text for p in c.of(PartialTranscript)] == [], name
        assert all(not tr.text for tr in c.of(Transcript)), name


def test_a_pause_inside_a_sentence_does_not_cut_it(tmp_path, whisper_backend):
    """0.4 s inside a sentence (continuing intonation): one utterance with the adaptive end of turn, as with
    the fixed hangover. After a trailing "and", a 0.7 s pause is cut by a 0.6 s fixed hangover but not
    by the adaptive one (it waits longer after a conjunction)."""
    inner = espeak('I went to the market <break time="400ms"/> to buy some apples.', rate=150, ssml=True)
    path = write_wav(tmp_path / "inner.wav", np.concatenate([silence(0.5), inner, silence(1.5)]))
    assert len(live(path, whisper_backend).of(SpeechSegment)) == 1

    trailing = espeak('I went to the market and <break time="700ms"/> bought some apples.', rate=150, ssml=True)
    path = write_wav(tmp_path / "trailing.wav", np.concatenate([silence(0.5), trailing, silence(1.5)]))
    counts = utterances_by_mode(path, whisper_backend, ("fixed", "adaptive", "semantic"), ("market", "apples"))
    assert counts == {"fixed": 2, "adaptive": 1, "semantic": 1}


def test_a_person_who_stops_to_think_mid_sentence_is_not_interrupted(tmp_path, whisper_backend):
    """A pause to think after "about" (0.65 s of break, longer with the voice's own gap; "about" is on no
    word list, so the trailing-word rule cannot tell): the end-of-turn model reads the words as unfinished
    and waits; the fixed hangover cuts the sentence in two."""
    said = espeak('I have been thinking about <break time="650ms"/> my mother a lot this week.', rate=150, ssml=True)
    path = write_wav(tmp_path / "think.wav", np.concatenate([silence(0.5), said, silence(1.5)]))
    counts = utterances_by_mode(path, whisper_backend, ("fixed", "semantic"), ("thinking", "mother"))
    assert counts == {"fixed": 2, "semantic": 1}
