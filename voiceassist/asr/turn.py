"""End of turn: how much silence ends what the person is saying, from the words heard so far and the pitch.

Pure functions. People pause inside a sentence ("I went to the shop and ... bought bread") and at its end;
a fixed silence either cuts the first kind or makes every answer wait for the second. The words tell them
apart: a sentence that ends on final punctuation (Whisper writes it) and a falling pitch is probably
finished; one that trails off on a conjunction or a filler ("and", "because", "um", "然后", "就是", "嗯")
is probably not. A question counts as finished whatever the pitch does (questions often rise).
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import numpy.typing as npt

from voiceassist.config import TurnConfig, VadConfig
from voiceassist.lang import is_zh

Completeness = Literal["complete", "trailing", "unknown"]

# Words after which an English speaker is not done: conjunctions, fillers, articles and prepositions that
# (almost) never end a sentence. Words that can ("I think I can.", "Come in.") are not listed.
TRAILING_EN = frozenset((
    "and", "but", "or", "nor", "so", "because", "cause", "cuz", "since", "although", "though", "if", "unless",
    "whereas", "plus", "which", "whose", "um", "uh", "uhm", "erm", "er", "hmm", "like", "the", "a", "an", "my",
    "your", "our", "their", "his", "her", "its", "of", "for", "with", "from", "into", "than",
))  # fmt: skip
# ... and in Mandarin (matched at the end of the text, longest first).
TRAILING_ZH = (
    "然后呢", "还有就是", "就是说", "然后", "因为", "所以", "但是", "可是", "不过", "而且", "还有", "如果", "要是",
    "虽然", "就是", "那个", "这个", "的话", "或者", "还是", "以及", "并且", "接着", "嗯", "呃", "额", "啊那",
)  # fmt: skip
_FINAL = re.compile(r"[.!?。！？…]+[\"'”’）)\]]*\s*$")
_QUESTION = re.compile(r"[?？][\"'”’）)\]]*\s*$")
_TAIL_PUNCT = re.compile(r"[\s.,!?;:…。，！？；：、\"'”’“‘（）()\[\]-]+$")


def completeness(text: str, language: str) -> Completeness:
    """Whether the words so far read as a finished sentence, as trailing off, or neither."""
    t = text.strip()
    if not t:
        return "unknown"
    bare = _TAIL_PUNCT.sub("", t)
    if is_zh(language, bare[-1:]) and bare.endswith(TRAILING_ZH):
        return "trailing"
    words = re.findall(r"[a-z']+", bare.lower())
    if words and words[-1] in TRAILING_EN:
        return "trailing"
    if t.endswith(("...", "…", "-", ",", "，", "、")):
        return "trailing"
    return "complete" if _FINAL.search(t) else "unknown"


def is_question(text: str) -> bool:
    return bool(_QUESTION.search(text.strip()))


def pitch_falls(audio: npt.NDArray[np.float32], tail_s: float = 0.4, drop_st: float = 1.0) -> bool | None:
    """Whether the pitch falls at the end of the speech in ``audio`` (16 kHz float32): the median pitch of
    the last ``tail_s`` of voiced frames is at least ``drop_st`` semitones under that of the utterance.
    None when there are too few voiced frames to tell."""
    from voiceassist.emotion.prosody import HOP, SR, frame_features

    f0 = frame_features(np.asarray(audio, dtype=np.float32))["f0"]
    voiced = f0[f0 > 0]
    tail_n = max(3, int(tail_s * SR / HOP))
    if len(voiced) < 2 * tail_n:
        return None
    st = 12 * np.log2(voiced / 100.0)
    return bool(np.median(st[-tail_n:]) <= np.median(st) - drop_st)


def hangover_ms(
    turn: TurnConfig, vad: VadConfig, text: str, language: str, falling: bool | None, p_finished: float | None = None
) -> int:
    """Silence (ms) that ends this turn, from the words so far, whether the pitch fell at the end, and (the
    semantic end of turn) the end-of-turn model's P(finished); None: no model, the trailing-word rule."""
    if turn.end_of_turn == "fixed":
        return vad.hangover_ms
    if turn.end_of_turn == "semantic" and p_finished is not None and text.strip():
        if p_finished >= turn.finished_above and (falling is not False or is_question(text)):
            return min(turn.complete_hangover_ms, vad.hangover_ms)
        if p_finished <= turn.unfinished_below:
            return max(turn.trailing_hangover_ms, vad.hangover_ms)
        return vad.hangover_ms
    kind = completeness(text, language)
    if kind == "trailing":
        return max(turn.trailing_hangover_ms, vad.hangover_ms)
    if kind == "complete" and (falling or is_question(text)):
        return min(turn.complete_hangover_ms, vad.hangover_ms)
    return vad.hangover_ms
