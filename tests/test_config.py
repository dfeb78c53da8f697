from pathlib import Path

import numpy as np
import pytest

from voiceassist.audio.chunk import AudioChunk, float_to_int16
from voiceassist.config import Config, ConfigError, load_config


def test_defaults_are_valid():
    cfg = load_config(None)
    assert cfg.vad.aggressiveness == 2 and cfg.asr.model == "base" and cfg.asr.language == "auto"


def test_toml_file_then_overrides(tmp_path: Path):
    f = tmp_path / "config.toml"
    f.write_text('[vad]\naggressiveness = 3\nhangover_ms = 600\n[asr]\nlanguage = "zh"\n', encoding="utf-8")
    cfg = load_config(f, ["vad.hangover_ms=900", "asr.model=tiny.en", "audio.input_device=2"])
    assert cfg.vad.aggressiveness == 3
    assert cfg.vad.hangover_ms == 900  # the override wins over the file
    assert cfg.asr.language == "zh"
    assert cfg.asr.model == "tiny.en"
    assert cfg.audio.input_device == "2"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[vad]\nagressiveness = 1\n", "unknown setting 'vad.agressiveness'"),
        ("[vad]\naggressiveness = 7\n", "vad.aggressiveness"),
        ('[vad]\naggressiveness = "high"\n', "must be an integer"),
        ('[asr]\nlanguage = "fr"\n', "asr.language must be one of"),
        ("[vad]\nframe_ms = 25\n", "10, 20 or 30"),
        ("vad = 3\n", "must be a table"),
        ("[vad\n", "cannot read config file"),
    ],
)
def test_invalid_config_is_a_clear_error(tmp_path: Path, text: str, needle: str):
    f = tmp_path / "config.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(f)
    assert needle in str(e.value)


def test_override_syntax_error():
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        load_config(None, ["vad.aggressiveness"])


def test_config_validate_returns_self():
    cfg = Config()
    assert cfg.validate() is cfg


def test_audio_chunk_is_strict_about_its_format():
    ok = AudioChunk(np.zeros(1600, np.int16), start_s=2.0)
    assert ok.duration_s == pytest.approx(0.1) and ok.end_s == pytest.approx(2.1)
    assert ok.as_float32().dtype == np.float32
    with pytest.raises(ValueError):
        AudioChunk(np.zeros(1600, np.float32), 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AudioChunk(np.zeros((1600, 2), np.int16), 0.0)
    with pytest.raises(ValueError):
        AudioChunk(np.zeros(1600, np.int16), 0.0, sample_rate=8000)


def test_float_to_int16_clips():
    out = float_to_int16(np.array([0.0, 0.5, 1.5, -2.0], np.float32))
    assert out.tolist() == [0, 16384, 32767, -32768]
