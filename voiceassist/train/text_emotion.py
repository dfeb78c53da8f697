"""One training run of the text-emotion model, from two labelled files to a finished model folder.

The folder (written atomically, see ``folder.py``) holds the model files of its kind (embedded:
``model.json`` + ``head.npz``; transformers: ``model.json``, ``config.json``, weights, tokenizer files) and
``metrics.json`` (dev metrics overall and per language, how the model was chosen, the loss curve's
numbers), ``train.log``, ``loss_curve.png``, ``confusion_dev.png``, ``reliability_dev.png`` and
``MODEL_CARD.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path
from typing import Any

from voiceassist import __version__
from voiceassist.emotion import EmotionModelError
from voiceassist.train import TrainError
from voiceassist.train.card import write_card
from voiceassist.train.dataset import DataFile, read_data
from voiceassist.train.fit import KINDS, FitResult, TrainOptions
from voiceassist.train.folder import staged_folder, train_log
from voiceassist.train.metrics import metrics_by_language
from voiceassist.train.plots import confusion, loss_curve, reliability

log = logging.getLogger(__name__)


def _data_summary(d: DataFile) -> dict[str, Any]:
    return {"path": str(d.path), "sha256": d.sha256, "rows": len(d.examples)}


def read_inputs(opts: TrainOptions) -> tuple[DataFile, DataFile]:
    if opts.kind not in KINDS:
        raise TrainError(f"--kind {opts.kind!r}: one of {', '.join(KINDS)}")
    train = read_data(opts.data, "training")
    dev = read_data(opts.dev, "dev")
    if not train.examples:
        raise TrainError(f"{opts.data}: the training set is empty (no rows)")
    if not dev.examples:
        raise TrainError(f"{opts.dev}: the dev set is empty (no rows): the dev split chooses the model, it is needed")
    if Path(opts.data).resolve() == Path(opts.dev).resolve():
        raise TrainError(f"{opts.dev}: the dev file is the training file; give a separate dev split")
    return train, dev


def _fit(train: DataFile, dev: DataFile, stage: Path, opts: TrainOptions) -> FitResult:
    if opts.kind == "embedded":
        from voiceassist.train.embedded import train_embedded

        return train_embedded(train.examples, dev.examples, stage, opts)
    from voiceassist.train.transformer import train_transformers

    return train_transformers(train.examples, dev.examples, stage, opts)


def _warn_about(train: DataFile, dev: DataFile) -> list[str]:
    notes = []
    shared = {e.text for e in train.examples} & {e.text for e in dev.examples}
    if shared:
        notes.append(f"{len(shared)} dev sentences are also in the training file: dev figures are optimistic")
    unseen = sorted({e.label for e in dev.examples} - {e.label for e in train.examples})
    if unseen:
        notes.append(f"dev labels never seen in training (cannot be predicted): {', '.join(unseen)}")
    for n in notes:
        log.warning(n)
    return notes


def train_text_emotion(opts: TrainOptions) -> dict[str, Any]:
    """Train, evaluate on dev, write the folder; returns a summary (folder, dev metrics, warnings)."""
    train, dev = read_inputs(opts)
    target = Path(opts.output).absolute()
    t0 = time.monotonic()
    with staged_folder(target) as stage, train_log(stage / "train.log"):
        log.info("voiceassist %s: training a %s text-emotion model into %s", __version__, opts.kind, target)
        log.info("train %s: %d rows; dev %s: %d rows", train.path, len(train.examples), dev.path, len(dev.examples))
        notes = _warn_about(train, dev)
        fit = _fit(train, dev, stage, opts)
        gold = [e.label for e in dev.examples]
        metrics = metrics_by_language(gold, [e.lang for e in dev.examples], fit.dev_probs)
        seconds = time.monotonic() - t0
        meta = {
            **fit.model_meta,
            "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
            "voiceassist_version": __version__,
            "training_data": {"train": _data_summary(train), "dev": _data_summary(dev)},
            "dev_metrics": {"accuracy": metrics["all"]["accuracy"], "macro_f1": metrics["all"]["macro_f1"]},
        }
        (stage / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        report = {
            "split": "dev",
            "data": dev.describe(),
            "train_data": train.describe(),
            "metrics": metrics,
            "selection": fit.details,
            "loss_curve": fit.curve.to_json(),
            "warnings": notes,
            "train_seconds": round(seconds, 1),
        }
        (stage / "metrics.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False, default=_json_default) + "\n",
            encoding="utf-8",
        )
        loss_curve(fit.curve, stage / "loss_curve.png", f"{opts.kind} text-emotion model: loss")
        confusion(metrics, stage / "confusion_dev.png", "dev")
        reliability(metrics, stage / "reliability_dev.png", "dev")
        write_card(
            stage / "MODEL_CARD.md",
            folder=target,
            meta=meta,
            summary=fit.summary,
            train=train,
            dev=dev,
            metrics=metrics,
            curve_note=fit.curve.note,
            seconds=seconds,
        )
        _self_check(stage, opts.kind)
        log.info(
            "dev accuracy %.3f, macro-F1 %.3f; %.0f s",
            metrics["all"]["accuracy"],
            metrics["all"]["macro_f1"],
            time.monotonic() - t0,
        )
    return {"folder": str(target), "kind": opts.kind, "dev": metrics, "warnings": notes}


def _json_default(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not JSON")


def _self_check(stage: Path, kind: str) -> None:
    """The folder opens the way the assistant will open it (model.json and head.npz agree)."""
    if kind != "embedded":
        return
    from voiceassist.emotion.head import read_head_folder

    try:
        read_head_folder(stage)
    except EmotionModelError as e:  # a bug here, not bad input
        raise RuntimeError(f"the model just written does not open: {e}") from e
