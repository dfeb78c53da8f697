"""Hard edges of the decoder front end (FileSource): a corpus of bad inputs built here, and a fuzz test.

Every input either opens and yields audio of the right length, or raises AudioInputError with words a
user understands. No other exception, no RuntimeWarning (pytest turns warnings into errors), and no
more audio than the file's bytes can hold.
"""

from __future__ import annotations

import builtins
import collections
import os
import re
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SR, write_wav
from voiceassist.audio.files import MAX_FRAMES_PER_BYTE, MIN_FILE_RATE
from voiceassist.audio.sources import AudioInputError, FileSource


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    x = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def read_all(path: Path) -> tuple[FileSource, np.ndarray]:
    src = FileSource(path)
    src.open()
    chunks = [c.samples for c in src.chunks(threading.Event())]
    return src, (np.concatenate(chunks) if chunks else np.zeros(0, np.int16))


def refused(path: Path) -> str:
    with pytest.raises(AudioInputError) as e:
        read_all(path)
    return str(e.value)


def with_rate(data: bytes, rate: int) -> bytes:
    """A canonical 44-byte-header WAV with its sample-rate field (bytes 24..27) and byte rate patched."""
    out = bytearray(data)
    block_align = struct.unpack_from("<H", out, 32)[0]
    struct.pack_into("<II", out, 24, rate, rate * block_align)
    return bytes(out)


# --- the corpus --------------------------------------------------------------------------------------------------


def test_empty_folder_missing(tmp_path: Path):
    (tmp_path / "empty.wav").write_bytes(b"")
    assert "the file is empty" in refused(tmp_path / "empty.wav")
    assert "is a folder" in refused(tmp_path)
    assert "no such file" in refused(tmp_path / "missing.wav")


def test_not_a_regular_file():
    assert "not a regular file" in refused(Path("/dev/zero"))  # would be read for ever


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = write_wav(tmp_path / "secret.wav", np.zeros(SR, np.int16))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):  # root reads anything: fail the way a user's read fails
            real_open = builtins.open

            def deny(file: Any, *a: Any, **kw: Any) -> Any:
                if str(file) == str(path):
                    raise PermissionError(13, "Permission denied", str(file))
                return real_open(file, *a, **kw)

            monkeypatch.setattr(builtins, "open", deny)
        msg = refused(path)
    finally:
        path.chmod(0o644)
    assert msg == f"cannot read {path}: permission denied"


def test_os_access_says_no(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = write_wav(tmp_path / "a.wav", np.zeros(SR, np.int16))
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False)
    assert refused(path) == f"cannot read {path}: permission denied"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_garbage_bytes(tmp_path: Path, seed: int):
    path = tmp_path / f"garbage{seed}.wav"
    path.write_bytes(np.random.default_rng(seed).bytes(5000))
    msg = refused(path)
    assert "not an audio file, or damaged beyond decoding" in msg
    assert "Errno" not in msg and "Invalid data" not in msg  # FFmpeg's own words stay in the log


@pytest.mark.parametrize("rate", [128, 1, 3999, 384001, 10**9])
def test_wav_header_with_an_impossible_rate(tmp_path: Path, rate: int):
    good = write_wav(tmp_path / "good.wav", (tone(1.0, SR) * 30000).astype(np.int16))
    bad = tmp_path / f"rate{rate}.wav"
    bad.write_bytes(with_rate(good.read_bytes(), rate))
    assert sf.info(str(bad)).samplerate == rate  # libsndfile believes the header...
    msg = refused(bad)  # ...we do not
    assert msg == (
        f"{bad}: sample rate {rate} Hz is outside what audio files use (4-384 kHz); the header is probably damaged"
    )


def test_impossible_rate_on_the_ffmpeg_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("av")
    good = write_wav(tmp_path / "good.wav", (tone(1.0, SR) * 30000).astype(np.int16))
    bad = tmp_path / "rate128.wav"
    bad.write_bytes(with_rate(good.read_bytes(), 128))

    def no_libsndfile(*a: Any, **kw: Any) -> Any:
        raise RuntimeError("format not recognised")

    monkeypatch.setattr(sf, "info", no_libsndfile)
    assert "sample rate 128 Hz is outside what audio files use (4-384 kHz)" in refused(bad)


def test_pyav_attribute_error_is_a_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    av = pytest.importorskip("av")
    path = tmp_path / "odd.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A " + bytes(100))

    def broken_open(*a: Any, **kw: Any) -> Any:
        raise AttributeError("'AudioStream' object has no attribute 'rate'")

    monkeypatch.setattr(av, "open", broken_open)
    msg = refused(path)
    assert msg == f"{path}: not an audio file, or damaged beyond decoding"


