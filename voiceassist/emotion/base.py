"""What every emotion backend shares: the result types, the backend interfaces, the model error and two
numeric helpers. Backends import from here (never from the package itself), so the registry that creates
them (voiceassist/emotion/registry.py) and the backends do not import each other in a circle."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.estimate import EmotionEstimate, FloatArray, FrameCurves

__all__ = [
    "EmotionEstimate",
    "EmotionModelError",
    "FloatArray",
    "FrameCurves",
    "SpeechEmotionBackend",
    "TextEmotionBackend",
    "smooth_frames",
    "softmax",
]


class EmotionModelError(RuntimeError):
    """A model folder is missing, incomplete or does not match its config; the message says what to do."""


class SpeechEmotionBackend(Protocol):
    """A voice-emotion model. Safe to call from several threads (it guards its own state)."""

    name: str
    description: str
    embedded: bool
    frame_rate: float
    uses_asr_frames: bool
    """Reads the speech recogniser's encoder output (``analyze(audio, encoder)``) instead of running a
    model of its own on the audio: the pipeline hands it the frames of the ASR pass of each utterance."""

    def load(self) -> None: ...

    def warmup(self) -> None: ...

    def fresh(self) -> SpeechEmotionBackend:
        """The same model with a fresh per-speaker state (a new session or recording): a new speaker
        baseline. A backend without such state returns itself."""
        ...

    def baseline_state(self) -> dict[str, Any] | None:
        """The person's running voice baseline, to keep with their profile (None: the backend keeps none)."""
        ...

    def restore_baseline(self, state: dict[str, Any]) -> None:
        """Take a person's stored baseline (ValueError when it was made for another model)."""
        ...

    def analyze(self, audio: FloatArray, encoder: FloatArray | None = None) -> tuple[EmotionEstimate, FrameCurves]:
        """Utterance estimate (with embedding) and frame curves for 16 kHz mono float32 audio; ``encoder``:
        the ASR pass's encoder frames (T, D) for a backend that ``uses_asr_frames`` (None: not decoded)."""
        ...

    def frames(self, audio: FloatArray, encoder: FloatArray | None = None) -> FrameCurves:
        """Frame curves only (the live view)."""
        ...


class TextEmotionBackend(Protocol):
    """A text-emotion model. Safe to call from several threads (it guards its own state)."""

    name: str
    description: str
    embedded: bool

    def load(self) -> None: ...

    def analyze(self, text: str, language: str) -> EmotionEstimate: ...


def softmax(logits: npt.ArrayLike, axis: int = -1) -> npt.NDArray[np.float64]:
    x = np.asarray(logits, dtype=np.float64)
    x = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(x)
    return np.asarray(e / np.sum(e, axis=axis, keepdims=True))


def smooth_frames(x: npt.NDArray[Any], width: int) -> npt.NDArray[np.float64]:
    """Centred moving average over ``width`` frames along axis 0 (edges average what they have)."""
    x = np.asarray(x, dtype=np.float64)
    width = min(width, len(x))
    if width <= 1:
        return x
    kernel = np.ones(width)
    num = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, x)
    den = np.convolve(np.ones(len(x)), kernel, mode="same")[:, None]
    return np.asarray(num / den)
