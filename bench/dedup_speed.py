"""Dedup throughput and recall against a plain all-pairs baseline, on synthetic rows.

Run:  .venv/bin/python bench/dedup_speed.py [--rows 10000] [--semantic-rows 1000] [--seed 0]

Data: English and Chinese user sentences, each two clauses from the synth templates (so random pairs
are not alike), with planted copies: exact duplicates after normalisation (case, punctuation, spaces;
traditional characters for Chinese), near-duplicates (1-3 character edits, a dropped or added filler word)
and reordered clauses. Measured in the same run, on the same rows, at the same edit threshold (0.90):

- **dedup** (``voiceassist.data.dedup.run``, semantic pass off): normalisation, exact pass, MinHash LSH
  candidates, edit confirmation;
- **baseline cdist**: the same normalisation and exact pass, then every pair scored by rapidfuzz
  (``process.cdist`` with ``score_cutoff``, all cores, in blocks), groups by union-find;
- **baseline loop**: a pure Python all-pairs loop over ``fuzz.ratio``, timed on a subset and extrapolated
  quadratically (it says so);
- scaling of dedup and cdist over several sizes, to show where the all-pairs cost overtakes;
- the **semantic** pass (e5-small embeddings + cosine pairs) on a subset, through ``dedup.run``: the rows
  the exact and edit passes leave are embedded; rows/s of the subset and ms per embedded text.

Recall: the share of planted near-duplicate pairs (edits and reorders) that end in one group; also the
share of the pairs the exhaustive baseline finds that dedup finds too. Writes bench/out/dedup_speed.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voiceassist.data import dedup
from voiceassist.data.embed import load_embedder
from voiceassist.data.records import MAIN_EMOTIONS, new_record
from voiceassist.data.synth import TemplateFiller, load_templates

OUT = Path(__file__).resolve().parent / "out" / "dedup_speed.json"
THRESHOLD = 0.90
FILLERS = {"en": ["um, ", "well, ", "honestly, ", "you know, "], "zh": ["嗯，", "其实", "说真的，", "那个，"]}


def make_rows(n: int, seed: int) -> tuple[list[tuple[int, dict]], list[tuple[int, int, str]]]:
    """n rows and the planted pairs (original index, copy index, kind)."""
    rng = random.Random(seed)
    filler = TemplateFiller(load_templates(), rng)
    try:
        import opencc

        s2t = opencc.OpenCC("s2t").convert
    except ImportError:
        s2t = None
    rows: list[dict] = []
    planted: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    clauses: dict[int, tuple[str, str]] = {}
    bases: dict[str, list[int]] = {"zh": [], "en": []}
    while len(rows) < n:
        lang = "zh" if rng.random() < 0.5 else "en"
        emotion = rng.choice(MAIN_EMOTIONS)
        roll = rng.random()
        if roll < 0.70 or not bases[lang]:
            a, reply, core = filler.make(lang, emotion)
            b = filler.make(lang, rng.choice(MAIN_EMOTIONS))[0]
            text = a + ("" if lang == "zh" else " ") + b
            key = dedup.normalise(text)
            if key in seen:
                continue
            seen.add(key)
            clauses[len(rows)] = (a, b)
            bases[lang].append(len(rows))
            rows.append(new_record(f"b{len(rows):06d}", lang, text, reply, emotion, core, "bench"))
            continue
        o = rng.choice(bases[lang][-500:])
        src = rows[o]
        if roll < 0.80:
            kind, text = "exact", _exact_variant(src["text"], src["lang"], rng, s2t)
        elif roll < 0.95:
            kind, text = "edit", _edit_variant(src["text"], src["lang"], rng)
        else:
            a, b = clauses[o]
            kind, text = "reorder", b + ("" if src["lang"] == "zh" else " ") + a
        planted.append((o, len(rows), kind))
        rows.append({**src, "dialogue_id": f"b{len(rows):06d}", "text": text})
    return list(enumerate(rows, 1)), planted


def _exact_variant(text: str, lang: str, rng: random.Random, s2t) -> str:
    if lang == "zh":
        return (s2t(text) if s2t else text).replace("，", ", ").replace("。", "!")
    return rng.choice([text.upper(), text.lower(), "  " + text.replace(",", " ,") + " !"])


def _edit_variant(text: str, lang: str, rng: random.Random) -> str:
    chars = list(text)
    if rng.random() < 0.3:
        return rng.choice(FILLERS[lang]) + text
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(chars))
        op = rng.random()
        pool = "的了是在有我你他很也" if lang == "zh" else "abcdefghijklmnopqrstuvwxyz"
        if op < 0.4:
            chars[i] = rng.choice(pool)
        elif op < 0.7 and len(chars) > 5:
            del chars[i]
        else:
            chars.insert(i, rng.choice(pool))
    return "".join(chars)


def groups_of(n: int, pairs) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def run_dedup(rows) -> tuple[float, list[int]]:
    args = argparse.Namespace(semantic=False, edit_threshold=THRESHOLD, across_labels=True)  # as the baseline
    t = time.perf_counter()
    result = dedup.run(rows, args)
    took = time.perf_counter() - t
    index = {r[1]["dialogue_id"]: k for k, r in enumerate(rows)}
    pairs = [(index[x.row["duplicate_of"]["dialogue_id"]], index[x.row["dialogue_id"]]) for x in result.rejected]
    return took, groups_of(len(rows), pairs)


def run_cdist(rows, block: int = 1000) -> tuple[float, list[int]]:
    from rapidfuzz import fuzz, process

    t = time.perf_counter()
    keys = [dedup.normalise(r["text"]) for _, r in rows]
    first: dict[str, int] = {}
    pairs = [(first.setdefault(k, i), i) for i, k in enumerate(keys) if first.setdefault(k, i) != i]
    uniq = sorted(first.values())
    ukeys = [keys[i] for i in uniq]
    cutoff = int(THRESHOLD * 100)
    for s in range(0, len(ukeys), block):
        scores = process.cdist(ukeys[s : s + block], ukeys, scorer=fuzz.ratio, score_cutoff=cutoff - 1e-9,
                               dtype=np.float32, workers=-1)  # fmt: skip
        rr, cc = np.nonzero(scores >= THRESHOLD * 100)
        pairs += [(uniq[s + r], uniq[c]) for r, c in zip(rr.tolist(), cc.tolist(), strict=True) if c > s + r]
    return time.perf_counter() - t, groups_of(len(rows), pairs)


def loop_seconds(rows, n: int) -> float:
    from rapidfuzz import fuzz

    keys = [dedup.normalise(r["text"]) for _, r in rows[:n]]
    t = time.perf_counter()
    for i in range(len(keys)):
        a = keys[i]
        for j in range(i + 1, len(keys)):
            fuzz.ratio(a, keys[j], score_cutoff=THRESHOLD * 100)
    return time.perf_counter() - t


def recall(groups: list[int], planted, kinds: tuple[str, ...]) -> float:
    chosen = [(a, b) for a, b, k in planted if k in kinds]
    return round(sum(groups[a] == groups[b] for a, b in chosen) / max(1, len(chosen)), 4)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--semantic-rows", type=int, default=1000)
    p.add_argument("--loop-rows", type=int, default=1500, help="rows of the pure-Python loop (extrapolated)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rows, planted = make_rows(a.rows, a.seed)
    kinds = {k: sum(1 for *_, x in planted if x == k) for k in ("exact", "edit", "reorder")}
    print(f"{len(rows)} rows ({sum(1 for _, r in rows if r['lang'] == 'zh')} zh), planted {kinds}")
    dedup.run(make_rows(50, a.seed + 99)[0], argparse.Namespace(semantic=False))  # imports, tables: once per process
    ours_s, ours_g = run_dedup(rows)
    base_s, base_g = run_cdist(rows)
    n_loop = min(a.loop_rows, len(rows))
    loop_s = loop_seconds(rows, n_loop) * (len(rows) / n_loop) ** 2
    base_pairs = [(i, j) for i in range(len(rows)) for j in (base_g[i],) if j != i]
    agree = sum(ours_g[i] == ours_g[j] for i, j in base_pairs) / max(1, len(base_pairs))
    scaling = []
    for n in sorted({max(500, len(rows) // 4), max(500, len(rows) // 2), len(rows)}):
        sub, _ = make_rows(n, a.seed + 1)
        scaling.append({"rows": n, "dedup_s": round(run_dedup(sub)[0], 3), "cdist_s": round(run_cdist(sub)[0], 3)})
    sem_rows = rows[: a.semantic_rows]
    load_embedder().embed(["warm up"])  # the model loads once per process (~1 s), not part of the pass
    sem = dedup.run(sem_rows, argparse.Namespace(semantic=True)).report
    sem_s, computed = sem["seconds"]["semantic"], sem["embeddings"]["computed"]
    out = {
        "rows": len(rows),
        "planted": kinds,
        "threshold_edit": THRESHOLD,
        "dedup": {
            "seconds": round(ours_s, 3),
            "rows_per_s": round(len(rows) / ours_s, 1),
            "recall_edit": recall(ours_g, planted, ("edit",)),
            "recall_reorder": recall(ours_g, planted, ("reorder",)),
            "recall_vs_exhaustive": round(agree, 4),
        },
        "baseline_cdist": {
            "seconds": round(base_s, 3),
            "rows_per_s": round(len(rows) / base_s, 1),
            "recall_edit": recall(base_g, planted, ("edit",)),
            "recall_reorder": recall(base_g, planted, ("reorder",)),
        },
        "baseline_loop": {
            "seconds_extrapolated": round(loop_s, 1),
            "rows_per_s": round(len(rows) / loop_s, 1),
            "measured_on_rows": n_loop,
            "note": "timed on the first rows, scaled by (N/n)^2",
        },
        "speedup_vs_cdist": round(base_s / ours_s, 2),
        "speedup_vs_loop": round(loop_s / ours_s, 1),
        "scaling": scaling,
        "semantic": {
            "rows": len(sem_rows),
            "embedded": computed,
            "seconds": sem_s,
            "rows_per_s": round(len(sem_rows) / sem_s, 1),
            "embedded_per_s": sem["embeddings"]["rows_per_s"],
            "ms_per_embedding": round(1000 * sem_s / max(1, computed), 1),
            "dropped_by_pass": sem["dropped_by_pass"],
            "threshold": dedup.SEMANTIC_THRESHOLD,
            "embedder": sem["embedder"],
        },
    }
    print(f"\n{'method':<22}{'seconds':>10}{'rows/s':>12}{'recall edit':>13}{'recall reord':>14}")
    for name, key in (("dedup (LSH + edit)", "dedup"), ("all-pairs cdist", "baseline_cdist")):
        d = out[key]
        print(f"{name:<22}{d['seconds']:>10}{d['rows_per_s']:>12}{d['recall_edit']:>13}{d['recall_reorder']:>14}")
    lp = out["baseline_loop"]
    print(f"{'all-pairs loop (ext.)':<22}{lp['seconds_extrapolated']:>10}{lp['rows_per_s']:>12}{'(= cdist)':>13}")
    print(f"speed-up: {out['speedup_vs_cdist']}x vs cdist, {out['speedup_vs_loop']}x vs the loop; dedup finds "
          f"{out['dedup']['recall_vs_exhaustive']:.1%} of what the exhaustive baseline links")  # fmt: skip
    print("scaling: " + ", ".join(f"{s['rows']}: dedup {s['dedup_s']}s / cdist {s['cdist_s']}s" for s in scaling))
    s = out["semantic"]
    print(
        f"semantic pass on {s['rows']} rows ({s['embedded']} left after the exact and edit passes): {s['seconds']}s, "
        f"{s['rows_per_s']} rows/s ({s['ms_per_embedding']} ms per embedded text); dropped {s['dropped_by_pass']}"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
