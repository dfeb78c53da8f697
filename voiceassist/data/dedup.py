"""``dedup``: drop exact and near-duplicate rows, keeping the first occurrence.

Passes, in order, each on what the one before kept:
1. **exact**: the same text after normalisation (NFKC, traditional -> simplified Chinese with OpenCC
   ``t2s``, case-folded, punctuation and runs of whitespace to one space, none between Chinese characters).
2. **minhash / edit**: MinHash over character n-grams (bigrams for Chinese, trigrams otherwise) with
   LSH (datasketch) proposes candidates with estimated Jaccard >= ``--lsh-threshold`` (0.5, set low for
   recall); a candidate is a duplicate when its edit similarity (rapidfuzz ``fuzz.ratio``, the normalised
   Indel similarity) is >= ``--edit-threshold`` (0.90: pass ``edit``), or else when the exact n-gram
   Jaccard is >= ``--jaccard-threshold`` (0.85: pass ``minhash``: the same words reordered).
3. **semantic** (``--semantic``, the default): embeddings of the normalised texts (embed.py; e5-small by
   default, batched, each text once), cosine >= ``--semantic-threshold`` (0.96; e5 cosines sit high, see
   embed.py), only between rows of one language (a translation is not a duplicate).

Near-duplicates form groups (connected components: A~B and B~C put A, B and C in one group); each group
keeps its first row. By default only rows with the same ``emotion`` label are near-duplicates ("I am so
happy today because ..." and "I am so sad today because ..." is a minimal pair worth keeping; the report
counts such pairs); ``--across-labels`` drops them too. Exact duplicates are dropped whatever the label
(the detail names the other label). A dropped row goes to rejected.jsonl with the reason
``duplicate_<pass>``; its ``row`` gets ``"duplicate_of": {"dialogue_id", "line", "pass", "score"}`` (the
row it matched) and, when that row was itself dropped, ``"kept"``: the group's first row.
``--dry-run`` keeps every row (the CLI writes no rows then) and reports what each pass would drop;
``--sweep`` adds, for the edit and the semantic pass, how many rows each threshold in a range would drop
(monotonic: a lower threshold only adds links). ``near_duplicate_groups`` and ``cross_duplicates`` are
the same machinery for the split step.
"""

from __future__ import annotations

import argparse
import re
import time
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import combinations
from typing import Any

from voiceassist.data.embed import CachedEmbedder, Embedder, EmbedderError, load_embedder
from voiceassist.data.embed import cross_pairs as _cross_vectors
from voiceassist.data.embed import similar_pairs as _similar_vectors
from voiceassist.data.records import Record
from voiceassist.data.step import OptionError, StepResult
from voiceassist.lang import CJK_RANGES, has_cjk, language_of

EDIT_THRESHOLD = 0.90
JACCARD_THRESHOLD = 0.85
LSH_THRESHOLD = 0.5
SEMANTIC_THRESHOLD = 0.96
NUM_PERM = 128
DEFAULTS = {"edit": EDIT_THRESHOLD, "jaccard": JACCARD_THRESHOLD, "lsh": LSH_THRESHOLD, "semantic": SEMANTIC_THRESHOLD}
PASSES = ("exact", "minhash", "edit", "semantic")
SWEEP_EDIT = "0.80:0.98:0.02"
SWEEP_SEMANTIC = "0.90:0.99:0.01"

Edge = tuple[int, int, str, float]  # (i, j, pass, score), i < j


@lru_cache(maxsize=1)
def _punct_table() -> dict[int, str]:
    return {c: " " for c in range(0x30000) if unicodedata.category(chr(c)).startswith("P")}


@lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str] | None:
    try:
        import opencc
    except ImportError:
        return None
    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert


_CJK_GAP = re.compile(f"(?<=[{CJK_RANGES}]) (?=[{CJK_RANGES}])")


def normalise(text: str) -> str:
    """The comparison form of a text (see the module docstring)."""
    t = unicodedata.normalize("NFKC", text)
    convert = _t2s()
    if convert is not None and has_cjk(t):
        t = convert(t)
    t = " ".join(t.casefold().translate(_punct_table()).split())
    return _CJK_GAP.sub("", t)


