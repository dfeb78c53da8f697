"""The embedded voice-emotion model: a small head on the speech recogniser's own encoder frames.

Whisper's encoder already turns every utterance into frames (50 a second) on its way to the words, and
those frames carry how something was said as well as what. This backend reads them (``uses_asr_frames``:
the pipeline hands it the ASR pass's frames; no second encoder, no extra model), pools them over the speech
(the mean of each dimension; never over the window's padding, whose share would tell the utterance's
length), adds prosody features of the audio (pitch level, spread, range, slope and jitter, loudness
variation, brightness, voicing, rate, pauses: voiceassist/emotion/prosody.py; never the absolute loudness,
which says more about the microphone than the speaker), z-scores the result with the training corpus's
statistics and applies a linear classifier (numpy only). Frame curves come from the same head on a sliding
one-second window. The model file says which pooling and prosody features it reads.

**The person's baseline.** Voices, microphones and languages shift these features more than emotions do.
The backend keeps a running mean of the person's features and shifts their usual voice onto the training
corpus's *neutral* voice (``x - person_mean + neutral``; the spread stays the corpus's): a person's ordinary
way of speaking becomes their "neutral". Centring on the person's own mean instead would put their usual
voice at the corpus centre, which acted speech makes an emotional place (a calm person would come out
agitated). The running mean starts at the neutral centroid with the weight of ``prior`` utterances, so the
first utterances are read with the corpus's statistics and the shift grows as the person talks. It belongs
to one speaker: ``fresh()`` gives a new one (an analysed recording), and a conversation keeps the person's
own across sessions (``baseline_state``, stored with their calibration profile, reset with it).

Model folder (``voiceassist train speech-emotion`` writes one; the default ships in
``resources/models/voice_emotion/``): ``model.json`` (kind ``voice-head``, the Whisper model whose frames
it reads and their dimension, ``pooling`` (mean, std), ``prosody`` (the feature names), classes, the
baseline's prior, the temperature, training data and figures), ``head.npz`` (``W`` (C, D), ``b`` (C,),
``mean`` and ``std`` (D,): the corpus statistics; ``neutral`` (D,): the neutral clips' mean) and
``MODEL_CARD.md``. A missing or damaged folder is an EmotionModelError (the pipeline then falls back to the
prosody estimate and says why); frames of another dimension (a Whisper model the head was not trained on)
give the prosody estimate for that utterance, said in the description.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.base import EmotionEstimate, EmotionModelError, FloatArray, FrameCurves, smooth_frames
from voiceassist.emotion.labels import INDEX, LABELS, N_LABELS
from voiceassist.emotion.prosody import FEATURES as PROSODY_FEATURES
from voiceassist.emotion.prosody import ProsodyBackend, frame_features, utterance_features
from voiceassist.paths import resources_dir

KIND = "voice-head"
FRAME_RATE = 50.0
WINDOW_FRAMES = 50
"""Frame curves: the head on a one-second window around each frame."""
Matrix = npt.NDArray[np.float64]


def shipped_model_dir() -> Path:
    return resources_dir() / "models" / "voice_emotion"


POOLINGS = ("mean", "std")


def pool(frames: npt.ArrayLike, pooling: tuple[str, ...] = ("mean",)) -> Matrix:
    """The encoder frames pooled over the utterance: (T, D) -> (len(pooling) * D,), mean then std."""
    f = np.asarray(frames, dtype=np.float64)
    parts = {"mean": lambda: f.mean(axis=0), "std": lambda: f.std(axis=0)}
    return np.concatenate([parts[p]() for p in pooling])


def window_pool(frames: npt.ArrayLike, width: int = WINDOW_FRAMES, pooling: tuple[str, ...] = ("mean",)) -> Matrix:
    """``pool`` over a window of ``width`` frames centred on each frame (shorter at the edges)."""
    f = np.asarray(frames, dtype=np.float64)
    t = len(f)
    zero = np.zeros((1, f.shape[1]))
    c1 = np.concatenate([zero, np.cumsum(f, axis=0)])
    c2 = np.concatenate([zero, np.cumsum(f * f, axis=0)])
    lo = np.clip(np.arange(t) - width // 2, 0, t)
    hi = np.clip(np.arange(t) + (width - width // 2), 0, t)
    n = (hi - lo)[:, None].astype(np.float64)
    mean = (c1[hi] - c1[lo]) / n
    var = np.maximum((c2[hi] - c2[lo]) / n - mean * mean, 0.0)
    parts = {"mean": mean, "std": np.sqrt(var)}
    return np.concatenate([parts[p] for p in pooling], axis=1)


def prosody_vector(audio: FloatArray, names: tuple[str, ...] = PROSODY_FEATURES) -> Matrix:
    """Raw prosody features of an utterance (``prosody.FEATURES`` names), in the order asked for."""
    feats = utterance_features(frame_features(np.asarray(audio, dtype=np.float32)))
    return np.array([feats[k] for k in names], dtype=np.float64)


def select(full: npt.ArrayLike, dim: int, pooling: tuple[str, ...], prosody: tuple[str, ...]) -> Matrix:
    """A head's input from every candidate (``[mean (dim), std (dim), the 11 prosody features]``, what the
    training cache keeps): the pooled parts and the prosody features it reads, in its order."""
    x = np.asarray(full, np.float64)
    parts = [x[..., i * dim : (i + 1) * dim] for i, p in enumerate(POOLINGS) if p in pooling]
    base = len(POOLINGS) * dim
    parts += [x[..., base + PROSODY_FEATURES.index(k) : base + PROSODY_FEATURES.index(k) + 1] for k in prosody]
    return np.concatenate(parts, axis=-1)


@dataclass
class Baseline:
    """The person's usual voice: a running mean of their features, starting at the corpus's neutral centroid
    with the weight of ``prior`` utterances. ``shift`` is what moves their usual voice onto that centroid."""

    neutral: Matrix
    prior: float
    n: int = 0
    _sum: Matrix | None = None

    def person_mean(self) -> Matrix:
        if self.n == 0 or self._sum is None:
            return self.neutral
        return np.asarray((self.prior * self.neutral + self._sum) / (self.prior + self.n))

    def shift(self) -> Matrix:
        return np.asarray(self.person_mean() - self.neutral)

    def add(self, x: npt.ArrayLike) -> None:
        v = np.asarray(x, np.float64)
        if v.shape != self.neutral.shape or not np.all(np.isfinite(v)):
            return
        self._sum = v.copy() if self._sum is None else self._sum + v
        self.n += 1

    def state(self) -> dict[str, Any]:
        """What is kept with the person's profile: how many utterances, and the sum of their features."""
        return {"n": self.n, "sum": [] if self._sum is None else [round(float(a), 6) for a in self._sum]}

    def restore(self, state: dict[str, Any]) -> None:
        """Take a stored state (one of another model's size is refused: ValueError)."""
        n = int(state.get("n", 0))
        total = np.asarray(state.get("sum", []), np.float64)
        if n <= 0:
            self.n, self._sum = 0, None
            return
        if total.shape != self.neutral.shape or not np.all(np.isfinite(total)):
            raise ValueError(
                f"a voice baseline of {total.shape} features does not fit this model ({self.neutral.shape})"
            )
        self.n, self._sum = n, total


