"""Choose what to say, and in which tone, from the fused emotion, the words and the mood history.

Order: a crisis phrase gets the fixed crisis reply (never generated); a fallback action (unknown/other/
unsure) gets its question; an intent in resources/replies/intents.toml gets its content reply (with the
tone's opener in front for angry, sad and fearful); otherwise the emotion's strategy line from
resources/replies/tones.toml. A person who has been low for several turns is not answered with
cheerfulness ("gentle" replaces "cheerful"). The same reply never comes twice in a row.
"""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceassist.reply.tones import TONE_NAMES

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
    """The tones.toml section used (angry, sad, ..., gentle), or "crisis" / "fallback"."""
    intent: str | None
    source: str
    """"crisis", "fallback", "intent", "strategy" (or "generative" once a model wrote it)."""


class ReplyPlanner:
    def __init__(
        self, folder: Path, seed: int | None = None, low_mood_valence: float = -0.3, low_mood_turns: int = 3
    ) -> None:
        self.tones = self._load(folder / "tones.toml")
        self.intents = self._load(folder / "intents.toml")
        self.crisis = self._load(folder / "crisis.toml")
        self.low_mood_valence = low_mood_valence
        self.low_mood_turns = low_mood_turns
        self._rng = random.Random(seed)
        self._last: str | None = None
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

    def tone_for(self, label: str) -> str:
        """The reply tone for an emotion label (tones.toml), "neutral" for one it does not name."""
        section = self.tones.get(label)
        return str(section["tone"]) if section else "neutral"

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
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

    def _pick(self, options: list[str]) -> str:
        fresh = [o for o in options if o != self._last] or options
        choice = self._rng.choice(fresh)
        self._last = choice
        return choice

    def strategy_for(self, label: str, mood_valence: float | None, mood_turns: int) -> str:
        strategy = STRATEGY.get(label, "neutral")
        low = mood_valence is not None and mood_turns >= self.low_mood_turns and mood_valence <= self.low_mood_valence
        if low and strategy in ("happy", "surprised"):
            strategy = "gentle"  # no cheerfulness for someone who has been low for a while
        return strategy

    def plan(
        self,
        label: str,
        text: str,
        language: str,
        *,
        crisis: bool = False,
        fallback_action: str | None = None,
        suggested_response: str | None = None,
        mood_valence: float | None = None,
        mood_turns: int = 0,
    ) -> ReplyPlan:
        lang = "zh" if language.startswith("zh") else "en"
        if crisis:
            reply = str(self.crisis[lang])
            self._last = reply
            return ReplyPlan(reply, lang, "calm", "crisis", None, "crisis")
        if fallback_action and suggested_response:
            self._last = suggested_response
            return ReplyPlan(suggested_response, lang, "neutral", "fallback", None, "fallback")
        strategy = self.strategy_for(label, mood_valence, mood_turns)
        section = self.tones[strategy]
        intent = self.match_intent(text, lang)
        if intent is not None:
            body = self._pick(list(self.intents[intent][lang]))
            opener = str(section.get(f"opener_{lang}", "")) if strategy in _OPENER_FOR else ""
            sep = "" if lang == "zh" else " "
            reply = f"{opener}{sep}{body}" if opener else body
            self._last = reply
            return ReplyPlan(reply, lang, str(section["tone"]), strategy, intent, "intent")
        return ReplyPlan(self._pick(list(section[lang])), lang, str(section["tone"]), strategy, None, "strategy")
