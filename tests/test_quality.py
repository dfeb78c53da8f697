import numpy as np
import pytest

from tests.conftest import SR, silence
from voiceassist.audio.quality import assess, trim_bounds
from voiceassist.config import QualityConfig


def test_trim_finds_the_speech_inside_silence(speech_en):
    audio = np.concatenate([silence(0.8), speech_en, silence(0.6)])
    voiced = np.flatnonzero(np.abs(speech_en) > 300)  # espeak pads its output with some silence
    start, end = trim_bounds(audio, 40.0)
    assert start / SR == pytest.approx(0.8 + voiced[0] / SR, abs=0.05)
    assert end / SR == pytest.approx(0.8 + voiced[-1] / SR, abs=0.1)


def test_normal_speech_passes(speech_en):
    q = assess(speech_en, QualityConfig())
    assert q.ok and q.issue is None and q.message is None
    assert -35 < q.rms_dbfs < -10


def test_quiet_speech_gets_a_message_in_both_languages(speech_en):
    quiet = (speech_en.astype(np.float32) * 10 ** (-35 / 20)).astype(np.int16)  # 35 dB down
    q = assess(quiet, QualityConfig(rms_floor_dbfs=-45))
    assert not q.ok and q.issue == "too_quiet"
    assert "speak closer" in q.message and "音量过低" in q.message_zh


def test_clipped_speech_is_reported(speech_en):
    hot = np.clip(speech_en.astype(np.int32) * 8, -32768, 32767).astype(np.int16)
    q = assess(hot, QualityConfig())
    assert q.issue == "clipped" and q.clipped_ratio > 0.01
    assert assess(hot, QualityConfig(reject_clipped=False)).ok


def test_digital_silence_is_silent():
    q = assess(silence(1.0), QualityConfig())
    assert not q.ok and q.issue == "silent"
