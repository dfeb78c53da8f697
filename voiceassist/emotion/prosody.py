"""The embedded speech-emotion default: arousal from prosody, computed from the audio itself.

Without Emotion2Vec+ weights, what the voice still tells us honestly is *arousal* (how activated the
speaker is), not valence: a raised, fast, loud, bright voice is high arousal whether angry or elated; a
low, flat, slow, soft one is low arousal (typical of sadness and fatigue). This backend measures, at 50
frames/s, energy, pitch (normalised autocorrelation), voicing and the share of energy above 1 kHz; per
utterance it derives levels, variability, slope, and a speaking-rate estimate (energy peaks per second).

Arousal is a weighted sum of feature z-scores. The reference for the z-scores starts as a rough
population norm and moves to the speaker's own running median after a few utterances (speaker
normalisation: pitch and loudness depend on the person and the microphone). Arousal maps into the label
space as: high -> spread over angry/happy/surprised/fearful (it cannot tell them apart), low -> sad,
middle -> neutral; the spread is tempered so the confidence never claims more than prosody can know.
The utterance embedding is the vector of z-scored features, for the mood history.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.audio.chunk import SAMPLE_RATE
from voiceassist.emotion.base import EmotionEstimate, FloatArray, FrameCurves, smooth_frames
from voiceassist.emotion.labels import INDEX, N_LABELS

SR = SAMPLE_RATE
HOP = 320  # 20 ms: 50 frames/s, like emotion2vec
WIN = 640
FRAME_RATE = SR / HOP
F0_MIN, F0_MAX = 65.0, 450.0

FEATURES = (
    "f0_mean_st",
    "f0_std_st",
    "f0_range_st",
    "f0_slope_st_s",
    "f0_delta_st",
    "energy_db",
    "energy_std_db",
    "hf_ratio",
    "voiced_ratio",
    "rate_hz",
    "pause_ratio",
)
# Rough adult-speech references (mean, spread) for the z-scores until a speaker baseline exists.
_REF = {
    "f0_mean_st": (9.0, 5.0),  # semitones re 100 Hz: ~170 Hz, spanning low male to high female voices
    "f0_std_st": (2.5, 1.2),
    "f0_range_st": (8.0, 4.0),
    "f0_slope_st_s": (0.0, 4.0),
    "f0_delta_st": (0.6, 0.4),
    "energy_db": (-28.0, 8.0),
    "energy_std_db": (9.0, 3.0),
    "hf_ratio": (0.25, 0.12),
    "voiced_ratio": (0.55, 0.2),
    "rate_hz": (4.0, 1.5),
    "pause_ratio": (0.2, 0.15),
}
# Arousal weights (sum of |w| = 1): pitch variability, level and loudness, vocal effort, tempo.
_AROUSAL_W = {
    "f0_std_st": 0.22,
    "f0_mean_st": 0.18,
    "energy_db": 0.18,
    "energy_std_db": 0.08,
    "hf_ratio": 0.16,
    "rate_hz": 0.12,
    "pause_ratio": -0.06,
}
_HIGH = {"angry": 0.3, "happy": 0.3, "surprised": 0.2, "fearful": 0.2}


def _frames(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    n = max(1, 1 + (len(x) - WIN) // HOP) if len(x) >= WIN else 1
    x = np.pad(x.astype(np.float64), (0, max(0, (n - 1) * HOP + WIN - len(x))))
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
    return np.asarray(x[idx])


def frame_features(audio: FloatArray) -> dict[str, npt.NDArray[np.float64]]:
    """Per-frame energy (dBFS), f0 (Hz, 0 when unvoiced), voicing and high-frequency energy ratio."""
    fr = _frames(np.asarray(audio, dtype=np.float32))
    fr = fr - fr.mean(axis=1, keepdims=True)
    energy_db = 10 * np.log10(np.mean(fr**2, axis=1) + 1e-10)
    win = fr * np.hanning(WIN)[None, :]
    spec = np.fft.rfft(win, n=2 * WIN, axis=1)
    power = np.abs(spec) ** 2
    freqs = np.fft.rfftfreq(2 * WIN, 1 / SR)
    hf_ratio = power[:, freqs >= 1000].sum(axis=1) / (power[:, freqs >= 60].sum(axis=1) + 1e-12)
    ac = np.fft.irfft(power, axis=1)[:, :WIN]
    lo, hi = int(SR / F0_MAX), int(SR / F0_MIN)
    norm = ac[:, lo:hi] / (ac[:, :1] + 1e-12)
    # The shortest lag whose peak comes close to the best one: the plain maximum often lands on twice the
    # period (an octave error), which would fake pitch variability.
    best = norm.max(axis=1, keepdims=True)
    first = np.argmax(norm >= 0.85 * best, axis=1)
    span = np.minimum(first[:, None] + np.arange(lo)[None, :], norm.shape[1] - 1)
    local = np.take_along_axis(norm, span, axis=1)
    lag_idx = np.take_along_axis(span, np.argmax(local, axis=1)[:, None], axis=1)[:, 0]
    lag = lag_idx + lo
    peak = norm[np.arange(len(norm)), lag_idx]
    loud_enough = energy_db > (np.max(energy_db) - 35.0) if len(energy_db) else energy_db > 0
    voiced = (peak > 0.45) & loud_enough & (energy_db > -60)
    f0 = np.where(voiced, SR / lag, 0.0)
    return {"energy_db": energy_db, "f0": f0, "voiced": voiced.astype(np.float64), "hf_ratio": hf_ratio}


def _st(f0: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(12 * np.log2(np.maximum(f0, 1e-6) / 100.0))


def utterance_features(ff: dict[str, npt.NDArray[np.float64]]) -> dict[str, float]:
    voiced = ff["voiced"] > 0
    energy = ff["energy_db"]
    t = np.arange(len(energy)) / FRAME_RATE
    if voiced.sum() >= 3:
        st = _st(ff["f0"][voiced])
        p5, p95 = np.percentile(st, [5, 95])
        slope = float(np.polyfit(t[voiced], st, 1)[0]) if np.ptp(t[voiced]) > 0 else 0.0
        consecutive = voiced[1:] & voiced[:-1]
        delta = np.abs(np.diff(_st(np.maximum(ff["f0"], 1e-6))))[consecutive]
        mad = 1.4826 * float(np.median(np.abs(st - np.median(st))))  # robust to stray octave jumps
        f0_feats = {
            "f0_mean_st": float(np.median(st)),
            "f0_std_st": mad,
            "f0_range_st": float(p95 - p5),
            "f0_slope_st_s": slope,
            "f0_delta_st": float(np.median(delta)) if len(delta) else 0.0,
        }
    else:
        f0_feats = {k: _REF[k][0] for k in ("f0_mean_st", "f0_std_st", "f0_range_st", "f0_slope_st_s", "f0_delta_st")}
    active = energy > np.max(energy) - 30.0 if len(energy) else np.zeros(0, bool)
    e_act = energy[active] if active.any() else energy
    # Speaking rate: peaks of the smoothed energy envelope (syllable nuclei) per second of active speech.
    env = smooth_frames(energy[:, None], 5)[:, 0]
    is_peak = (env[1:-1] > env[:-2]) & (env[1:-1] >= env[2:]) & (env[1:-1] > np.max(env) - 20.0)
    prominent = is_peak & (env[1:-1] - np.minimum.accumulate(env[:-2]) > 0)
    active_s = max(active.sum() / FRAME_RATE, 0.2)
    return {
        **f0_feats,
        "energy_db": float(np.mean(e_act)),
        "energy_std_db": float(np.std(e_act)),
        "hf_ratio": float(np.mean(ff["hf_ratio"][voiced])) if voiced.any() else _REF["hf_ratio"][0],
        "voiced_ratio": float(voiced.mean()) if len(voiced) else 0.0,
        "rate_hz": float(prominent.sum() / active_s),
        "pause_ratio": float(1.0 - active.mean()) if len(active) else 0.0,
    }


def arousal_to_scores(arousal: npt.ArrayLike, temper: float = 0.35) -> npt.NDArray[np.float64]:
    """Arousal (z units, about -2..2) -> probabilities over the 9 labels, shape (..., 9)."""
    a = np.asarray(arousal, dtype=np.float64)[..., None]
    high = 1 / (1 + np.exp(-3.0 * (a - 0.7)))
    low = 1 / (1 + np.exp(-3.0 * (-a - 0.7)))
    mid = np.clip(1.0 - high - low, 0.0, 1.0)
    p = np.zeros((*a.shape[:-1], N_LABELS))
    for name, share in _HIGH.items():
        p[..., INDEX[name]] += high[..., 0] * share
    p[..., INDEX["sad"]] += low[..., 0]
    p[..., INDEX["neutral"]] += mid[..., 0]
    uniform = np.full(N_LABELS, 1.0 / N_LABELS)
    p = (1 - temper) * p + temper * uniform
    return np.asarray(p / p.sum(axis=-1, keepdims=True))


class ProsodyBackend:
    name = "prosody"
    description = "prosody arousal estimate (embedded default)"
    embedded = True
    frame_rate = FRAME_RATE
    uses_asr_frames = False
    embedding_dim = len(FEATURES) + 1  # the z-scored features, then arousal

    def __init__(self, cfg: Any = None, baseline_after: int = 3, history: int = 50) -> None:
        self.cfg = cfg
        self.baseline_after = baseline_after
        self._history: deque[dict[str, float]] = deque(maxlen=history)
        self._lock = threading.Lock()

    def load(self) -> None:
        pass

    def warmup(self) -> None:
        self.frames(np.zeros(SR // 2, dtype=np.float32))

    def baseline_state(self) -> dict[str, Any] | None:
        return None  # the speaker baseline lives for one session

    def restore_baseline(self, state: dict[str, Any]) -> None:
        pass

    def fresh(self) -> ProsodyBackend:
        return ProsodyBackend(self.cfg, self.baseline_after, self._history.maxlen or 50)

    def _reference(self) -> dict[str, tuple[float, float]]:
        """Population norms, replaced by the speaker's running median once enough utterances are in."""
        if len(self._history) < self.baseline_after:
            return _REF
        ref = {}
        for k, (_, spread) in _REF.items():
            ref[k] = (float(np.median([h[k] for h in self._history])), spread)
        return ref

    def _arousal(self, feats: dict[str, float], ref: dict[str, tuple[float, float]]) -> float:
        return float(sum(w * (feats[k] - ref[k][0]) / ref[k][1] for k, w in _AROUSAL_W.items()) / 0.55)

    def analyze(self, audio: FloatArray, encoder: FloatArray | None = None) -> tuple[EmotionEstimate, FrameCurves]:
        ff = frame_features(audio)
        feats = utterance_features(ff)
        with self._lock:
            arousal = self._arousal(feats, self._reference())
            if ff["voiced"].sum() >= 3:  # noise without a voice does not teach us the speaker's baseline
                self._history.append(feats)
        embedding = np.array([(feats[k] - _REF[k][0]) / _REF[k][1] for k in FEATURES] + [arousal], dtype=np.float32)
        scores = arousal_to_scores(arousal)
        est = EmotionEstimate(
            scores=scores,
            backend=self.description,
            embedding=embedding,
            evidence=float(min(1.0, ff["voiced"].sum() / FRAME_RATE / 0.5)),
            arousal=arousal,
        )
        return est, self._curves(ff)

    def frames(self, audio: FloatArray, encoder: FloatArray | None = None) -> FrameCurves:
        return self._curves(frame_features(audio))

    def _curves(self, ff: dict[str, npt.NDArray[np.float64]]) -> FrameCurves:
        """Local arousal over a 0.5 s sliding window, from energy, pitch and brightness."""
        ref = self._reference()
        voiced = ff["voiced"]
        st = np.where(voiced > 0, _st(np.maximum(ff["f0"], 1e-6)), np.nan)
        w = max(1, int(0.5 * FRAME_RATE))
        energy = smooth_frames(ff["energy_db"][:, None], w)[:, 0]
        hf = smooth_frames(ff["hf_ratio"][:, None], w)[:, 0]
        st_filled = np.where(np.isnan(st), ref["f0_mean_st"][0], st)
        pitch = smooth_frames(st_filled[:, None], w)[:, 0]
        pitch_var = np.sqrt(np.maximum(smooth_frames(((st_filled - pitch) ** 2)[:, None], w)[:, 0], 0))
        z = (
            0.22 * (pitch_var - ref["f0_std_st"][0]) / ref["f0_std_st"][1]
            + 0.18 * (pitch - ref["f0_mean_st"][0]) / ref["f0_mean_st"][1]
            + 0.26 * (energy - ref["energy_db"][0]) / ref["energy_db"][1]
            + 0.16 * (hf - ref["hf_ratio"][0]) / ref["hf_ratio"][1]
        ) / 0.55
        quiet = energy < (np.max(energy) - 40.0 if len(energy) else 0)
        probs = arousal_to_scores(z)
        probs[quiet] = np.full(N_LABELS, 1.0 / N_LABELS)  # no voice, no opinion
        features = np.stack([ff["energy_db"], np.nan_to_num(st, nan=0.0), voiced, ff["hf_ratio"], z], axis=1)
        return FrameCurves(probs=probs.astype(np.float32), frame_rate=FRAME_RATE, features=features.astype(np.float32))
