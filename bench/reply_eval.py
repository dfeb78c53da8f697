"""Replies side by side against the reference responses of data/seed/test.jsonl: the strategy planner, a
``--tiny`` generative model trained here on data/seed/train.jsonl (dev: data/seed/dev.jsonl), and any model
folders given with ``--model``.

Run:  .venv/bin/python bench/reply_eval.py [--model FOLDER]... [--tiny-folder DIR] [--epochs N] [--json OUT]

The tiny model (2 layers, 96 wide, its own byte-level BPE) is trained with ``voiceassist train reply
--tiny`` into ``--tiny-folder`` (default: a temporary folder; an existing folder there is reused, pass
``--retrain`` to train again). It exists so the training code runs in CI: expect poor replies. Each model
folder is used as the generative backend uses it (planner first, the model for strategy and intent replies,
the content filter, the strategy reply as fallback). The figures are voiceassist/train/reply_metrics.py's
(the same as ``voiceassist eval reply``): BLEU (sacreBLEU; signatures below the table), ROUGE-L (words for
English, characters for Chinese), distinct-1/2, mean length (words / characters), tone fit (the reply's tone,
read by the keyword heuristic for generated replies, against the tone tones.toml gives the emotion), and the
heuristic on the references themselves (how far it can be trusted).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voiceassist.cli import main as voiceassist  # noqa: E402
from voiceassist.train import TrainError  # noqa: E402
from voiceassist.train.reply_data import read_reply_data  # noqa: E402
from voiceassist.train.reply_eval import STRATEGY, evaluate  # noqa: E402

SEED = ROOT / "data" / "seed"
ROWS = [
    ("rows", "n", "{:.0f}"),
    ("BLEU", "bleu", "{:.2f}"),
    ("ROUGE-L", "rouge_l", "{:.3f}"),
    ("distinct-1", "distinct_1", "{:.3f}"),
    ("distinct-2", "distinct_2", "{:.3f}"),
    ("length", "avg_len", "{:.1f}"),
    ("reference length", "reference_avg_len", "{:.1f}"),
    ("tone fit", "tone_fit", "{:.3f}"),
    ("tone fit (refs)", "reference_tone_fit", "{:.3f}"),
]


def train_tiny(folder: Path, epochs: int, retrain: bool) -> float:
    if (folder / "config.json").is_file() and not retrain:
        print(f"reusing the tiny model in {folder}", file=sys.stderr)
        return 0.0
    t0 = time.perf_counter()
    argv = ["train", "reply", "--tiny", "--data", str(SEED / "train.jsonl"), "--dev", str(SEED / "dev.jsonl")]
    rc = voiceassist([*argv, "--epochs", str(epochs), "--dev-replies", "60", "-o", str(folder)])
    if rc != 0:
        raise SystemExit(f"training the tiny model failed (exit {rc})")
    return time.perf_counter() - t0


def table(results: list[dict]) -> str:
    names = [r["name"] for r in results]
    width = max(14, *(len(n) + 2 for n in names))

    def row(label: str, cells: list[str]) -> str:
        return f"{label:22s}" + "".join(f"{c:>{width}s}" for c in cells)

    lines = [row("", names), row("ms/reply", [f"{r['report']['ms_per_reply']:.0f}" for r in results])]
    lines.append(row("generated / filtered", [f"{r['report']['generated']} / {r['report']['filtered']}"
                                             for r in results]))  # fmt: skip
    lines.append(row("failed (fallback)", [str(r["report"]["failed"]) for r in results]))
    for scope in ("en", "zh", "all"):
        ms = [r["report"]["metrics"][scope] for r in results]
        if not ms[0].get("n"):
            continue
        lines.append(f"\n{scope}")
        for label, key, fmt in ROWS:
            lines.append(row(f"  {label}", [fmt.format(m[key]) for m in ms]))
    lines.append("")
    sigs = results[0]["report"]["metrics"]
    lines += [f"BLEU {s}: {m['bleu_signature']}" for s, m in sigs.items() if m.get("n")]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", default=[], metavar="FOLDER", help="another model folder (repeatable)")
    ap.add_argument("--data", type=Path, default=SEED / "test.jsonl")
    ap.add_argument("--tiny-folder", type=Path, help="where the tiny model is trained (or reused)")
    ap.add_argument("--retrain", action="store_true", help="train the tiny model even if --tiny-folder has one")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="write the reports here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="reply-bench-") as tmp:
        tiny = args.tiny_folder or Path(tmp) / "tiny"
        train_s = train_tiny(tiny, args.epochs, args.retrain)
        try:
            data = read_reply_data(args.data, "evaluation")
            results = []
            for name, spec in [("strategy", STRATEGY), ("tiny", str(tiny))] + [(Path(m).name, m) for m in args.model]:
                report, _ = evaluate(spec, data, threads=1)
                results.append({"name": name, "model": spec, "report": report})
        except TrainError as e:
            print(f"bench: {e}", file=sys.stderr)
            return 3
        print(f"{args.data}: {len(data.rows)} rows" + (f"; tiny model trained in {train_s:.0f} s" if train_s else ""))
        print(table(results))
        if args.json:
            args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
