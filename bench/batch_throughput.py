"""analyze-batch throughput: hours of audio analysed per hour of wall time, with --jobs 1, --jobs 2 and the
Ray executor (2 actors), on the same corpus of espeak-ng recordings.

Run:  .venv/bin/python bench/batch_throughput.py [--files 12] [--rounds 2] [--jobs 2]

Each run is the real command (``python -m voiceassist analyze-batch CORPUS -o FRESH_DIR``) in a subprocess,
so "end to end" counts everything a user waits for: interpreter start, model loading in every worker, Ray's
start and shutdown. "Steady" leaves the start-up out: the audio of every result after the first, over the
time from the first result to the last (from the journal's timestamps). Rounds alternate the order of the
executors (1, 2, ray; then ray, 2, 1; ...) to share the machine's noise; the table gives the median over
rounds, with ratios against --jobs 1. Writes bench/out/batch_throughput.json (with the 1-minute load average
before and after each run: figures taken while other work ran are not comparable).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import SR, espeak, silence, write_wav  # noqa: E402

SENTENCES = [
    "Could you remind me to call my sister tomorrow.",
    "I have been feeling really tired this week.",
    "What is the weather like this weekend.",
    "Please play some quiet music for me.",
    "I am worried about my exam on Friday.",
    "Thank you, that was really helpful.",
    "Can you tell me a short story tonight.",
    "My train was late again this morning.",
    "I am so happy that my friends came to visit.",
    "Nobody listens to me and it makes me angry.",
    "The doctor said everything looks fine now.",
    "I could not sleep at all last night.",
]


def make_corpus(folder: Path, n: int) -> float:
    """``n`` recordings of 5-10 s (two or three sentences with pauses); returns the total seconds."""
    total = 0.0
    for i in range(n):
        k = 2 + i % 2
        parts = [silence(0.6)]
        for j in range(k):
            parts += [espeak(SENTENCES[(i * 3 + j) % len(SENTENCES)], rate=150 + 10 * (i % 3)), silence(1.0)]
        audio = np.concatenate(parts)[: 10 * SR]
        total += len(audio) / SR
        sub = folder / f"speaker{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        write_wav(sub / f"rec{i:02d}.wav", audio)
    return total


def run(corpus: Path, out: Path, name: str, jobs: int, env: dict[str, str]) -> dict:
    extra = ["--executor", "ray"] if name == "ray" else []
    cmd = [sys.executable, "-m", "voiceassist", "analyze-batch", str(corpus), "-o", str(out)]
    cmd += ["--jobs", str(jobs), "--progress", "none", *extra]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{name}: exit {p.returncode}\n{p.stderr[-3000:]}")
    entries = [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]
    entries.sort(key=lambda e: e["t"])
    audio = sum(e["duration"] for e in entries)
    span = entries[-1]["t"] - entries[0]["t"]
    steady_audio = sum(e["duration"] for e in entries[1:])
    return {
        "executor": name,
        "jobs": jobs,
        "files": len(entries),
        "audio_s": round(audio, 3),
        "wall_s": round(wall, 3),
        "end_to_end": round(audio / wall, 3),
        "steady": round(steady_audio / span, 3) if span > 0 else None,
        "startup_s": round(wall - span, 3),
        "workers": len({e["worker"] for e in entries}),
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after: other work
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2, help="processes / actors for the parallel runs")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "batch_throughput.json")
    args = ap.parse_args()
    configs = [("jobs=1", "local", 1), (f"jobs={args.jobs}", "local", args.jobs)]
    if not args.no_ray:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("ray is not installed (pip install 'voiceassist[ray]'): the Ray run is left out", file=sys.stderr)
        else:
            configs.append((f"ray x{args.jobs}", "ray", args.jobs))
    work = Path(tempfile.mkdtemp(prefix="vab-bench-"))
    env = {**os.environ}
    env.setdefault("XDG_CONFIG_HOME", str(work / "config"))  # never the user's config, log or data
    env.setdefault("XDG_STATE_HOME", str(work / "state"))
    env.setdefault("XDG_DATA_HOME", str(work / "data"))
    env["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="vab-ray-", dir="/tmp")
    try:
        corpus = work / "corpus"
        total = make_corpus(corpus, args.files)
        print(f"corpus: {args.files} recordings, {total:.1f} s of audio; {os.cpu_count()} CPUs", file=sys.stderr)
        runs: list[dict] = []
        for r in range(args.rounds):
            order = configs if r % 2 == 0 else configs[::-1]
            for label, name, jobs in order:
                res = run(corpus, work / f"out-{r}-{name}-{jobs}", name, jobs, env)
                res["label"], res["round"] = label, r
                runs.append(res)
                print(
                    f"round {r} {label}: {res['end_to_end']:.2f} audio h/h end to end in {res['wall_s']:.1f} s "
                    f"(steady {res['steady']})",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(env["RAY_TMPDIR"], ignore_errors=True)
    table = []
    for label, _, _ in configs:
        mine = [x for x in runs if x["label"] == label]
        table.append(
            {
                "label": label,
                "end_to_end": statistics.median(x["end_to_end"] for x in mine),
                "steady": statistics.median(x["steady"] for x in mine if x["steady"]),
                "wall_s": statistics.median(x["wall_s"] for x in mine),
                "startup_s": statistics.median(x["startup_s"] for x in mine),
            }
        )
    base = table[0]
    print(
        f"\n{'executor':<10} {'wall s':>7} {'start s':>8} {'audio h/h':>10} {'ratio':>6} "
        f"{'steady h/h':>11} {'ratio':>6}"
    )
    for row in table:
        row["ratio_end_to_end"] = round(row["end_to_end"] / base["end_to_end"], 3)
        row["ratio_steady"] = round(row["steady"] / base["steady"], 3)
        print(
            f"{row['label']:<10} {row['wall_s']:>7.1f} {row['startup_s']:>8.1f} {row['end_to_end']:>10.2f} "
            f"{row['ratio_end_to_end']:>6.2f} {row['steady']:>11.2f} {row['ratio_steady']:>6.2f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "corpus": {"files": args.files, "audio_s": round(total, 3)},
        "rounds": args.rounds,
        "table": table,
        "runs": runs,
    }
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
