"""Train the semantic end-of-turn model (voiceassist/asr/eot.py) from the seed corpus, reproducibly.

    .venv/bin/python scripts/train_end_of_turn.py [--out voiceassist/resources/models/end_of_turn] [--seed 0]

Data, made from data/seed/train.jsonl (training) and data/seed/dev.jsonl (evaluation; the test split is never
read): each whole text is a finished turn; cuts of it are unfinished ones (the speaker went on):

- ``function``: after a conjunction, preposition, article, possessive, filler ("because", "to", "the", "my";
  "因为", "然后", "的", "把"...);
- ``verb``: after a verb, before its object (Mandarin, from jieba's part-of-speech tags);
- ``subject``: after the subject only ("I", "My brother"; "我", "我妈");
- ``clause``: a clause that could stand alone, followed by more: at a comma, or before a conjunction or
  "to" ("I went to the market" of "I went to the market to buy apples");
- ``sentence``: a whole sentence of a text that goes on ("My boss took my report." + "Word for word.");
- ``mid``: anywhere else between two words.

``sentence`` cuts are labelled **finished**, and so are up to two single sentences of a text of several
(``single``): speech has no paragraphs, a person may stop after any whole sentence ("I feel lonely."), and a
first version that labelled them unfinished learned that short complete sentences are unfinished (it gave
"我今天特别累。" P = 0.01). So is one ``tail`` of each text: from the start of a later clause to its end (a turn as
short as one clause); without them the finished examples were long and the cuts short, and short statements
still read as mid-thought (P 0.02-0.12). ``clause`` cuts read as finished and are labelled as the data says
(unfinished): the model learns they are uncertain. Mandarin cuts never end on 吗/吧/呢/啊 or on 了 inside a clause
(those endings usually close a sentence). The final punctuation is redrawn for every example (a period, none,
or now and then the original mark), as Whisper's partial transcripts end with a period mid-sentence or with
nothing; a question mark is kept (most of the time) as the cue for a finished question.

Feature sets (voiceassist.asr.eot.FeatureSpec) are compared on dev; the regularisation of each is chosen by
cross-validation on train, grouped by text. The best is written with model.json, weights.npz, metrics.json and
MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voiceassist.asr.eot import (  # noqa: E402
    FORMAT_VERSION,
    KIND,
    EndOfTurnModel,
    FeatureSpec,
    feature_indices,
)
from voiceassist.asr.turn import TRAILING_EN, completeness  # noqa: E402
from voiceassist.lang import lang as lang_of  # noqa: E402

TRAIN = ROOT / "data" / "seed" / "train.jsonl"
DEV = ROOT / "data" / "seed" / "dev.jsonl"
OUT = ROOT / "voiceassist" / "resources" / "models" / "end_of_turn"
THRESHOLDS = (0.2, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95)
CUT_KINDS = ("function", "verb", "subject", "clause", "sentence", "mid")
FINISHED_KINDS = frozenset(("sentence",))
"""Cuts labelled finished: a whole sentence is a turn a person may end on (speech has no paragraphs)."""
_SENTENCES = re.compile(r"(?<=[.!?。！？])\s*")

# -- cutting -----------------------------------------------------------------------------------------------

FUNCTION_EN = TRAILING_EN | frozenset((
    "to", "that", "when", "where", "while", "at", "in", "on", "about", "by", "as", "after", "before", "until",
    "then", "very", "really", "is", "was", "are", "were", "am", "be", "been", "i", "we", "he", "she", "they",
    "i'm", "we're", "it's", "there's", "i've", "i'd", "i'll", "just", "even", "not", "don't", "didn't",
    "can't", "won't", "keep", "keeps", "kept", "going", "gonna", "want", "wanted", "have", "has", "had",
))  # fmt: skip
CLAUSE_NEXT_EN = frozenset((
    "and", "but", "so", "because", "cause", "when", "if", "that", "to", "which", "who", "while", "after",
    "before", "until", "since", "or", "though", "although", "as", "unless", "with", "for", "then", "whenever",
))  # fmt: skip
DETERMINERS_EN = frozenset(("my", "the", "a", "an", "our", "his", "her", "their", "your", "this", "that"))
_SENT_END = re.compile(r"[.!?][\"'”’)]*$")
_CLAUSE_END = re.compile(r"[,;:\-—][\"'”’)]*$")
_STRIP = re.compile(r"^[^\w']+|[^\w']+$")

FUNCTION_ZH_FLAGS = frozenset(("c", "p", "uj", "uv", "ud", "uz", "e"))
FUNCTION_ZH_WORDS = frozenset((
    "就是", "然后", "还有", "那个", "这个", "嗯", "呃", "额", "因为", "所以", "但是", "可是", "不过", "而且",
    "如果", "要是", "虽然", "或者", "还是", "的话", "跟", "和", "把", "被", "给", "对", "在", "从", "让",
))  # fmt: skip
PARTICLES_ZH = frozenset(("吗", "吧", "呢", "啊", "呀", "嘛", "啦", "哦", "喔", "哈"))
PUNCT_ZH = frozenset("，。！？；：、,.!?;:…—-~“”\"'（）() ")
SENT_END_ZH = frozenset("。！？!?…")
CLAUSE_END_ZH = frozenset("，；：、,;:—-~")


def cuts_en(text: str) -> list[tuple[str, str]]:
    """Every cut of an English text between two words, with its kind."""
    toks = text.split()
    out = []
    for k in range(1, len(toks)):
        prev, nxt = toks[k - 1], toks[k]
        pw, nw = _STRIP.sub("", prev.lower()), _STRIP.sub("", nxt.lower())
        if not pw:
            continue
        if _SENT_END.search(prev):
            kind = "sentence"
        elif pw in FUNCTION_EN and not _CLAUSE_END.search(prev):
            kind = "function"
        elif _CLAUSE_END.search(prev) or nw in CLAUSE_NEXT_EN:
            kind = "clause"
        elif k == 1 or (k == 2 and toks[0].lower() in DETERMINERS_EN):
            kind = "subject"
        else:
            kind = "mid"
        out.append((" ".join(toks[:k]), kind))
    return out


def cuts_zh(text: str) -> list[tuple[str, str]]:
    """Every cut of a Mandarin text between two of jieba's words, with its kind (none after 吗/吧/呢/啊, none
    after 了 inside a clause, none just before punctuation: the cut after it is the same text)."""
    import jieba.posseg as pseg

    toks = [(t.word, t.flag) for t in pseg.cut(text)]
    out = []
    for k in range(1, len(toks)):
        (pw, pf), (nw, _nf) = toks[k - 1], toks[k]
        if nw in PUNCT_ZH or nw.strip() == "":
            continue
        if pw in PUNCT_ZH:
            if pw in SENT_END_ZH:
                kind = "sentence"
            elif pw in CLAUSE_END_ZH:
                kind = "clause"
            else:
                continue
        elif pw in PARTICLES_ZH or pw.endswith("了"):
            continue
        elif pf in FUNCTION_ZH_FLAGS or pw in FUNCTION_ZH_WORDS:
            kind = "function"
        elif _nf == "c":
            kind = "clause"
        elif pf.startswith("v"):
            kind = "verb"
        elif all(f in ("r", "n", "nr", "t") for _, f in toks[:k]) and k <= 3:
            kind = "subject"
        else:
            kind = "mid"
        out.append(("".join(w for w, _ in toks[:k]), kind))
    return out


_TAIL = re.compile(r"[\s.,!?;:…。，！？；：、~\-—\"'”’）)\]」』]+$")


def repunctuate(text: str, lang: str, rng: random.Random) -> str:
    """The text with its final punctuation redrawn as a partial transcript might end: a question keeps its
    "?" (80%); anything else ends on a period (45%), nothing (45%) or its own mark (10%)."""
    m = _TAIL.search(text)
    tail = m.group(0) if m else ""
    core = text[: len(text) - len(tail)].rstrip()
    if not core:
        return text
    period = "。" if lang == "zh" else "."
    r = rng.random()
    if "?" in tail or "？" in tail:
        return text.rstrip() if r < 0.8 else core if r < 0.9 else core + period
    return core + period if r < 0.45 else core if r < 0.9 else core + tail.strip()


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    label: int  # 1: finished
    kind: str  # "whole" or a cut kind
    group: int  # the source text


def make_examples(rows: list[dict[str, Any]], seed: int, mids: int = 2) -> list[Example]:
    """Per text: the whole text (finished) and, of its cuts, one of each kind and ``mids`` mid cuts."""
    rng = random.Random(seed)
    out: list[Example] = []
    for g, row in enumerate(rows):
        text, lang = row["text"].strip(), row["lang"]
        out.append(Example(repunctuate(text, lang, rng), lang, 1, "whole", g))
        sentences = [x.strip() for x in _SENTENCES.split(text) if x.strip()]
        if len(sentences) > 1:  # each sentence alone is a turn a person may well stop after ("I feel lonely.")
            for one in rng.sample(sentences, min(len(sentences), 2)):
                out.append(Example(repunctuate(one, lang, rng), lang, 1, "single", g))
        tails = clause_tails(text, lang)
        for one in rng.sample(tails, min(len(tails), 1)):  # short statements end turns too ("我今天特别累。")
            out.append(Example(repunctuate(one, lang, rng), lang, 1, "tail", g))
        by_kind: dict[str, list[str]] = {}
        for cut, kind in cuts_zh(text) if lang == "zh" else cuts_en(text):
            by_kind.setdefault(kind, []).append(cut)
        for kind in CUT_KINDS:
            options = by_kind.get(kind, [])
            for cut in rng.sample(options, min(len(options), mids if kind == "mid" else 1)):
                out.append(Example(repunctuate(cut, lang, rng), lang, int(kind in FINISHED_KINDS), kind, g))
    return out


_CLAUSE_SPLIT = re.compile(r"(?<=[,;:，；：、.!?。！？])\s*")


def clause_tails(text: str, lang: str) -> list[str]:
    """The text from the start of a later clause to its end: a turn as short as one clause that ends where
    the text ends (finished). Without them the whole texts, long, are the finished examples and the cuts,
    short, the unfinished ones, and the model learns that a short statement is unfinished."""
    parts = [x for x in _CLAUSE_SPLIT.split(text.strip()) if x.strip()]
    out = []
    for k in range(1, len(parts)):
        tail = ("" if lang == "zh" else " ").join(parts[k:]).strip()
        size = len(re.sub(r"\W", "", tail)) if lang == "zh" else len(tail.split())
        if size >= (4 if lang == "zh" else 3):
            out.append(tail)
    return out


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r.get("lang") in ("en", "zh") and str(r.get("text", "")).strip()]


# -- features and fitting ---------------------------------------------------------------------------------


def matrix(examples: list[Example], spec: FeatureSpec) -> sp.csr_matrix:
    """One row per example: its hashed features, read as the model reads them at run time (a text with
    Chinese characters in it is read as Mandarin whatever its label, as voiceassist.lang decides)."""
    rows = [feature_indices(e.text, lang_of(e.lang, e.text), spec) for e in examples]
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return sp.csr_matrix((np.ones(len(indices), np.float64), indices, indptr), shape=(len(rows), spec.dim))


def fit(x: sp.csr_matrix, y: np.ndarray, c: float, seed: int) -> tuple[np.ndarray, float]:
    """Logistic regression (liblinear's dual solver, on the columns in use: ten times faster), the weights
    scattered back into every hash bucket."""
    from sklearn.linear_model import LogisticRegression

    used = np.unique(x.indices)
    clf = LogisticRegression(
        C=c, solver="liblinear", dual=True, class_weight="balanced", max_iter=5000, random_state=seed
    )
    clf.fit(x[:, used], y)
    w = np.zeros(x.shape[1], np.float32)
    w[used] = clf.coef_[0]
    return w, float(clf.intercept_[0])


def predict(x: sp.csr_matrix, w: np.ndarray, b: float) -> np.ndarray:
    z = x @ w.astype(np.float64) + b
    return 1.0 / (1.0 + np.exp(-z))


def choose_c(examples: list[Example], spec: FeatureSpec, seed: int, grid: tuple[float, ...]) -> float:
    """The C of best mean AUC over 4 folds of train, grouped by source text."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    x, y = matrix(examples, spec), np.array([e.label for e in examples])
    groups = np.array([e.group for e in examples])
    best = (-1.0, grid[0])
    for c in grid:
        aucs = []
        for tr, te in GroupKFold(n_splits=4).split(x, y, groups):
            w, b = fit(x[tr], y[tr], c, seed)
            aucs.append(roc_auc_score(y[te], predict(x[te], w, b)))
        best = max(best, (float(np.mean(aucs)), c))
    return best[1]


# -- evaluation --------------------------------------------------------------------------------------------


def evaluate(examples: list[Example], p: np.ndarray, lo: float, hi: float) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    out: dict[str, Any] = {}
    for lang in ("en", "zh", "all"):
        idx = [i for i, e in enumerate(examples) if lang in ("all", e.lang)]
        y = np.array([examples[i].label for i in idx])
        q = p[idx]
        at = {}
        for t in THRESHOLDS:
            pred = q >= t
            tp = int(np.sum(pred & (y == 1)))
            at[str(t)] = {
                "precision": round(tp / max(1, int(pred.sum())), 4),
                "recall": round(tp / max(1, int(y.sum())), 4),
            }
        kinds = {}
        for kind in ("whole", "single", "tail", *CUT_KINDS):
            kq = np.array([p[i] for i in idx if examples[i].kind == kind])
            if len(kq):
                kinds[kind] = {
                    "n": len(kq),
                    "mean_p": round(float(kq.mean()), 3),
                    "finished": round(float(np.mean(kq >= hi)), 3),
                    "unsure": round(float(np.mean((kq > lo) & (kq < hi))), 3),
                    "unfinished": round(float(np.mean(kq <= lo)), 3),
                }
        out[lang] = {
            "n": len(idx),
            "finished_share": round(float(y.mean()), 3),
            "auc": round(float(roc_auc_score(y, q)), 4),
            "at": at,
            "kinds": kinds,
        }
    return out


def rule_baseline(examples: list[Example]) -> dict[str, Any]:
    """Today's rule read as a classifier: complete -> finished, trailing -> unfinished, else unsure."""
    score = {"complete": 1.0, "unknown": 0.5, "trailing": 0.0}
    p = np.array([score[completeness(e.text, e.lang)] for e in examples])
    res = evaluate(examples, p, 0.3, 0.85)
    for v in res.values():
        v["at"] = {"complete": v["at"]["0.85"]}
    return res


def choose_thresholds(examples: list[Example], p: np.ndarray) -> tuple[float, float]:
    """finished_above: the lowest (step 0.05) at which, in each language, at most 5% of the unfinished cuts
    count as finished (the pitch must fall too before the turn is cut short). unfinished_below: the highest
    at which, in each language, at most 5% of the whole turns count as unfinished (they wait 1 s)."""
    grid = [round(0.05 * i, 2) for i in range(1, 20)]
    hi, lo = 0.95, 0.05
    for t in grid:
        if all(
            np.mean([p[i] >= t for i, e in enumerate(examples) if e.lang == lang and e.label == 0]) <= 0.05
            for lang in ("en", "zh")
        ):
            hi = t
            break
    for t in reversed(grid):
        if t < hi and all(
            np.mean([p[i] <= t for i, e in enumerate(examples) if e.lang == lang and e.label == 1]) <= 0.05
            for lang in ("en", "zh")
        ):
            lo = t
            break
    return lo, hi


SPECS: dict[str, FeatureSpec] = {
    "rules": FeatureSpec(ngrams=(), suffixes=0, words=0, first_word=False),
    "ends": FeatureSpec(ngrams=(), first_word=False, rules=False),
    "rules+ends": FeatureSpec(ngrams=(), first_word=False),
    "rules+ends+first": FeatureSpec(ngrams=()),
    "rules+ends+first+ngrams": FeatureSpec(),
    "rules+ends+first+ngrams40": FeatureSpec(tail_chars=40, ngrams=(2, 3)),
    "rules+ends+ngrams-nolength": FeatureSpec(first_word=False, length=False),
}


def cost_us(folder: Path, examples: list[Example]) -> dict[str, float]:
    model = EndOfTurnModel(folder)
    t0 = time.perf_counter()
    model.load()
    load_ms = (time.perf_counter() - t0) * 1000
    times = []
    for e in examples:
        t0 = time.perf_counter()
        model.probability(e.text, e.lang)
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return {
        "median_us": round(statistics.median(times), 1),
        "p95_us": round(times[int(0.95 * (len(times) - 1))], 1),
        "load_ms": round(load_ms, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--specs", default=",".join(SPECS), help="feature sets to compare (comma-separated)")
    args = ap.parse_args()
    import jieba

    jieba.setLogLevel(logging.WARNING)
    train_rows, dev_rows = read_rows(TRAIN), read_rows(DEV)
    train, dev = make_examples(train_rows, args.seed), make_examples(dev_rows, args.seed + 1)
    y_dev = np.array([e.label for e in dev])
    print(f"train: {len(train_rows)} texts -> {len(train)} examples {dict(Counter(e.kind for e in train))}")
    print(f"dev:   {len(dev_rows)} texts -> {len(dev)} examples {dict(Counter(e.kind for e in dev))}")
    from sklearn.metrics import roc_auc_score

    compared: dict[str, Any] = {}
    best: tuple[float, str, float, np.ndarray, float] | None = None
    for name in args.specs.split(","):
        spec = SPECS[name]
        c = choose_c(train, spec, args.seed, (0.03, 0.1, 0.3, 1.0, 3.0))
        w, b = fit(matrix(train, spec), np.array([e.label for e in train]), c, args.seed)
        p = predict(matrix(dev, spec), w, b)
        aucs = {
            lang: round(float(roc_auc_score(y_dev[m], p[m])), 4)
            for lang in ("en", "zh")
            for m in [np.array([e.lang == lang for e in dev])]
        }
        compared[name] = {"C": c, "dev_auc": aucs, "features": spec.to_json()}
        print(f"{name:14s} C={c:<4} dev AUC en {aucs['en']:.4f} zh {aucs['zh']:.4f}")
        score = (aucs["en"] + aucs["zh"]) / 2
        if best is None or score > best[0] + 1e-4:  # ties: the simpler (earlier) set
            best = (score, name, c, w, b)
    assert best is not None
    _, name, c, w, b = best
    spec = SPECS[name]
    p_dev = predict(matrix(dev, spec), w, b)
    lo, hi = choose_thresholds(dev, p_dev)
    metrics = evaluate(dev, p_dev, lo, hi)
    # robustness: every final mark but "?" stripped, or every one made a period
    robust = {}
    for variant in ("none", "period"):
        texts = []
        for e in dev:
            t = e.text if re.search(r"[?？]\s*$", e.text) else _TAIL.sub("", e.text)
            if variant == "period" and not t.endswith(("?", "？")):
                t += "。" if e.lang == "zh" else "."
            texts.append(replace(e, text=t))
        pv = predict(matrix(texts, spec), w, b)
        robust[variant] = {
            lang: round(float(roc_auc_score(y_dev[m], pv[m])), 4)
            for lang in ("en", "zh")
            for m in [np.array([e.lang == lang for e in dev])]
        }

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "weights.npz", w=w.astype(np.float32), b=np.array([b], np.float32))
    b = float(np.float32(b))
    meta = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "languages": ["en", "zh"],
        "features": spec.to_json(),
        "feature_set": name,
        "C": c,
        "seed": args.seed,
        "thresholds": {"finished_above": hi, "unfinished_below": lo},
        "data": {
            "train_texts": len(train_rows),
            "train_examples": len(train),
            "dev_texts": len(dev_rows),
            "dev_examples": len(dev),
        },
        "dev_auc": {lang: metrics[lang]["auc"] for lang in ("en", "zh", "all")},
        "files": {"weights": "weights.npz"},
    }
    (out / "model.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    cost = cost_us(out, dev)
    # the shipped (float32) model reads dev as the fit did
    shipped = EndOfTurnModel(out).load()
    p_shipped = np.array([shipped.probability(e.text, e.lang) for e in dev])
    assert np.allclose(p_shipped, p_dev, atol=1e-4), float(np.abs(p_shipped - p_dev).max())
    report = {
        "chosen": name,
        "compared": compared,
        "dev": metrics,
        "dev_rule_baseline": rule_baseline(dev),
        "dev_auc_final_mark": robust,
        "thresholds": {"finished_above": hi, "unfinished_below": lo},
        "cost": cost,
        "sizes": meta["data"],
        "examples_by_kind": {
            "train": dict(Counter(f"{e.lang}:{e.kind}" for e in train)),
            "dev": dict(Counter(f"{e.lang}:{e.kind}" for e in dev)),
        },
    }
    (out / "metrics.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(model_card(report, meta), encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("chosen", "thresholds", "cost", "dev_auc_final_mark")}, indent=1))
    for lang in ("en", "zh"):
        m = metrics[lang]
        print(lang, "AUC", m["auc"], {t: (v["precision"], v["recall"]) for t, v in m["at"].items()})
        print("   ", {k: (v["mean_p"], v["finished"], v["unfinished"]) for k, v in m["kinds"].items()})
    return 0


def model_card(report: dict[str, Any], meta: dict[str, Any]) -> str:
    hi, lo = report["thresholds"]["finished_above"], report["thresholds"]["unfinished_below"]
    d = report["dev"]
    lines = [
        "# End-of-turn model",
        "",
        "P(the person has finished their turn | the words heard so far), English and Mandarin, for the hangover",
        "after the speculative pass at a pause (`voiceassist/asr/turn.py`). Read by `voiceassist/asr/eot.py`",
        f"(numpy only). Rebuilt, byte for byte the same, by `scripts/train_end_of_turn.py` (seed {meta['seed']}).",
        "",
        "## Model",
        "",
        f"Logistic regression (scikit-learn, liblinear, balanced class weights, C = {meta['C']} chosen by 4-fold",
        "cross-validation on train grouped by text) on hashed binary features "
        f"({meta['features']['dim']} buckets, CRC-32),",
        f"feature set `{meta['feature_set']}`: every feature prefixed with the language (one weight vector, the",
        "languages apart): the final punctuation mark; a sentence end inside the text; the verdict of turn.py's",
        "trailing-word rule and whether the last word is on its lists; the last 1-3 words (English); the first",
        "word (English) or two characters (Mandarin); the last 1-5 characters; character n-grams of the last",
        f"{meta['features']['tail_chars']} characters (n = {', '.join(map(str, meta['features']['ngrams'])) or '-'});"
        " the length (words or characters, bucketed).",
        "",
        "Feature sets compared (dev AUC en / zh):",
        "",
        "| set | C | en | zh |",
        "|---|---:|---:|---:|",
    ]
    for name, v in report["compared"].items():
        lines.append(f"| {name} | {v['C']} | {v['dev_auc']['en']:.4f} | {v['dev_auc']['zh']:.4f} |")
    s = report["sizes"]
    lines += [
        "",
        "## Data",
        "",
        f"`data/seed/train.jsonl` ({s['train_texts']} texts -> {s['train_examples']} examples) and",
        f"`data/seed/dev.jsonl` ({s['dev_texts']} texts -> {s['dev_examples']} examples, held out, cut the same way",
        "with a fixed seed); the test split is not read. Each whole text is a finished turn, and so are up to",
        "two single sentences of a text of several (`single`) and one tail of it from a later clause to its end",
        "(`tail`: short statements end turns too); cuts of it are unfinished (the speaker went on)",
        "but for `sentence` ones: one of each kind a text has, and two `mid` cuts:",
        "",
        "- `function`: after a conjunction, preposition, article, possessive or filler (because, to, the, my;",
        "  因为, 然后, 的, 把);",
        "- `verb`: after a verb, before its object (Mandarin, jieba's part-of-speech tags);",
        "- `subject`: after the subject only (I, My brother; 我);",
        '- `clause`: a clause that could stand alone, followed by more ("I went to the market" of "... to buy',
        '  apples"): at a comma or before a conjunction or "to";',
        "- `sentence`: a whole sentence of a text that goes on (labelled finished: a person may stop there);",
        "- `mid`: anywhere else between two words.",
        "",
        "Mandarin cuts never end on 吗/吧/呢/啊, nor on 了 inside a clause (those usually close a sentence). The",
        "final punctuation of every example is redrawn (a period 45%, none 45%, its own mark 10%), as Whisper's",
        'partial transcripts end with a period mid-sentence, or with nothing; a "?" is kept 80% of the time.',
        "",
        "## Dev figures",
        "",
        "Precision / recall of *finished* at thresholds of P:",
        "",
        "| P >= | en precision | en recall | zh precision | zh recall |",
        "|---:|---:|---:|---:|---:|",
    ]
    for t in THRESHOLDS:
        en, zh = d["en"]["at"][str(t)], d["zh"]["at"][str(t)]
        lines.append(
            f"| {t} | {en['precision']:.3f} | {en['recall']:.3f} | {zh['precision']:.3f} | {zh['recall']:.3f} |"
        )
    rb = report["dev_rule_baseline"]
    lines += [
        "",
        f"AUC: en {d['en']['auc']:.4f}, zh {d['zh']['auc']:.4f} (finished share: en {d['en']['finished_share']},"
        f' zh {d["zh"]["finished_share"]}). With every final mark but "?" removed: en '
        f"{report['dev_auc_final_mark']['none']['en']:.4f}, zh {report['dev_auc_final_mark']['none']['zh']:.4f};"
        f" made a period: en {report['dev_auc_final_mark']['period']['en']:.4f},"
        f" zh {report['dev_auc_final_mark']['period']['zh']:.4f}.",
        "",
        "Today's rule on the same examples (complete = finished): en precision "
        f"{rb['en']['at']['complete']['precision']:.3f} recall {rb['en']['at']['complete']['recall']:.3f}, zh "
        f"precision {rb['zh']['at']['complete']['precision']:.3f} recall {rb['zh']['at']['complete']['recall']:.3f}"
        f"; AUC en {rb['en']['auc']:.4f}, zh {rb['zh']['auc']:.4f}.",
        "",
        f"## Thresholds: turn.finished_above = {hi}, turn.unfinished_below = {lo}",
        "",
        "finished_above: the lowest P (step 0.05) at which at most 5% of the unfinished cuts in each language",
        "count as finished (those could be cut short, if the pitch falls too). unfinished_below: the highest at",
        "which at most 5% of the whole turns in each language wait the long hangover. Share of each kind of dev",
        f"example that the model calls finished (P >= {hi}), unsure, unfinished (P <= {lo}):",
        "",
        "| kind | en n | en mean P | en finished / unsure / unfinished "
        "| zh n | zh mean P | zh finished / unsure / unfinished |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for kind in ("whole", "single", "tail", *CUT_KINDS):
        cells = []
        for lang in ("en", "zh"):
            k = d[lang]["kinds"].get(kind)
            cells += (
                [str(k["n"]), f"{k['mean_p']:.2f}", f"{k['finished']:.2f} / {k['unsure']:.2f} / {k['unfinished']:.2f}"]
                if k
                else ["0", "-", "-"]
            )
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    c = report["cost"]
    lines += [
        "",
        "`clause` cuts are labelled unfinished (the speaker went on) but many of them are complete",
        "sentences: the model is unsure of them, and the policy gives the unsure the usual hangover.",
        "",
        "## Cost",
        "",
        f"Per call (`EndOfTurnModel.probability`, the dev examples, one thread on the training machine): median"
        f" {c['median_us']} us, p95 {c['p95_us']} us; loading {c['load_ms']} ms (once).",
        "",
        "## Limits",
        "",
        "Written sentences of one corpus (first-person, everyday, emotional), not transcripts of speech: real",
        "turns have fillers, restarts and Whisper's errors. The labels of the cuts are the corpus's (the text",
        "went on), so a complete clause followed by more counts as unfinished. The thresholds depend on the dev",
        "mix of finished and unfinished (about one to six).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
