"""Repetition checks on reply texts, in both languages (pure).

English is compared by words (lower case, apostrophes kept: "i'm"), Chinese by characters: n-grams are
taken inside each run of Chinese characters, so punctuation breaks them. Used by the composer to pick
reply parts that do not repeat each other ("I'm sorry ... I'm sorry ...") or the last few replies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_SENTENCE_EN = re.compile(r"[.!?;:\u2014]+")
_CLAUSE_ZH = re.compile(r"[，。！？；：、,.!?;:\u2014]+")


def _norm(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def words(text: str) -> list[str]:
    return _WORD.findall(_norm(text))


def ngrams(text: str, language: str, n: int) -> set[tuple[str, ...]]:
    """Word n-grams (English) or character n-grams inside runs of Chinese characters (Chinese)."""
    if language == "zh":
        out: set[tuple[str, ...]] = set()
        for run in _CJK_RUN.findall(text):
            out.update(tuple(run[i : i + n]) for i in range(len(run) - n + 1))
        return out
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def shared_phrases(a: str, b: str, language: str, n: int = 4) -> set[tuple[str, ...]]:
    """The phrases of ``n`` words (Chinese: characters) that both texts contain."""
    return ngrams(a, language, n) & ngrams(b, language, n)


def units(text: str, language: str) -> list[str]:
    """Sentences (English) or clauses (Chinese: a comma starts a new one too)."""
    pattern = _CLAUSE_ZH if language == "zh" else _SENTENCE_EN
    return [u.strip() for u in pattern.split(text) if u.strip()]


def opening(unit: str, language: str) -> tuple[str, ...]:
    """How a sentence or clause starts: its first two words, or its first two Chinese characters."""
    if language == "zh":
        chars = "".join(_CJK_RUN.findall(unit))
        return tuple(chars[:2]) if len(chars) >= 2 else ()
    w = words(unit)
    return tuple(w[:2]) if len(w) >= 2 else ()


def openings(text: str, language: str) -> list[tuple[str, ...]]:
    return [o for o in (opening(u, language) for u in units(text, language)) if o]


def doubled_opening(text: str, language: str) -> bool:
    """Two sentences (Chinese: clauses) of one reply that start the same way."""
    seen = openings(text, language)
    return len(seen) != len(set(seen))


def parts_clash(parts: Sequence[str], language: str, n: int = 3, stems: Iterable[str] = ()) -> str | None:
    """Why the parts of one reply repeat each other (None when they do not): the same opening in two
    parts, a shared phrase of ``n`` words/characters, or one of ``stems`` ("sorry", "难过") in two parts."""
    stems = tuple(stems)
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            if set(openings(a, language)) & set(openings(b, language)):
                return "doubled opening"
            if shared_phrases(a, b, language, n):
                return "repeated phrase"
            for s in stems:
                if _has_stem(a, s, language) and _has_stem(b, s, language):
                    return f"{s!r} twice"
    return None


def _has_stem(text: str, stem: str, language: str) -> bool:
    if language == "zh":
        return stem in text
    return stem in words(text)


def history_clash(text: str, history: Iterable[str], language: str, n: int = 4) -> str | None:
    """Why ``text`` repeats one of the ``history`` replies (None when it does not): a shared phrase of
    ``n`` words/characters, or the same first opening."""
    first = openings(text, language)[:1]
    for old in history:
        if shared_phrases(text, old, language, n):
            return "repeats a recent phrase"
        if first and first == openings(old, language)[:1]:
            return "starts like a recent reply"
    return None