def test_flac_at_an_impossible_rate(tmp_path: Path):
    path = tmp_path / "low.flac"
    sf.write(str(path), tone(1.0, 128), 128, format="FLAC")  # libsndfile writes it...
    assert "sample rate 128 Hz is outside" in refused(path)  # ...but no real recording has it


def test_too_many_channels(tmp_path: Path):
    path = tmp_path / "c65.wav"
    sf.write(str(path), np.zeros((160, 65), np.float32), SR, subtype="PCM_16")
    assert "65 channels is more than audio files have (at most 64)" in refused(path)


def test_truncated_wav_says_how_much_was_read(tmp_path: Path):
    full = write_wav(tmp_path / "full.wav", (tone(8.1, SR) * 30000).astype(np.int16))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: 44 + 4 * SR * 2])  # the header still says 8.1 s
    src = FileSource(cut)
    info = src.open()
    assert info.duration_s == pytest.approx(4.0) and src.claimed_duration_s == pytest.approx(8.1)
    audio = np.concatenate([c.samples for c in src.chunks(threading.Event())])
    assert len(audio) == 4 * SR
    assert src.frames_read == 4 * SR and src.duration_read_s == pytest.approx(4.0)
    assert src.warnings == [f"{cut}: read 4.0 of 8.1 s: the file is truncated"]


def test_wav_header_claiming_gigabytes(tmp_path: Path):
    path = write_wav(tmp_path / "liar.wav", (tone(1.0, SR) * 30000).astype(np.int16))
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 40, 0x7FFFFFF0)  # data chunk: "2 GB follow"
    path.write_bytes(bytes(data))
    src, audio = read_all(path)
    assert len(audio) == SR  # what is there, no audio made of nothing
    assert any("the file is truncated" in w for w in src.warnings)


def test_truncated_flac(tmp_path: Path):
    full = tmp_path / "full.flac"
    sf.write(
        str(full),
        tone(8.1, SR, freq=300.0) + np.random.default_rng(0).normal(0, 0.05, int(8.1 * SR)),
        SR,
        format="FLAC",
    )
    cut = tmp_path / "cut.flac"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    src = FileSource(cut)
    src.open()
    got = []
    try:
        for c in src.chunks(threading.Event()):
            got.append(c.samples)
    except AudioInputError as e:
        assert "damaged" in str(e)
    seconds = sum(len(g) for g in got) / SR
    assert 3.0 < seconds < 5.0
    assert any("of 8.1 s: the file is truncated" in w for w in src.warnings), src.warnings


def test_float_wav_with_nan_and_inf(tmp_path: Path):
    x = tone(1.0, SR, channels=2)
    x[2000:6000] = np.nan
    x[8000:9000, 0] = np.inf
    x[9000:9500, 1] = -np.inf
    x[10000:10100] = 3e38  # finite, but the channel mean overflows float32
    path = tmp_path / "nan.wav"
    sf.write(str(path), x, SR, subtype="FLOAT")
    src, audio = read_all(path)  # a RuntimeWarning would fail the test
    assert len(audio) == SR and src.warnings == []
    assert np.all(audio[2500:5500] == 0)


@pytest.mark.parametrize(("rate", "channels"), [(SR, 1), (SR, 6), (8000, 1), (48000, 2), (44100, 6), (4000, 1)])
def test_rates_and_channel_counts(tmp_path: Path, rate: int, channels: int):
    path = tmp_path / f"t{rate}_{channels}.wav"
    sf.write(str(path), tone(1.5, rate, channels), rate, subtype="PCM_16")
    src, audio = read_all(path)
    assert src.info.channels == channels and src.info.sample_rate == rate
    assert abs(len(audio) - int(1.5 * SR)) <= 2
    assert src.warnings == []