def shingles(key: str) -> set[str]:
    """Character n-grams of a normalised text: bigrams for Chinese (spaces dropped), trigrams otherwise."""
    n = 2 if has_cjk(key) else 3
    s = key.replace(" ", "") if n == 2 else key
    return {s[i : i + n] for i in range(len(s) - n + 1)} or {s}


def _jaccard(a: set[str], b: set[str]) -> float:
    n = len(a & b)
    return n / (len(a) + len(b) - n)


def _candidates(
    a: Sequence[set[str]], b: Sequence[set[str]] | None, lsh_threshold: float
) -> tuple[list[tuple[int, int]], Any]:
    """MinHash LSH candidates over n-gram sets, (i, j) with i < j within ``a`` or (i in a, j in b), and the
    MinHash estimate of each pair's Jaccard."""
    import numpy as np

    if not a or (b is not None and not b):
        return [], np.zeros(0)
    from datasketch import MinHash, MinHashLSH

    def signatures(sets: Sequence[set[str]]) -> list[Any]:
        data = [[s.encode("utf-8") for s in sh] for sh in sets]
        return list(MinHash.bulk(data, num_perm=NUM_PERM, seed=1, hashfunc=zlib.crc32))

    ma = signatures(a)
    mb = ma if b is None else signatures(b)
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for i, m in enumerate(ma):
            session.insert(i, m, check_duplication=False)
    if b is None:  # the buckets of every band give what a query per row would, without the queries
        found = {p for t in lsh.hashtables for h in t.keys() for p in combinations(sorted(t.get(h)), 2)}  # noqa: SIM118
    else:
        found = {(i, j) for j, m in enumerate(mb) for i in lsh.query(m)}
    pairs = sorted(found)
    idx = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    ha, hb = np.stack([m.hashvalues for m in ma]), np.stack([m.hashvalues for m in mb])
    return pairs, (ha[idx[:, 0]] == hb[idx[:, 1]]).mean(axis=1)


Scored = tuple[int, int, float, float]  # (i, j, edit similarity, n-gram Jaccard)


def _scores(
    keys_a: Sequence[str], keys_b: Sequence[str], sets_a: Sequence[set[str]], sets_b: Sequence[set[str]],
    found: tuple[list[tuple[int, int]], Any], jaccard_threshold: float,
) -> list[Scored]:  # fmt: skip
    """(i, j, edit similarity, n-gram Jaccard) per candidate; the Jaccard is exact where the MinHash
    estimate is within 0.15 of the threshold, else that estimate (far below: it decides nothing)."""
    pairs, est = found
    if not pairs:
        return []
    from rapidfuzz import fuzz, process

    edit = process.cpdist([keys_a[i] for i, _ in pairs], [keys_b[j] for _, j in pairs], scorer=fuzz.ratio, workers=-1)
    near = (est >= jaccard_threshold - 0.15).tolist()
    return [
        (i, j, float(e) / 100.0, _jaccard(sets_a[i], sets_b[j]) if x else float(m))
        for (i, j), e, x, m in zip(pairs, edit, near, est.tolist(), strict=True)
    ]


def _edges(scored: Sequence[Scored], edit_t: float, jaccard_t: float) -> list[Edge]:
    """Pairs that are near-duplicates: by edit similarity first, else by n-gram Jaccard (reordered)."""
    return [(i, j, "edit", e) if e >= edit_t else (i, j, "minhash", jac) for i, j, e, jac in scored
            if e >= edit_t or jac >= jaccard_t]  # fmt: skip


