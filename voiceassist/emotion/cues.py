"""Cue features for the trained text-emotion head: what the words around the emotion words do.

The lexicon (``text.py``) finds emotion words; the head learns from e5 embeddings, which see every word the
same way. The errors the head made most were about the words around them, so these features count, from
the lists in ``resources/emotion_cues.toml`` (data, documented there):

- **negation scope and change of state**: the mass of the negated emotion words by the word's label ("not
  worried": fearful, "不生气": angry), whether the sentence says a feeling stopped or changed ("no longer",
  "any more", "stopped", "不再", "已经不", "不...了"), and the two together (the feeling is over: "I'm not
  worried any more" says what the speaker feels now, which is not fear);
- **blame and injustice**, for anger without an anger word ("third time", "charged", "promised", "凭什么",
  "又", "明明", "甩锅");
- **the unexpected**, for surprise of either sign without a surprise word ("out of nowhere", "turns out",
  "hold on", "居然", "竟然", "没想到", "怎么就");
- **sarcasm**: a pleased opener in the first clause ("Lovely, ...", "太贴心了，..."), and the opener followed
  by something negative (lexicon, blame, or a negated pleasant word);
- the words of the feelings that are **other** (boredom, confusion, embarrassment, guilt, shame, envy,
  pride, nostalgia, curiosity, relief, tiredness, indecision), and a question mark.

They are numbers for the head, not rules: training decides how much each counts, and for which emotion.
The lexicon backend itself does not use them.
"""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from voiceassist.emotion.base import EmotionModelError
from voiceassist.emotion.labels import INDEX
from voiceassist.emotion.text import NEGATIVE, LexiconReading
from voiceassist.paths import resources_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CUE_GROUPS = ("change", "blame", "unexpected", "sarcasm", "other")
_CUE_NEGATED = ("angry", "disgusted", "fearful", "happy", "sad", "surprised")
CUE_NAMES: tuple[str, ...] = (
    *(f"negated_{label}" for label in _CUE_NEGATED),
    "change",
    "negated_and_changed",
    "blame",
    "unexpected",
    "sarcasm_opener",
    "sarcasm",
    "other_feeling",
    "question",
)
"""The cue features (``cue_features``), in order: the mass of the negated emotion words by the word's label;
the change-of-state cues, and the negated mass when there is one (the feeling is over); blame/injustice and
unexpectedness cue counts; a pleased opener, and the opener with something negative after it; the "other"
feelings' words; a question mark."""
_CLAUSE_RE = re.compile(r"[,.!?;:，。！？；：]")
_GAP = {"en": r"(?:\s+[a-z']+){0,4}?\s+", "zh": r"[^,.!?;:，。！？；：\s]{1,4}?"}


Cue = str | re.Pattern[str]
"""A Chinese phrase without a gap is looked for as it is; the others are patterns."""


def _cue(phrase: str) -> Cue:
    """One cue phrase: English whole words (a gap "..." is up to 4 words), Chinese anywhere (up to 4
    characters)."""
    zh = bool(re.search(r"[\u4e00-\u9fff]", phrase))
    parts = [p.strip() for p in phrase.lower().split("...")]
    if zh:
        return parts[0] if len(parts) == 1 else re.compile(_GAP["zh"].join(re.escape(p) for p in parts))
    body = _GAP["en"].join(r"\s+".join(re.escape(w) for w in p.split()) for p in parts)
    return re.compile(r"(?<![a-z'])" + body + (r"(?![a-z'])" if phrase[-1:].isalpha() else ""))


@lru_cache(maxsize=2)
def load_cues(path: str = "") -> dict[str, tuple[Cue, ...]]:
    """The cue groups of ``resources/emotion_cues.toml``, both languages' phrases in one list per group (a
    sentence that mixes Mandarin and English is read with both)."""
    where = Path(path) if path else resources_dir() / "emotion_cues.toml"
    try:
        table = tomllib.loads(where.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise EmotionModelError(f"cannot read the emotion cues {where}: {e}") from e
    if set(table) != set(CUE_GROUPS):
        raise EmotionModelError(f"{where}: the groups are {sorted(table)}, expected {sorted(CUE_GROUPS)}")
    return {g: tuple(_cue(p) for lang in ("en", "zh") for p in table[g].get(lang, [])) for g in CUE_GROUPS}


def _count(cues: tuple[Cue, ...], text: str) -> float:
    """How many of the cues are in ``text`` (at most 3)."""
    found = sum(1 for c in cues if (c in text if isinstance(c, str) else c.search(text)))
    return float(min(3, found))


def cue_features(reading: LexiconReading, text: str) -> np.ndarray:
    """The ``CUE_NAMES`` features of one sentence, from its lexicon reading and ``emotion_cues.toml``."""
    cues = load_cues()
    low = text.lower().replace("’", "'")
    negated = np.array([reading.negated[INDEX[label]] for label in _CUE_NEGATED])
    change = _count(cues["change"], low)
    blame = _count(cues["blame"], low)
    opener = _count(cues["sarcasm"], _CLAUSE_RE.split(low.strip(), maxsplit=1)[0])
    bad = reading.mass[[INDEX[label] for label in NEGATIVE]].sum() + blame + reading.negated[INDEX["happy"]]
    return np.concatenate(
        [
            negated,
            [
                change,
                float(change > 0) * negated.sum(),
                blame,
                _count(cues["unexpected"], low),
                float(opener > 0),
                float(opener > 0 and bad > 0),
                _count(cues["other"], low),
                float("?" in text or "？" in text),
            ],
        ]
    )
