"""The semantic end-of-turn model: from the words heard so far, how likely the person has finished their turn.

A logistic regression on hashed text features, English and Mandarin in one weight vector (every feature is
prefixed with its language, so each language has its own weights): the last characters of the text
(suffixes and character n-grams of the tail), the last words (English), the trailing-word rule of
``voiceassist.asr.turn`` (a conjunction, a filler, an article...) as features, the final punctuation mark and
the length. Trained by ``scripts/train_end_of_turn.py`` on the seed corpus cut into finished and unfinished
turns (``resources/models/end_of_turn/MODEL_CARD.md``). At run time it needs numpy only: a call hashes a few
dozen strings and sums as many weights (tens of microseconds).

``voiceassist.asr.turn.hangover_ms`` turns the probability into a hangover. A model that is missing or
damaged raises ``EndOfTurnModelError`` from ``load``; ``probability_or_none`` logs that once and answers
None, and the hangover falls back to the rule.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.asr.turn import TRAILING_EN, TRAILING_ZH, completeness
from voiceassist.lang import Lang, lang
from voiceassist.paths import resources_dir

log = logging.getLogger(__name__)

KIND = "end-of-turn-logreg"
FORMAT_VERSION = 1

_CLOSERS = "\"'”’）)]」』"
_TAIL = re.compile(rf"[\s.,!?;:…。，！？；：、~\-—{re.escape(_CLOSERS)}]+$")
_HALF = str.maketrans("，。！？；：、（）", ",.!?;:,()")
_WORD = re.compile(r"[a-z0-9']+")
_INNER_END = re.compile(r"[.!?](?=\s*\S)")
_LEN_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


class EndOfTurnModelError(RuntimeError):
    """The end-of-turn model cannot be used: its files are missing, unreadable or not of this format."""


@dataclass(frozen=True)
class FeatureSpec:
    """Which features the model reads (stored in model.json, so a model is read as it was trained)."""

    dim: int = 1 << 18
    """Hash buckets (a power of two)."""
    tail_chars: int = 20
    """Character n-grams are taken from this many characters at the end of the text."""
    ngrams: tuple[int, ...] = (1, 2, 3)
    suffixes: int = 5
    """The text's last 1 ... this many characters, each a feature of its own."""
    words: int = 3
    """English: the last 1 ... this many words as a phrase."""
    first_word: bool = True
    """The first word (English) or first two characters (Mandarin): a question or a "because" opens it."""
    rules: bool = True
    """The trailing-word rule of turn.py (its verdict, and whether the last word is on its lists)."""
    punct: bool = True
    length: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "tail_chars": self.tail_chars,
            "ngrams": list(self.ngrams),
            "suffixes": self.suffixes,
            "words": self.words,
            "first_word": self.first_word,
            "rules": self.rules,
            "punct": self.punct,
            "length": self.length,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> FeatureSpec:
        spec = cls(
            dim=int(d["dim"]),
            tail_chars=int(d["tail_chars"]),
            ngrams=tuple(int(n) for n in d["ngrams"]),
            suffixes=int(d["suffixes"]),
            words=int(d["words"]),
            first_word=bool(d["first_word"]),
            rules=bool(d["rules"]),
            punct=bool(d["punct"]),
            length=bool(d["length"]),
        )
        if spec.dim <= 0 or spec.dim & (spec.dim - 1):
            raise ValueError(f"dim {spec.dim} is not a power of two")
        return spec


def final_mark(text: str) -> str:
    """The final punctuation: "?" (a question), "!", ".", "…" (trailing dots), "," (a comma, semicolon,
    colon or dash: more to come) or "" (none)."""
    m = _TAIL.search(text)
    tail = m.group(0).translate(_HALF) if m else ""
    if "?" in tail:
        return "?"
    if "…" in tail or "..." in tail:
        return "…"
    if "!" in tail:
        return "!"
    if "." in tail:
        return "."
    if any(c in tail for c in ",;:-—~"):
        return ","
    return ""


def core_text(text: str) -> str:
    """The text without its final punctuation, lower case, half-width punctuation, single spaces."""
    return " ".join(_TAIL.sub("", text.strip()).translate(_HALF).lower().split())


def _bucket(n: int) -> str:
    for b in _LEN_BUCKETS:
        if n <= b:
            return str(b)
    return "more"


