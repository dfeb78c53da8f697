"""How sure the emotion is, and whether the voice and the words agree (pure): what the planner needs to
decide between answering, asking back by name, and sharing joy.

- unsure: the fusion asked to clarify or repeat, the result is other/unknown, or the fused confidence is
  below ``min_confidence``;
- disagree: the voice and the words point at different kinds of feeling (anger, fear, sadness, joy), each
  with some confidence, and the fusion did not settle it (fused confidence below ``SETTLED``). A voice that
  sounds positive over negative words is not a disagreement: the fusion's masking rule lets the words lead.
  Calm words in a clearly negative voice ("I'm fine", said sadly) are one; a flat voice over emotional
  words is not (a flat voice says little);
- happy_close: "surprised" won, with happy close behind or one side hearing happy;
- heard: the negative feelings heard, strongest first, one per kind, for naming them in a question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NEGATIVE = ("angry", "disgusted", "fearful", "sad")
POSITIVE = ("happy", "surprised")
KIND = {
    "angry": "anger",
    "disgusted": "anger",
    "fearful": "fear",
    "sad": "sadness",
    "happy": "joy",
    "surprised": "joy",
    "neutral": "calm",
}
SETTLED = 0.5
"""A fused confidence at or above this settles a disagreement between the voice and the words."""
SPEECH_MIN, TEXT_MIN = 0.4, 0.35
"""Each side's confidence needed for its feeling to count against the other's."""
CALM_WORDS_MIN = 0.5
"""Calm words against a negative voice: both sides need this confidence."""
HAPPY_GAP = 0.1
"""Surprised wins "narrowly" when happy is within this of it."""
NAMEABLE_MIN = 0.15


@dataclass(frozen=True)
class Signals:
    """What the planner knows about the emotion of one utterance (all but ``label`` optional)."""

    label: str
    confidence: float | None = None
    scores: Mapping[str, float] | None = None
    speech_label: str | None = None
    speech_confidence: float | None = None
    text_label: str | None = None
    text_confidence: float | None = None
    fallback_action: str | None = None


@dataclass(frozen=True)
class Reading:
    unsure: bool
    disagree: bool
    happy_close: bool
    heard: tuple[str, ...]


def _enough(conf: float | None, minimum: float) -> bool:
    return conf is None or conf >= minimum


def disagreement(s: Signals) -> bool:
    sl, tl = s.speech_label, s.text_label
    if sl is None or tl is None or (s.confidence is not None and s.confidence >= SETTLED):
        return False
    ks, kt = KIND.get(sl), KIND.get(tl)
    if ks is None or kt is None or ks == kt:
        return False
    if ks != "calm" and kt != "calm":
        masking = sl in POSITIVE and tl in NEGATIVE
        return not masking and _enough(s.speech_confidence, SPEECH_MIN) and _enough(s.text_confidence, TEXT_MIN)
    if kt == "calm" and sl in NEGATIVE:
        return _enough(s.speech_confidence, CALM_WORDS_MIN) and _enough(s.text_confidence, CALM_WORDS_MIN)
    return False


def read(s: Signals, min_confidence: float = 0.3) -> Reading:
    unsure = (
        s.fallback_action in ("ask_to_clarify", "ask_to_repeat")
        or s.label in ("other", "unknown")
        or (s.confidence is not None and s.confidence < min_confidence)
    )
    disagree = disagreement(s)
    scores = s.scores or {}
    happy_close = s.label == "surprised" and (
        "happy" in (s.speech_label, s.text_label)
        or scores.get("happy", 0.0) >= scores.get("surprised", 1.0) - HAPPY_GAP
    )
    if disagree:
        order = [s.text_label, s.speech_label]
    else:
        ranked = sorted((x for x in NEGATIVE if scores.get(x, 0.0) >= NAMEABLE_MIN), key=lambda x: -scores[x])
        order = [*ranked, s.text_label, s.speech_label, s.label]
    heard: list[str] = []
    for x in order:
        if x in NEGATIVE and all(KIND[x] != KIND[h] for h in heard):
            heard.append(x)
    return Reading(unsure=unsure, disagree=disagree, happy_close=happy_close, heard=tuple(heard))
