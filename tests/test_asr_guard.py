"""The ASR hallucination guard (voiceassist/asr/guard.py), on decoder outputs recorded under several
CTranslate2 instruction sets (tests/data/asr_decodes.json, made by scripts/record_asr_decodes.py), so
that it is known to hold on any CPU, not only the one this test runs on. No model is loaded here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from voiceassist.asr import guard
from voiceassist.config import AsrConfig

TABLE = json.loads((Path(__file__).parent / "data" / "asr_decodes.json").read_text(encoding="utf-8"))
CFG = AsrConfig()


def _gate(row: dict) -> guard.Gate:
    g = row["gate"]
    if g is None:
        return guard.Gate(True, 0.0, None, None)
    return guard.Gate(g["decode"], g["rms_dbfs"], g["speech_s"], g["reason"])


def _pieces(row: dict) -> list[tuple[str, float, float]]:
    return [(p["text"], p["no_speech_prob"], p["avg_logprob"]) for p in row["pieces"]]


def test_the_table_covers_three_instruction_sets_and_every_kind_of_case():
    isas = {r["isa"] for r in TABLE}
    assert {"GENERIC", "AVX2", "AVX512"} <= isas
    assert {r["expect"] for r in TABLE} == {"drop", "keep", "no_loop"}
    # the table holds real phantoms: without a guard, these decodes would have reached the person
    assert any(p["text"].strip() for r in TABLE if r["expect"] == "drop" for p in r["pieces"])
    assert any(guard.find_loop(guard.units(p["text"]), CFG.max_loop_repeats) for r in TABLE for p in r["pieces"])


@pytest.mark.parametrize("row", TABLE, ids=lambda r: f"{r['isa']}-{r['case']}")
def test_guard_on_recorded_decodes(row: dict):
    d = guard.decide(_gate(row), _pieces(row), CFG)
    text = " ".join(d.texts).strip()
    if row["expect"] == "drop":
        assert text == "", (row["case"], d)
    elif row["expect"] == "keep":
        assert text, (row["case"], d)
    else:
        assert guard.find_loop(guard.units(text), CFG.max_loop_repeats) is None, text


@pytest.mark.parametrize(
    "row", [r for r in TABLE if r["expect"] == "drop" and r["pieces"]], ids=lambda r: f"{r['isa']}-{r['case']}"
)
def test_phantoms_are_dropped_even_without_the_gate(row: dict):
    """Defence in depth: what the decoder wrote for silence is dropped on its own merits too."""
    d = guard.decide(guard.Gate(True, -30.0, None, None), _pieces(row), CFG)
    assert d.texts == [] and d.produced and d.reasons


@pytest.mark.parametrize(
    "text, repeats",
    [
        ("天天天 起 郑 傻 傻 傻 傻 傻 傻", 6),
        ("骑骑骑骑骑骑骑骑", 8),
        ("no no no no no no", 6),
        ("and then and then and then and then", 4),
        ("我想你 我想你 我想你", 3),
    ],
)
def test_loops_are_found_in_both_languages(text: str, repeats: int):
    loop = guard.find_loop(guard.units(text), CFG.max_loop_repeats)
    assert loop is not None and loop.repeats == repeats


@pytest.mark.parametrize(
    "text",
    [
        "哈哈哈",
        "谢谢谢谢",
        "no no no",
        "bye bye",
        "I'm fine, I'm fine.",
        "very very good",
        "今天天气很好",
        "好好学习，天天向上",
    ],
)
def test_ordinary_repetition_is_not_a_loop(text: str):
    assert guard.find_loop(guard.units(text), CFG.max_loop_repeats) is None


def test_a_loop_at_the_end_of_a_long_sentence_is_cut_to_one_occurrence():
    text = "I was walking home from the station yesterday evening when it started to rain rain rain rain rain rain"
    v = guard.judge(text, 0.05, -0.3, CFG)
    assert v.keep and v.reason == "loop_cut"
    assert v.text.endswith("started to rain") and "rain rain" not in v.text


@pytest.mark.parametrize(
    "text", ["Yes.", "No.", "Okay.", "Thank you.", "好的。", "对。", "不是。", "谢谢。", "嗯，好。"]
)
def test_real_short_answers_are_kept(text: str):
    # the decoder is fairly sure there was speech and the gate heard a second of it
    v = guard.judge(text, no_speech_prob=0.25, avg_logprob=-0.6, cfg=CFG, speech_s=1.0)
    assert v.keep and v.text == text


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for watching!",
        "Thank you for watching.",
        "Please subscribe.",
        "Subtitles by the Amara.org community",
        "字幕由Amara.org社区提供",
        "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目",
        "谢谢观看",
        "感謝觀看",
    ],
)
def test_known_phantom_phrases_are_always_dropped(text: str):
    v = guard.judge(text, no_speech_prob=0.05, avg_logprob=-0.2, cfg=CFG, speech_s=2.0)
    assert not v.keep and v.reason == "phantom"


def test_words_that_are_also_answers_need_a_second_signal():
    assert guard.judge("Thank you.", 0.1, -0.3, CFG, speech_s=1.2).keep
    assert guard.judge("谢谢", 0.1, -0.3, CFG, speech_s=1.2).keep
    assert guard.judge("Thank you.", 0.45, -0.3, CFG, speech_s=1.2).reason == "phantom"
    assert guard.judge("谢谢", 0.1, -0.3, CFG, speech_s=0.1).reason == "phantom"
    # a sentence that mentions watching is not a phantom
    assert guard.judge("Thanks for watching the kids yesterday, it meant a lot to me.", 0.05, -0.3, CFG).keep


def test_short_outputs_are_judged_on_no_speech_prob_alone():
    assert guard.judge("Fine.", 0.6, -0.2, CFG).reason == "no_speech"  # a good logprob does not save it
    assert guard.judge("I have been feeling really tired this week.", 0.6, -0.2, CFG).keep


def test_compression_ratio_matches_whispers_definition():
    assert guard.compression_ratio("") == 0.0
    assert guard.compression_ratio("ha " * 50) > CFG.max_compression_ratio
    assert guard.compression_ratio("Could you please remind me to call my sister.") < 1.5


def test_gate_never_decodes_silence_noise_or_hum():
    rng = np.random.default_rng(3)
    sr = 16000
    t = np.arange(5 * sr) / sr
    cases = {
        "digital silence": np.zeros(5 * sr, np.float32),
        "near silence": rng.normal(0, 1e-4, 5 * sr).astype(np.float32),
        "white noise": rng.normal(0, 0.1, 5 * sr).astype(np.float32),
        "hum 50 Hz": (0.2 * np.sin(2 * np.pi * 50 * t)).astype(np.float32),
        "hum 60 Hz + harmonics": (0.1 * np.sin(2 * np.pi * 60 * t) + 0.05 * np.sin(2 * np.pi * 180 * t)).astype(
            np.float32
        ),
    }
    for name, audio in cases.items():
        g = guard.gate(audio, CFG)
        assert not g.decode and g.reason in ("too_quiet", "no_speech"), (name, g)
    assert guard.gate(cases["white noise"], AsrConfig(speech_gate=False)).decode  # the gate can be turned off


def test_gate_lets_speech_through(speech_en: np.ndarray):
    g = guard.gate(speech_en.astype(np.float32) / 32768.0, CFG)
    assert g.decode and g.speech_s is not None and g.speech_s > 1.0


def test_config_knows_every_registered_asr_backend():
    from voiceassist.asr import BACKENDS
    from voiceassist.config import ASR_BACKENDS

    assert set(ASR_BACKENDS) == set(BACKENDS)
