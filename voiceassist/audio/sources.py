"""Audio sources behind one interface. Each converts to 16 kHz mono int16 once, at the boundary.

- ``FileSource``: WAV/FLAC/OGG/MP3 through libsndfile (soundfile), anything else through FFmpeg (PyAV,
  which faster-whisper brings); any rate or channel count; streamed in blocks so memory stays bounded
  for long files; replayed in real time or as fast as possible.
- ``MicSource``: a sounddevice InputStream whose callback only copies into a bounded queue; overflows are
  counted; a device that stops delivering is reported as unplugged.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from voiceassist.audio.chunk import SAMPLE_RATE, AudioChunk, float_to_int16

log = logging.getLogger(__name__)


class AudioInputError(Exception):
    """The audio input cannot be used; the message says why in words a user understands."""


class DeviceLostError(AudioInputError):
    """The input device stopped delivering audio mid-session (unplugged, or taken by another program)."""


@dataclass(frozen=True)
class SourceInfo:
    name: str
    sample_rate: int
    channels: int
    duration_s: float | None  # None for live sources


class Resampler:
    """Downmix to mono and resample to 16 kHz int16, streaming (soxr keeps state between blocks)."""

    def __init__(self, in_rate: int) -> None:
        self.in_rate = in_rate
        self._rs = None if in_rate == SAMPLE_RATE else soxr.ResampleStream(in_rate, SAMPLE_RATE, 1, dtype="float32")

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        data = np.asarray(block, dtype=np.float32)
        if data.ndim == 2:
            data = data.mean(axis=1, dtype=np.float32)
        if self._rs is not None:
            data = self._rs.resample_chunk(data, last=last)
        return float_to_int16(data)


class AudioSource(ABC):
    """A stream of AudioChunks. ``chunks()`` may be called once; it returns when the audio ends or
    ``stop`` is set, and raises AudioInputError when the input fails (after yielding what it had)."""

    info: SourceInfo
    overflows: int = 0

    @abstractmethod
    def open(self) -> SourceInfo:
        """Check the input and return what it is; raises AudioInputError with a user-facing message."""

    @abstractmethod
    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]: ...


class _ChunkMaker:
    """Cuts resampled audio into fixed-size chunks and stamps their stream offsets."""

    def __init__(self, chunk_samples: int) -> None:
        self.chunk_samples = chunk_samples
        self.pending = np.zeros(0, dtype=np.int16)
        self.emitted = 0  # samples

    def feed(self, samples: np.ndarray, final: bool = False) -> Iterator[AudioChunk]:
        self.pending = np.concatenate([self.pending, samples]) if len(self.pending) else samples
        while len(self.pending) >= self.chunk_samples or (final and len(self.pending)):
            part, self.pending = self.pending[: self.chunk_samples], self.pending[self.chunk_samples :]
            chunk = AudioChunk(np.ascontiguousarray(part), self.emitted / SAMPLE_RATE, time.monotonic())
            self.emitted += len(part)
            yield chunk


class FileSource(AudioSource):
    def __init__(self, path: str | Path, realtime: bool = False, chunk_ms: int = 100) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.chunk_ms = chunk_ms
        self._backend: str | None = None

    def open(self) -> SourceInfo:
        p = self.path
        if not p.exists():
            raise AudioInputError(f"{p}: no such file")
        if p.is_dir():
            raise AudioInputError(f"{p}: is a folder, not an audio file")
        if p.stat().st_size == 0:
            raise AudioInputError(f"{p}: the file is empty")
        import soundfile as sf

        try:
            si = sf.info(str(p))
            self._backend = "soundfile"
            duration = si.frames / si.samplerate if si.samplerate else 0.0
            self.info = SourceInfo(str(p), si.samplerate, si.channels, duration)
        except (sf.LibsndfileError, RuntimeError) as sf_err:
            self.info = self._open_with_av(sf_err)
        if self.info.sample_rate <= 0 or self.info.channels <= 0:
            raise AudioInputError(f"{p}: the file has no audio stream")
        return self.info

    def _open_with_av(self, sf_err: Exception) -> SourceInfo:
        try:
            import av
        except ImportError as e:
            raise AudioInputError(
                f"{self.path}: not a format libsndfile reads ({sf_err}); install the 'asr' extra "
                "(pip install 'voiceassist[asr]') for FFmpeg decoding"
            ) from e
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.audio:
                    raise AudioInputError(f"{self.path}: the file has no audio stream")
                st = container.streams.audio[0]
                dur = float(st.duration * st.time_base) if st.duration and st.time_base else None
                self._backend = "av"
                return SourceInfo(str(self.path), st.rate or 0, st.channels or 0, dur)
        except AudioInputError:
            raise
        except Exception as e:  # PyAV raises many error types for junk input
            raise AudioInputError(f"{self.path}: not an audio file, or a format that cannot be decoded ({e})") from e

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        if self._backend is None:
            self.open()
        maker = _ChunkMaker(SAMPLE_RATE * self.chunk_ms // 1000)
        started = time.monotonic()
        blocks = self._blocks_soundfile() if self._backend == "soundfile" else self._blocks_av()
        error: AudioInputError | None = None
        try:
            for samples in blocks:
                for chunk in maker.feed(samples):
                    if stop.is_set():
                        return
                    if self.realtime:
                        delay = started + chunk.end_s - time.monotonic()
                        if delay > 0 and stop.wait(delay):
                            return
                    yield AudioChunk(chunk.samples, chunk.start_s, time.monotonic())
        except AudioInputError as e:
            error = e  # damaged file: keep everything decoded before the damage
        finally:
            blocks.close()
        yield from maker.feed(np.zeros(0, dtype=np.int16), final=True)
        if error is not None:
            raise error

    def _blocks_soundfile(self) -> Iterator[np.ndarray]:
        import soundfile as sf

        resample = Resampler(self.info.sample_rate)
        block = max(1024, self.info.sample_rate * self.chunk_ms // 1000)
        try:
            with sf.SoundFile(str(self.path)) as f:
                while True:
                    data = f.read(block, dtype="float32", always_2d=True)
                    if len(data) == 0:
                        break
                    yield resample(data)
        except (sf.LibsndfileError, RuntimeError) as e:
            yield resample(np.zeros((0, 1), dtype=np.float32), last=True)
            raise AudioInputError(f"{self.path}: the file is damaged; read up to the damage ({e})") from e
        yield resample(np.zeros((0, 1), dtype=np.float32), last=True)

    def _blocks_av(self) -> Iterator[np.ndarray]:
        import av

        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        try:
            with av.open(str(self.path)) as container:
                for frame in container.decode(audio=0):
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
                for out in resampler.resample(None):
                    yield out.to_ndarray().reshape(-1).astype(np.int16, copy=False)
        except av.error.FFmpegError as e:
            raise AudioInputError(f"{self.path}: the file is damaged; read up to the damage ({e})") from e


def _import_sounddevice():  # type: ignore[no-untyped-def]
    try:
        import sounddevice as sd
    except OSError as e:  # libportaudio2 missing
        raise AudioInputError(
            "Cannot use the microphone: the PortAudio library is missing (on Debian/Ubuntu: "
            "sudo apt-get install libportaudio2)"
        ) from e
    return sd


def list_input_devices() -> list[dict[str, object]]:
    """Input devices as dicts (index, name, channels, default_samplerate, hostapi, default)."""
    sd = _import_sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except sd.PortAudioError as e:
        raise AudioInputError(f"Cannot list audio devices: {e}") from e
    out = []
    for i, d in enumerate(devices):
        if d["max_input_channels"] > 0:
            out.append({
                "index": i, "name": d["name"], "channels": d["max_input_channels"],
                "default_samplerate": d["default_samplerate"],
                "hostapi": sd.query_hostapis(d["hostapi"])["name"], "default": i == default_in,
            })
    return out


def resolve_input_device(spec: str | int | None) -> int | None:
    """'' or None: the default input; an int or digit string: that index; otherwise a name substring."""
    if spec is None or spec == "":
        devices = list_input_devices()
        if not devices:
            raise AudioInputError("No microphone found: the system lists no audio input device")
        return None
    if isinstance(spec, int) or str(spec).isdigit():
        idx = int(spec)
        if not any(d["index"] == idx for d in list_input_devices()):
            raise AudioInputError(f"No audio input device with index {idx} (see 'voiceassist devices')")
        return idx
    matches = [d for d in list_input_devices() if str(spec).lower() in str(d["name"]).lower()]
    if not matches:
        raise AudioInputError(f"No audio input device named like {spec!r} (see 'voiceassist devices')")
    exact = [d for d in matches if str(d["name"]).lower() == str(spec).lower()]
    return int((exact or matches)[0]["index"])  # type: ignore[call-overload]


class MicSource(AudioSource):
    STARTUP_GRACE_S = 6.0
    def __init__(self, device: str | int | None = None, block_ms: int = 30, queue_seconds: float = 10.0,
                 no_data_timeout_s: float = 2.0) -> None:
        self.device_spec = device
        self.block_ms = block_ms
        self.no_data_timeout_s = no_data_timeout_s
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=max(4, int(queue_seconds * 1000 / block_ms)))
        self.overflows = 0  # blocks dropped because the queue was full, plus PortAudio input overflows
        self._device: int | None = None
        self._rate = SAMPLE_RATE

    def open(self) -> SourceInfo:
        sd = _import_sounddevice()
        self._device = resolve_input_device(self.device_spec)
        dev = sd.query_devices(self._device, "input")
        try:  # prefer 16 kHz so no resampling is needed; fall back to the device's own rate
            sd.check_input_settings(device=self._device, samplerate=SAMPLE_RATE, channels=1, dtype="float32")
            self._rate = SAMPLE_RATE
        except Exception:
            self._rate = int(dev["default_samplerate"])
        self.info = SourceInfo(str(dev["name"]), self._rate, 1, None)
        return self.info

    def _callback(self, indata: np.ndarray, frames: int, time_info: object, status: object) -> None:
        # Runs on PortAudio's thread: copy and hand over, nothing else.
        if status and getattr(status, "input_overflow", False):
            self.overflows += 1
        try:
            self._queue.put_nowait(indata.copy())
        except queue.Full:
            self.overflows += 1

    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]:
        sd = _import_sounddevice()
        if not hasattr(self, "info"):
            self.open()
        resample = Resampler(self._rate)
        maker = _ChunkMaker(SAMPLE_RATE * self.block_ms // 1000)
        try:
            stream = sd.InputStream(device=self._device, samplerate=self._rate, channels=1, dtype="float32",
                                    blocksize=self._rate * self.block_ms // 1000, callback=self._callback)
            stream.start()
        except sd.PortAudioError as e:
            raise AudioInputError(f"Cannot open the microphone {self.info.name!r}: {e}") from e
        last_data = time.monotonic()
        error: DeviceLostError | None = None
        got_data = False
        try:
            while not stop.is_set():
                try:
                    block = self._queue.get(timeout=0.1)
                except queue.Empty:
                    silent_for = time.monotonic() - last_data
                    # Some devices take seconds to deliver their first block (PulseAudio via ALSA: ~2 s).
                    limit = self.no_data_timeout_s if got_data else max(self.STARTUP_GRACE_S, self.no_data_timeout_s)
                    if not stream.active or silent_for > limit:
                        error = DeviceLostError(
                            f"The microphone {self.info.name!r} stopped delivering audio "
                            f"(no data for {silent_for:.1f} s): was it unplugged?"
                        )
                        break
                    continue
                last_data = time.monotonic()
                got_data = True
                yield from maker.feed(resample(block))
        finally:
            try:
                stream.abort(ignore_errors=True)
                stream.close(ignore_errors=True)
            except Exception:  # the device may already be gone
                log.debug("closing the input stream failed", exc_info=True)
            # Drain what the callback already delivered, so nothing captured is lost.
            tail = []
            while True:
                try:
                    tail.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            tail_audio = [resample(b) for b in tail] + [resample(np.zeros((0, 1), np.float32), last=True)]
            pending = list(maker.feed(np.concatenate(tail_audio), final=True))
        yield from pending  # not reached when the consumer closed us; then nothing is wanted anyway
        if error is not None:
            raise error
