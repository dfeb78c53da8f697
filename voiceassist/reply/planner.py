"""Choose what to say, and in which tone, from the fused emotion, the words and the mood history.

Order:
1. a crisis phrase gets the fixed crisis reply (resources/replies/crisis.toml), never composed or generated;
2. nothing understood (``ask_to_repeat``, no topic or intent in the words): a request to repeat;
3. good news in the words ("won", "got the job", "录取", "中奖") unless the emotion is clearly negative,
   or "surprised" with happy close behind: shared joy (the "happy" strategy);
4. unsure emotion, voice and words that disagree (voiceassist/reply/reading.py), or a flat voice over
   something hard: with a topic (resources/replies/topics.toml), a question that names what was heard
   ("It sounds like work was hard today — was it more frustrating or more upsetting?", strategy
   "clarify_named"; a topic may name a strategy to use instead, e.g. a loss gets empathy); with an intent,
   its reply (a flat voice over something an intent answers, "I can't sleep", gets the intent's reply);
   otherwise a gentle generic clarification (clarify.toml), naming the voice when it says more than the words;
5. otherwise the emotion's strategy (tones.toml): about the topic, composed from an opener, the topic's
   acknowledgement and a question or offer; an intent's content reply (intents.toml); or a strategy line.
Replies are chosen so that their parts do not repeat each other and no phrase of the last three replies
comes back (voiceassist/reply/compose.py). Someone who has been low for several turns is not answered
with cheerfulness ("gentle" replaces "cheerful").
"""

from __future__ import annotations

import itertools
import random
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceassist.lang import lang as lang_of
from voiceassist.reply.compose import Composer, combos, fill, with_who
from voiceassist.reply.overlap import words
from voiceassist.reply.reading import KIND, NEGATIVE, Reading, read
from voiceassist.reply.request import ReplyRequest
from voiceassist.reply.tones import TONE_NAMES
from voiceassist.reply.topics import TopicBook, TopicMatch

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STRATEGY = {
    "angry": "angry",
    "disgusted": "disgusted",
    "sad": "sad",
    "fearful": "fearful",
    "happy": "happy",
    "surprised": "surprised",
    "neutral": "neutral",
}
_OPENER_FOR = {"angry", "sad", "fearful", "disgusted"}

# Generated text must not diagnose, prescribe, get over-familiar or touch self-harm methods.
_BLOCKED = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\byou (have|suffer from|are suffering from) (depression|anxiety|bipolar|ptsd|adhd|a disorder)",
        r"\b(diagnos\w*|prescri\w*|medication|antidepressant|dosage|pills?)\b",
        r"\b(honey|darling|sweetheart|babe|baby|my love|i love you)\b",
        r"\b(kill|hurt|harm|cut) (yourself|your self)\b",
        r"\b(suicide|overdose)\b",
        r"你(得了|患有|有)(抑郁症|焦虑症|精神病|双相)",
        r"(诊断|处方|药物|吃药|剂量|安眠药)",
        r"(亲爱的|宝贝|我爱你)",
        r"(自杀|割腕|跳楼|结束生命)",
    )
]


def content_filter(text: str, max_chars: int = 400) -> str | None:
    """None when ``text`` may be said; else the reason it may not."""
    if not text.strip():
        return "empty"
    if len(text) > max_chars:
        return "too long"
    if "\ufffd" in text:
        return "garbled (undecodable bytes)"
    for pat in _BLOCKED:
        if pat.search(text):
            return f"blocked: {pat.pattern}"
    return None


@dataclass(frozen=True)
class ReplyPlan:
    text: str
    language: str
    tone: str
    strategy: str
    """The tones.toml section used (angry, sad, ..., gentle), or "crisis" / "fallback" (a request to repeat or
    a generic clarification) / "clarify_named" (a question naming what was heard)."""
    intent: str | None
    source: str
    """"crisis", "fallback", "intent", "strategy" (or "generative" once a model wrote it)."""
    topic: str | None = None
    """The topics.toml topic the reply is about, if any."""


_ACK = {s: "ack_hard" for s in ("angry", "disgusted", "sad", "fearful")} | {"happy": "ack_good", "gentle": "ack_good"}
"""The topic acknowledgement each strategy uses; the rest (neutral, surprised): ack_plain."""
_CONTENT_FIRST = {"neutral"}
"""Strategies for which an intent's content reply comes before the topic's acknowledgement."""
_REPEAT = {"en": "Sorry, could you say that again?", "zh": "抱歉，可以再说一遍吗？"}


def _says(text: str, word: str, lang: str) -> bool:
    return word in text if lang == "zh" else word.lower() in words(text)


