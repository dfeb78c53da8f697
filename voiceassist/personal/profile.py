"""The calibration profile of one person: what each stage learnt, whether it is on, and the accuracies
that decided it; applied to each utterance's fused scores (``Profile.apply``), kept as JSON in the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import LABELS, N_LABELS

VERSION = 1
EPS = 1e-6
Array = npt.NDArray[np.float64]


class ProfileError(ValueError):
    """A stored profile that cannot be read (corrupt, or from another version): the base model is used."""


@dataclass(frozen=True)
class Baseline:
    """Stage 0: the person's own reference (their utterances, corrected or not)."""

    n_utterances: int = 0
    emb_mean: Array | None = None
    emb_std: Array | None = None
    valence: float = 0.0
    arousal: float = 0.0

    def normalise(self, emb: npt.ArrayLike | None) -> Array | None:
        """The embedding relative to this person's usual voice (None when it cannot be compared)."""
        if emb is None or self.emb_mean is None or self.emb_std is None:
            return None
        e = np.asarray(emb, np.float64)
        if e.shape != self.emb_mean.shape:
            return None
        return np.asarray((e - self.emb_mean) / self.emb_std, np.float64)


@dataclass(frozen=True)
class Stage1:
    on: bool = False
    temperature: float = 1.0
    bias: Array = field(default_factory=lambda: np.zeros(N_LABELS))
    acc_before: float | None = None
    acc_after: float | None = None


@dataclass(frozen=True)
class Stage2:
    """A linear probe on the person-normalised speech embedding and the text scores, on top of the scores
    before it: ``logits = scale * log(p) + W @ features + b``. Fitted with an L2 pull of ``W``, ``b`` to 0
    and of ``scale`` to 1 (shrinkage toward the base: with few corrections it stays close to it)."""

    on: bool = False
    classes: tuple[str, ...] = ()
    """The classes it has corrections of; the others keep weight 0."""
    weights: Array | None = None  # (9, F); F = embedding dim + 9 text scores
    bias: Array = field(default_factory=lambda: np.zeros(N_LABELS))
    scale: float = 1.0
    acc_before: float | None = None
    acc_after: float | None = None


def softmax(z: Array) -> Array:
    z = z - np.max(z)
    e = np.exp(z)
    return np.asarray(e / e.sum(), np.float64)


def apply_stage1(scores: Array, s1: Stage1) -> Array:
    return softmax(np.log(np.asarray(scores, np.float64) + EPS) / s1.temperature + s1.bias)


def features(base: Baseline, emb: npt.ArrayLike | None, text_scores: npt.ArrayLike | None) -> Array | None:
    z = base.normalise(emb)
    if z is None:
        return None
    t = np.zeros(N_LABELS) if text_scores is None else np.asarray(text_scores, np.float64)
    return np.concatenate([np.clip(z, -5.0, 5.0), t])


def apply_stage2(scores: Array, feats: Array | None, s2: Stage2) -> Array:
    if feats is None or s2.weights is None or feats.shape[0] != s2.weights.shape[1]:
        return scores
    return softmax(s2.scale * np.log(np.asarray(scores, np.float64) + EPS) + s2.weights @ feats + s2.bias)