def test_tiny_mp3(tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    path = tmp_path / "tiny.mp3"
    try:
        sf.write(str(path), tone(0.5, SR), SR, format="MP3")
    except (sf.LibsndfileError, TypeError, ValueError) as e:
        pytest.skip(f"this libsndfile cannot write MP3: {e}")
    capfd.readouterr()
    src, audio = read_all(path)
    assert len(audio) / SR == pytest.approx(0.5, abs=0.06) and src.warnings == []
    assert capfd.readouterr().err == ""  # no library noise on the console


def test_damaged_mp3(tmp_path: Path):
    good = tmp_path / "good.mp3"
    try:
        sf.write(str(good), tone(2.0, SR), SR, format="MP3")
    except (sf.LibsndfileError, TypeError, ValueError) as e:
        pytest.skip(f"this libsndfile cannot write MP3: {e}")
    data = bytearray(good.read_bytes())
    rng = np.random.default_rng(3)
    for i in rng.integers(200, len(data), 40):
        data[i] ^= 0xFF
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(bytes(data[: len(data) * 3 // 4]))
    try:
        _, audio = read_all(bad)
        assert len(audio) <= 2.2 * SR
    except AudioInputError as e:
        assert "damaged" in str(e) or "not an audio file" in str(e)


# --- fuzz: mutated WAV and FLAC files ----------------------------------------------------------------------------


def _bases() -> dict[str, bytes]:
    d = Path(tempfile.mkdtemp(prefix="voiceassist-fuzz-base-"))
    x = tone(0.25, SR) * 0.8
    sf.write(str(d / "a.wav"), x, SR, subtype="PCM_16")
    sf.write(str(d / "b.wav"), tone(0.25, 8000, channels=2), 8000, subtype="FLOAT")
    sf.write(str(d / "c.flac"), x + np.random.default_rng(0).normal(0, 0.02, len(x)), SR, format="FLAC")
    out = {p.name: p.read_bytes() for p in sorted(d.iterdir())}
    for p in d.iterdir():
        p.unlink()
    d.rmdir()
    return out


BASES = _bases()
FUZZ_STATS: collections.Counter[str] = collections.Counter()
FUZZ_MESSAGES: collections.Counter[str] = collections.Counter()
FUZZ_MAX_RATIO: dict[str, float] = collections.defaultdict(float)

position = st.one_of(st.integers(0, 63), st.integers(0, 1 << 16))  # the header, twice as often as elsewhere
mutation = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(0, 7)),
    st.tuples(st.just("set"), position, st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]) | st.integers(0, 255)),
    st.tuples(st.just("truncate"), position, st.just(0)),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), position, st.integers(1, 64)),
)


def mutate(data: bytes, ops: list[tuple[str, int, Any]]) -> bytes:
    b = bytearray(data)
    for op, pos, arg in ops:
        if not b:
            break
        i = pos % len(b)
        if op == "flip":
            b[i] ^= 1 << arg
        elif op == "set":
            b[i] = arg
        elif op == "truncate":
            del b[i:]
        elif op == "insert":
            b[i:i] = arg
        else:
            del b[i : i + arg]
    return bytes(b)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(base=st.sampled_from(sorted(BASES)), ops=st.lists(mutation, min_size=1, max_size=6))
def test_fuzz_mutated_files(tmp_path: Path, base: str, ops: list[tuple[str, int, Any]]):
    data = mutate(BASES[base], ops)
    path = tmp_path / f"fuzz{Path(base).suffix}"
    path.write_bytes(data)
    FUZZ_STATS["cases"] += 1
    FUZZ_STATS[f"cases {base}"] += 1
    src = FileSource(path)
    total = 0
    # Hard bound from the bytes: at most MAX_FRAMES_PER_BYTE frames a byte (compressed data; PCM holds far
    # fewer), at the lowest rate allowed (4 kHz), resampled to 16 kHz; plus the resampler's flush.
    bound = max(len(data), 1) * MAX_FRAMES_PER_BYTE * SR // MIN_FILE_RATE + SR
    try:
        info = src.open()
        for c in src.chunks(threading.Event()):
            total += len(c.samples)
            assert total <= bound
    except AudioInputError as e:
        kind = "refused at open" if src.frames_read == 0 and total == 0 else "damaged mid-file"
        FUZZ_STATS[f"{base}: {kind}"] += 1
        FUZZ_MESSAGES[re.sub(r"[0-9.]+", "N", str(e).replace(str(path), "FILE"))] += 1
        assert str(e) and "Traceback" not in str(e)
        return
    FUZZ_STATS[f"{base}: decoded"] += 1
    if src.warnings:
        FUZZ_STATS[f"{base}: decoded with a warning"] += 1
    # The output is the decoded frames resampled to 16 kHz, and those never exceed what the bytes can hold.
    assert abs(total - src.frames_read * SR / info.sample_rate) <= 2 + SR * 0.01
    if (
        src._backend == "soundfile"
        and sf.info(str(path)).format in ("WAV", "WAVEX")
        and sf.info(str(path)).subtype in ("PCM_16", "FLOAT", "PCM_U8", "PCM_S8", "PCM_24", "PCM_32", "DOUBLE")
    ):
        assert src.frames_read * info.channels <= len(data)  # PCM: at least one byte a sample
    FUZZ_MAX_RATIO[base] = max(FUZZ_MAX_RATIO[base], total / (0.25 * SR))


def test_fuzz_report():
    """Prints what the fuzz test did (pytest -s shows it); runs after it, in file order."""
    if not FUZZ_STATS:
        pytest.skip("the fuzz test did not run in this session")
    print("\nfuzz:", dict(sorted(FUZZ_STATS.items())))
    for msg, count in FUZZ_MESSAGES.most_common():
        print(f"fuzz: {count:4d} x {msg}")
    print("fuzz: largest output / original length:", {k: round(v, 2) for k, v in FUZZ_MAX_RATIO.items()})
