"""``voiceassist data label``: the emotion and core words of each row, from the assistant's own text-emotion
backend (``voiceassist.emotion.create_text_backend``, as configured: the embedded lexicons unless
``emotion.text_model`` names a classifier), so the data is labelled the way the assistant will read it.

Each row gets ``emotion_pred`` (one of the 9 labels), ``confidence`` and ``core_words_pred`` (the emotion
words the estimate rests on). A row without a valid ``emotion`` takes the prediction (and ``core_words``
the predicted words when it has none and its label is the predicted one); a given label is kept unless
``--overwrite`` (the replaced one is kept in ``emotion_given``). ``needs_review`` is true when the
confidence is below ``--threshold`` or the prediction disagrees with the given label: ``voiceassist data
review`` goes through those rows.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from typing import Any

from voiceassist.data.records import Record, is_label
from voiceassist.data.step import OptionError, StepResult
from voiceassist.emotion.labels import LABELS
from voiceassist.lang import language_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="rows predicted with less confidence than this need review (default 0.5)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace given emotion labels and core words too")
    p.add_argument("--config", default=None, help="config TOML (default: the user config file)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set emotion.text_model=my-classifier (repeatable)",
    )


def load_backend(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The configured text-emotion backend, loaded; OptionError for a bad configuration."""
    from pathlib import Path

    from voiceassist.config import ConfigError, default_config_path, load_config
    from voiceassist.emotion import EmotionModelError, create_text_backend
    from voiceassist.paths import models_dir

    try:
        path = Path(args.config) if args.config else default_config_path()
        cfg = load_config(path, args.overrides, explicit=args.config is not None)
        backend, note = create_text_backend(cfg.emotion, models_dir(cfg.paths.models_dir))
        backend.load()
    except (ConfigError, EmotionModelError) as e:
        raise OptionError(f"text-emotion backend: {e}") from e
    return backend, note


def run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult:
    if not 0.0 <= args.threshold <= 1.0:
        raise OptionError("--threshold must be between 0 and 1")
    backend, note = load_backend(args) if rows else (None, None)  # no rows: no model to load
    result = StepResult()
    predicted: Counter[str] = Counter()
    final: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    low = disagree = 0
    for line, row in rows:
        text = row.get("text")
        if not isinstance(text, str):
            result.reject(line, "missing_field", "no text" if text is None else "text is not a string", row)
            continue
        if not text.strip():
            result.reject(line, "empty_text", "the text is empty", row)
            continue
        lang = row.get("lang") if row.get("lang") in ("zh", "en") else language_of(text)
        assert backend is not None
        est = backend.analyze(text, lang)
        pred, conf = est.label, round(est.confidence, 4)
        given = row.get("emotion") if is_label(row.get("emotion")) else None
        out = dict(row)
        out.update(emotion_pred=pred, confidence=conf, core_words_pred=list(est.keywords))
        if given is None or args.overwrite:
            out["emotion"] = pred
            if given is not None and given != pred:
                out["emotion_given"] = given
        if (not row.get("core_words") and out["emotion"] == pred) or args.overwrite:
            out["core_words"] = list(est.keywords)  # the predicted words, where they belong to the label
        is_low, differs = conf < args.threshold, given is not None and given != pred
        low += is_low
        disagree += differs
        out["needs_review"] = bool(is_low or differs)
        if given is not None:
            confusion[given][pred] += 1
        predicted[pred] += 1
        final[out["emotion"]] += 1
        result.kept.append(out)
    n_given = sum(sum(c.values()) for c in confusion.values())
    agree = sum(c[g] for g, c in confusion.items())
    result.report = {
        "backend": backend.description if backend else None,
        "backend_note": note,
        "threshold": args.threshold,
        "overwrite": bool(args.overwrite),
        "predicted": {k: predicted[k] for k in LABELS if predicted[k]},
        "labels": {k: final[k] for k in LABELS if final[k]},
        "agreement": {
            "given": n_given,
            "agree": agree,
            "rate": round(agree / n_given, 4) if n_given else None,
            "confusion": {g: dict(sorted(c.items())) for g, c in sorted(confusion.items())},
        },
        "needs_review": sum(bool(r["needs_review"]) for r in result.kept),
        "low_confidence": low,
        "disagree": disagree,
    }
    return result