@dataclass(frozen=True)
class Profile:
    person: str
    n_corrections: int = 0
    baseline: Baseline = field(default_factory=Baseline)
    stage1: Stage1 = field(default_factory=Stage1)
    stage2: Stage2 = field(default_factory=Stage2)
    fitted_at: float = 0.0

    @property
    def active(self) -> bool:
        return self.stage1.on or self.stage2.on

    @property
    def accuracy(self) -> tuple[float | None, float | None]:
        """Leave-one-out accuracy on the person's corrections: the base model, and with what is on."""
        before = self.stage1.acc_before if self.stage1.acc_before is not None else self.stage2.acc_before
        after = before
        if self.stage1.on:
            after = self.stage1.acc_after
        if self.stage2.on:
            after = self.stage2.acc_after
        return before, after

    def apply(self, scores: npt.ArrayLike, embedding: npt.ArrayLike | None = None, text_scores: Any = None) -> Array:
        """Calibrated scores (the base ones when no stage is on)."""
        p = np.asarray(scores, np.float64)
        if self.stage1.on:
            p = apply_stage1(p, self.stage1)
        if self.stage2.on:
            p = apply_stage2(p, features(self.baseline, embedding, text_scores), self.stage2)
        return p

    def describe(self) -> str:
        before, after = self.accuracy
        on = [n for n, s in (("stage 1", self.stage1), ("stage 2", self.stage2)) if s.on]
        acc = "" if before is None else f"; on your corrections {before:.0%} before, {after or before:.0%} after"
        return f"{self.person}: {self.n_corrections} corrections, {', '.join(on) or 'base model only'}{acc}"

    # -- JSON ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        b, s1, s2 = self.baseline, self.stage1, self.stage2
        return {
            "version": VERSION,
            "person": self.person,
            "n_corrections": self.n_corrections,
            "fitted_at": self.fitted_at,
            "baseline": {
                "n_utterances": b.n_utterances,
                "emb_mean": None if b.emb_mean is None else b.emb_mean.tolist(),
                "emb_std": None if b.emb_std is None else b.emb_std.tolist(),
                "valence": b.valence,
                "arousal": b.arousal,
            },
            "stage1": {
                "on": s1.on,
                "temperature": s1.temperature,
                "bias": s1.bias.tolist(),
                "acc_before": s1.acc_before,
                "acc_after": s1.acc_after,
            },
            "stage2": {
                "on": s2.on,
                "classes": list(s2.classes),
                "weights": None if s2.weights is None else s2.weights.tolist(),
                "bias": s2.bias.tolist(),
                "scale": s2.scale,
                "acc_before": s2.acc_before,
                "acc_after": s2.acc_after,
            },
        }

    @classmethod
    def from_json(cls, d: Any) -> Profile:
        try:
            if not isinstance(d, dict) or d.get("version") != VERSION:
                raise ProfileError(f"not a version-{VERSION} calibration profile")
            b, s1, s2 = d["baseline"], d["stage1"], d["stage2"]
            mean = None if b["emb_mean"] is None else np.asarray(b["emb_mean"], np.float64)
            std = None if b["emb_std"] is None else np.asarray(b["emb_std"], np.float64)
            if (mean is None) != (std is None) or (mean is not None and std is not None and mean.shape != std.shape):
                raise ProfileError("baseline mean and spread do not match")
            bias = np.asarray(s1["bias"], np.float64)
            t = float(s1["temperature"])
            if bias.shape != (N_LABELS,) or not (0.05 <= t <= 20) or not np.all(np.isfinite(bias)):
                raise ProfileError("stage 1 temperature or bias out of range")
            classes = tuple(str(c) for c in s2["classes"])
            if any(c not in LABELS for c in classes):
                raise ProfileError("stage 2 names a label outside the 9")
            w = None if s2["weights"] is None else np.asarray(s2["weights"], np.float64)
            b2 = np.asarray(s2["bias"], np.float64)
            if s2["on"] and (w is None or w.ndim != 2 or w.shape[0] != N_LABELS or not np.all(np.isfinite(w))):
                raise ProfileError("stage 2 weights are not a finite (9, F) matrix")
            if b2.shape != (N_LABELS,) or not np.all(np.isfinite(b2)) or not np.isfinite(float(s2["scale"])):
                raise ProfileError("stage 2 bias or scale out of range")
            return cls(
                person=str(d["person"]),
                n_corrections=int(d["n_corrections"]),
                fitted_at=float(d.get("fitted_at", 0.0)),
                baseline=Baseline(int(b["n_utterances"]), mean, std, float(b["valence"]), float(b["arousal"])),
                stage1=Stage1(bool(s1["on"]), t, bias, _opt(s1["acc_before"]), _opt(s1["acc_after"])),
                stage2=Stage2(
                    bool(s2["on"]), classes, w, b2, float(s2["scale"]), _opt(s2["acc_before"]), _opt(s2["acc_after"])
                ),
            )
        except ProfileError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise ProfileError(f"corrupt calibration profile ({type(e).__name__}: {e})") from e


def _opt(v: Any) -> float | None:
    return None if v is None else float(v)
