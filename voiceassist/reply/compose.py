"""Composing a reply from parts (opener, acknowledgement of the topic, a question or an offer) that do not
repeat each other or the last few replies.

Candidates come in order of preference (each a tuple of parts); the first whose parts do not clash
(voiceassist/reply/overlap.py: the same opening twice, a shared phrase of 3 words/characters, a word such
as "sorry" twice) and that shares no phrase of 4 words/characters, nor its opening, with the last
``history`` replies, and that the content filter lets through, is said. When none passes, the least bad is.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from voiceassist.reply.overlap import history_clash, parts_clash

MAX_CANDIDATES = 600


def join(parts: Sequence[str], language: str) -> str:
    parts = [p.strip() for p in parts if p and p.strip()]
    if language == "zh":
        return "".join(parts)
    return " ".join(p[:1].upper() + p[1:] for p in parts)


def fill(line: str, **values: str) -> str:
    """``line`` with its ``{name}`` slots filled (plain replacement: the data may hold other braces)."""
    for name, value in values.items():
        line = line.replace("{" + name + "}", value)
    return line


def with_who(lines: Iterable[str], who: str | None, rng: random.Random) -> list[str]:
    """Lines naming ``who`` first (when someone was named), then the others; each group shuffled."""
    named = [fill(x, who=who) for x in lines if "{who}" in x] if who else []
    plain = [x for x in lines if "{who}" not in x]
    rng.shuffle(named)
    rng.shuffle(plain)
    return named + plain


def combos(*groups: Sequence[str]) -> Iterator[tuple[str, ...]]:
    """Every choice of one item per group, the first group varying slowest."""
    return itertools.product(*[g or [""] for g in groups])


class Composer:
    def __init__(
        self,
        check: Callable[[str], str | None],
        stems: Mapping[str, Sequence[str]] | None = None,
        history: int = 3,
    ) -> None:
        self.check = check
        """The content filter: None when a text may be said."""
        self.stems = dict(stems or {})
        self.history: deque[str] = deque(maxlen=history)
        self.last_rejected: list[tuple[str, str]] = []
        """(text, why) of the candidates passed over by the last ``choose``, for tests and tracing."""

    def remember(self, text: str) -> None:
        self.history.append(text)

    def problem(self, parts: Sequence[str], language: str) -> tuple[int, str] | None:
        """How bad a candidate is (lower is better) and why, or None when it may be said as it is."""
        text = join(parts, language)
        why = self.check(text)
        if why is not None:
            return 100, why
        if text in self.history:
            return 50, "same as a recent reply"
        clash = parts_clash([p for p in parts if p], language, 3, self.stems.get(language, ()))
        if clash is not None:
            return 10, clash  # worse than repeating a recent phrase
        # when nothing is fresh: repeat as little, and as long ago, as possible (weights 1 oldest .. 3 newest)
        clashes = [(i + 1, why) for i, old in enumerate(self.history) if (why := history_clash(text, [old], language))]
        if clashes:
            return sum(w for w, _ in clashes), clashes[-1][1]
        return None

    def choose(self, candidates: Iterable[Sequence[str]], language: str, strict: bool = False) -> str | None:
        """The first candidate that passes every check, else the least bad one (None when there were none,
        or all failed the content filter; with ``strict``, None unless one passed every check)."""
        best: tuple[int, str] | None = None
        self.last_rejected = []
        for parts in itertools.islice(candidates, MAX_CANDIDATES):
            text = join(parts, language)
            bad = self.problem(parts, language)
            if bad is None:
                return text
            self.last_rejected.append((text, bad[1]))
            if bad[0] < 100 and (best is None or bad[0] < best[0]):
                best = (bad[0], text)
        return best[1] if best and not strict else None
