"""Per-class precision/recall of a text-emotion backend on tests/data/text_emotion_eval.tsv.

Run:  .venv/bin/python bench/text_emotion_eval.py [--backend lexicon|transformers] [--model FOLDER]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voiceassist.emotion.labels import MAIN_LABELS
from voiceassist.emotion.text import LexiconTextBackend, TransformersTextBackend

EVAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "text_emotion_eval.tsv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="lexicon", choices=["lexicon", "transformers"])
    ap.add_argument("--model", type=Path)
    args = ap.parse_args()
    b = LexiconTextBackend() if args.backend == "lexicon" else TransformersTextBackend(SimpleNamespace(), args.model)
    b.load()
    rows = [
        line.split("\t")
        for line in EVAL.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for lang in ("en", "zh", "all"):
        sub = [r for r in rows if lang in ("all", r[1])]
        tp, fp, fn = Counter(), Counter(), Counter()
        for label, lng, text in sub:
            got = b.analyze(text, lng).label
            if got == label:
                tp[label] += 1
            else:
                fp[got] += 1
                fn[label] += 1
        print(f"\n{lang}: {len(sub)} sentences, accuracy {sum(tp.values()) / len(sub):.2f}")
        print(f"{'class':10s} {'n':>3s} {'precision':>9s} {'recall':>6s}")
        for c in MAIN_LABELS:
            n = tp[c] + fn[c]
            print(f"{c:10s} {n:3d} {tp[c] / max(1, tp[c] + fp[c]):9.2f} {tp[c] / max(1, n):6.2f}")


if __name__ == "__main__":
    main()
