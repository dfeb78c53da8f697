"""Classification and calibration metrics over the 9 labels (numpy only).

- precision, recall, F1 and support per class; accuracy; **macro-F1** is the mean F1 over the classes that
  occur in the true labels or in the predictions (scikit-learn's ``f1_score(average="macro")``): a class
  predicted but never true counts, with F1 0;
- the confusion matrix: rows are the true labels, columns the predicted ones, both in LABELS order;
- **expected calibration error** (Guo et al. 2017) over ``n_bins`` equal-width bins of the top-1
  confidence, bin ``i`` holding confidences in ``(i/n, (i+1)/n]`` (0 goes in the first):
  ``ECE = sum_b |B_b|/N * |accuracy(B_b) - mean confidence(B_b)|``, with the reliability table it rests on;
- mean negative log-likelihood of the true label (probabilities clipped at 1e-12).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from voiceassist.emotion.labels import INDEX, LABELS, N_LABELS

N_BINS = 15
EPS = 1e-12


def nll(y: npt.NDArray[np.int64], probs: npt.NDArray[np.float64]) -> float:
    if len(y) == 0:
        return float("nan")
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], EPS, 1.0))))


def calibration(
    confidence: npt.NDArray[np.float64], correct: npt.NDArray[np.bool_], n_bins: int = N_BINS
) -> tuple[float, list[dict[str, Any]]]:
    """(ECE, the reliability table: one row per bin with its range, count, accuracy and mean confidence)."""
    n = len(confidence)
    idx = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    ece, table = 0.0, []
    for b in range(n_bins):
        sel = idx == b
        count = int(sel.sum())
        row: dict[str, Any] = {"lo": round(b / n_bins, 6), "hi": round((b + 1) / n_bins, 6), "count": count}
        if count:
            acc, conf = float(correct[sel].mean()), float(confidence[sel].mean())
            row.update(accuracy=round(acc, 6), confidence=round(conf, 6))
            ece += count / n * abs(acc - conf)
        else:
            row.update(accuracy=None, confidence=None)
        table.append(row)
    return ece, table


def classification_metrics(gold: Sequence[str], probs: npt.ArrayLike, n_bins: int = N_BINS) -> dict[str, Any]:
    """Everything for one set of predictions: ``probs`` is (n, 9) in LABELS order, ``gold`` the true labels."""
    p = np.asarray(probs, dtype=np.float64).reshape(len(gold), N_LABELS)
    n = len(gold)
    if n == 0:
        return {"n": 0, "accuracy": None, "macro_f1": None, "ece": None, "nll": None, "per_class": {}}
    y = np.array([INDEX[g] for g in gold], dtype=np.int64)
    pred = p.argmax(axis=1)
    confusion = np.zeros((N_LABELS, N_LABELS), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    per_class: dict[str, dict[str, Any]] = {}
    f1s = []
    for i, label in enumerate(LABELS):
        tp, support, predicted = int(confusion[i, i]), int(confusion[i].sum()), int(confusion[:, i].sum())
        if not support and not predicted:
            continue
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        per_class[label] = {
            "precision": round(precision, 6),
            "recall": round(recall, 6),
            "f1": round(f1, 6),
            "support": support,
            "predicted": predicted,
        }
    correct = pred == y
    ece, reliability = calibration(p.max(axis=1), correct, n_bins)
    return {
        "n": n,
        "accuracy": round(float(correct.mean()), 6),
        "macro_f1": round(float(np.mean(f1s)), 6),
        "ece": round(ece, 6),
        "nll": round(nll(y, p), 6),
        "per_class": per_class,
        "confusion": {"labels": list(LABELS), "matrix": confusion.tolist()},
        "reliability": reliability,
    }


def metrics_by_language(gold: Sequence[str], langs: Sequence[str], probs: npt.ArrayLike) -> dict[str, Any]:
    """``{"all": metrics, "en": metrics, "zh": metrics}`` (the languages present)."""
    p = np.asarray(probs, dtype=np.float64).reshape(len(gold), N_LABELS)
    out = {"all": classification_metrics(gold, p)}
    for lang in sorted(set(langs)):
        sel = [i for i, g in enumerate(langs) if g == lang]
        out[lang] = classification_metrics([gold[i] for i in sel], p[sel])
    return out


def macro_f1(gold_idx: npt.NDArray[np.int64], probs: npt.NDArray[np.float64]) -> float:
    """Macro-F1 of (n, 9) probabilities against label indices (for model selection)."""
    f = classification_metrics([LABELS[i] for i in gold_idx], probs)["macro_f1"]
    return float(f) if f is not None else 0.0


def format_table(results: dict[str, dict[str, Any]], title: str = "") -> str:
    """A plain-text summary: accuracy, macro-F1, ECE per scope, then P/R/F1/support per class."""
    scopes = list(results)
    lines = [title] if title else []
    lines.append(f"{'':12s}" + "".join(f"{s:>10s}" for s in scopes))
    for key, name in (("n", "sentences"), ("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("ece", "ECE")):
        cells = []
        for s in scopes:
            v = results[s].get(key)
            cells.append(f"{'-':>10s}" if v is None else f"{v:10d}" if key == "n" else f"{v:10.3f}")
        lines.append(f"{name:12s}" + "".join(cells))
    for s in scopes:
        pc = results[s].get("per_class", {})
        if not pc:
            continue
        lines.append(f"\n{s}: {'class':10s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'support':>8s}")
        for label, m in pc.items():
            lines.append(
                f"{'':{len(s) + 2}s}{label:10s} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} "
                f"{m['support']:8d}"
            )
    return "\n".join(lines)