class ReplyPlanner:
    def __init__(
        self,
        folder: Path,
        seed: int | None = None,
        low_mood_valence: float = -0.3,
        low_mood_turns: int = 3,
        min_confidence: float = 0.3,
        history: int = 3,
    ) -> None:
        self.tones = self._load(folder / "tones.toml")
        self.intents = self._load(folder / "intents.toml")
        self.crisis = self._load(folder / "crisis.toml")
        self.clarify = self._load(folder / "clarify.toml", optional=True)
        try:
            self.book = TopicBook(
                self._load(folder / "topics.toml", optional=True), self._load(folder / "cues.toml", optional=True)
            )
        except ValueError as e:
            raise ValueError(f"{folder}: {e}") from e
        self.low_mood_valence = low_mood_valence
        self.low_mood_turns = low_mood_turns
        self.min_confidence = min_confidence
        self._rng = random.Random(seed)
        self.composer = Composer(content_filter, self.book.stems, history)
        self._intent_res = {
            name: [re.compile(r"(?<!\w)" + re.escape(k.lower()) + r"(?!\w)") for k in spec.get("keywords_en", [])]
            for name, spec in self.intents.items()
        }
        for name in ("neutral", "sad", "happy", "angry", "fearful", "surprised", "gentle"):
            if name not in self.tones:
                raise ValueError(f"{folder / 'tones.toml'}: missing [{name}]")
        for name, section in self.tones.items():
            if section.get("tone") not in TONE_NAMES:
                raise ValueError(f"{folder / 'tones.toml'}: [{name}] tone must be one of {', '.join(TONE_NAMES)}")
        for t in self.book.topics:
            instead = t.spec.get("unsure")
            if instead is not None and instead not in self.tones:
                raise ValueError(f"{folder / 'topics.toml'}: [{t.name}] unsure must name a tones.toml section")

    def tone_for(self, label: str) -> str:
        """The reply tone for an emotion label (tones.toml), "neutral" for one it does not name."""
        section = self.tones.get(label)
        return str(section["tone"]) if section else "neutral"

    @staticmethod
    def _load(path: Path, optional: bool = False) -> dict[str, Any]:
        if optional and not path.is_file():
            return {}
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ValueError(f"cannot read reply data {path}: {e}") from e

    def match_intent(self, text: str, language: str) -> str | None:
        low = text.lower()
        for name, spec in self.intents.items():
            if any(p.search(low) for p in self._intent_res[name]):
                return name
            if any(k in text for k in spec.get("keywords_zh", [])):
                return name
        return None

    def match_topic(self, text: str, language: str, keywords: Iterable[str] = ()) -> TopicMatch | None:
        return self.book.match(text, language, keywords) if text.strip() else None

    def strategy_for(self, label: str, mood_valence: float | None, mood_turns: int) -> str:
        strategy = STRATEGY.get(label, "neutral")
        if self._low(mood_valence, mood_turns) and strategy in ("happy", "surprised"):
            strategy = "gentle"  # no cheerfulness for someone who has been low for a while
        return strategy

    def _low(self, mood_valence: float | None, mood_turns: int) -> bool:
        return mood_valence is not None and mood_turns >= self.low_mood_turns and mood_valence <= self.low_mood_valence

    def plan(self, req: ReplyRequest) -> ReplyPlan:
        """The reply to one utterance (voiceassist/reply/request.py says what a request holds)."""
        label, text = req.label, req.text
        fallback_action, suggested_response = req.fallback_action, req.suggested_response
        mood_valence, mood_turns = req.mood_valence, req.mood_turns
        lang = lang_of(req.language)
        if req.crisis:  # fixed and first: never composed around
            reply = str(self.crisis[lang])
            self.composer.remember(reply)
            return ReplyPlan(reply, lang, "calm", "crisis", None, "crisis")
        topic = self.match_topic(text, lang, req.keywords)
        intent = self.match_intent(text, lang) if text.strip() else None
        if fallback_action == "ask_to_repeat" and topic is None and intent is None:
            repeat = self.clarify.get("repeat", {}).get(lang, [])
            return self._ask([*([suggested_response] if suggested_response else []), *self._shuffled(repeat)], lang)
        r = read(req.signals(), self.min_confidence)
        news = bool(text.strip()) and self.book.good_news(text, lang)
        if (news and (label not in NEGATIVE or r.unsure)) or (label == "surprised" and r.happy_close):
            return self._compose("gentle" if self._low(mood_valence, mood_turns) else "happy", lang, topic, intent)
        # a flat voice over something hard ("my dog died", said evenly): ask, unless an intent answers it
        flat_over_hard = topic is not None and topic.hard and label in ("neutral", "surprised") and intent is None
        if r.unsure or r.disagree or flat_over_hard:
            if topic is not None:
                instead = topic.topic.spec.get("unsure")
                if isinstance(instead, str):
                    return self._compose(instead, lang, topic, intent)
                named = self._clarify_named(topic, r, lang, intent)
                if named is not None:
                    return named
            elif intent is not None and not r.disagree:
                return self._compose("neutral", lang, None, intent)
            return self._clarify(r, req.speech_label, suggested_response, lang)
        return self._compose(self.strategy_for(label, mood_valence, mood_turns), lang, topic, intent)

    # -- composing -----------------------------------------------------------------------------------
    def _shuffled(self, items: Iterable[Any]) -> list[str]:
        out = [str(x) for x in items]
        self._rng.shuffle(out)
        return out

    def _openers(self, section: Mapping[str, Any], lang: str) -> list[str]:
        first = str(section.get(f"opener_{lang}", ""))
        rest = [x for x in self._shuffled(section.get(f"openers_{lang}", [])) if x != first]
        return [first, *rest]

    def _compose(self, strategy: str, lang: str, topic: TopicMatch | None, intent: str | None) -> ReplyPlan:
        section = self.tones[strategy]
        openers = self._openers(section, lang)
        orders: list[Iterable[tuple[str, ...]]] = []
        about = content = None
        if topic is not None:
            acks = with_who(topic.topic.lines(_ACK.get(strategy, "ack_plain"), lang), topic.who, self._rng)
            about = combos(openers, acks, self._shuffled(section.get(f"asks_{lang}", [])))
        if intent is not None:
            bodies = self._shuffled(self.intents[intent][lang])
            content = combos(openers if strategy in _OPENER_FOR else [""], bodies)
        if about is not None and content is not None:
            orders = [content, about] if strategy in _CONTENT_FIRST else [about, content]
        elif about is not None or content is not None:
            orders = [x for x in (about, content) if x is not None]
        else:
            orders = [[(line,) for line in self._shuffled(section[lang])]]
        # the last resort, when everything above repeats a recent reply: an opener and a question
        orders.append(combos([*openers, ""], self._shuffled(section.get(f"asks_{lang}", []))))
        text = self.composer.choose(itertools.chain(*orders), lang) or str(section[lang][0])
        self.composer.remember(text)
        name = topic.name if topic is not None else (self.intents[intent].get("topic") if intent else None)
        source = "intent" if intent is not None else "strategy"
        return ReplyPlan(text, lang, str(section["tone"]), strategy, intent, source, name)

    def _pair(self, r: Reading, topic: TopicMatch, feel: Mapping[str, str]) -> tuple[str, str]:
        """The two feelings a named question offers: the strongest heard, then the other side's (when voice
        and words disagree) or the topic's usual alternative."""
        default = [str(x) for x in topic.topic.spec.get("feel_pair", ["angry", "sad"])]
        pool = [x for x in (*r.heard, *default, *feel) if x in feel]
        a = pool[0]
        rest = [*(r.heard[1:] if r.disagree else ()), *default, *feel]
        b = next((x for x in rest if x in feel and KIND.get(x) != KIND.get(a)), a)
        return a, b

    def _clarify_named(self, topic: TopicMatch, r: Reading, lang: str, intent: str | None) -> ReplyPlan | None:
        named = self.clarify.get("named", {}).get(lang, [])
        feel = self.clarify.get("feel", {}).get(lang, {})
        if not named or not feel:
            return None
        a, b = self._pair(r, topic, feel)
        heard = with_who(topic.topic.lines("heard", lang), topic.who, self._rng)
        offered = (str(feel[a]), str(feel[b]))  # "... is worrying you — more worrying or ...?" says it twice
        heard = [h for h in heard if not any(_says(h, w, lang) for w in offered)] or heard
        templates = self._shuffled(named)
        cands = ((fill(t, heard=h, a=str(feel[a]), b=str(feel[b])),) for h in heard for t in templates)
        text = self.composer.choose(cands, lang, strict=True)  # else a generic question, rather than a repeat
        if text is None:
            return None
        self.composer.remember(text)
        return ReplyPlan(text, lang, "gentle", "clarify_named", intent, "fallback", topic.name)

    def _clarify(self, r: Reading, speech_label: str | None, suggested: str | None, lang: str) -> ReplyPlan:
        """A generic clarification; when the voice says more than the words, one that names the voice."""
        lines: list[str] = []
        voice = self.clarify.get("voice", {}).get(lang, {})
        if r.disagree and speech_label in voice:
            mixed = self._shuffled(self.clarify.get("mixed", {}).get(lang, []))
            lines += [fill(x, voice=str(voice[speech_label])) for x in mixed]
        lines += [suggested] if suggested else []
        lines += self._shuffled(self.clarify.get("generic", {}).get(lang, []))
        return self._ask(lines, lang)

    def _ask(self, lines: list[str], lang: str) -> ReplyPlan:
        text = self.composer.choose(((x,) for x in lines), lang) or (lines[0] if lines else _REPEAT[lang])
        self.composer.remember(text)
        return ReplyPlan(text, lang, "neutral", "fallback", None, "fallback")
