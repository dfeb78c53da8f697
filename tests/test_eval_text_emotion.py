"""``voiceassist eval text-emotion`` and the metrics under it: numbers checked against values worked out by
hand, the report files, the messages for bad input, and opening model folders by their kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from voiceassist.cli import main
from voiceassist.emotion import EmotionEstimate, create_text_backend
from voiceassist.emotion.head import (
    FEATURES,
    FEATURES_BEFORE_CUES,
    N_FEATURES,
    EmbeddedHeadTextBackend,
    Featurizer,
    Head,
    head_meta,
    read_head_folder,
)
from voiceassist.emotion.labels import INDEX, LABELS
from voiceassist.emotion.text import LexiconTextBackend
from voiceassist.train import evaluate as evaluate_module
from voiceassist.train.metrics import classification_metrics, metrics_by_language

ROOT = Path(__file__).resolve().parent.parent
EVAL_TSV = ROOT / "tests" / "data" / "text_emotion_eval.tsv"


def write_random_head(folder: Path, seed: int = 0, features: tuple[tuple[str, int], ...] = FEATURES) -> Path:
    """A valid embedded-head folder (random weights) written the way training writes one."""
    rng = np.random.default_rng(seed)
    classes = ("angry", "happy", "neutral", "sad")
    n = sum(size for _, size in features)
    head = Head(
        mean=np.zeros(n),
        scale=np.ones(n),
        layers=((rng.normal(size=(n, len(classes))), np.zeros(len(classes))),),
        classes=classes,
    )
    folder.mkdir(parents=True)
    head.save(folder / "head.npz")
    meta = head_meta(head, folder / "head.npz", "query", "logreg", features)
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def _probs(top: str, p: float, second: str, third: str = "") -> list[float]:
    """``p`` on ``top``, the rest on ``second`` (or split 3:2 between ``second`` and ``third``)."""
    v = np.zeros(len(LABELS))
    v[INDEX[top]] = p
    if third:
        v[INDEX[second]], v[INDEX[third]] = 0.6 * (1 - p), 0.4 * (1 - p)
    else:
        v[INDEX[second]] = 1 - p
    return v.tolist()


# (true label, language, predicted probabilities): worked out by hand below.
HAND = [
    ("happy", "en", _probs("happy", 0.90, "sad")),  # right, confidence 0.90 -> bin 13 (0.867, 0.933]
    ("happy", "en", _probs("sad", 0.62, "happy")),  # wrong, 0.62 -> bin 9 (0.600, 0.667]
    ("sad", "en", _probs("sad", 0.91, "angry")),  # right, 0.91 -> bin 13
    ("sad", "zh", _probs("sad", 0.95, "happy")),  # right, 0.95 -> bin 14
    ("angry", "zh", _probs("happy", 0.50, "angry", "sad")),  # wrong, 0.50 -> bin 7 (0.467, 0.533]
    ("angry", "zh", _probs("angry", 0.82, "sad")),  # right, 0.82 -> bin 12 (0.800, 0.867]
]
# happy: 1 right of 2 predicted, 2 true -> P 1/2, R 1/2, F1 1/2
# sad: 2 right of 3 predicted, 2 true -> P 2/3, R 1, F1 0.8
# angry: 1 right of 1 predicted, 2 true -> P 1, R 1/2, F1 2/3
MACRO_F1 = (0.5 + 0.8 + 2 / 3) / 3
# bins: 13 {0.90, 0.91} both right: |1 - 0.905| = 0.095 (2 rows); 9: |0 - 0.62|; 14: |1 - 0.95|; 7: |0 - 0.5|;
# 12: |1 - 0.82|
ECE = (2 * 0.095 + 0.62 + 0.05 + 0.5 + 0.18) / 6


def test_metrics_match_the_hand_computed_values():
    m = classification_metrics([g for g, _, _ in HAND], [p for _, _, p in HAND])
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert m["macro_f1"] == pytest.approx(MACRO_F1, abs=1e-6)
    assert m["ece"] == pytest.approx(ECE, abs=1e-6)
    pc = m["per_class"]
    assert set(pc) == {"happy", "sad", "angry"}
    assert (pc["happy"]["precision"], pc["happy"]["recall"], pc["happy"]["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (pc["sad"]["precision"], pc["sad"]["recall"], pc["sad"]["f1"]) == pytest.approx((2 / 3, 1.0, 0.8), abs=1e-6)
    assert (pc["angry"]["precision"], pc["angry"]["recall"]) == pytest.approx((1.0, 0.5))
    assert [pc[c]["support"] for c in ("happy", "sad", "angry")] == [2, 2, 2]
    matrix = np.array(m["confusion"]["matrix"])
    assert matrix.sum() == 6 and matrix[INDEX["angry"], INDEX["happy"]] == 1 and matrix[INDEX["sad"], INDEX["sad"]] == 2
    bins = {i: b for i, b in enumerate(m["reliability"]) if b["count"]}
    assert sorted(bins) == [7, 9, 12, 13, 14]
    assert bins[13]["count"] == 2 and bins[13]["confidence"] == pytest.approx(0.905)
    assert sum(b["count"] for b in m["reliability"]) == 6 and len(m["reliability"]) == 15


def test_metrics_agree_with_scikit_learn_and_count_a_class_only_predicted():
    from sklearn.metrics import f1_score

    gold = ["happy", "happy", "sad", "neutral"]
    probs = [_probs("happy", 0.9, "sad"), _probs("surprised", 0.8, "happy"), _probs("sad", 0.7, "happy"),
             _probs("sad", 0.6, "neutral")]  # fmt: skip
    m = classification_metrics(gold, probs)
    pred = [LABELS[int(np.argmax(p))] for p in probs]
    assert m["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"), abs=1e-6)
    assert m["per_class"]["surprised"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 1}


def test_other_is_counted_when_said_for_a_sentence_of_the_seven():
    gold = ["sad", "other", "happy", "sad"]
    probs = [_probs("other", 0.7, "sad"), _probs("other", 0.8, "sad"), _probs("happy", 0.9, "sad"),
             _probs("sad", 0.6, "other")]  # fmt: skip
    by = metrics_by_language(gold, ["en", "en", "zh", "zh"], probs)
    counts = evaluate_module.other_for_the_seven(by)
    assert counts == {"all": {"sentences": 3, "called_other": 1}, "en": {"sentences": 1, "called_other": 1},
                      "zh": {"sentences": 2, "called_other": 0}}  # fmt: skip


def test_metrics_per_language():
    by = metrics_by_language([g for g, _, _ in HAND], [lang for _, lang, _ in HAND], [p for _, _, p in HAND])
    assert list(by) == ["all", "en", "zh"]
    assert by["en"]["n"] == 3 and by["en"]["accuracy"] == pytest.approx(2 / 3, abs=1e-6)
    # zh: sad 0.95 right (bin 14), angry->happy 0.50 wrong (bin 7), angry 0.82 right (bin 12)
    assert by["zh"]["ece"] == pytest.approx((0.05 + 0.5 + 0.18) / 3, abs=1e-6)


class _TableBackend:
    """A backend that answers from the hand-made table."""

    name = description = "hand-made table"
    embedded = True

    def load(self) -> None:
        pass

    def analyze(self, text: str, language: str = "") -> EmotionEstimate:
        return EmotionEstimate(scores=np.array(HAND[int(text.split()[-1])][2]), backend=self.description)


def test_eval_command_reports_the_hand_computed_numbers(tmp_path: Path, monkeypatch, capsys):
    data = tmp_path / "test.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": f"row {i}", "lang": lang, "emotion": g}) + "\n" for i, (g, lang, _) in enumerate(HAND)
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(evaluate_module, "open_model", lambda spec, cfg=None: _TableBackend())
    out = tmp_path / "report"
    assert main(["eval", "text-emotion", "--model", "table", "--data", str(data), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "macro-F1" in printed and "ECE" in printed and f"{MACRO_F1:.3f}" in printed
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["metrics"]["all"]["macro_f1"] == pytest.approx(MACRO_F1, abs=1e-6)
    assert report["metrics"]["all"]["ece"] == pytest.approx(ECE, abs=1e-6)
    assert report["metrics"]["en"]["n"] == 3 and report["data"]["rows"] == 6
    assert report["other_for_the_seven"]["all"] == {"sentences": 6, "called_other": 0}
    assert '"other" said for 0 of 6 sentences of the seven main classes' in printed
    confusion = json.loads((out / "confusion.json").read_text(encoding="utf-8"))
    assert set(confusion) == {"all", "en", "zh"} and np.array(confusion["all"]["matrix"]).sum() == 6
    for png in ("confusion.png", "reliability.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_of_the_lexicon_on_the_tsv_matches_the_backend(tmp_path: Path, capsys):
    out = tmp_path / "r"
    assert main(["eval", "text-emotion", "--model", "lexicon", "--data", str(EVAL_TSV), "-o", str(out)]) == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    rows = [line.split("\t") for line in EVAL_TSV.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    lex = LexiconTextBackend()
    acc = sum(lex.analyze(text, lang).label == label for label, lang, text in rows) / len(rows)
    assert report["metrics"]["all"]["accuracy"] == pytest.approx(acc, abs=1e-6)
    assert report["metrics"]["all"]["n"] == len(rows) and acc >= 0.8
    assert {"en", "zh"} <= set(report["metrics"])


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"text": "I am happy", "lang": "en", "emotion": "joyful"}', "emotion 'joyful' is not one of the 9 labels"),
        ('{"text": "I am happy", "lang": "en", "emotion": ', "malformed JSON line"),
        ('{"text": "", "lang": "en", "emotion": "happy"}', "the text is empty"),
        ('{"text": "Bonjour", "lang": "fr", "emotion": "happy"}', "language 'fr'"),
    ],
)
def test_bad_rows_are_named_by_file_and_line(tmp_path: Path, capsys, line: str, expected: str):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "I am sad", "lang": "en", "emotion": "sad"}\n' + line + "\n", encoding="utf-8")
    assert main(["eval", "text-emotion", "--model", "lexicon", "--data", str(data)]) == 3
    err = capsys.readouterr().err
    assert f"{data}:2" in err and expected in err and "Traceback" not in err


def test_bad_model_folders_are_named(tmp_path: Path, capsys):
    data = tmp_path / "t.tsv"
    data.write_text("happy\ten\tI am happy\n", encoding="utf-8")
    assert main(["eval", "text-emotion", "--model", str(tmp_path / "nope"), "--data", str(data)]) == 3
    assert "no such model folder" in capsys.readouterr().err
    folder = write_random_head(tmp_path / "m")
    (folder / "head.npz").unlink()
    assert main(["eval", "text-emotion", "--model", str(folder), "--data", str(data)]) == 3
    assert f"{folder / 'head.npz'} is missing" in capsys.readouterr().err
    other = write_random_head(tmp_path / "m2")
    write_random_head(tmp_path / "m3", seed=1)
    (other / "head.npz").write_bytes((tmp_path / "m3" / "head.npz").read_bytes())  # another head, same layout
    assert main(["eval", "text-emotion", "--model", str(other), "--data", str(data)]) == 3
    assert "does not match" in capsys.readouterr().err
    meta = json.loads((other / "model.json").read_text())
    (other / "model.json").write_text(json.dumps({**meta, "kind": "onnx"}))
    assert main(["eval", "text-emotion", "--model", str(other), "--data", str(data)]) == 3
    assert "unknown model kind 'onnx'" in capsys.readouterr().err


def test_create_text_backend_picks_the_backend_by_the_folders_kind(tmp_path: Path, monkeypatch):
    head = write_random_head(tmp_path / "head-model")
    cfg = SimpleNamespace(text_backend="auto", text_model="head-model", lexicon_overlay="")
    b, note = create_text_backend(cfg, tmp_path)  # by name under the models folder
    assert isinstance(b, EmbeddedHeadTextBackend) and note is None and not b.embedded
    (head / "head.npz").unlink()
    b, note = create_text_backend(cfg, tmp_path)
    assert isinstance(b, LexiconTextBackend) and note and "head.npz is missing" in note
    # text_model empty: the head shipped in the package when there is one, else the lexicons
    monkeypatch.setattr("voiceassist.emotion.head.shipped_model_dir", lambda: tmp_path / "absent")
    b, note = create_text_backend(SimpleNamespace(text_backend="auto", text_model=""), tmp_path)
    assert isinstance(b, LexiconTextBackend) and note is None
    shipped = write_random_head(tmp_path / "shipped")
    monkeypatch.setattr("voiceassist.emotion.head.shipped_model_dir", lambda: shipped)
    b, note = create_text_backend(SimpleNamespace(text_backend="auto", text_model=""), tmp_path)
    assert isinstance(b, EmbeddedHeadTextBackend) and b.embedded and "embedded default" in b.description
    (shipped / "model.json").write_text("{not json")
    b, note = create_text_backend(SimpleNamespace(text_backend="auto", text_model=""), tmp_path)
    assert isinstance(b, LexiconTextBackend) and note and "shipped in the package" in note


def test_head_round_trip_and_shape_checks(tmp_path: Path):
    folder = write_random_head(tmp_path / "m")
    head = Head.load(folder / "head.npz")
    x = np.random.default_rng(1).normal(size=(3, N_FEATURES))
    p = head.proba(x)
    assert p.shape == (3, 9) and np.allclose(p.sum(axis=1), 1)
    assert np.all(p[:, [INDEX["disgusted"], INDEX["other"], INDEX["unknown"]]] == 0)  # classes it never saw
    bad = Head(head.mean[:10], head.scale[:10], head.layers, head.classes)
    with pytest.raises(Exception, match="do not chain"):
        bad.check(folder / "head.npz")


def test_the_other_offset_and_the_per_language_temperatures_round_trip(tmp_path: Path):
    folder = write_random_head(tmp_path / "m")
    head = Head.load(folder / "head.npz")
    x = np.random.default_rng(2).normal(size=(4, N_FEATURES))
    zh = [False, True, False, True]
    assert head.bias is None and head.lang_temperature is None
    assert np.allclose(head.proba(x, zh=zh), head.proba(x))  # no per-language temperature: the one
    offset = np.array([0.0, -2.0, 0.0, 0.0])  # happy
    tuned = head.replace(bias=offset, temperature=1.2, lang_temperature=(0.8, 1.5))
    tuned.save(tmp_path / "tuned.npz")
    back = Head.load(tmp_path / "tuned.npz")
    assert back.lang_temperature == (0.8, 1.5) and np.array_equal(back.bias, offset)
    p = back.proba(x, zh=zh)
    assert np.allclose(p[0], head.replace(bias=offset, temperature=0.8).proba(x[:1])[0])  # English row
    assert np.allclose(p[1], head.replace(bias=offset, temperature=1.5).proba(x[1:2])[0])  # Chinese row
    assert np.allclose(back.proba(x), head.replace(bias=offset, temperature=1.2).proba(x))  # language unknown
    assert np.all(p[:, INDEX["happy"]] < back.replace(bias=None).proba(x, zh=zh)[:, INDEX["happy"]])
    meta = head_meta(back, tmp_path / "tuned.npz", "query", "logreg")
    assert meta["class_bias"] == {"happy": -2.0} and meta["temperature_by_language"] == {"en": 0.8, "zh": 1.5}
    with pytest.raises(Exception, match="bias has shape"):
        head.replace(bias=np.zeros(3)).check(folder / "head.npz")


def test_a_head_trained_before_the_cue_features_still_loads(tmp_path: Path):
    old = write_random_head(tmp_path / "old", features=FEATURES_BEFORE_CUES)
    meta, head = read_head_folder(old)
    assert head.mean.shape == (396,) and [f["name"] for f in meta["features"]][-1] == "is_zh"
    rows, _ = Featurizer(layout=FEATURES_BEFORE_CUES).lexicon_block(["I'm not worried any more"], ["en"])
    assert rows.shape == (1, 12)
    rows, _ = Featurizer().lexicon_block(["I'm not worried any more"], ["en"])
    assert rows.shape == (1, N_FEATURES - 384)
    meta_path = old / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["features"] = meta["features"][:4]  # a layout no version wrote
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(Exception, match="feature layout"):
        read_head_folder(old)


@pytest.mark.slow
def test_bench_compares_models_side_by_side(tmp_path: Path):
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": t, "lang": lang, "emotion": e}, ensure_ascii=False) + "\n"
            for t, lang, e in [
                ("I am so happy", "en", "happy"),
                ("我好难过", "zh", "sad"),
                ("The bus is at nine", "en", "neutral"),
            ]
        ),
        encoding="utf-8",
    )
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "text_emotion_eval.py"), "--data", str(data), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "macro-F1" in run.stdout and "ms/sentence" in run.stdout and "recall happy" in run.stdout
    (result,) = json.loads(out.read_text(encoding="utf-8"))
    assert result["model"] == "lexicon" and result["metrics"]["all"]["n"] == 3


NEGATION_PAIRS = [  # (language, a feeling said, its label, the same feeling said to be over or denied)
    ("en", "I'm worried about my exam results.", "fearful", "I'm not worried about my exam results any more."),
    ("en", "I'm so angry at my brother.", "angry", "I'm not angry at my brother anymore, we talked it out."),
    ("en", "I feel really sad today.", "sad", "I don't feel sad any more, things got better."),
    ("en", "I'm scared of driving on the highway.", "fearful", "I'm no longer scared of driving on the highway."),
    ("en", "I'm happy with my new job.", "happy", "I'm not happy with my new job at all."),
    ("en", "That smell is disgusting.", "disgusted", "It doesn't smell disgusting any more since they cleaned it."),
    ("zh", "我很生气。", "angry", "我现在一点也不生气了。"),
    ("zh", "我很担心明天的面试。", "fearful", "我已经不担心明天的面试了。"),
    ("zh", "我今天特别难过。", "sad", "我现在不难过了，心情好多了。"),
    ("zh", "我害怕一个人走夜路。", "fearful", "我现在不再害怕一个人走夜路了。"),
    ("zh", "我对新工作很满意，很开心。", "happy", "我对新工作一点也不满意，不开心。"),
    ("zh", "这个味道太恶心了。", "disgusted", "打扫以后，这个味道已经不恶心了。"),
]
"""Written after the head was trained, never used to train or choose anything (a held-back check). The head
shipped before the cue features got 4 of these 12 pairs right; the one with them 11."""


def test_the_shipped_head_reads_a_feeling_that_is_over_in_both_languages():
    from voiceassist.config import EmotionConfig
    from voiceassist.emotion.head import shipped_model_dir

    head = EmbeddedHeadTextBackend(EmotionConfig(), shipped_model_dir())
    for lang in ("en", "zh"):
        right = [
            head.analyze(said, la).label == label and head.analyze(over, la).label != label
            for la, said, label, over in NEGATION_PAIRS
            if la == lang
        ]
        assert sum(right) >= 5, (lang, right)  # of 6
