"""What an utterance is about: topics (resources/replies/topics.toml) and good news (cues.toml), in both
languages, from the words and the text backend's keywords (pure).

A topic matches when one of its keywords appears (English: whole words, case-insensitive; Chinese:
substring); its ``except`` phrases are ignored first ("sick of" is not about health). Of several matching
topics the highest ``rank`` wins (a loss outranks the pet that died), then the one mentioned first.
Person and pet words also give ``who`` ("your mom", "你的猫"), which a reply can name. Good news is a cue
("won", "got the job", "录取", "中奖") that no negator just before it turns ("didn't win", "没考上").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from voiceassist.lang import lang as lang_of

_LANGS = ("en", "zh")


@lru_cache(maxsize=4096)
def _en_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])" + re.escape(phrase.lower()) + r"(?![\w'\u2019-])")


def _find(text: str, phrases: Iterable[str], lang: str) -> int | None:
    """Where the first of ``phrases`` occurs in ``text`` (lower-cased for English), or None."""
    best: int | None = None
    for p in phrases:
        if lang == "zh":
            i = text.find(p)
            pos = i if i >= 0 else None
        else:
            m = _en_pattern(p).search(text)
            pos = m.start() if m else None
        if pos is not None and (best is None or pos < best):
            best = pos
    return best


def _prepare(text: str, lang: str) -> str:
    return text if lang == "zh" else text.lower().replace("\u2019", "'")


@dataclass(frozen=True)
class Topic:
    name: str
    rank: int
    keywords: Mapping[str, tuple[str, ...]]
    excepts: Mapping[str, tuple[str, ...]]
    hard_cues: Mapping[str, tuple[str, ...]]
    always_hard: bool
    who: Mapping[str, Mapping[str, str]]
    spec: Mapping[str, Any] = field(repr=False)

    def lines(self, kind: str, lang: str) -> list[str]:
        """``ack_hard``, ``ack_good``, ``ack_plain`` or ``heard`` lines of this topic."""
        return [str(x) for x in self.spec.get(f"{kind}_{lang}", [])]


@dataclass(frozen=True)
class TopicMatch:
    topic: Topic
    position: int
    hard: bool
    """Something bad happened by the words themselves ("yelled", "died", "失眠")."""
    who: str | None
    """A person or pet named in the utterance, as a reply can say it ("your mom", "妈妈")."""

    @property
    def name(self) -> str:
        return self.topic.name


class TopicBook:
    def __init__(self, topics: Mapping[str, Any], cues: Mapping[str, Any]) -> None:
        self.topics = [self._topic(name, spec) for name, spec in topics.items()]
        news = cues.get("good_news", {})
        self.news = {lang: tuple(str(x) for x in news.get(lang, [])) for lang in _LANGS}
        self.news_except = {lang: tuple(str(x) for x in news.get(f"except_{lang}", [])) for lang in _LANGS}
        neg = cues.get("negators", {})
        self.negators = {lang: tuple(str(x) for x in neg.get(lang, [])) for lang in _LANGS}
        self.stems = {lang: tuple(str(x) for x in cues.get("avoid_twice", {}).get(lang, [])) for lang in _LANGS}

    @staticmethod
    def _topic(name: str, spec: Mapping[str, Any]) -> Topic:
        def lists(prefix: str) -> dict[str, tuple[str, ...]]:
            return {lang: tuple(str(x) for x in spec.get(f"{prefix}_{lang}", [])) for lang in _LANGS}

        for lang in _LANGS:
            if not spec.get(f"keywords_{lang}"):
                raise ValueError(f"topics.toml: [{name}] needs keywords_{lang}")
            for kind in ("ack_hard", "ack_good", "ack_plain", "heard"):
                if not spec.get(f"{kind}_{lang}"):
                    raise ValueError(f"topics.toml: [{name}] needs {kind}_{lang}")
        who = {lang: {str(k): str(v) for k, v in spec.get(f"who_{lang}", {}).items()} for lang in _LANGS}
        return Topic(
            name=name,
            rank=int(spec.get("rank", 1)),
            keywords=lists("keywords"),
            excepts=lists("except"),
            hard_cues=lists("hard"),
            always_hard=bool(spec.get("always_hard", False)),
            who=who,
            spec=spec,
        )

    def match(self, text: str, language: str, keywords: Iterable[str] = ()) -> TopicMatch | None:
        """The topic of ``text`` (the text backend's ``keywords`` are searched too), or None."""
        lang = lang_of(language)
        base = _prepare(text, lang)
        extra = _prepare(" , ".join(keywords), lang)
        found: list[tuple[int, int, Topic, str]] = []
        for t in self.topics:
            seen = base
            for phrase in t.excepts[lang]:
                seen = seen.replace(phrase if lang == "zh" else phrase.lower(), " " * len(phrase))
            pos = _find(seen, t.keywords[lang], lang)
            if pos is None and extra.strip(" ,"):
                kpos = _find(extra, t.keywords[lang], lang)
                pos = None if kpos is None else len(seen) + kpos
            if pos is not None:
                found.append((-t.rank, pos, t, seen))
        if not found:
            return None
        found.sort(key=lambda f: (f[0], f[1]))
        _, pos, topic, seen = found[0]
        hard = topic.always_hard or _find(seen, topic.hard_cues[lang], lang) is not None
        return TopicMatch(topic, pos, hard, self._who(base, lang))

    def _who(self, text: str, lang: str) -> str | None:
        best: tuple[int, str] | None = None
        for t in self.topics:
            for word, phrase in t.who[lang].items():
                pos = _find(text, [word], lang)
                if pos is not None and (best is None or pos < best[0]):
                    best = (pos, phrase)
        return best[1] if best else None

    def good_news(self, text: str, language: str) -> bool:
        """Good news in the words, not negated just before ("didn't win", "没考上")."""
        lang = lang_of(language)
        seen = _prepare(text, lang)
        for phrase in self.news_except[lang]:
            seen = seen.replace(phrase, " " * len(phrase))
        for cue in self.news[lang]:
            if lang == "zh":
                starts = [m.start() for m in re.finditer(re.escape(cue), seen)]
            else:
                starts = [m.start() for m in _en_pattern(cue).finditer(seen)]
            for start in starts:
                if not self._negated(seen[:start], lang):
                    return True
        return False

    def _negated(self, before: str, lang: str) -> bool:
        if lang == "zh":
            tail = re.split(r"[，。！？；：,.!?;:]", before)[-1][-2:]
            return any(n in tail for n in self.negators["zh"])
        clause = re.split(r"[,.!?;:]", before)[-1]  # "No way, I got into ..." is not negated
        prev = re.findall(r"[a-z']+", clause)[-3:]
        return any(n in prev for n in self.negators["en"])
