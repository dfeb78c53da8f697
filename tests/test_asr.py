"""ASR with the embedded Whisper base model: words, languages, guards against hallucination, and how
models are found. Real model, real audio (espeak-ng), no network."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jiwer
import numpy as np
import pytest

from tests.conftest import SR, espeak, silence
from voiceassist.asr import UnknownBackendError, create_backend
from voiceassist.asr.models import ModelNotFoundError, resolve_whisper_model
from voiceassist.config import AsrConfig

pytestmark = pytest.mark.slow

ENGLISH = [
    "Could you please remind me to call my sister tomorrow morning.",
    "I have been feeling really tired this week.",
    "What is the weather going to be like this weekend?",
]
# espeak-ng's Mandarin is robotic (Debian's 'cmn' voice even reads tone numbers aloud in English); Whisper base
# hears it poorly (CER 0.7 at best, measured), so these assert key words, script and the loop guard rather
# than a tight CER. A WER bound on real Mandarin recordings is still to come.
MANDARIN = {"我最近压力很大，晚上总是失眠。": "压力", "我今天很开心。": "开心", "谢谢你的帮助。": "谢谢"}
LOOPING = "今天天气很好，我们去公园散步吧。"  # Whisper base loops on this one ("骑骑骑骑...")


def normalise(text: str) -> str:
    return re.sub(r"[^\w\s]", "", text.lower()).strip()


def f32(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 32768.0).astype(np.float32)


def test_english_words(whisper_backend):
    hyps, refs = [], []
    for sentence in ENGLISH:
        r = whisper_backend.transcribe(f32(espeak(sentence)))
        assert r.language == "en"
        hyps.append(normalise(r.text))
        refs.append(normalise(sentence))
    wer = jiwer.wer(refs, hyps)
    assert wer <= 0.2, (wer, hyps)


def zh_backend(whisper_backend):
    from voiceassist.asr.whisper import FasterWhisperBackend

    zh = FasterWhisperBackend(AsrConfig(language="zh", beam_size=5, allow_download=False))
    zh.model, zh.resolved, zh._converter = whisper_backend.model, whisper_backend.resolved, whisper_backend._converter
    return zh


def test_mandarin_key_words_in_simplified_script(whisper_backend):
    import opencc

    zh = zh_backend(whisper_backend)
    to_simplified = opencc.OpenCC("t2s")
    for sentence, key in MANDARIN.items():
        r = zh.transcribe(f32(espeak(sentence, voice="cmn-latn-pinyin", rate=90)))
        assert r.language == "zh"
        assert key in r.text, (sentence, r.text)
        assert re.search(r"[\u4e00-\u9fff]", r.text)
        assert to_simplified.convert(r.text) == r.text  # nothing left in traditional script


def test_repetition_loops_are_dropped(whisper_backend):
    zh = zh_backend(whisper_backend)
    zh.cfg.beam_size = 1
    r = zh.transcribe(f32(espeak(LOOPING, voice="cmn-latn-pinyin", rate=110)))
    assert r.text == "" and r.dropped_as_hallucination


def test_silence_and_noise_never_produce_text(whisper_backend):
    rng = np.random.default_rng(7)
    inputs = {
        "silence": np.zeros(3 * SR, np.float32),
        "white noise": rng.normal(0, 0.05, 3 * SR).astype(np.float32),
        "hum": (0.1 * np.sin(2 * np.pi * 60 * np.arange(3 * SR) / SR)).astype(np.float32),
        "pink-ish noise": np.cumsum(rng.normal(0, 0.01, 3 * SR)).astype(np.float32) / 50,
    }
    for name, audio in inputs.items():
        r = whisper_backend.transcribe(audio)
        assert r.text == "", (name, r)


def test_one_encoder_pass_per_utterance_with_language_detection(whisper_backend):
    audio = f32(np.concatenate([espeak("Good evening, everyone."), silence(0.3)]))
    before = whisper_backend.model.encoder_calls
    r = whisper_backend.transcribe(audio)
    assert "evening" in r.text.lower()
    assert whisper_backend.model.encoder_calls - before == 1


def test_embedded_backend_says_so(whisper_backend):
    assert whisper_backend.resolved.source == "embedded"
    assert "embedded" in whisper_backend.description


def test_models_dir_copy_is_preferred_to_embedded(whisper_backend, tmp_path: Path):
    local = tmp_path / "base"
    local.mkdir()
    for f in whisper_backend.resolved.path.iterdir():
        os.symlink(f, local / f.name)
    r = resolve_whisper_model("base", tmp_path, allow_download=False)
    assert r.source == "models_dir" and r.path == local


def test_explicit_folder_and_clear_errors(whisper_backend, tmp_path: Path):
    assert resolve_whisper_model(str(whisper_backend.resolved.path), tmp_path).source == "path"
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    with pytest.raises(ModelNotFoundError, match=r"model\.bin"):
        resolve_whisper_model(str(bad), tmp_path)
    with pytest.raises(ModelNotFoundError) as e:
        resolve_whisper_model("small", tmp_path, allow_download=False, use_embedded=True)
    assert str(tmp_path / "small") in str(e.value)  # says where to put the files
    with pytest.raises(ModelNotFoundError, match="unknown Whisper model"):
        resolve_whisper_model("enormous", tmp_path, allow_download=False)


def test_hub_unreachable_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what an offline machine looks like to huggingface_hub
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError) as e:
        resolve_whisper_model("tiny", tmp_path, allow_download=True)
    assert "Hugging Face hub" in str(e.value) and "faster-whisper-tiny" in str(e.value)


def test_unknown_backend_name():
    with pytest.raises(UnknownBackendError, match="faster-whisper"):
        create_backend(AsrConfig(backend="nope"))
