"""Mood memory: a rolling history of utterance emotion and how volatile it is (pure numpy).

Per utterance the tracker takes the speech-emotion embedding and the fused scores, and reports:

- ``volatility_l2``: the mean L2 norm of successive embedding differences over the window (the
  Emotion2Vec+ integration notes' definition). Its scale depends on the embedding backend.
- ``volatility_cos``: the same with cosine distance (1 - cos), scale-free, in [0, 2].
- ``volatility_relative``: ``volatility_cos`` over the person's own typical value (the median of their
  earlier scores), once ``baseline_min`` scores exist: 1.0 is their normal, 2.0 twice as volatile.
- valence and arousal of each utterance from the fused scores (``labels.VALENCE/AROUSAL``), and over the
  window the affective-instability indices (docs/mood.md):
  MSSD = mean of (x[i+1] - x[i])^2, RMSSD = sqrt(MSSD) (von Neumann et al. 1941; Jahng, Wood & Trull 2008),
  PAC = share of successive differences with |x[i+1] - x[i]| >= ``pac_threshold`` (probability of acute
  change, Jahng, Wood & Trull 2008).

The history resets when the embedding size changes (another backend was loaded).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import AROUSAL, VALENCE

FloatVec = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MoodState:
    n: int
    """Utterances in the window."""
    valence: float
    arousal: float
    mean_valence: float
    mean_arousal: float
    volatility_l2: float
    volatility_cos: float
    volatility_relative: float | None
    mssd_valence: float
    rmssd_valence: float
    pac_valence: float
    mssd_arousal: float
    rmssd_arousal: float
    pac_arousal: float

    def metric(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)


def successive_l2(x: FloatVec) -> FloatVec:
    if len(x) < 2:
        return np.zeros(0)
    return np.asarray(np.linalg.norm(np.diff(x, axis=0), axis=1))


def successive_cosine(x: FloatVec) -> FloatVec:
    if len(x) < 2:
        return np.zeros(0)
    norms = np.linalg.norm(x, axis=1)
    norms = np.where(norms < 1e-12, 1.0, norms)
    unit = x / norms[:, None]
    return np.asarray(1.0 - np.sum(unit[1:] * unit[:-1], axis=1))


def mssd(series: FloatVec) -> float:
    """Mean squared successive difference."""
    if len(series) < 2:
        return 0.0
    return float(np.mean(np.diff(series) ** 2))


def pac(series: FloatVec, threshold: float) -> float:
    """Probability of acute change: share of successive changes at least ``threshold`` in size."""
    if len(series) < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(series)) >= threshold))


class MoodTracker:
    def __init__(
        self, window: int = 5, baseline_min: int = 5, pac_threshold: float = 0.5, baseline_history: int = 200
    ) -> None:
        if window < 2:
            raise ValueError("window must be at least 2")
        self.window = window
        self.baseline_min = baseline_min
        self.pac_threshold = pac_threshold
        self._emb: deque[FloatVec] = deque(maxlen=window)
        self._val: deque[float] = deque(maxlen=window)
        self._aro: deque[float] = deque(maxlen=window)
        self._cos_history: deque[float] = deque(maxlen=baseline_history)

    def reset(self) -> None:
        self._emb.clear()
        self._val.clear()
        self._aro.clear()

    def update(self, embedding: npt.ArrayLike | None, scores: npt.ArrayLike) -> MoodState:
        p = np.asarray(scores, dtype=np.float64)
        valence, arousal = float(p @ VALENCE), float(p @ AROUSAL)
        if embedding is not None:
            e = np.asarray(embedding, dtype=np.float64).ravel()
            if self._emb and self._emb[-1].shape != e.shape:
                self._emb.clear()  # another backend: not comparable
            self._emb.append(e)
        self._val.append(valence)
        self._aro.append(arousal)
        emb = np.stack(list(self._emb)) if len(self._emb) else np.zeros((0, 1))
        l2 = successive_l2(emb)
        cos = successive_cosine(emb)
        vol_l2 = float(l2.mean()) if len(l2) else 0.0
        vol_cos = float(cos.mean()) if len(cos) else 0.0
        relative = None
        if len(self._cos_history) >= self.baseline_min:
            typical = float(np.median(self._cos_history))
            relative = vol_cos / typical if typical > 1e-9 else None
        if len(cos):
            self._cos_history.append(vol_cos)
        v, a = np.array(self._val), np.array(self._aro)
        return MoodState(
            n=len(self._val),
            valence=valence,
            arousal=arousal,
            mean_valence=float(v.mean()),
            mean_arousal=float(a.mean()),
            volatility_l2=vol_l2,
            volatility_cos=vol_cos,
            volatility_relative=relative,
            mssd_valence=mssd(v),
            rmssd_valence=float(np.sqrt(mssd(v))),
            pac_valence=pac(v, self.pac_threshold),
            mssd_arousal=mssd(a),
            rmssd_arousal=float(np.sqrt(mssd(a))),
            pac_arousal=pac(a, self.pac_threshold),
        )