class _Groups:
    """Union-find whose root is always the smallest index (the first occurrence)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        while (p := self.parent.setdefault(x, x)) != x:
            self.parent[x] = x = self.parent.setdefault(p, p)  # path halving
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        by: dict[int, list[int]] = {}
        for x in list(self.parent):
            by.setdefault(self.find(x), []).append(x)
        return sorted(sorted(g) for g in by.values() if len(g) > 1)


def _sweep_range(spec: str) -> list[float]:
    try:
        start, stop, step = (float(x) for x in spec.split(":"))
    except ValueError as e:
        raise OptionError(f"a sweep range is START:STOP:STEP, e.g. {SWEEP_EDIT} (got {spec!r})") from e
    if step <= 0 or stop < start:
        raise OptionError(f"sweep range {spec!r}: STEP must be > 0 and STOP >= START")
    n = round((stop - start) / step)
    return [round(start + k * step, 4) for k in range(n + 1)]


def near_duplicate_groups(
    texts: list[str],
    edit_threshold: float = EDIT_THRESHOLD,
    semantic_threshold: float | None = None,
    *,
    jaccard_threshold: float = JACCARD_THRESHOLD,
    lsh_threshold: float = LSH_THRESHOLD,
    embedder: Embedder | None = None,
) -> list[list[int]]:
    """Groups of indices of ``texts`` that are exact or near duplicates of each other (transitively:
    connected components), each sorted, singletons left out; sorted by first index. With
    ``semantic_threshold`` the embedding pass links texts too (``embedder``: the e5 default if None)."""
    keys = [normalise(t) for t in texts]
    g = _Groups()
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        g.union(first.setdefault(k, i), i)
    uniq = list(first.values())
    ukeys = [keys[i] for i in uniq]
    sets = [shingles(k) for k in ukeys]
    scored = _scores(ukeys, ukeys, sets, sets, _candidates(sets, None, lsh_threshold), jaccard_threshold)
    for a, b, _, _ in _edges(scored, edit_threshold, jaccard_threshold):
        g.union(uniq[a], uniq[b])
    if semantic_threshold is not None and len(uniq) > 1:
        emb = (embedder or load_embedder()).embed(ukeys)
        for a, b, _ in _similar_vectors(emb, semantic_threshold):
            g.union(uniq[a], uniq[b])
    return g.groups()


def cross_duplicates(
    a_texts: list[str],
    b_texts: list[str],
    edit_threshold: float = EDIT_THRESHOLD,
    semantic_threshold: float | None = None,
    *,
    jaccard_threshold: float = JACCARD_THRESHOLD,
    lsh_threshold: float = LSH_THRESHOLD,
    embedder: Embedder | None = None,
) -> list[tuple[int, int, float]]:
    """(i, j, score) for each text ``a_texts[i]`` that is a duplicate of ``b_texts[j]``: exact after
    normalisation (score 1.0), edit similarity, n-gram Jaccard, or with ``semantic_threshold`` embedding
    cosine; the best score of a pair; sorted by (i, j). Empty: the two sets share no near-duplicate."""
    ka, kb = [normalise(t) for t in a_texts], [normalise(t) for t in b_texts]
    sa, sb = [shingles(k) for k in ka], [shingles(k) for k in kb]
    scored = _scores(ka, kb, sa, sb, _candidates(sa, sb, lsh_threshold), jaccard_threshold)
    found = [(i, j, s) for i, j, _, s in _edges(scored, edit_threshold, jaccard_threshold)]
    if ka and kb and semantic_threshold is not None:
        emb = CachedEmbedder(embedder or load_embedder())
        found += _cross_vectors(emb.embed(ka), emb.embed(kb), semantic_threshold)
    best = {(i, j): s for i, j, s in sorted(found, key=lambda f: f[2])}  # the highest score last, so kept
    return sorted((i, j, round(s, 4)) for (i, j), s in best.items())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``voiceassist data dedup`` (read back by ``run`` under these dest names)."""
    a = parser.add_argument
    a("--edit-threshold", type=float, default=EDIT_THRESHOLD, help="edit similarity 0-1 (default %(default)s)")
    a("--jaccard-threshold", type=float, default=JACCARD_THRESHOLD, help="n-gram Jaccard (default %(default)s)")
    a("--lsh-threshold", type=float, default=LSH_THRESHOLD, help="LSH candidates, estimated Jaccard (%(default)s)")
    a("--semantic", action=argparse.BooleanOptionalAction, default=True, help="embedding pass (default on)")
    a("--semantic-threshold", type=float, default=SEMANTIC_THRESHOLD, help="cosine, e5 scale (%(default)s)")
    a("--embedder", metavar="PATH", default=None, help="sentence-transformers model folder (default: e5-small)")
    a("--embed-batch", type=int, default=64, help="texts per embedding batch (default %(default)s)")
    a("--embed-threads", type=int, default=0, help="threads of the embedded e5 (0: its default)")
    a("--across-labels", action="store_true", help="near-duplicates with different emotion labels are dropped too")
    a("--include-response", action="store_true", help="compare text and response together, not the text alone")
    a("--dry-run", action="store_true", help="keep every row; report what would be dropped")
    a("--sweep", action="store_true", help="report (and print) rows dropped per threshold, edit and semantic pass")
    a("--sweep-edit", default=SWEEP_EDIT, metavar="START:STOP:STEP", help="edit thresholds (%(default)s)")
    a("--sweep-semantic", default=SWEEP_SEMANTIC, metavar="START:STOP:STEP", help="cosines (%(default)s)")