def feature_names(text: str, language: Lang, spec: FeatureSpec) -> list[str]:
    """The features of ``text`` (the words heard so far), as strings, before hashing."""
    core = core_text(text)
    out = ["bias"]
    if spec.punct:
        out.append("p=" + final_mark(text))
        if _INNER_END.search(core):
            out.append("inner_end")  # a sentence has ended before these words: more than one so far
    if spec.rules:
        out.append("rule=" + completeness(text, language))
    words = _WORD.findall(core) if language == "en" else []
    if language == "en":
        if spec.rules and words and words[-1] in TRAILING_EN:
            out.append("trail_word")
        for n in range(1, min(spec.words, len(words)) + 1):
            out.append(f"w{n}=" + " ".join(words[-n:]))
        if spec.first_word and words:
            out.append("f=" + words[0])
    else:
        if spec.rules and core.endswith(TRAILING_ZH):
            out.append("trail_word")
        if spec.first_word and core:
            out.append("f=" + core[:2])
    for n in range(1, min(spec.suffixes, len(core)) + 1):
        out.append(f"s{n}=" + core[-n:])
    tail = core[-spec.tail_chars :]
    for n in spec.ngrams:
        out.extend(f"g{n}=" + tail[i : i + n] for i in range(len(tail) - n + 1))
    if spec.length:
        out.append("len=" + _bucket(len(words) if language == "en" else len(core.replace(" ", ""))))
    return [f"{language}|{f}" for f in out]


def feature_indices(text: str, language: Lang, spec: FeatureSpec) -> npt.NDArray[np.int64]:
    """The hashed features of ``text``: sorted unique bucket indices (each feature's value is 1)."""
    mask = spec.dim - 1
    idx = {zlib.crc32(f.encode("utf-8")) & mask for f in feature_names(text, language, spec)}
    return np.fromiter(sorted(idx), dtype=np.int64, count=len(idx))


def shipped_model_dir() -> Path:
    return resources_dir() / "models" / "end_of_turn"


class EndOfTurnModel:
    """P(the person has finished their turn | the words so far). Loaded on first use (or by ``load``)."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else shipped_model_dir()
        self._lock = threading.Lock()
        self._loaded: tuple[FeatureSpec, npt.NDArray[np.float32], float] | None = None
        self._error: EndOfTurnModelError | None = None
        self.meta: dict[str, Any] = {}

    def load(self) -> EndOfTurnModel:
        """Read model.json and weights.npz (once); ``EndOfTurnModelError`` says what is wrong with them."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._read()
        return self

    def _read(self) -> tuple[FeatureSpec, npt.NDArray[np.float32], float]:
        meta_path, weights_path = self.folder / "model.json", self.folder / "weights.npz"
        hint = 'rebuild it with scripts/train_end_of_turn.py, or set turn.end_of_turn = "fixed"'
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise EndOfTurnModelError(f"end-of-turn model: {meta_path} is missing ({hint})") from e
        except (OSError, ValueError) as e:
            raise EndOfTurnModelError(f"end-of-turn model: cannot read {meta_path} ({e}; {hint})") from e
        if not isinstance(meta, dict) or meta.get("kind") != KIND or meta.get("format_version") != FORMAT_VERSION:
            raise EndOfTurnModelError(
                f"end-of-turn model: {meta_path} is not a {KIND!r} model of format {FORMAT_VERSION} ({hint})"
            )
        try:
            spec = FeatureSpec.from_json(meta["features"])
            with open(weights_path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
                w = np.asarray(z["w"], dtype=np.float32)
                b = float(np.asarray(z["b"]).reshape(-1)[0])
        except FileNotFoundError as e:
            raise EndOfTurnModelError(f"end-of-turn model: {weights_path} is missing ({hint})") from e
        except Exception as e:  # a truncated zip, a wrong key, a bad value: all "damaged"
            raise EndOfTurnModelError(f"end-of-turn model: {weights_path} is damaged ({e}; {hint})") from e
        if w.shape != (spec.dim,) or not np.all(np.isfinite(w)) or not math.isfinite(b):
            raise EndOfTurnModelError(
                f"end-of-turn model: {weights_path} is damaged (weights of shape {w.shape}, expected ({spec.dim},), "
                f"all finite; {hint})"
            )
        self.meta = meta
        return spec, w, b

    def score(self, text: str, language: str) -> float:
        """The log-odds that the person has finished."""
        spec, w, b = self._loaded if self._loaded is not None else self.load()._require()
        return b + float(w[feature_indices(text, lang(language, text), spec)].sum())

    def _require(self) -> tuple[FeatureSpec, npt.NDArray[np.float32], float]:
        assert self._loaded is not None
        return self._loaded

    def probability(self, text: str, language: str) -> float:
        """P(finished) for the words heard so far (``language``: a Whisper code; the text decides when it is
        Chinese). 0.5 for no words at all: nothing to judge. Loads the model on first use."""
        if not text.strip():
            return 0.5
        z = self.score(text, language)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def probability_or_none(self, text: str, language: str) -> float | None:
        """As ``probability``, but None when the model cannot be loaded (logged once): the caller falls back
        to the rule. Never raises for a missing or damaged model."""
        if self._error is not None:
            return None
        try:
            return self.probability(text, language)
        except EndOfTurnModelError as e:
            self._error = e
            log.warning("%s; the end of turn falls back to the trailing-word rule", e)
            return None
