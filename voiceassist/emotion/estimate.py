"""The value types of emotion recognition: an estimate over the 9 labels and frame curves. They import
nothing above numpy and the label table, so events and every layer can use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import LABELS, N_LABELS, as_dict

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class EmotionEstimate:
    """One emotion estimate over the 9 labels. ``scores`` sums to 1."""

    scores: npt.NDArray[np.float64]
    backend: str
    embedding: FloatArray | None = None
    keywords: tuple[str, ...] = ()
    """Text backends: the emotion words the estimate rests on (e.g. "压力", "失眠")."""
    evidence: float = 1.0
    """How much the backend has to go on, 0..1 (a text with no emotion words has little)."""
    arousal: float | None = None
    """Backends that measure arousal only (the embedded prosody estimate): how activated the voice is, in the
    speaker's own z units (about -2..2). Their ``scores`` are a spread of that arousal over the labels, not a
    judgement between emotions of the same arousal (angry vs happy), and fusion treats them so."""

    def __post_init__(self) -> None:
        if self.scores.shape != (N_LABELS,):
            raise ValueError(f"scores must have shape ({N_LABELS},), got {self.scores.shape}")

    @property
    def label(self) -> str:
        return LABELS[int(np.argmax(self.scores))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.scores))

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "scores": as_dict(self.scores),
            "backend": self.backend,
        }
        if self.keywords:
            d["keywords"] = list(self.keywords)
        return d


@dataclass(frozen=True)
class FrameCurves:
    """Per-frame emotion probabilities (T, 9), smoothed, at ``frame_rate`` frames per second, and the
    per-frame features (T, D) they were computed from."""

    probs: npt.NDArray[np.float32]
    frame_rate: float
    features: FloatArray | None = field(default=None, repr=False)

    @property
    def n_frames(self) -> int:
        return int(self.probs.shape[0])
