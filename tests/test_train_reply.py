"""``voiceassist train reply`` / ``eval reply``: the tiny GPT-2 trained end to end on a corpus written here
(its folder, GenerativeReplier loading it and generating, the backend's own prompt, the loss on the response
only), the reply metrics on hand-made examples with values worked out by hand, tone fit, the strategy planner
on a few rows, the safety filter counted, and bad input (exit 3, no traceback, no half-written folder)."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest

from voiceassist.cli import main
from voiceassist.reply.generative import GenerativeReplier
from voiceassist.train import TrainError
from voiceassist.train import reply_model as reply_model_module
from voiceassist.train.reply_data import ReplyRow, emotion_tones, prompt_for, read_reply_data
from voiceassist.train.reply_metrics import (
    Scored,
    bleu,
    classify_tone,
    distinct,
    lcs_length,
    rouge_l,
    score_replies,
    tokens,
)

PNG = b"\x89PNG\r\n\x1a\n"

ROWS = {
    "en": {
        "angry": (
            "I'm furious, the landlord kept my whole deposit.",
            "That is really unfair. Shall we look up your rights?",
        ),
        "sad": ("I feel so lonely since my sister moved away.", "I'm sorry, missing her must be hard. Want to talk?"),
        "happy": ("I passed my driving test this morning!", "Congratulations, that is wonderful news!"),
        "fearful": ("I'm scared about the surgery tomorrow.", "That sounds worrying. It's okay to feel nervous."),
        "surprised": ("My old teacher just called me out of nowhere.", "Wow, really? What did she say?"),
        "neutral": ("Set a timer for ten minutes.", "Timer started for ten minutes."),
        "disgusted": ("There was hair in my soup at lunch.", "That's gross. You could ask for a refund."),
    },
    "zh": {
        "angry": ("快递又被弄丢了，我真的很生气。", "确实让人生气，可以打电话投诉。"),
        "sad": ("我的猫走了，我好难过。", "我很抱歉，你一定很难过。想聊聊它吗？"),
        "happy": ("我考上研究生了！", "恭喜你，太好了！"),
        "fearful": ("明天要体检，我有点害怕。", "别担心，慢慢来，会好的。"),
        "surprised": ("老同学突然来我家了。", "真的吗？怎么回事？"),
        "neutral": ("帮我设一个十分钟的闹钟。", "好的，十分钟的闹钟已经设置好了。"),
        "disgusted": ("地铁上有人随地吐痰。", "真让人反感，可以向工作人员反映。"),
    },
}


SPLITS = {"train": [("", ""), (" Today.", "今天。"), (" Again.", "又一次。")], "dev": [(" Now.", "现在。")],
          "test": [(" Then.", "那时。")]}  # fmt: skip


def corpus() -> dict[str, list[dict]]:
    """Three rows per (language, emotion) for train, one for dev, one for test: the same words and reply, a
    different ending."""
    out: dict[str, list[dict]] = {"train": [], "dev": [], "test": []}
    for lang, table in ROWS.items():
        for label, (text, response) in table.items():
            for split, tags in SPLITS.items():
                for k, (en, zh) in enumerate(tags):
                    said = text + (en if lang == "en" else zh)
                    row = {"dialogue_id": f"{lang}-{label}-{split}-{k}", "lang": lang, "text": said,
                           "response": response, "emotion": label}  # fmt: skip
                    out[split].append(row)
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("replies")
    return {split: write_jsonl(d / f"{split}.jsonl", rows) for split, rows in corpus().items()}


@pytest.fixture(scope="module")
def trained(data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny"
    argv = ["train", "reply", "--tiny", "--epochs", "2", "--batch-size", "8"]
    assert main([*argv, "--data", str(data["train"]), "--dev", str(data["dev"]), "-o", str(folder)]) == 0
    return folder


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".old-" in p.name]


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _train(data_path: Path, dev_path: Path, out: Path, *extra: str) -> int:
    argv = ["train", "reply", *(extra or ("--tiny",)), "--data", str(data_path), "--dev", str(dev_path)]
    return main([*argv, "-o", str(out)])


# -- training end to end ---------------------------------------------------------------------------
@pytest.mark.slow
def test_tiny_training_writes_a_complete_folder(trained: Path, data: dict[str, Path]):
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "model.json",
            "metrics.json", "dev_replies.jsonl", "train.log", "loss_curve.png", "MODEL_CARD.md"} <= names  # fmt: skip
    assert _leftovers(trained.parent) == []
    meta = json.loads((trained / "model.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "generative-reply" and meta["architecture"] == "GPT2LMHeadModel" and meta["created"]
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    loss = metrics["dev_loss"]
    assert math.isfinite(loss) and metrics["dev_perplexity"] == pytest.approx(math.exp(loss), rel=1e-3)
    curve = metrics["loss_curve"]
    assert curve["x"] == [1.0, 2.0] and curve["train_loss"][1] < curve["train_loss"][0]
    assert curve["dev_loss"][-1] == pytest.approx(metrics["dev_loss"])
    reply = metrics["reply"]
    assert {s: m["n"] for s, m in reply["metrics"].items()} == {"en": 7, "zh": 7, "all": 14}
    assert sum(reply["sources"].values()) == 14 == metrics["dev_replies"]
    assert {"bleu", "rouge_l", "distinct_1", "distinct_2", "avg_len", "tone_fit"} <= set(reply["metrics"]["all"])
    assert "tok:zh" in reply["metrics"]["zh"]["bleu_signature"]
    assert len((trained / "dev_replies.jsonl").read_text(encoding="utf-8").splitlines()) == 14
    assert (trained / "loss_curve.png").read_bytes()[:8] == PNG
    card = (trained / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert str(data["train"]) in card and meta["created"] in card and "safety filter applies" in card
    assert "Limits" in card and "| all | 14 |" in card
    log = (trained / "train.log").read_text(encoding="utf-8")
    assert "epoch 2: train loss" in log and "dev loss" in log


@pytest.mark.slow
def test_the_generative_replier_loads_the_folder_and_generates(trained: Path):
    replier = GenerativeReplier(trained, max_new_tokens=12, timeout_s=30)
    replier.load()
    text = "我今天考试考得很好，特别开心。"
    assert replier._tok.decode(replier._tok(text)["input_ids"]) == text  # the byte-level BPE covers Chinese
    for said, lang in (("I passed my driving test!", "en"), ("我考上研究生了！", "zh")):
        out = replier.generate(said, "happy", "cheerful", lang)
        assert replier.last_new_tokens >= 1
        assert (out is None) == (replier.last_error is not None)  # a reply, or the reason there is none
        assert out is not None or replier.last_error.startswith("filtered"), replier.last_error  # no error, no timeout


def test_the_generated_reply_streams_and_says_what_generate_says(trained: Path):
    """The same greedy decode, a piece at a time: the pieces make up exactly what ``generate`` returns (or
    nothing, with the reason, when the filter refuses a sentence of it)."""
    replier = GenerativeReplier(trained, max_new_tokens=24, timeout_s=30)
    replier.load()
    for said, lang in (("I passed my driving test!", "en"), ("我考上研究生了！", "zh")):
        whole = replier.generate(said, "happy", "cheerful", lang)
        pieces = list(replier.stream(said, "happy", "cheerful", lang))
        if whole is not None:
            assert "".join(pieces).strip() == whole and all(pieces)
        else:
            assert replier.last_error is not None


@pytest.mark.slow
def test_fine_tuning_a_local_base_folder(trained: Path, data, tmp_path: Path):
    out = tmp_path / "tuned"
    assert _train(data["train"], data["dev"], out, "--base", str(trained), "--epochs", "1", "--dev-replies", "4") == 0
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["base"] == str(trained) and meta["learning_rate"] == pytest.approx(5e-5)
    before = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))["dev_loss"]
    after = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert after["dev_replies"] == 4 and after["dev_loss"] < before + 0.2  # from the trained weights (random: ~7)
    GenerativeReplier(out).load()


def test_the_prompt_is_the_backends_and_the_loss_is_on_the_response_only():
    row = ReplyRow("I'm furious about it.", "en", "angry", "That is unfair.", 1, (("Hi", "Hello."),))
    tones = emotion_tones()
    assert tones["angry"] == "calm" and tones["other"] == "neutral"
    prompt = prompt_for(row, tones)
    assert prompt == GenerativeReplier(Path("x")).prompt(
        "I'm furious about it.", "angry", "calm", "en", [("Hi", "Hello.")]
    )
    assert prompt.endswith("Person: I'm furious about it.\nAssistant:") and "Person: Hi\nAssistant: Hello." in prompt
    _, tok = reply_model_module.tiny_model([prompt + " That is unfair.", "我很生气"], vocab_size=400)
    enc = reply_model_module.encode(tok, [prompt], ["That is unfair."], max_length=256)
    n_prompt = len(tok(prompt)["input_ids"])
    labels, ids = enc.labels[0], enc.ids[0]
    assert labels[:n_prompt] == [-100] * n_prompt and ids[:n_prompt] == tok(prompt)["input_ids"]
    assert labels[n_prompt:] == ids[n_prompt:] and ids[-1] == tok.eos_token_id
    assert tok.decode(ids[n_prompt:-1]) == " That is unfair."
    short = reply_model_module.encode(tok, [prompt], ["That is unfair."], max_length=n_prompt + 3)
    assert len(short.ids[0]) == n_prompt + 3 and short.cut == 1
    assert reply_model_module.encode(tok, [prompt], ["x"], max_length=n_prompt).dropped == 1


# -- metrics ---------------------------------------------------------------------------------------
def test_bleu_on_hand_made_examples():
    assert bleu(["the cat sat on the mat"], ["the cat sat on the mat"], "13a")[0] == pytest.approx(100.0)
    assert bleu(["dogs bark loudly"], ["the cat sat on the mat"], "13a")[0] == pytest.approx(0.0)
    # 1-4-gram precisions 5/6, 3/5, 1/4, 0/3 (smoothed "exp": 1/(2*3)); same length, so no brevity penalty
    score, signature = bleu(["the cat is on the mat"], ["the cat sat on the mat"], "13a")
    assert score == pytest.approx(100 * (5 / 6 * 3 / 5 * 1 / 4 * 1 / 6) ** 0.25, abs=1e-6)
    assert "tok:13a" in signature and "nrefs:1" in signature
    # Chinese by characters: 2/4, 1/3, then 0/2 -> 1/4 and 0/1 -> 1/4; as one 13a token it would be 0
    score, signature = bleu(["我很开心"], ["我很高兴"], "zh")
    assert score == pytest.approx(100 * (1 / 2 * 1 / 3 * 1 / 4 * 1 / 4) ** 0.25, abs=1e-6) and "tok:zh" in signature
    assert bleu(["我很开心"], ["我很高兴"], "13a")[0] == 0.0


def test_rouge_l_on_hand_made_examples_including_chinese():
    assert tokens("Don't STOP, 2 cats!", "en") == ["don", "t", "stop", "2", "cats"]  # rouge-score's tokens
    assert tokens("我很好，OK 2次", "zh") == ["我", "很", "好", "ok", "2", "次"]
    assert lcs_length("abcbdab", "bdcaba") == 4 and lcs_length("", "abc") == 0
    # LCS "the cat on the mat" = 5 of 6 tokens each side
    assert rouge_l("the cat sat on the mat", "the cat is on the mat", "en") == pytest.approx(5 / 6)
    # LCS 今天很 = 3 of 6 characters each side (rouge-score drops every Chinese character and says 0)
    assert rouge_l("我今天很开心", "今天我很高兴", "zh") == pytest.approx(0.5)
    assert rouge_l("我很开心", "我很开心", "zh") == pytest.approx(1.0)
    assert rouge_l("", "anything", "en") == 0.0 and rouge_l("abc", "xyz", "en") == 0.0
    p, r = 2 / 2, 2 / 4  # "好的" against "好的谢谢": precision 1, recall 1/2
    assert rouge_l("好的", "好的谢谢", "zh") == pytest.approx(2 * p * r / (p + r))


def test_distinct_n_on_hand_made_examples():
    assert distinct([["a", "b", "a", "b"]], 1) == pytest.approx(2 / 4)
    assert distinct([["a", "b", "a", "b"]], 2) == pytest.approx(2 / 3)  # ab, ba, ab
    assert distinct([["a", "b"], ["b", "c"]], 2) == pytest.approx(1.0)  # n-grams never span two replies
    assert distinct([tokens("好好好", "zh")], 1) == pytest.approx(1 / 3)
    assert distinct([["a"]], 2) == 0.0


def test_the_tone_heuristic_and_tone_fit_on_a_hand_made_set():
    assert classify_tone("Congratulations, that's wonderful news!", "en") == "cheerful"
    assert classify_tone("I'm so sorry, that sounds painful.", "en") == "empathetic"
    assert classify_tone("That's so frustrating and unfair.", "en") == "calm"
    assert classify_tone("Don't worry, it's okay to feel nervous.", "en") == "reassuring"
    assert classify_tone("Wow, what happened?", "en") == "curious"
    assert classify_tone("Timer started.", "en") == "neutral" and classify_tone("", "en") == "neutral"
    assert classify_tone("别担心，慢慢来，会好的。", "zh") == "reassuring"
    assert classify_tone("真的吗？怎么回事？", "zh") == "curious"
    assert classify_tone("恭喜你，太好了！", "zh") == "cheerful"
    items = [
        Scored("en", "Congratulations!", "Well done!", "cheerful", "cheerful"),
        Scored("en", "Timer started.", "I'm sorry.", "neutral", "empathetic"),
        Scored("zh", "别担心。", "别担心，会好的。", "reassuring", "reassuring"),
        Scored("zh", "确实让人生气。", "真的吗？", "calm", "calm"),
    ]
    m = score_replies(items)
    assert m["all"]["tone_fit"] == pytest.approx(3 / 4)
    assert m["en"]["tone_fit"] == pytest.approx(1 / 2) and m["zh"]["tone_fit"] == pytest.approx(1.0)
    # the heuristic on the references: cheerful, empathetic, reassuring fit; "真的吗？" reads curious, not calm
    assert m["all"]["reference_tone_fit"] == pytest.approx(3 / 4)
    assert m["zh"]["avg_len"] == pytest.approx((3 + 6) / 2) and m["en"]["n"] == 2
    assert "tok:13a" in m["en"]["bleu_signature"] and "tok:zh" in m["zh"]["bleu_signature"]
    assert m["all"]["bleu_signature"] == m["zh"]["bleu_signature"]  # one corpus BLEU over both languages


def test_history_is_read_and_checked(tmp_path: Path):
    row = {**corpus()["train"][0], "history": [["Hi there.", "Hello! How can I help?"]]}
    good = write_jsonl(tmp_path / "good.jsonl", [row])
    (read,) = read_reply_data(good).rows
    assert read.history == (("Hi there.", "Hello! How can I help?"),) and read.response == row["response"]
    assert "Person: Hi there.\nAssistant: Hello! How can I help?\nPerson: " in prompt_for(read, emotion_tones())
    bad = write_jsonl(tmp_path / "bad.jsonl", [row, {**row, "history": ["just a string"]}])
    with pytest.raises(TrainError, match=f"{bad}:2: history must be a list of \\[person, assistant\\] pairs"):
        read_reply_data(bad)


# -- eval reply --------------------------------------------------------------------------------------
def test_eval_reply_with_the_strategy_planner(data: dict[str, Path], tmp_path: Path, capsys):
    out = tmp_path / "report"
    assert main(["eval", "reply", "--model", "strategy", "--data", str(data["test"]), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "BLEU en: nrefs:1|case:mixed|eff:no|tok:13a" in printed
        and "BLEU zh: nrefs:1|case:mixed|eff:no|tok:zh" in printed
    )
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {s: m["n"] for s, m in report["metrics"].items()} == {"en": 7, "zh": 7, "all": 14}
    assert sum(report["sources"].values()) == 14 and report["generated"] == 0
    replies = [json.loads(line) for line in (out / "replies.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(replies) == 14 and all(r["reply"].strip() and r["source"] != "generative" for r in replies)
    tones = emotion_tones()
    assert all(r["expected_tone"] == tones[r["emotion"]] for r in replies)
    fit = sum(r["tone"] == r["expected_tone"] for r in replies) / 14
    assert report["metrics"]["all"]["tone_fit"] == pytest.approx(fit, abs=1e-4) and fit >= 0.5
    again = main(["eval", "reply", "--model", "strategy", "--data", str(data["test"]), "--json"])
    assert again == 0 and json.loads(capsys.readouterr().out)["metrics"] == report["metrics"]  # seeded: same replies


@pytest.mark.slow
def test_eval_reply_with_the_model_counts_generated_and_filtered(
    trained: Path, data, tmp_path: Path, monkeypatch, capsys
):
    argv = ["eval", "reply", "--model", str(trained), "--data", str(data["test"]), "--timeout", "30"]
    assert main([*argv, "-o", str(tmp_path / "a")]) == 0
    report = json.loads((tmp_path / "a" / "report.json").read_text(encoding="utf-8"))
    planned = sum(v for k, v in report["sources"].items() if k in ("generative", "strategy", "intent"))
    assert report["generated"] + report["filtered"] + report["failed"] == planned
    assert report["generated"] >= 1 and report["failed"] == 0
    assert main(["eval", "reply", "--model", "strategy", "--data", str(data["test"]), "-o", str(tmp_path / "s")]) == 0
    import voiceassist.reply.generative as generative

    monkeypatch.setattr(generative, "content_filter", lambda text, max_chars=400: "blocked: test")
    assert main([*argv, "-o", str(tmp_path / "b")]) == 0
    assert "filtered by the safety filter" in capsys.readouterr().out
    blocked = json.loads((tmp_path / "b" / "report.json").read_text(encoding="utf-8"))
    assert blocked["generated"] == 0 and blocked["filtered"] == report["generated"] + report["filtered"]
    read = lambda d: [json.loads(x)["reply"] for x in (tmp_path / d / "replies.jsonl").read_text().splitlines()]  # noqa: E731
    assert read("b") == read("s")  # every reply fell back to the strategy reply


# -- bad input -------------------------------------------------------------------------------------
def test_a_label_outside_the_nine_is_named_by_file_and_line(data, tmp_path: Path, capsys):
    rows = corpus()["train"][:5]
    rows[2] = {**rows[2], "emotion": "joyful"}
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    assert _train(bad, data["dev"], tmp_path / "m") == 3
    err = capsys.readouterr().err
    assert f"{bad}:3: emotion 'joyful' is not one of the 9 labels" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists() and _leftovers(tmp_path) == []


def test_a_row_without_a_response_is_named_by_file_and_line(data, tmp_path: Path, capsys):
    rows = corpus()["train"][:4]
    rows[1] = {k: v for k, v in rows[1].items() if k != "response"}
    rows[3] = {**rows[3], "response": "  "}
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    assert _train(bad, data["dev"], tmp_path / "m") == 3
    assert f"{bad}:2: the row has no response" in capsys.readouterr().err
    assert main(["eval", "reply", "--model", "strategy", "--data", str(bad)]) == 3
    assert f"{bad}:2: the row has no response" in capsys.readouterr().err
    with pytest.raises(TrainError, match="no responses"):
        read_reply_data(tmp_path / "rows.tsv")
    assert not (tmp_path / "m").exists() and _leftovers(tmp_path) == []


def test_an_empty_dev_set_is_a_clear_message(data, tmp_path: Path, capsys):
    empty = tmp_path / "dev.jsonl"
    empty.write_text("\n", encoding="utf-8")
    assert _train(data["train"], empty, tmp_path / "m") == 3
    err = capsys.readouterr().err
    assert f"{empty}: the dev set is empty" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_a_model_folder_with_missing_files_is_named(data, tmp_path: Path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "gpt2"}')
    assert main(["eval", "reply", "--model", str(broken), "--data", str(data["test"])]) == 3
    err = capsys.readouterr().err
    assert f"{broken}: the weights (model.safetensors or pytorch_model.bin), the tokenizer" in err
    assert "missing (the model folder is incomplete)" in err and "Traceback" not in err
    assert _train(data["train"], data["dev"], tmp_path / "m", "--base", str(broken)) == 3
    assert f"{broken}: the weights" in capsys.readouterr().err
    assert main(["eval", "reply", "--model", str(tmp_path / "nowhere"), "--data", str(data["test"])]) == 3
    assert "no such model folder" in capsys.readouterr().err
    assert not (tmp_path / "m").exists() and _leftovers(tmp_path) == []


def test_a_hub_id_without_a_network_is_a_clear_message(data, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _train(data["train"], data["dev"], tmp_path / "m", "--base", "voiceassist-test/no-such-model") == 3
    err = capsys.readouterr().err
    assert "--base voiceassist-test/no-such-model: not a local folder" in err and "hub is unreachable" in err
    assert "Traceback" not in err and not (tmp_path / "m").exists()
    with pytest.raises(SystemExit) as stop:  # neither --base nor --tiny: argparse's usage message
        main(["train", "reply", "--data", str(data["train"]), "--dev", str(data["dev"]), "-o", str(tmp_path / "m")])
    assert stop.value.code == 2 and "--base" in capsys.readouterr().err


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_run_leaves_the_good_folder_untouched(data, tmp_path: Path, monkeypatch, capsys, error):
    good = tmp_path / "model"
    good.mkdir()
    (good / "config.json").write_text('{"note": "the good one"}')
    (good / "model.safetensors").write_bytes(b"good weights")
    before = _snapshot(good)
    seen = []

    def boom(*args, **kwargs):
        seen.append([p.name for p in tmp_path.iterdir() if ".partial-" in p.name])
        raise error("stop")

    monkeypatch.setattr(reply_model_module, "fit", boom)
    assert _train(data["train"], data["train"], good) == 3  # the same file twice
    assert _train(data["train"], data["dev"], good) == 4
    err = capsys.readouterr().err
    assert ("interrupted" if error is KeyboardInterrupt else "training failed: stop") in err
    assert len(seen) == 1 and len(seen[0]) == 1  # it was writing into a partial folder beside the target
    assert _snapshot(good) == before and _leftovers(tmp_path) == []


def test_a_folder_that_is_not_a_model_folder_is_not_replaced(data, tmp_path: Path, capsys):
    precious = tmp_path / "docs"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert _train(data["train"], data["dev"], precious) == 3
    assert "is not a model folder" in capsys.readouterr().err
    assert (precious / "notes.txt").read_text() == "keep me"


@pytest.mark.slow
def test_copying_the_trained_folder_without_its_tokenizer_is_named(trained: Path, data, tmp_path: Path, capsys):
    broken = tmp_path / "no-tokenizer"
    shutil.copytree(trained, broken)
    (broken / "tokenizer.json").unlink()
    assert main(["eval", "reply", "--model", str(broken), "--data", str(data["test"])]) == 3
    assert f"{broken}: the tokenizer (tokenizer.json, or vocab.json + merges.txt) missing" in capsys.readouterr().err
