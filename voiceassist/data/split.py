"""``voiceassist data split``: train / dev / test, by dialogue, stratified by (lang, emotion), seeded.

Rows are first joined into groups that must not be separated:

- rows that share a ``dialogue_id`` (the turns of one dialogue); a row without one is its own group;
- near-duplicates (``near_duplicate_groups`` of voiceassist/data/dedup.py, the index the ``dedup`` step
  uses: exact after normalisation, MinHash/LSH candidates checked by edit similarity >=
  ``--near-threshold`` or n-gram Jaccard; with ``--semantic`` also the embedding pass): a text and its
  near copy in train and test would leak the answer, so their dialogues go to one split together.

Groups are then placed one at a time: ordered by their main (lang, emotion) stratum (strata in a seeded
random order, groups in a seeded random order within each), each goes to the split that is furthest
behind its target share (``--ratios``, of all rows seen so far including this group). Walking stratum by
stratum makes every stratum's rows split in the ratios (within a group or so), and keeps the totals in
the ratios even where strata are tiny; a large group goes where it overshoots least.

Outputs: ``split.jsonl`` (every row, ``split`` set), and ``train.jsonl``, ``dev.jsonl``, ``test.jsonl``.
The report has the counts per split x lang x emotion, the dialogues per split, and how many groups were
kept together (several rows of one dialogue, and near-duplicate groups that joined dialogues).
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from typing import Any

from voiceassist.data.records import Record
from voiceassist.data.step import OptionError, StepResult

SPLITS = ("train", "dev", "test")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ratios", default="0.8,0.1,0.1", metavar="TRAIN,DEV,TEST", help="shares of the rows (default 0.8,0.1,0.1)"
    )
    p.add_argument("--seed", type=int, default=13, help="random seed (default 13)")
    p.add_argument(
        "--near-threshold",
        type=float,
        default=0.9,
        help="edit similarity (0-1) above which two texts are near-duplicates kept in one split (default 0.9)",
    )
    p.add_argument(
        "--semantic",
        action="store_true",
        help="also join paraphrases found by sentence embeddings (slower; see voiceassist/data/embed.py)",
    )
    p.add_argument("--semantic-threshold", type=float, default=0.95, help="embedding cosine (default 0.95)")


def parse_ratios(value: str) -> tuple[float, float, float]:
    try:
        parts = [float(x) for x in value.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or any(not 0 <= x <= 1 for x in parts) or abs(sum(parts) - 1) > 1e-6:
        raise OptionError(f"--ratios {value!r}: three shares between 0 and 1 that add up to 1, e.g. 0.8,0.1,0.1")
    return parts[0], parts[1], parts[2]


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[max(ra, rb)] = min(ra, rb)
        return True


def stratum(row: Record) -> tuple[str, str]:
    return str(row.get("lang") or "?"), str(row.get("emotion") or "?")


def near_groups(texts: list[str], args: argparse.Namespace) -> list[list[int]]:
    from voiceassist.data.dedup import near_duplicate_groups

    semantic = args.semantic_threshold if args.semantic else None
    return near_duplicate_groups(texts, edit_threshold=args.near_threshold, semantic_threshold=semantic)


def group_rows(rows: list[Record], args: argparse.Namespace) -> tuple[list[list[int]], dict[str, int]]:
    """Groups of row indices that stay together, and how they came about."""
    u = _Union(len(rows))
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        did = row.get("dialogue_id")
        if did is not None and did != "":
            u.union(first.setdefault(str(did), i), i)
    dialogue_groups = sum(1 for n in Counter(u.find(i) for i in range(len(rows))).values() if n > 1)
    texts = [r["text"] if isinstance(r.get("text"), str) else "" for r in rows]
    joined = 0
    near = [g for g in near_groups(texts, args) if all(texts[i].strip() for i in g)] if len(rows) > 1 else []
    for g in near:
        if any(u.union(g[0], i) for i in g[1:]):
            joined += 1
    by_root: dict[int, list[int]] = {}
    for i in range(len(rows)):
        by_root.setdefault(u.find(i), []).append(i)
    groups = list(by_root.values())
    return groups, {
        "groups": len(groups),
        "groups_kept_together": sum(1 for g in groups if len(g) > 1),
        "multi_row_dialogues": dialogue_groups,
        "near_duplicate_groups": len(near),
        "near_duplicate_groups_joining_dialogues": joined,
        "near_duplicate_rows": sum(len(g) for g in near),
    }


def assign(groups: list[list[int]], rows: list[Record], ratios: tuple[float, ...], seed: int) -> list[str]:
    """The split of each row (see the module docstring)."""
    rng = random.Random(seed)
    by_stratum: dict[tuple[str, str], list[list[int]]] = {}
    for g in groups:
        main = min(Counter(stratum(rows[i]) for i in g).most_common(), key=lambda kv: (-kv[1], kv[0]))[0]
        by_stratum.setdefault(main, []).append(g)
    keys = sorted(by_stratum)
    rng.shuffle(keys)
    counts = [0] * len(SPLITS)
    seen = 0
    out = [""] * len(rows)
    for key in keys:
        members = by_stratum[key]
        rng.shuffle(members)
        for g in members:
            seen += len(g)
            behind = [ratios[k] * seen - counts[k] for k in range(len(SPLITS))]
            k = max(range(len(SPLITS)), key=lambda k: (behind[k], ratios[k], -k))
            counts[k] += len(g)
            for i in g:
                out[i] = SPLITS[k]
    return out


def run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult:
    ratios = parse_ratios(args.ratios)
    if not 0 < args.near_threshold <= 1 or not 0 < args.semantic_threshold <= 1:
        raise OptionError("--near-threshold and --semantic-threshold must be in (0, 1]")
    records = [row for _, row in rows]
    groups, together = group_rows(records, args)
    where = assign(groups, records, ratios, args.seed)
    result = StepResult()
    result.kept = [{**row, "split": s} for row, s in zip(records, where, strict=True)]
    result.extra = {s: [r for r in result.kept if r["split"] == s] for s in SPLITS}
    splits: dict[str, Any] = {}
    for s in SPLITS:
        part = result.extra[s]
        table: dict[str, dict[str, int]] = {}
        for r in part:
            lang, emo = stratum(r)
            table.setdefault(lang, {}).setdefault(emo, 0)
            table[lang][emo] += 1
        splits[s] = {
            "rows": len(part),
            "dialogues": len({str(r["dialogue_id"]) for r in part if r.get("dialogue_id") not in (None, "")})
            + sum(1 for r in part if r.get("dialogue_id") in (None, "")),
            "by_lang_emotion": {lang: dict(sorted(t.items())) for lang, t in sorted(table.items())},
        }
    result.report = {
        "ratios": dict(zip(SPLITS, ratios, strict=True)),
        "seed": args.seed,
        "near_duplicates": {
            "index": "voiceassist.data.dedup.near_duplicate_groups",
            "edit_threshold": args.near_threshold,
            "semantic_threshold": args.semantic_threshold if args.semantic else None,
        },
        **together,
        "splits": splits,
    }
    return result
