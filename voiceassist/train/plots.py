"""The figures of a training run and an evaluation: loss curve, confusion matrices, reliability diagrams.

matplotlib's object API with the Agg canvas (no pyplot, no global backend: safe beside the Qt window).
Labels are ASCII, so no CJK font is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Curve:
    """Train and dev loss against a step: epochs, or the regularisation strength C of a path."""

    xlabel: str
    xs: list[float] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    dev: list[float] = field(default_factory=list)
    log_x: bool = False
    chosen: float | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "xlabel": self.xlabel,
            "x": self.xs,
            "train_loss": [_finite(v) for v in self.train],
            "dev_loss": [_finite(v) for v in self.dev],
            "chosen": self.chosen,
            "note": self.note,
        }


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def loss_curve(curve: Curve, path: Path, title: str) -> None:
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(curve.xs, curve.train, marker="o", markersize=3, label="train loss")
    finite = [(x, d) for x, d in zip(curve.xs, curve.dev, strict=False) if np.isfinite(d)]
    if finite:
        ax.plot([x for x, _ in finite], [d for _, d in finite], marker="o", markersize=3, label="dev loss")
    if curve.log_x:
        ax.set_xscale("log")
    if curve.chosen is not None:
        ax.axvline(curve.chosen, color="grey", linestyle="--", linewidth=1, label="chosen")
    ax.set_xlabel(curve.xlabel)
    ax.set_ylabel("cross-entropy (mean NLL)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def _confusion_axes(ax: Any, matrix: np.ndarray, labels: list[str], title: str) -> None:
    keep = [i for i in range(len(labels)) if matrix[i].sum() or matrix[:, i].sum()] or list(range(len(labels)))
    m = matrix[np.ix_(keep, keep)]
    names = [labels[i] for i in keep]
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m, dtype=float), where=rows > 0)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)


def confusion(results: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """One panel per scope (all, en, zh): counts, shaded by the share of the true class's row."""
    scopes = [s for s in results if results[s].get("n")]
    fig = _figure(4.6 * max(1, len(scopes)), 4.6)
    for k, s in enumerate(scopes):
        conf = results[s]["confusion"]
        ax = fig.add_subplot(1, len(scopes), k + 1)
        _confusion_axes(ax, np.asarray(conf["matrix"]), list(conf["labels"]), f"{title} - {s} (n={results[s]['n']})")
    fig.tight_layout()
    fig.savefig(path)


def reliability(results: dict[str, dict[str, Any]], path: Path, title: str) -> None:
    """Accuracy against confidence per bin (bars) with the diagonal, one panel per scope."""
    scopes = [s for s in results if results[s].get("n")]
    fig = _figure(4.2 * max(1, len(scopes)), 4.2)
    for k, s in enumerate(scopes):
        ax = fig.add_subplot(1, len(scopes), k + 1)
        bins = results[s]["reliability"]
        width = bins[0]["hi"] - bins[0]["lo"]
        full = [b for b in bins if b["count"]]
        ax.bar([b["lo"] for b in full], [b["accuracy"] for b in full], width=width, align="edge",
               edgecolor="black", alpha=0.7, label="accuracy")  # fmt: skip
        ax.plot([b["lo"] + width / 2 for b in full], [b["confidence"] for b in full], "_", color="C3", markersize=12,
                markeredgewidth=2, label="mean confidence")  # fmt: skip
        ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{title} - {s}: ECE {results[s]['ece']:.3f} (n={results[s]['n']})", fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
