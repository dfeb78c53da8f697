"""What every audio source shares: the interface, its errors, the one resampler and the chunk cutter."""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

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
        if not np.isfinite(data).all():  # NaN or inf samples (a damaged float file): silence, no RuntimeWarning
            with np.errstate(invalid="ignore", over="ignore"):
                data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
        if data.ndim == 2:
            with np.errstate(over="ignore"):  # huge finite values; clipped to full scale below anyway
                data = np.clip(data, -4.0, 4.0).mean(axis=1, dtype=np.float32)
        if self._rs is not None:
            data = self._rs.resample_chunk(data, last=last)
        return float_to_int16(data)


class AudioSource(ABC):
    """A stream of AudioChunks. ``chunks()`` may be called once; it returns when the audio ends or
    ``stop`` is set, and raises AudioInputError when the input fails (after yielding what it had).

    What the pipeline and the front ends read of every source, declared here once:

    - ``realtime``: the audio arrives at the pace it was spoken (a microphone, a stream, a file replayed
      live). Live audio gets level meters, partial transcripts and the adaptive end of turn; audio read at
      full speed is segmented the same way on every machine.
    - ``warnings``: problems that did not stop the reading (a truncated file), each a sentence; known once
      the audio has been read.
    - ``describe()``: what the source is, in words, for the session's record and the status line.
    - ``overflows``: blocks dropped because the reader could not keep up (live sources).
    """

    info: SourceInfo
    overflows: int = 0
    realtime: bool = False
    warnings: Sequence[str] = ()

    def describe(self) -> str:
        info = getattr(self, "info", None)
        return info.name if info is not None else type(self).__name__

    @abstractmethod
    def open(self) -> SourceInfo:
        """Check the input and return what it is; raises AudioInputError with a user-facing message."""

    @abstractmethod
    def chunks(self, stop: threading.Event) -> Iterator[AudioChunk]: ...


class ChunkMaker:
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
