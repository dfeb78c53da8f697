"""Emotion embeddings as .npy files: one writer for ``analyze --embeddings`` and the timeline's export.

``<prefix>seg<ID>.npy`` holds an utterance's embedding (D,), ``<prefix>seg<ID>_frames.npy`` its frame
features (T, D); the prefix tells sessions apart in one folder (``session3_``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EmbeddingRow:
    segment_id: int
    embedding: np.ndarray | None
    frames: np.ndarray | None = None  # (T, D) frame features
    frame_rate: float | None = None
    backend: str | None = None


def write_embeddings(folder: Path, rows: Iterable[EmbeddingRow], prefix: str = "") -> list[dict[str, Any]]:
    """Write the files; returns one entry per file (segment, kind, file name, shape, and backend or rate)."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[dict[str, Any]] = []
    for r in rows:
        if r.embedding is not None:
            path = folder / f"{prefix}seg{r.segment_id:04d}.npy"
            np.save(path, r.embedding)
            written.append(
                {
                    "segment": r.segment_id,
                    "kind": "utterance",
                    "file": path.name,
                    "shape": list(r.embedding.shape),
                    "backend": r.backend,
                }
            )
        if r.frames is not None:
            path = folder / f"{prefix}seg{r.segment_id:04d}_frames.npy"
            np.save(path, r.frames)
            written.append(
                {
                    "segment": r.segment_id,
                    "kind": "frames",
                    "file": path.name,
                    "shape": list(r.frames.shape),
                    "frame_rate": r.frame_rate,
                }
            )
    return written
