"""Text-emotion models side by side: accuracy, macro-F1 and per-class recall per language, load time and
milliseconds per sentence, for the lexicon and any model folders, on any labelled file.

Run:  .venv/bin/python bench/text_emotion_eval.py [--model FOLDER|lexicon]... [--data FILE] [--json OUT]

``--model`` is repeatable (a folder from ``voiceassist train text-emotion``, a transformers classifier, or
``lexicon``); the lexicon is always in the table, first. ``--data``: a ``label<TAB>language<TAB>text`` file
(default tests/data/text_emotion_eval.tsv) or the data toolkit's JSONL records. Each sentence goes through
the backend's ``analyze`` one at a time, as in the assistant; ``ms/sentence`` is wall time, ``cpu ms`` the
process's CPU time (the better guide on a busy machine). The metrics are voiceassist/train/metrics.py's
(the same as ``voiceassist eval text-emotion``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voiceassist.emotion.labels import LABELS
from voiceassist.train import TrainError
from voiceassist.train.dataset import read_data
from voiceassist.train.evaluate import LEXICON, open_model
from voiceassist.train.metrics import metrics_by_language

EVAL = Path(__file__).resolve().parent.parent / "tests" / "data" / "text_emotion_eval.tsv"


def run_model(spec: str, data) -> dict:
    backend = open_model(spec)
    w0, c0 = time.perf_counter(), time.process_time()
    backend.load()
    load_s, load_cpu = time.perf_counter() - w0, time.process_time() - c0
    w0, c0 = time.perf_counter(), time.process_time()
    probs = [backend.analyze(e.text, e.lang).scores for e in data.examples]
    n = max(1, len(data.examples))
    ms, cpu_ms = 1000 * (time.perf_counter() - w0) / n, 1000 * (time.process_time() - c0) / n
    ex = data.examples
    return {
        "model": spec,
        "backend": backend.description,
        "load_s": load_s,
        "load_cpu_s": load_cpu,
        "ms_per_sentence": ms,
        "cpu_ms_per_sentence": cpu_ms,
        "metrics": metrics_by_language([e.label for e in ex], [e.lang for e in ex], probs),
    }


def table(results: list[dict]) -> str:
    names = [Path(r["model"]).name if r["model"] != LEXICON else LEXICON for r in results]
    width = max(12, *(len(n) + 2 for n in names))

    def row(label: str, cells: list[str]) -> str:
        return f"{label:24s}" + "".join(f"{c:>{width}s}" for c in cells)

    lines = [row("", names)]
    lines.append(row("load s (cpu s)", [f"{r['load_s']:.2f} ({r['load_cpu_s']:.2f})" for r in results]))
    lines.append(
        row("ms/sentence (cpu ms)", [f"{r['ms_per_sentence']:.1f} ({r['cpu_ms_per_sentence']:.1f})" for r in results])
    )
    for scope in ("en", "zh", "all"):
        ms = [r["metrics"].get(scope) for r in results]
        if not ms[0] or not ms[0]["n"]:
            continue
        lines.append(f"\n{scope} ({ms[0]['n']} sentences)")
        lines.append(row("  accuracy", [f"{m['accuracy']:.3f}" for m in ms]))
        lines.append(row("  macro-F1", [f"{m['macro_f1']:.3f}" for m in ms]))
        lines.append(row("  ECE", [f"{m['ece']:.3f}" for m in ms]))
        for label in LABELS:
            if any(label in m["per_class"] and m["per_class"][label]["support"] for m in ms):
                n = ms[0]["per_class"].get(label, {}).get("support", 0)
                cells = [f"{m['per_class'].get(label, {}).get('recall', 0.0):.2f}" for m in ms]
                lines.append(row(f"  recall {label} ({n})", cells))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=[], metavar="FOLDER|lexicon", help="repeatable")
    ap.add_argument("--data", type=Path, default=EVAL, help="a .tsv (label, language, text) or JSONL records")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    specs = [LEXICON, *[m for m in args.model if m != LEXICON]]
    try:
        data = read_data(args.data, "evaluation")
        results = [run_model(spec, data) for spec in specs]
    except TrainError as e:
        print(f"text_emotion_eval: {e}", file=sys.stderr)
        return 3
    print(f"{args.data}: {len(data.examples)} sentences")
    for r in results:
        print(f"  {r['model']}: {r['backend']}")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