class VoiceHead:
    """The model file: the linear head and the corpus statistics of its features."""

    def __init__(
        self, meta: dict[str, Any], w: Matrix, b: Matrix, mean: Matrix, std: Matrix, neutral: Matrix | None = None
    ) -> None:
        self.meta = meta
        self.classes: tuple[str, ...] = tuple(meta["classes"])
        self.dim = int(meta["whisper"]["dim"])
        self.whisper = str(meta["whisper"]["name"])
        self.pooling: tuple[str, ...] = tuple(meta.get("pooling", ["mean"]))
        self.prosody: tuple[str, ...] = tuple(meta.get("prosody", []))
        self.prior = float(meta.get("baseline_prior", 30.0))
        self.temperature = float(meta.get("temperature", 1.0))
        self.w, self.b, self.mean, self.std = w, b, mean, std
        self.neutral = neutral if neutral is not None else mean
        self._map = np.zeros((len(self.classes), N_LABELS))
        for i, c in enumerate(self.classes):
            self._map[i, INDEX[c]] = 1.0

    @classmethod
    def load(cls, folder: Path) -> VoiceHead:
        folder = Path(folder)
        try:
            meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            with np.load(folder / "head.npz", allow_pickle=False) as z:
                w, b, mean, std = (np.asarray(z[k], np.float64) for k in ("W", "b", "mean", "std"))
                neutral = np.asarray(z["neutral"], np.float64) if "neutral" in z.files else None
        except FileNotFoundError as e:
            raise EmotionModelError(f"{folder}: the voice-emotion head is missing {Path(str(e.filename)).name}") from e
        except (OSError, ValueError, KeyError) as e:
            raise EmotionModelError(f"{folder}: the voice-emotion head cannot be read ({e}); train it again") from e
        if meta.get("kind") != KIND:
            raise EmotionModelError(f"{folder}: not a voice-emotion head (kind {meta.get('kind')!r})")
        unknown = [c for c in meta.get("classes", []) if c not in INDEX]
        d = w.shape[1] if w.ndim == 2 else -1
        if unknown or w.shape[0] != len(meta.get("classes", [])) or b.shape != (w.shape[0],):
            raise EmotionModelError(f"{folder}: head.npz does not match its classes {meta.get('classes')}")
        if mean.shape != (d,) or std.shape != (d,) or not np.all(np.isfinite(w)) or not np.all(std > 0):
            raise EmotionModelError(f"{folder}: head.npz is damaged (statistics do not fit the head)")
        if neutral is not None and neutral.shape != (d,):
            raise EmotionModelError(f"{folder}: head.npz's neutral centroid does not fit the head")
        pooling, prosody = meta.get("pooling", ["mean"]), meta.get("prosody", [])
        if not pooling or any(p not in POOLINGS for p in pooling) or any(k not in PROSODY_FEATURES for k in prosody):
            raise EmotionModelError(f"{folder}: model.json names an unknown pooling or prosody feature")
        expected = len(pooling) * int(meta["whisper"]["dim"]) + len(prosody)
        if d != expected:
            raise EmotionModelError(f"{folder}: head.npz has {d} inputs, model.json describes {expected}")
        return cls(meta, w, b, mean, std, neutral)

    def features(self, pooled: npt.ArrayLike, prosody: npt.ArrayLike | None) -> Matrix:
        """The head's input: pooled frames (..., P) and its prosody features (the corpus mean when not given)."""
        x = np.asarray(pooled, np.float64)
        if self.prosody:
            p = np.asarray(prosody, np.float64) if prosody is not None else self.mean[x.shape[-1] :]
            x = np.concatenate([x, np.broadcast_to(p, (*x.shape[:-1], p.shape[-1]))], axis=-1)
        return x

    def z(self, x: npt.ArrayLike, shift: Matrix | float = 0.0) -> Matrix:
        return np.asarray((np.asarray(x, np.float64) - shift - self.mean) / self.std)

    def logits(self, z: npt.ArrayLike) -> Matrix:
        return np.asarray(np.asarray(z, np.float64) @ self.w.T + self.b)

    def proba9(self, logits: npt.ArrayLike) -> Matrix:
        """Probabilities over the 9 labels (a class the head does not know gets 0)."""
        lg = np.asarray(logits, np.float64) / self.temperature
        lg = lg - lg.max(axis=-1, keepdims=True)
        p = np.exp(lg)
        p /= p.sum(axis=-1, keepdims=True)
        return np.asarray(p @ self._map)


