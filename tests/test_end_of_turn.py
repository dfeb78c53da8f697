"""The semantic end of turn: the shipped model (voiceassist/asr/eot.py) on sentences written here, in both
languages (finished turns, a person mid-thought), the hangover it sets, and a missing or damaged model
falling back to the trailing-word rule with one warning."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from voiceassist.asr.eot import EndOfTurnModel, EndOfTurnModelError, FeatureSpec, feature_indices, final_mark
from voiceassist.asr.turn import hangover_ms
from voiceassist.config import TurnConfig, VadConfig

FINISHED = [  # written for this test (not from the corpus); short Mandarin sentences are a known weak spot
    ("I had a really long day at work today.", "en"),
    ("Can you play some quiet music?", "en"),
    ("My sister is coming to visit next week.", "en"),
    ("今天上班的时候被领导批评了，我心里特别难受。", "zh"),
    ("你能帮我定一个明天早上七点的闹钟吗？", "zh"),
    ("周末我打算带孩子去公园放风筝。", "zh"),
]
SHORT_FINISHED = [  # written before the model with clause tails was trained (not from the corpus)
    ("I am so tired.", "en"), ("I feel great today.", "en"), ("I miss her.", "en"), ("我今天特别累。", "zh"),
    ("我很难过。", "zh"), ("我好开心！", "zh"), ("今天天气不错。", "zh"), ("我睡不着。", "zh"), ("我想回家。", "zh"),
]  # fmt: skip
MID_THOUGHT = [  # where a person stops to think, and goes on
    ("I was thinking about", "en"),
    ("I went to the shop because", "en"),
    ("My brother and", "en"),
    ("Yesterday I called my", "en"),
    ("我昨天和我的", "zh"),
    ("因为我觉得", "zh"),
    ("然后我就", "zh"),
    ("我想把", "zh"),
]


@pytest.fixture(scope="module")
def model() -> EndOfTurnModel:
    return EndOfTurnModel().load()


def test_the_shipped_model_tells_a_finished_turn_from_a_person_mid_thought(model: EndOfTurnModel):
    cfg = TurnConfig()
    for lang in ("en", "zh"):
        done = [model.probability(t, la) for t, la in FINISHED if la == lang]
        mid = [model.probability(t, la) for t, la in MID_THOUGHT if la == lang]
        assert all(0.0 <= p <= 1.0 for p in [*done, *mid])
        assert max(mid) < min(done), (lang, done, mid)
        assert all(p <= cfg.unfinished_below for p in mid), (lang, mid)  # mid-thought: the long hangover
        # a finished turn seldom waits the long hangover (unsure: the usual one) and some are sure. Measured
        # once on these sentences, after training: one of the three Mandarin ones waits it (P 0.19 at 0.2)
        assert sum(p <= cfg.unfinished_below for p in done) <= 1 and max(done) >= cfg.finished_above, (lang, done)
    assert model.probability("", "en") == 0.5  # nothing heard: nothing to judge


def test_short_statements_are_not_taken_for_a_person_mid_thought(model: EndOfTurnModel):
    """Measured once after training, on these 9: the model before clause tails held 2 for the long hangover
    and was sure of none (median P 0.11, mid-thought turns 0.005); now 1 is held ("我今天特别累。", P 0.19)
    and 2 are sure (median 0.38). A bound, not the figure."""
    cfg = TurnConfig()
    short = [model.probability(t, la) for t, la in SHORT_FINISHED]
    mid = [model.probability(t, la) for t, la in MID_THOUGHT]
    assert sum(p <= cfg.unfinished_below for p in short) <= 2, short
    assert float(np.median(short)) > float(np.median(mid)) + 0.2, (short, mid)


def test_whisper_partials_ending_on_a_period_mid_sentence_still_read_as_unfinished(model: EndOfTurnModel):
    """Whisper often closes a partial transcript with a period although the person goes on."""
    for text, lang in MID_THOUGHT:
        closed = text + ("." if lang == "en" else "。")
        assert model.probability(closed, lang) < TurnConfig().finished_above, closed


def test_the_hangover_follows_the_model_and_the_pitch():
    vad, turn = VadConfig(hangover_ms=500), TurnConfig(complete_hangover_ms=250, trailing_hangover_ms=1000)
    said = "I went to the shop."
    assert hangover_ms(turn, vad, said, "en", True, 0.95) == 250  # sure, and the pitch fell
    assert hangover_ms(turn, vad, said, "en", None, 0.95) == 250  # sure; the pitch could not be read
    assert hangover_ms(turn, vad, said, "en", False, 0.95) == 500  # the pitch stayed up: not cut short
    assert hangover_ms(turn, vad, "Is it raining?", "en", False, 0.95) == 250  # questions often rise
    assert hangover_ms(turn, vad, "I was thinking about", "en", True, 0.03) == 1000  # mid-thought
    assert hangover_ms(turn, vad, said, "en", True, 0.5) == 500  # unsure: the usual silence
    # the model beats the rule: "about" is on no word list, a complete sentence can still be unsure
    assert hangover_ms(TurnConfig(end_of_turn="adaptive"), vad, "I was thinking about", "en", True, 0.03) == 500
    assert hangover_ms(turn, vad, "I was thinking about", "en", True, None) == 500  # no model: the rule
    assert hangover_ms(turn, vad, "I went to the shop and", "en", True, None) == 1000
    fixed = TurnConfig(end_of_turn="fixed")
    assert {hangover_ms(fixed, vad, said, "en", True, p) for p in (0.0, 0.5, 1.0)} == {500}


def test_features_are_per_language_and_hashing_is_stable():
    spec = FeatureSpec()
    assert final_mark("Is it?") == "?" and final_mark("好吧。") == "." and final_mark("and then,") == ","
    assert final_mark("well…") == "…" and final_mark("so") == ""
    a, b = feature_indices("I went home.", "en", spec), feature_indices("I went home.", "en", spec)
    assert np.array_equal(a, b) and np.all(np.diff(a) > 0) and a.max() < spec.dim
    assert not np.array_equal(feature_indices("我回家了。", "zh", spec), feature_indices("我回家了。", "en", spec))


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "eot"
    shutil.copytree(EndOfTurnModel().folder, folder)
    return folder


def test_a_missing_or_damaged_model_says_what_is_wrong_and_falls_back(tmp_path: Path, caplog):
    folder = _copy(tmp_path)
    (folder / "weights.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(EndOfTurnModelError, match=r"damaged.*train_end_of_turn"):
        EndOfTurnModel(folder).load()
    broken = EndOfTurnModel(folder)
    with caplog.at_level(logging.WARNING):
        assert broken.probability_or_none("I went home.", "en") is None
        assert broken.probability_or_none("I went home.", "en") is None
    assert sum("falls back to the trailing-word rule" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(EndOfTurnModelError, match="missing"):
        EndOfTurnModel(tmp_path / "nowhere").load()
    other = _copy(tmp_path / "b")
    meta = json.loads((other / "model.json").read_text())
    meta["kind"] = "something-else"
    (other / "model.json").write_text(json.dumps(meta))
    with pytest.raises(EndOfTurnModelError, match="is not a"):
        EndOfTurnModel(other).load()
