"""``voiceassist data label`` with the assistant's own text-emotion backend (the embedded lexicons), and
``voiceassist data review`` driven through the CLI with a scripted standard input."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voiceassist.data import label, review
from voiceassist.data.step import OptionError


def largs(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    label.add_arguments(p)
    return p.parse_args(list(argv))


def row(did: str, text: str, lang: str, **kw) -> dict:
    return {"dialogue_id": did, "lang": lang, "text": text, **kw}


CLEAR = [
    (row("a", "我今天特别开心", "zh"), "happy", "开心"),
    (row("b", "我好难过，想哭", "zh"), "sad", "难过"),
    (row("c", "I am so angry at my boss", "en"), "angry", "angry"),
    (row("d", "What a wonderful happy day", "en"), "happy", "happy"),
]


def test_label_clear_rows_with_the_assistants_backend():
    result = label.run([(i, r) for i, (r, _, _) in enumerate(CLEAR, 1)], largs())
    assert result.rejected == []
    for out, (_, want, word) in zip(result.kept, CLEAR, strict=True):
        assert out["emotion_pred"] == want
        assert out["emotion"] == want  # no given label: the prediction is taken
        assert word in out["core_words_pred"] and out["core_words"] == out["core_words_pred"]
        assert 0.5 <= out["confidence"] <= 1
        assert out["needs_review"] is False
    from voiceassist.config import Config
    from voiceassist.emotion import create_text_backend
    from voiceassist.paths import models_dir

    assistant, _ = create_text_backend(Config().emotion, models_dir())
    assert result.report["backend"] == assistant.description  # the same backend the assistant uses
    assert result.report["predicted"] == {"angry": 1, "happy": 2, "sad": 1}
    assert result.report["needs_review"] == 0
    assert result.report["agreement"]["given"] == 0 and result.report["agreement"]["rate"] is None


def test_given_labels_are_kept_and_disagreement_needs_review():
    rows = [
        row("a", "I am so angry at my boss", "en", emotion="sad", core_words=["boss"]),
        row("b", "我今天特别开心", "zh", emotion="happy"),
    ]
    result = label.run(list(enumerate(rows, 1)), largs())
    first, second = result.kept
    assert first["emotion"] == "sad" and first["emotion_pred"] == "angry" and first["core_words"] == ["boss"]
    assert first["needs_review"] is True and "emotion_given" not in first
    assert second["emotion"] == "happy" and second["needs_review"] is False
    agreement = result.report["agreement"]
    assert (agreement["given"], agreement["agree"], agreement["rate"]) == (2, 1, 0.5)
    assert agreement["confusion"] == {"happy": {"happy": 1}, "sad": {"angry": 1}}
    assert result.report["needs_review"] == 1 and result.report["disagree"] == 1
    assert result.report["labels"] == {"happy": 1, "sad": 1}

    over = label.run(list(enumerate(rows, 1)), largs("--overwrite")).kept[0]
    assert over["emotion"] == "angry" and over["emotion_given"] == "sad" and over["core_words"] == ["angry"]


def test_low_confidence_needs_review_and_bad_rows_are_rejected():
    rows = [row("a", "我今天特别开心", "zh"), row("b", "", "en"), {"dialogue_id": "c", "lang": "en"}]
    result = label.run(list(enumerate(rows, 1)), largs("--threshold", "0.99"))
    assert [(r.line, r.reason) for r in result.rejected] == [(2, "empty_text"), (3, "missing_field")]
    assert result.kept[0]["needs_review"] is True and result.report["low_confidence"] == 1
    with pytest.raises(OptionError):
        label.run(list(enumerate(rows, 1)), largs("--threshold", "1.5"))
    with pytest.raises(OptionError):
        label.run(list(enumerate(rows, 1)), largs("--set", 'emotion.text_backend="nope"'))


@pytest.mark.parametrize(
    "text, want",
    [
        ("a", ("accept", None)),
        (" P \n", ("predicted", None)),
        ("s", ("skip", None)),
        ("q", ("quit", None)),
        ("1", ("relabel", "angry")),
        ("9", ("relabel", "unknown")),
        ("Sad", ("relabel", "sad")),
        ("开心", ("relabel", "happy")),
        ("0", None),
        ("10", None),
        ("joy", None),
        ("", None),
    ],
)
def test_review_commands(text, want):
    assert review.parse_command(text) == want


# -- review through the CLI, stdin scripted ------------------------------------------------------------


def review_cli(tmp_path: Path, rows: list[dict], script: str, *extra: str, env: dict | None = None):
    src = tmp_path / "labelled.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    p = subprocess.run(
        [sys.executable, "-m", "voiceassist", "data", "review", str(src), "-o", str(out), *extra],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert p.returncode == 0, p.stderr
    kept = [json.loads(x) for x in (out / "review.jsonl").read_text(encoding="utf-8").splitlines()]
    return p, kept, json.loads((out / "report.json").read_text(encoding="utf-8"))


def marked(did: str, emotion: str, pred: str, text: str = "I am not sure how I feel") -> dict:
    return row(did, text, "en", emotion=emotion, emotion_pred=pred, confidence=0.41, needs_review=True)


def test_review_session_through_the_cli(tmp_path):
    rows = [
        row("ok", "我今天特别开心", "zh", emotion="happy", emotion_pred="happy", needs_review=False),
        marked("r1", "sad", "angry", "I am so angry at my boss"),
        marked("r2", "happy", "happy"),
        marked("r3", "neutral", "sad"),
        marked("r4", "fearful", "neutral"),
        marked("r5", "neutral", "neutral"),
        marked("r6", "sad", "sad"),
        marked("r7", "sad", "sad"),
    ]
    script = "x\n4\ns\np\na\n开心\nq\na\n"  # unknown, relabel, skip, predicted, accept, by name, quit
    p, kept, report = review_cli(tmp_path, rows, script, "--reviewer", "alice")
    assert [r["dialogue_id"] for r in kept] == [r["dialogue_id"] for r in rows]
    assert kept[0] == rows[0]
    assert "I am so angry at my boss" in p.stdout and "unknown command 'x'" in p.stdout
    assert "angry (0.41)" in p.stdout  # the prediction and its confidence are shown
    changes = {r["dialogue_id"]: (r["emotion"], r["needs_review"], r.get("review")) for r in kept}
    for did, (emotion, action, before) in {
        "r1": ("happy", "relabel", "sad"),
        "r3": ("sad", "predicted", "neutral"),
        "r4": ("fearful", "accept", "fearful"),
        "r5": ("happy", "relabel", "neutral"),
    }.items():
        got_emotion, needs, rec = changes[did]
        assert (got_emotion, needs) == (emotion, False), did
        assert (rec["by"], rec["from"], rec["to"], rec["action"]) == ("alice", before, emotion, action), did
        assert dt.datetime.fromisoformat(rec["at"]).tzinfo is not None
    for did in ("r2", "r6", "r7"):  # skipped, and after q: untouched
        assert changes[did] == (dict((r["dialogue_id"], r) for r in rows)[did]["emotion"], True, None)
    assert report["accepted"] == 1 and report["relabelled"] == 3 and report["skipped"] == 1
    assert report["remaining"] == 3 and report["quit_early"] is True and report["reviewer"] == "alice"


def test_review_ends_at_the_end_of_input_and_defaults_to_user(tmp_path):
    rows = [marked("r1", "sad", "angry"), marked("r2", "sad", "angry")]
    _, kept, report = review_cli(tmp_path, rows, "a\n", env={"USER": "bob"})
    assert kept[0]["review"]["by"] == "bob" and kept[0]["needs_review"] is False
    assert kept[1]["needs_review"] is True and "review" not in kept[1]
    assert report["to_review"] == 2 and report["quit_early"] is True
