"""File sources: formats, rates, channels, damage, emptiness, long files with bounded memory."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import SR
from voiceassist.audio.sources import AudioInputError, FileSource


def read_all(path: Path, **kw) -> tuple[np.ndarray, list]:
    src = FileSource(path, **kw)
    src.open()
    chunks = list(src.chunks(threading.Event()))
    return (np.concatenate([c.samples for c in chunks]) if chunks else np.zeros(0, np.int16)), chunks


def tone(freq: float, seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def dominant_freq(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64)))
    return float(np.argmax(spec) * SR / len(x))


@pytest.mark.parametrize(
    ("rate", "channels", "fmt", "ext"),
    [
        (8000, 2, "WAV", "wav"),
        (44100, 1, "WAV", "wav"),
        (48000, 2, "FLAC", "flac"),
        (22050, 1, "OGG", "ogg"),
        (44100, 2, "MP3", "mp3"),
    ],
)
def test_any_rate_and_channel_count_becomes_16k_mono(tmp_path: Path, rate, channels, fmt, ext):
    path = tmp_path / f"tone.{ext}"
    sf.write(str(path), tone(440.0, 2.0, rate, channels), rate, format=fmt)
    audio, chunks = read_all(path)
    assert audio.dtype == np.int16
    assert len(audio) / SR == pytest.approx(2.0, abs=0.06)  # MP3 adds encoder padding
    assert dominant_freq(audio[SR // 4 : -SR // 4]) == pytest.approx(440.0, abs=2.0)
    starts = [c.start_s for c in chunks]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert chunks[1].start_s == pytest.approx(chunks[0].end_s)


def test_format_only_ffmpeg_reads(tmp_path: Path):
    av = pytest.importorskip("av")
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=44100, layout="mono")
        x = (tone(440.0, 1.5, 44100) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(x, format="s16", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    audio, _ = read_all(path)
    assert len(audio) / SR == pytest.approx(1.5, abs=0.1)
    assert dominant_freq(audio[SR // 4 : -SR // 4]) == pytest.approx(440.0, abs=3.0)


def test_missing_empty_folder_and_non_audio_are_clear_errors(tmp_path: Path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("this is not audio\n" * 50)
    (tmp_path / "random.mp3").write_bytes(np.random.default_rng(1).bytes(4096))
    for name, needle in [
        ("nope.wav", "no such file"),
        ("empty.wav", "empty"),
        ("notes.wav", "not an audio file"),
        ("random.mp3", "not an audio file"),
        (".", "folder"),
    ]:
        with pytest.raises(AudioInputError, match=needle):
            FileSource(tmp_path / name).open()


def test_wav_with_no_samples(tmp_path: Path):
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros(0, np.int16), SR)
    info = FileSource(path).open()
    assert info.duration_s == 0.0
    audio, _ = read_all(path)
    assert len(audio) == 0


def test_truncated_wav_keeps_what_is_there(tmp_path: Path):
    full = tmp_path / "full.wav"
    sf.write(str(full), (tone(300.0, 3.0, SR) * 30000).astype(np.int16), SR, subtype="PCM_16")
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2 + 1])  # header claims 3 s; half is there, ending mid-sample
    src = FileSource(cut)
    src.open()
    got: list[np.ndarray] = []
    try:
        for c in src.chunks(threading.Event()):
            got.append(c.samples)
    except AudioInputError as e:
        assert "damaged" in str(e)
    seconds = sum(len(g) for g in got) / SR
    assert seconds == pytest.approx(1.5, abs=0.05)


def test_stop_event_ends_a_realtime_replay(tmp_path: Path):
    path = tmp_path / "long.wav"
    sf.write(str(path), np.zeros(SR * 60, np.int16), SR)
    src = FileSource(path, realtime=True)
    src.open()
    stop = threading.Event()
    got = []
    for c in src.chunks(stop):
        got.append(c)
        if len(got) == 3:
            stop.set()
    assert len(got) == 3  # paced replay stopped at once, not after 60 s


@pytest.mark.slow
def test_thirty_minute_file_streams_in_bounded_memory(tmp_path: Path):
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", samplerate=44100, channels=2, subtype="PCM_16") as f:
        for _ in range(30):  # 30 minutes of 44.1 kHz stereo noise: 318 MB on disk
            f.write((rng.normal(0, 300, (44100 * 60, 2))).astype(np.int16))
    src = FileSource(path, chunk_ms=100)
    src.open()
    tracemalloc.start()
    total = 0
    for c in src.chunks(threading.Event()):
        total += len(c.samples)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total / SR == pytest.approx(1800.0, abs=0.1)
    assert peak < 20 * 1024 * 1024  # the whole file resampled would be 57.6 MB