def _opt(args: argparse.Namespace, name: str, default: Any) -> Any:
    value = getattr(args, name, default)
    return default if value is None else value


def _key(row: Record, with_response: bool) -> str:
    text, response = row.get("text"), row.get("response")
    key = normalise(text) if isinstance(text, str) else ""
    return f"{key} | {normalise(response)}" if with_response and key and isinstance(response, str) else key


Drop = tuple[int, int, int, str, float]  # (row, the row it matched, its group's first row, pass, score)


def _drops(edges: Sequence[Edge]) -> list[Drop]:
    """Groups from edges; every row but the first of its group is dropped, naming its best partner (an
    earlier one first, then the highest score)."""
    groups = _Groups()
    best: dict[int, tuple[tuple[bool, float, int], int, str, float]] = {}
    for i, j, kind, score in edges:
        groups.union(i, j)
        for me, other in ((i, j), (j, i)):
            rank = (other < me, score, -other)
            if me not in best or rank > best[me][0]:
                best[me] = (rank, other, kind, score)
    return [(m, best[m][1], g[0], best[m][2], best[m][3]) for g in groups.groups() for m in g[1:]]


def run(rows: list[tuple[int, Record]], args: argparse.Namespace) -> StepResult:
    t0 = time.perf_counter()
    th = {k: float(_opt(args, f"{k}_threshold", d)) for k, d in DEFAULTS.items()}
    for name, v in th.items():
        if not 0.0 < v <= 1.0:
            raise OptionError(f"--{name}-threshold must be in (0, 1], got {v}")
    edit_t, jac_t = th["edit"], th["jaccard"]
    semantic, sweep, across = (
        bool(_opt(args, k, d)) for k, d in (("semantic", True), ("sweep", False), ("across_labels", False))
    )
    sweep_edit = _sweep_range(_opt(args, "sweep_edit", SWEEP_EDIT)) if sweep else []
    sweep_sem = _sweep_range(_opt(args, "sweep_semantic", SWEEP_SEMANTIC)) if sweep and semantic else []
    keys = [_key(r, bool(_opt(args, "include_response", False))) for _, r in rows]
    labels = [r.get("emotion") for _, r in rows]
    drops: list[Drop] = []
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k and first.setdefault(k, i) != i:
            drops.append((i, first[k], first[k], "exact", 1.0))
    uniq = sorted(first.values())
    ukeys = [keys[i] for i in uniq]
    sets = [shingles(k) for k in ukeys]
    t1 = time.perf_counter()
    scored = _scores(ukeys, ukeys, sets, sets, _candidates(sets, None, th["lsh"]), jac_t)
    report: dict[str, Any] = {
        "thresholds": {**th, "semantic": th["semantic"] if semantic else None},
        "normalisation": f"NFKC, {'t2s (OpenCC)' if _t2s() else 'no t2s (OpenCC not installed)'}, case-fold, "
        "punctuation and whitespace folded",
        "candidate_pairs": len(scored),
        "across_labels": across,
    }
    if not across:
        same = [labels[uniq[a]] == labels[uniq[b]] for a, b, _, _ in scored]
        other = [s for s, ok in zip(scored, same, strict=True) if not ok]
        report["near_pairs_with_other_label_kept"] = len(_edges(other, edit_t, jac_t))
        scored = [s for s, ok in zip(scored, same, strict=True) if ok]

    def near(t: float) -> list[Edge]:
        return [(uniq[a], uniq[b], kind, s) for a, b, kind, s in _edges(scored, t, jac_t)]

    near_drops = _drops(near(edit_t))
    drops += near_drops
    sweeps: dict[str, dict[str, int]] = {}
    if sweep:
        sweeps["edit"] = {f"{t:.2f}": len(_drops(near(t))) for t in sweep_edit}
    t2 = time.perf_counter()
    if semantic:
        gone = {d[0] for d in near_drops}
        survivors = [i for i in uniq if i not in gone]
        groups = [(language_of(keys[i]), None if across else labels[i]) for i in survivors]
        try:
            low = min([th["semantic"], *sweep_sem])
            pairs = _semantic_pairs(survivors, [keys[i] for i in survivors], groups, low, args, report)
        except EmbedderError as e:
            if _opt(args, "embedder", None):
                raise OptionError(str(e)) from e
            report["semantic_note"] = f"semantic pass skipped: {e}"
            pairs = []
        drops += _drops([p for p in pairs if p[3] >= th["semantic"]])
        if sweep:
            sweeps["semantic"] = {f"{t:.2f}": len(_drops([p for p in pairs if p[3] >= t])) for t in sweep_sem}
    counts = dict.fromkeys(PASSES, 0)
    for d in drops:
        counts[d[3]] += 1
    report["dropped_by_pass"] = counts
    t3 = time.perf_counter()
    report["seconds"] = {"exact": round(t1 - t0, 3), "near": round(t2 - t1, 3), "semantic": round(t3 - t2, 3)}
    if sweep:
        report["sweep"] = sweeps
        print(f"dedup sweep: rows each threshold would drop (exact duplicates, at any threshold: {counts['exact']})")
        for kind, table in sweeps.items():
            print(f"  {kind:<9} " + "  ".join(f"{t}:{n}" for t, n in table.items()))
    result = StepResult(report=report)
    if _opt(args, "dry_run", False):
        report["dry_run"] = True
        result.kept = [r for _, r in rows]
        return result
    by_row = {d[0]: d for d in drops}
    for i, (line, row) in enumerate(rows):
        if i not in by_row:
            result.kept.append(row)
            continue
        _, j, root, kind, score = by_row[i]
        of = {"dialogue_id": rows[j][1].get("dialogue_id"), "line": rows[j][0], "pass": kind, "score": round(score, 4)}
        out = {**row, "duplicate_of": of}
        if root != j:
            out["kept"] = {"dialogue_id": rows[root][1].get("dialogue_id"), "line": rows[root][0]}
        detail = f"{kind} duplicate of {of['dialogue_id']} (line {of['line']}), score {of['score']}"
        if labels[j] != labels[i]:
            detail += f"; that row's label is {labels[j]!r}, this one's {labels[i]!r}"
        result.reject(line, f"duplicate_{kind}", detail, out)
    return result


def _semantic_pairs(survivors: list[int], texts: list[str], groups: list[Any] | None, threshold: float,
                    args: argparse.Namespace, report: dict[str, Any]) -> list[Edge]:  # fmt: skip
    if len(survivors) < 2:
        return []
    inner = load_embedder(_opt(args, "embedder", None), int(_opt(args, "embed_threads", 0)))
    emb = CachedEmbedder(inner, int(_opt(args, "embed_batch", 64)))
    t = time.perf_counter()
    vectors = emb.embed(texts)
    rate = round(emb.computed / max(time.perf_counter() - t, 1e-9), 1)
    report["embedder"] = emb.name
    report["embeddings"] = {"computed": emb.computed, "cached": emb.hits, "rows_per_s": rate}
    return [(survivors[a], survivors[b], "semantic", s) for a, b, s in _similar_vectors(vectors, threshold, groups)]
