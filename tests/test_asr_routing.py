"""asr.model = "auto" with a Mandarin-first recogniser installed: Mandarin goes to it (tiny random SenseVoice
here, built with FunASR's real classes), everything else to Whisper; the voice head still gets Whisper's
frames, and SenseVoice's emotion tag reaches the voice estimate. A recogniser chosen but missing falls
back to Whisper with a note."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import espeak
from voiceassist.asr import create_backend
from voiceassist.config import AsrConfig, Config

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from voiceassist.asr.funasr_random import build_sensevoice

    root = tmp_path_factory.mktemp("models")
    build_sensevoice(root / "SenseVoiceSmall")
    return root


def test_auto_routes_mandarin_to_sensevoice_and_keeps_whisper_for_the_rest(models: Path):
    import torch

    from voiceassist.asr.routed import RoutedAsr

    threads = torch.get_num_threads()
    b = create_backend(AsrConfig(model="auto", device="cpu", cpu_threads=1), str(models))
    assert isinstance(b, RoutedAsr)
    b.load()
    assert b.description.startswith("Mandarin: ") and "faster-whisper" in b.description
    zh = espeak("今天天气很好", voice="cmn").astype(np.float32) / 32768
    r = b.transcribe(zh, "zh")
    assert r.language == "zh" and r.encoder is not None and r.encoder.shape[1] == 512  # the head's frames
    assert r.voice_emotion is not None and abs(sum(r.voice_emotion.values()) - 1) < 1e-6
    en = espeak("Please remind me to call my sister.").astype(np.float32) / 32768
    r = b.transcribe(en, "en")
    assert r.language == "en" and r.voice_emotion is None and "sister" in r.text.lower()
    torch.set_num_threads(threads)


def test_without_a_mandarin_recogniser_auto_is_whisper(tmp_path: Path):
    from voiceassist.asr.whisper import FasterWhisperBackend

    assert isinstance(create_backend(AsrConfig(model="auto"), str(tmp_path)), FasterWhisperBackend)


def test_a_mandarin_recogniser_chosen_but_missing_falls_back_to_whisper_with_a_note(tmp_path: Path):
    from voiceassist.events import StageError, StageReady
    from voiceassist.pipeline.models import load_asr

    cfg = Config()
    cfg.asr.backend, cfg.asr.model = "funasr", "sensevoice-small"
    cfg.paths.models_dir = str(tmp_path)
    backend, events = load_asr(cfg, None)
    ready = next(e for e in events if isinstance(e, StageReady))
    assert backend.name == "faster-whisper" and "Whisper runs instead" in (ready.note or "")
    assert "voiceassist models pull sensevoice-small" in (ready.note or "")
    assert any(isinstance(e, StageError) for e in events)


def test_the_recognisers_emotion_tag_is_blended_into_the_voice_estimate():
    from voiceassist.emotion import EmotionEstimate
    from voiceassist.emotion.fusion import with_recogniser_opinion
    from voiceassist.emotion.labels import INDEX, N_LABELS

    voice = np.full(N_LABELS, 0.02)
    voice[INDEX["neutral"]] = 0.84
    est = with_recogniser_opinion(EmotionEstimate(scores=voice / voice.sum(), backend="head"), {"angry": 1.0})
    assert est.scores[INDEX["angry"]] > 0.45 and "emotion tag" in est.backend and abs(est.scores.sum() - 1) < 1e-9
