"""The one label space: the 9 Emotion2Vec+ classes. Every backend maps into it, through the tables here.

Valence and arousal per class (in [-1, 1]) place each class on the circumplex; the mood module derives
valence/arousal series from fused scores with them. The values follow the usual placement of these
categories (Russell's circumplex: anger high arousal/negative, sadness low arousal/negative...);
``other`` and ``unknown`` carry no affect.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

LABELS: tuple[str, ...] = ("angry", "disgusted", "fearful", "happy", "neutral", "other", "sad", "surprised", "unknown")
LABELS_ZH: dict[str, str] = {
    "angry": "生气",
    "disgusted": "厌恶",
    "fearful": "恐惧",
    "happy": "开心",
    "neutral": "中立",
    "other": "其他",
    "sad": "难过",
    "surprised": "吃惊",
    "unknown": "未知",
}
INDEX: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
N_LABELS = len(LABELS)
MAIN_LABELS: tuple[str, ...] = ("angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")
"""Classes that carry an emotion (``other``/``unknown`` are the fallbacks)."""

VALENCE = np.array([-0.8, -0.7, -0.7, 0.8, 0.0, 0.0, -0.7, 0.2, 0.0])
AROUSAL = np.array([0.8, 0.4, 0.7, 0.5, 0.0, 0.0, -0.5, 0.8, 0.0])

# Emotion2Vec+ tokens.txt lines ("生气/angry") and the bare English or Chinese names.
_E2V_ALIASES: dict[str, str] = {"<unk>": "unknown", "unk": "unknown"}

# Text-classifier label names seen on the hub (GoEmotions Ekman groups, j-hartmann's 7 classes, Chinese
# models) -> our classes. Unmapped names go to "other".
TEXT_LABEL_MAP: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "annoyance": "angry",
    "rage": "angry",
    "disgust": "disgusted",
    "disgusted": "disgusted",
    "disapproval": "disgusted",
    "fear": "fearful",
    "fearful": "fearful",
    "nervousness": "fearful",
    "anxiety": "fearful",
    "worry": "fearful",
    "joy": "happy",
    "happy": "happy",
    "happiness": "happy",
    "love": "happy",
    "amusement": "happy",
    "excitement": "happy",
    "gratitude": "happy",
    "optimism": "happy",
    "pride": "happy",
    "relief": "happy",
    "admiration": "happy",
    "approval": "happy",
    "caring": "happy",
    "desire": "happy",
    "neutral": "neutral",
    "none": "neutral",
    "calm": "neutral",
    "sadness": "sad",
    "sad": "sad",
    "grief": "sad",
    "remorse": "sad",
    "disappointment": "sad",
    "embarrassment": "sad",
    "depression": "sad",
    "surprise": "surprised",
    "surprised": "surprised",
    "realization": "surprised",
    "confusion": "surprised",
    "curiosity": "surprised",
    "生气": "angry",
    "愤怒": "angry",
    "怒": "angry",
    "厌恶": "disgusted",
    "恶": "disgusted",
    "恐惧": "fearful",
    "惧": "fearful",
    "害怕": "fearful",
    "开心": "happy",
    "快乐": "happy",
    "喜悦": "happy",
    "乐": "happy",
    "高兴": "happy",
    "中立": "neutral",
    "中性": "neutral",
    "无": "neutral",
    "难过": "sad",
    "悲伤": "sad",
    "哀": "sad",
    "伤心": "sad",
    "吃惊": "surprised",
    "惊讶": "surprised",
    "惊": "surprised",
    "其他": "other",
    "未知": "unknown",
}


def e2v_token_to_label(token: str) -> str | None:
    """``"生气/angry"`` -> ``"angry"``; ``"<unk>"`` -> ``"unknown"``; unknown tokens -> None."""
    token = token.strip()
    if token in _E2V_ALIASES:
        return _E2V_ALIASES[token]
    for part in reversed(token.split("/")):
        part = part.strip().lower()
        if part in INDEX:
            return part
        if part in TEXT_LABEL_MAP:
            return TEXT_LABEL_MAP[part]
    return None


def text_label_to_label(name: str) -> str:
    key = name.strip().lower()
    if key in INDEX:
        return key
    return TEXT_LABEL_MAP.get(key, TEXT_LABEL_MAP.get(name.strip(), "other"))


def vector(scores: Mapping[str, float]) -> npt.NDArray[np.float64]:
    """A dict over (a subset of) our labels -> a length-9 vector in LABELS order."""
    v = np.zeros(N_LABELS)
    for name, p in scores.items():
        v[INDEX[name]] += float(p)
    return v


def as_dict(v: npt.ArrayLike, digits: int = 4) -> dict[str, float]:
    arr = np.asarray(v, dtype=np.float64)
    return {name: round(float(arr[i]), digits) for i, name in enumerate(LABELS)}


def valence_arousal(probs: npt.ArrayLike) -> tuple[float, float]:
    """Expected valence and arousal of a probability vector over LABELS."""
    p = np.asarray(probs, dtype=np.float64)
    return float(p @ VALENCE), float(p @ AROUSAL)


# One colour per label, the same in every chart and chip (the window, the review charts, the report).
LABEL_COLORS: dict[str, str] = {
    "angry": "#d62728",
    "disgusted": "#8c564b",
    "fearful": "#9467bd",
    "happy": "#f2b701",
    "neutral": "#7f7f7f",
    "other": "#17becf",
    "sad": "#1f77b4",
    "surprised": "#ff7f0e",
    "unknown": "#c7c7c7",
}
