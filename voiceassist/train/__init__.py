"""Training and evaluating the text-emotion model (``voiceassist train`` / ``voiceassist eval``).

- ``dataset``: reading labelled rows (the data toolkit's JSONL records, or the bench's TSV), with every
  problem reported as ``FILE:LINE: ...``;
- ``embedded``: the default kind, a numpy head over e5 embeddings + lexicon features
  (voiceassist/emotion/head.py loads it); ``transformer``: fine-tuning a transformers classifier;
- ``text_emotion``: one training run, written atomically into its folder with metrics, plots and a card;
- ``metrics``, ``plots``, ``card``: the numbers, the figures, MODEL_CARD.md; ``evaluate``: scoring a model
  (or the lexicon) on a labelled file; ``folder``: the staged output folder.

Heavy packages (scikit-learn, matplotlib, torch, transformers) are imported inside the functions that
need them.
"""

from __future__ import annotations

from pathlib import Path


class TrainError(Exception):
    """Bad input or configuration (a label outside the 9, an empty dev set, a missing or mismatched model
    file...): the message names the file, the command exits 3."""


def report_dir(out_dir: Path) -> Path:
    """``out_dir`` as a folder for an evaluation report, created if missing; a clear TrainError otherwise."""
    if out_dir.exists() and not out_dir.is_dir():
        raise TrainError(f"{out_dir} exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise TrainError(f"cannot create {out_dir}: {e.strerror or e}") from e
    return out_dir
