"""``voiceassist data split``: dialogues and near-duplicate groups stay in one split, every (lang, emotion)
stratum is split in the ratios, the result depends on the seed only."""

from __future__ import annotations

import argparse
import random
from collections import Counter

import pytest

from voiceassist.data import split
from voiceassist.data.step import OptionError

RATIOS = {"train": 0.8, "dev": 0.1, "test": 0.1}


def sargs(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    split.add_arguments(p)
    return p.parse_args(list(argv))


def text(rng: random.Random, lang: str) -> str:
    """A random sentence: no two are near-duplicates."""
    if lang == "zh":
        return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(14))
    return " ".join(
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8))) for _ in range(7)
    )


def corpus(strata: dict[tuple[str, str], int], seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for (lang, emotion), n in strata.items():
        for i in range(n):
            rows.append(
                {"dialogue_id": f"{lang}-{emotion}-{i}", "lang": lang, "text": text(rng, lang), "emotion": emotion}
            )
    rng.shuffle(rows)
    return rows


def run(rows: list[dict], *argv: str):
    return split.run(list(enumerate(rows, 1)), sargs(*argv))


def where(result) -> dict[str, set[str]]:
    """dialogue_id -> the splits its rows went to."""
    out: dict[str, set[str]] = {}
    for r in result.kept:
        out.setdefault(r["dialogue_id"], set()).add(r["split"])
    return out


def test_every_stratum_and_the_total_are_split_in_the_ratios():
    strata = {("zh", "happy"): 50, ("en", "sad"): 40, ("zh", "angry"): 30, ("en", "neutral"): 20}
    rows = corpus(strata)
    result = run(rows)
    assert len(result.kept) == len(rows) and all(r["split"] in RATIOS for r in result.kept)
    counts = Counter((r["lang"], r["emotion"], r["split"]) for r in result.kept)
    for (lang, emotion), n in strata.items():
        for s, share in RATIOS.items():
            assert abs(counts[(lang, emotion, s)] - share * n) <= 1, (lang, emotion, s, counts)
    total = Counter(r["split"] for r in result.kept)
    for s, share in RATIOS.items():
        assert abs(total[s] - share * len(rows)) <= 1
    by = result.report["splits"]
    assert by["dev"]["by_lang_emotion"]["zh"]["happy"] == counts[("zh", "happy", "dev")]
    assert sum(by[s]["rows"] for s in RATIOS) == len(rows)
    assert {s: len(result.extra[s]) for s in RATIOS} == {s: total[s] for s in RATIOS}
    assert result.report["near_duplicate_groups"] == 0 and result.report["groups_kept_together"] == 0


def test_tiny_strata_still_fill_dev_and_test():
    rows = corpus({(lang, e): 1 for lang in ("zh", "en") for e in ("angry", "happy", "sad", "fearful", "neutral")})
    total = Counter(r["split"] for r in run(rows).kept)
    assert total == {"train": 8, "dev": 1, "test": 1}


def test_dialogues_stay_together():
    rng = random.Random(1)
    rows = []
    for d in range(40):
        for turn in range(rng.randint(1, 4)):
            emotion = rng.choice(["sad", "happy"])
            rows.append(
                {"dialogue_id": f"d{d}", "turn": turn, "lang": "en", "text": text(rng, "en"), "emotion": emotion}
            )
    rng.shuffle(rows)
    result = run(rows)
    assert all(len(s) == 1 for s in where(result).values())
    assert len({s for v in where(result).values() for s in v}) == 3  # and all three splits are used
    multi = sum(1 for n in Counter(r["dialogue_id"] for r in rows).values() if n > 1)
    assert result.report["multi_row_dialogues"] == multi == result.report["groups_kept_together"]


def test_near_duplicates_across_dialogues_go_to_one_split():
    rng = random.Random(2)
    rows = []
    for i in range(30):  # 30 pairs: the same sentence twice, under two dialogue ids
        t = text(rng, "en" if i % 2 else "zh")
        lang = "en" if i % 2 else "zh"
        rows.append({"dialogue_id": f"p{i}a", "lang": lang, "text": t, "emotion": "sad"})
        rows.append({"dialogue_id": f"p{i}b", "lang": lang, "text": t.upper() + "!", "emotion": "sad"})
    rows += corpus({("en", "sad"): 20}, seed=3)
    result = run(rows)
    splits = where(result)
    for i in range(30):
        assert splits[f"p{i}a"] == splits[f"p{i}b"], i
    assert {s for v in splits.values() for s in v} == set(RATIOS)
    assert result.report["near_duplicate_groups"] == 30
    assert result.report["near_duplicate_groups_joining_dialogues"] == 30
    assert result.report["groups"] == 50


def test_seeded():
    rows = corpus({("zh", "happy"): 30, ("en", "sad"): 30})
    first = [r["split"] for r in run(rows, "--seed", "5").kept]
    assert first == [r["split"] for r in run(rows, "--seed", "5").kept]
    assert first != [r["split"] for r in run(rows, "--seed", "6").kept]


def test_ratios_option():
    rows = corpus({("zh", "happy"): 20, ("en", "sad"): 20})
    total = Counter(r["split"] for r in run(rows, "--ratios", "0.5,0.5,0").kept)
    assert total == {"train": 20, "dev": 20}
    for bad in ("0.8,0.1", "0.8,0.1,0.2", "a,b,c", "1.2,-0.1,-0.1"):
        with pytest.raises(OptionError):
            run(rows, "--ratios", bad)
    with pytest.raises(OptionError):
        run(rows, "--near-threshold", "0")


def test_empty_input():
    result = run([])
    assert result.kept == [] and result.report["groups"] == 0
    assert all(result.report["splits"][s]["rows"] == 0 for s in RATIOS)
