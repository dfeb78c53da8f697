"""The record format of the data toolkit (JSONL, UTF-8, one object per line):

``{"dialogue_id", "lang", "text", "response", "emotion", "core_words", "source", "split"}``

``emotion`` is one of the 9 Emotion2Vec+ labels; ``lang`` is "zh" or "en"; ``core_words`` a list of the
words that carry the emotion; ``split`` is "train", "dev", "test" or empty. Fields a step does not know
are kept as they are, in order."""

from __future__ import annotations

from typing import Any

from voiceassist.emotion.labels import LABELS

FIELDS = ("dialogue_id", "lang", "text", "response", "emotion", "core_words", "source", "split")
LANGS = ("zh", "en")
SPLITS = ("train", "dev", "test", "")
MAIN_EMOTIONS = ("angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")
"""The seven classes a seed corpus must cover (the other two labels, other and unknown, are rare)."""

Record = dict[str, Any]


def new_record(
    dialogue_id: str,
    lang: str,
    text: str,
    response: str = "",
    emotion: str = "neutral",
    core_words: list[str] | None = None,
    source: str = "",
    split: str = "",
) -> Record:
    return {
        "dialogue_id": dialogue_id,
        "lang": lang,
        "text": text,
        "response": response,
        "emotion": emotion,
        "core_words": list(core_words or []),
        "source": source,
        "split": split,
    }


def is_label(value: Any) -> bool:
    return isinstance(value, str) and value in LABELS
