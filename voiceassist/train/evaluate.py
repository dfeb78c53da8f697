"""Scoring a text-emotion model on a labelled file: ``voiceassist eval text-emotion`` and the bench.

A model is ``lexicon`` (the lexicon backend) or a model folder, opened the way the assistant opens
``emotion.text_model`` (``create_text_backend``: model.json's kind picks the backend). Every sentence goes
through the backend's ``analyze`` one at a time, as in the assistant, so the timing is the per-sentence
latency. The report has accuracy, macro-F1, per-class precision/recall/F1/support, the confusion matrix
and the calibration (ECE over 15 bins, reliability table) for all rows and per language (the same confidence
should mean the same in both), and how often "other" was said for a sentence of the seven main classes.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.config_file import write_atomic
from voiceassist.emotion import EmotionModelError, TextEmotionBackend, create_text_backend
from voiceassist.emotion.labels import INDEX, LABELS, MAIN_LABELS
from voiceassist.train import TrainError, report_dir
from voiceassist.train.dataset import DataFile, Example
from voiceassist.train.metrics import format_table, metrics_by_language

LEXICON = "lexicon"


def open_model(spec: str, cfg: Any = None) -> TextEmotionBackend:
    """The backend for ``lexicon`` or a model folder (not loaded); TrainError when it cannot be used."""
    if spec == LEXICON:
        from voiceassist.emotion.text import LexiconTextBackend

        return LexiconTextBackend(cfg)
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise TrainError(f"{spec}: no such model folder (give a folder from 'voiceassist train', or 'lexicon')")
    settings = SimpleNamespace(
        text_backend="auto", text_model=str(folder), lexicon_overlay=getattr(cfg, "lexicon_overlay", "")
    )
    try:
        backend, note = create_text_backend(settings, folder.parent)
    except EmotionModelError as e:
        raise TrainError(str(e)) from e
    if note:  # the assistant would fall back to the lexicon; an evaluation must not
        raise TrainError(note)
    return backend


@dataclass
class Predictions:
    probs: npt.NDArray[np.float64]
    description: str
    load_s: float
    ms_per_sentence: float


def predict(backend: TextEmotionBackend, examples: list[Example]) -> Predictions:
    t0 = time.perf_counter()
    try:
        backend.load()
    except EmotionModelError as e:
        raise TrainError(str(e)) from e
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    rows = [backend.analyze(e.text, e.lang).scores for e in examples]
    ms = 1000 * (time.perf_counter() - t1) / max(1, len(examples))
    probs = np.stack(rows) if rows else np.zeros((0, 9))
    return Predictions(probs=probs, description=backend.description, load_s=load_s, ms_per_sentence=ms)


def evaluate(spec: str, data: DataFile, cfg: Any = None) -> dict[str, Any]:
    if not data.examples:
        raise TrainError(f"{data.path}: no rows to evaluate on")
    pred = predict(open_model(spec, cfg), data.examples)
    ex = data.examples
    metrics = metrics_by_language([e.label for e in ex], [e.lang for e in ex], pred.probs)
    return {
        "model": spec,
        "backend": pred.description,
        "data": data.describe(),
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "load_s": round(pred.load_s, 3),
        "ms_per_sentence": round(pred.ms_per_sentence, 2),
        "metrics": metrics,
        "other_for_the_seven": other_for_the_seven(metrics),
    }


def other_for_the_seven(metrics: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per scope: the sentences whose true label is one of the seven main classes, and how many of them the
    model called "other" (it should say "other" only for a feeling clearly outside the seven)."""
    seven = [LABELS.index(label) for label in MAIN_LABELS]
    out = {}
    for scope, m in metrics.items():
        if m.get("n"):
            matrix = np.array(m["confusion"]["matrix"])
            out[scope] = {
                "sentences": int(matrix[seven].sum()),
                "called_other": int(matrix[seven, INDEX["other"]].sum()),
            }
    return out


def format_report(report: dict[str, Any]) -> str:
    head = (
        f"{report['model']} ({report['backend']}) on {report['data']['path']}: {report['data']['rows']} rows; "
        f"load {report['load_s']:.2f} s, {report['ms_per_sentence']:.1f} ms per sentence"
    )
    lines = [format_table(report["metrics"], head)]
    for scope, c in report.get("other_for_the_seven", {}).items():
        if c["sentences"]:
            lines.append(
                f'{scope}: "other" said for {c["called_other"]} of {c["sentences"]} sentences of the seven main classes'
            )
    return "\n".join(lines)


def write_report(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """report.json, confusion.json, confusion.png, reliability.png in ``out_dir``."""
    from voiceassist.train.plots import confusion, reliability

    report_dir(out_dir)
    paths = [out_dir / n for n in ("report.json", "confusion.json", "confusion.png", "reliability.png")]
    write_atomic(paths[0], json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    conf = {s: m["confusion"] for s, m in report["metrics"].items() if m.get("n")}
    write_atomic(paths[1], json.dumps(conf, ensure_ascii=False, indent=2) + "\n")
    name = Path(report["model"]).name if report["model"] != LEXICON else LEXICON
    confusion(report["metrics"], paths[2], name)
    reliability(report["metrics"], paths[3], name)
    return paths
