"""When the assistant may ask the person how they felt ("Did you feel more sad or more worried?"), and
reading their answer (pure). Only when it is unsure (the two most likely emotions close, the top one below
``reply.ask_below_confidence``) or when the mood is near a caregiver alert; at most
``reply.ask_max_per_session`` times a session; never on a crisis reply; never with ``reply.ask_feedback`` off.
The answer, in the next utterance's words, becomes a correction of the utterance asked about."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import INDEX, MAIN_LABELS
from voiceassist.lang import lang as lang_of

WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "angry": ("angry", "annoyed", "mad", "cross"),
        "disgusted": ("put off", "disgusted", "fed up"),
        "fearful": ("worried", "scared", "afraid", "anxious", "fearful"),
        "happy": ("happy", "glad", "good", "cheerful"),
        "neutral": ("calm", "fine", "okay", "neutral", "tired"),
        "sad": ("sad", "down", "low", "upset"),
        "surprised": ("surprised", "shocked"),
    },
    "zh": {
        "angry": ("生气", "气愤", "恼火"),
        "disgusted": ("反感", "厌恶", "讨厌"),
        "fearful": ("担心", "害怕", "焦虑"),
        "happy": ("开心", "高兴", "快乐"),
        "neutral": ("平静", "还好", "一般", "累"),
        "sad": ("难过", "伤心", "低落"),
        "surprised": ("惊讶", "吃惊"),
    },
}
QUESTION = {
    "en": "Just to be sure I read you right: did you feel more {a} or more {b}?",
    "zh": "我想确认一下我没理解错：你刚才是更{a}，还是更{b}？",
}
CLOSE = 0.15
"""Unsure: the top two emotions within this of each other."""


@dataclass
class AskPolicy:
    enabled: bool = True
    max_per_session: int = 2
    below_confidence: float = 0.45
    asked: int = 0
    pending: tuple[int, str, str] | None = None
    """(segment asked about, the two emotions offered)."""

    def question(
        self, segment_id: int, scores: npt.ArrayLike, crisis: bool, near_alert: bool, language: str
    ) -> str | None:
        """The question to ask instead of the usual reply, or None."""
        if not self.enabled or crisis or self.asked >= self.max_per_session:
            return None
        p = np.asarray(scores, np.float64)
        main = sorted(MAIN_LABELS, key=lambda lab: -p[INDEX[lab]])
        a, b = main[0], main[1]
        unsure = p[INDEX[a]] < self.below_confidence and p[INDEX[a]] - p[INDEX[b]] < CLOSE
        if not (unsure or near_alert):
            return None
        lang = lang_of(language)
        self.asked += 1
        self.pending = (segment_id, a, b)
        return QUESTION[lang].format(a=WORDS[lang][a][0], b=WORDS[lang][b][0])

    def answer(self, text: str, language: str) -> tuple[int, str] | None:
        """The next utterance after a question: (segment asked about, the emotion the person named) when they
        named exactly one of the two offered; the question is settled either way."""
        if self.pending is None:
            return None
        seg, a, b = self.pending
        self.pending = None
        lang = lang_of(language)
        low = text.lower()
        named = [lab for lab in (a, b) if any(_says(low, w, lang) for w in WORDS[lang][lab])]
        return (seg, named[0]) if len(named) == 1 else None


def _says(text: str, word: str, lang: str) -> bool:
    if lang == "zh":
        return word in text
    import re

    return re.search(rf"\b{re.escape(word)}\b", text) is not None
