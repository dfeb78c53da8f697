"""Neural voices: the embedded Piper English voice, tone, sentence-by-sentence streaming, the Mandarin
fallback to espeak-ng (said so), and bad input (empty text, a corrupt voice) with a note, never silence."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soxr

from voiceassist.tts import Synthesizer, TtsError
from voiceassist.voices import PiperSynthesizer, VoiceSet, find_piper_voice, split_sentences


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> VoiceSet:
    v = VoiceSet(Synthesizer(), tmp_path_factory.mktemp("models"))
    v.load()
    return v


def test_english_is_the_embedded_neural_voice_and_mandarin_says_it_falls_back(voices: VoiceSet):
    assert "Piper" in voices.piper["en"].description and "embedded" in voices.piper["en"].description
    assert "zh" not in voices.piper
    assert any("Mandarin is spoken by espeak-ng" in n and "models pull" in n for n in voices.notes)
    assert "en: Piper" in voices.description and "zh: pyttsx3" in voices.description


def test_tone_sets_speed_volume_and_pauses(voices: VoiceSet):
    text = "I hear you. That sounds like a long day. Do you want to talk about it?"
    calm, sr = voices.render(text, "en", "calm")
    cheerful, _ = voices.render(text, "en", "cheerful")
    assert sr == 22050
    assert len(calm) > 1.2 * len(cheerful)  # slower, longer pauses
    rms = lambda x: float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))  # noqa: E731
    assert rms(calm) < rms(cheerful)


def test_streaming_starts_with_the_first_sentence(voices: VoiceSet):
    _rate, chunks = voices.stream("First, a short one. Then a much longer second sentence follows it here.", "en")
    parts = list(chunks)
    assert len(parts) == 3  # sentence, pause, sentence
    assert len(parts[0]) < len(parts[2]) and not parts[1].any()
    assert split_sentences("你好。今天怎么样？好的") == ["你好。", "今天怎么样？", "好的"]


def test_mandarin_falls_back_to_espeak(voices: VoiceSet):
    samples, rate = voices.render("我明白，我们一步一步来。", "zh")
    assert rate != 22050 or len(samples) > 0
    assert len(samples) / rate > 1.0


def test_empty_text_and_a_corrupt_voice(voices: VoiceSet, tmp_path: Path):
    with pytest.raises(TtsError, match="empty"):
        voices.stream("   ", "en")
    bad = tmp_path / "models" / "piper-zh_CN-broken"
    bad.mkdir(parents=True)
    (bad / "zh_CN-broken.onnx").write_bytes(b"not a model")
    (bad / "zh_CN-broken.onnx.json").write_text("{}", encoding="utf-8")
    assert find_piper_voice(tmp_path / "models", "zh") == bad / "zh_CN-broken.onnx"
    v = VoiceSet(Synthesizer(), tmp_path / "models")
    v.load()
    assert "zh" not in v.piper and any(n.startswith("zh: cannot load the Piper voice") for n in v.notes)
    samples, rate = v.render("我们一步一步来。", "zh")  # still spoken, by the fallback
    assert len(samples) / rate > 0.5


@pytest.mark.slow
def test_whisper_understands_the_neural_voice(voices: VoiceSet, whisper_backend):
    sentences = [
        "I'm sorry you had such a hard day at work.",
        "Would you like me to set a reminder for tomorrow?",
        "That is wonderful news, congratulations!",
    ]
    hyps = []
    for s in sentences:
        audio, rate = voices.render(s, "en", "neutral")
        r = whisper_backend.transcribe(soxr.resample(audio, rate, 16000).astype(np.float32))
        hyps.append(re.sub(r"[^\w\s']", "", r.text.lower()).strip())
    refs = [re.sub(r"[^\w\s']", "", s.lower()) for s in sentences]
    assert jiwer.wer(refs, hyps) <= 0.1, hyps


def test_piper_without_its_files_says_what_is_missing(tmp_path: Path):
    with pytest.raises(TtsError, match="missing"):
        PiperSynthesizer(tmp_path / "nope.onnx").load()


def test_without_espeak_ng_the_neural_voice_still_speaks_and_the_rest_says_why(tmp_path: Path):
    """A machine without libespeak-ng (a frozen build on a bare desktop): pyttsx3 cannot start its engine.
    English keeps the embedded Piper voice; Mandarin says clearly that there is no voice for it."""
    broken = Synthesizer(driver="no-such-driver")
    with pytest.raises(TtsError):
        Synthesizer(driver="no-such-driver").load()
    v = VoiceSet(broken, tmp_path)
    v.load()
    audio, rate = v.render("Hello, I am still here.", "en")
    assert rate == v.piper["en"].sample_rate and len(audio) > rate // 2
    assert any("fallback voice cannot be used" in n for n in v.notes)
    assert "zh: no voice" in v.description
    with pytest.raises(TtsError, match="no voice for 'zh'"):
        v.render("你好", "zh")
    with pytest.raises(TtsError):
        VoiceSet(Synthesizer(driver="no-such-driver"), tmp_path, neural=False).load()