class VoiceHeadBackend:
    """The embedded default voice-emotion backend (see the module docstring)."""

    name = KIND
    frame_rate = FRAME_RATE
    uses_asr_frames = True

    def __init__(self, cfg: Any, folder: Path | None = None, head: VoiceHead | None = None) -> None:
        self.cfg = cfg
        self.folder = Path(folder) if folder is not None else shipped_model_dir()
        self.head = head
        self.embedded = self.folder.resolve() == shipped_model_dir().resolve()
        where = "embedded default" if self.embedded else str(self.folder)
        self.description = f"voice-emotion head on the recogniser's frames + prosody ({where})"
        self.baseline: Baseline | None = None
        self._prosody = ProsodyBackend(cfg)  # utterances the recogniser did not decode
        self._lock = threading.Lock()
        self.note: str | None = None

    def load(self) -> None:
        if self.head is None:
            self.head = VoiceHead.load(self.folder)
        if self.baseline is None:
            self.baseline = Baseline(self.head.neutral, self.head.prior)

    def warmup(self) -> None:
        self.load()
        assert self.head is not None
        self.frames(np.zeros(0, np.float32), np.zeros((60, self.head.dim), np.float32))

    def fresh(self) -> VoiceHeadBackend:
        """The same head with a new speaker baseline (the corpus's statistics)."""
        self.load()
        other = VoiceHeadBackend(self.cfg, self.folder, self.head)
        other.load()
        return other

    # -- the person's baseline -----------------------------------------------------------------------
    def baseline_state(self) -> dict[str, Any]:
        self.load()
        assert self.baseline is not None
        with self._lock:
            return {"model": self.model_id, **self.baseline.state()}

    def restore_baseline(self, state: dict[str, Any]) -> None:
        """A person's stored baseline; one made for another model is ignored (ValueError says so)."""
        self.load()
        assert self.baseline is not None
        if state.get("model") != self.model_id:
            raise ValueError(f"the stored voice baseline was made for {state.get('model')!r}, not {self.model_id!r}")
        with self._lock:
            self.baseline.restore(state)

    @property
    def model_id(self) -> str:
        return str(self.head.meta.get("id", self.folder.name)) if self.head is not None else self.folder.name

    # -- inference ------------------------------------------------------------------------------------
    def _usable(self, encoder: FloatArray | None) -> bool:
        assert self.head is not None
        return encoder is not None and encoder.ndim == 2 and len(encoder) > 0 and encoder.shape[1] == self.head.dim

    def analyze(self, audio: FloatArray, encoder: FloatArray | None = None) -> tuple[EmotionEstimate, FrameCurves]:
        self.load()
        head, baseline = self.head, self.baseline
        assert head is not None and baseline is not None
        if not self._usable(encoder):
            return self._without_frames(audio, encoder)
        assert encoder is not None
        prosody = prosody_vector(audio, head.prosody) if head.prosody and len(audio) else None
        x = head.features(pool(encoder, head.pooling), prosody)
        with self._lock:
            shift = baseline.shift()
            baseline.add(x)
        z = head.z(x, shift)
        logits = head.logits(z)
        scores = head.proba9(logits)
        p_head = scores[[INDEX[c] for c in head.classes]]
        est = EmotionEstimate(
            scores=scores,
            backend=self.description,
            embedding=np.concatenate([logits, z[len(z) - len(head.prosody) :]]).astype(np.float32),
            evidence=float(np.clip((p_head.max() - 1 / len(p_head)) / (1 - 1 / len(p_head)), 0.0, 1.0)),
        )
        return est, self._curves(encoder, prosody)

    def frames(self, audio: FloatArray, encoder: FloatArray | None = None) -> FrameCurves:
        self.load()
        if not self._usable(encoder):
            return self._prosody.frames(audio) if len(audio) else _empty()
        assert encoder is not None
        return self._curves(encoder, None)

    def _curves(self, encoder: FloatArray, prosody: Matrix | None) -> FrameCurves:
        head, baseline = self.head, self.baseline
        assert head is not None and baseline is not None
        with self._lock:
            shift = baseline.shift()
        z = head.z(head.features(window_pool(encoder, pooling=head.pooling), prosody), shift)
        width = max(1, round(getattr(self.cfg, "frame_smoothing_ms", 200) / 1000 * FRAME_RATE))
        probs = head.proba9(smooth_frames(head.logits(z), width))
        return FrameCurves(probs=probs.astype(np.float32), frame_rate=FRAME_RATE, features=np.asarray(encoder))

    def _without_frames(self, audio: FloatArray, encoder: FloatArray | None) -> tuple[EmotionEstimate, FrameCurves]:
        """No frames to read (the recogniser skipped the audio as silence or noise, or runs a model whose
        frames this head was not trained on): the prosody estimate, said in its backend name."""
        assert self.head is not None
        est, curves = self._prosody.analyze(audio)
        why = (
            "not decoded"
            if encoder is None
            else f"frames of {encoder.shape[-1]} dims, head trained on {self.head.whisper}"
        )
        return (
            EmotionEstimate(
                scores=est.scores,
                backend=f"{self._prosody.description}; {why}",
                embedding=None,
                evidence=est.evidence,
                arousal=est.arousal,
            ),
            curves,
        )


def _empty() -> FrameCurves:
    return FrameCurves(probs=np.zeros((0, N_LABELS), np.float32), frame_rate=FRAME_RATE, features=None)


__all__ = ["KIND", "LABELS", "Baseline", "VoiceHead", "VoiceHeadBackend", "pool", "shipped_model_dir", "window_pool"]
