"""The one internal audio currency: 16 kHz mono int16 samples with their place in the stream."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
"""Every chunk inside the app is at this rate; sources resample once, at the boundary."""

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioChunk:
    """A piece of mono 16 kHz int16 audio.

    ``start_s`` is the chunk's offset in its stream (sample-exact, derived from the sample count), so
    segment times are reproducible for files. ``captured_at`` is ``time.monotonic()`` when the last
    sample of the chunk became available, used to measure latency.
    """

    samples: Int16Array
    start_s: float
    captured_at: float = 0.0
    sample_rate: int = field(default=SAMPLE_RATE)

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16 or self.samples.ndim != 1:
            raise ValueError(f"AudioChunk needs 1-D int16 samples, got {self.samples.dtype} {self.samples.shape}")
        if self.sample_rate != SAMPLE_RATE:
            raise ValueError(f"AudioChunk must be {SAMPLE_RATE} Hz, got {self.sample_rate}")

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def as_float32(self) -> Float32Array:
        """Samples scaled to [-1, 1), the form the models take."""
        return int16_to_float32(self.samples)


def int16_to_float32(samples: Int16Array) -> Float32Array:
    return (samples.astype(np.float32) / 32768.0).astype(np.float32, copy=False)


def float_to_int16(samples: npt.NDArray[np.floating]) -> Int16Array:
    """Scale float audio in [-1, 1] to int16, clipping out-of-range values."""
    scaled = np.clip(np.asarray(samples, dtype=np.float32) * 32768.0, -32768.0, 32767.0)
    out: Int16Array = np.rint(scaled).astype(np.int16)
    return out
