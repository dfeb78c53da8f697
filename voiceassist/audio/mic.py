"""``MicSource``: a sounddevice InputStream whose callback only copies into a bounded queue; overflows are
counted; a device that stops delivering is reported as unplugged. And the list of input devices."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from voiceassist.audio.base import AudioInputError, AudioSource, ChunkMaker, DeviceLostError, Resampler, SourceInfo
from voiceassist.audio.chunk import SAMPLE_RATE, AudioChunk

log = logging.getLogger(__name__)


def _import_sounddevice() -> Any:
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
            out.append(
                {
                    "index": i,
                    "name": d["name"],
                    "channels": d["max_input_channels"],
                    "default_samplerate": d["default_samplerate"],
                    "hostapi": sd.query_hostapis(d["hostapi"])["name"],
                    "default": i == default_in,
                }
            )
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
    return int(str((exact or matches)[0]["index"]))


class MicSource(AudioSource):
    STARTUP_GRACE_S = 6.0
    realtime = True

    def describe(self) -> str:
        return "microphone"

    def __init__(
        self,
        device: str | int | None = None,
        block_ms: int = 30,
        queue_seconds: float = 10.0,
        no_data_timeout_s: float = 2.0,
    ) -> None:
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
        maker = ChunkMaker(SAMPLE_RATE * self.block_ms // 1000)
        try:
            stream = sd.InputStream(
                device=self._device,
                samplerate=self._rate,
                channels=1,
                dtype="float32",
                blocksize=self._rate * self.block_ms // 1000,
                callback=self._callback,
            )
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
