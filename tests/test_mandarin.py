"""Mandarin as a first language (issue 22): the normalised text at the one handoff, recorded Mandarin
through the embedded model, mixed Mandarin-English speech, and speech in a language not set up.

The recordings and their sources and licences: tests/data/zh_real/manifest.json."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.test_pipeline_emotion import ScriptedAsr, run
from voiceassist.analysis import language_note
from voiceassist.asr.models import ModelNotFoundError, choose_auto_model
from voiceassist.config import AsrConfig, Config
from voiceassist.events import Reply, TextEmotion, Transcript

DATA = Path(__file__).parent / "data" / "zh_real"
MANIFEST = {f["file"]: f for f in json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))["files"]}


def clip(name: str) -> np.ndarray:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this checkout (see tests/data/zh_real/manifest.json)")
    audio, sr = sf.read(str(path), dtype="float32")
    assert sr == 16000
    return audio


@pytest.fixture(scope="module")
def base():
    from voiceassist.asr.whisper import FasterWhisperBackend

    b = FasterWhisperBackend(AsrConfig(model="base", allow_download=False))
    try:
        b.load()
    except ModelNotFoundError as e:
        pytest.skip(f"no embedded Whisper base: {e}")
    return b


# -- the one handoff ---------------------------------------------------------------------------------
def test_the_text_stages_read_the_normalised_text_and_the_transcript_keeps_whisper_s(two_utterances) -> None:
    path, _ = two_utterances
    wrote = [("我想結束生命", "zh"), ("我有3个问题", "zh")]  # traditional script; a digit
    c = run(path, ScriptedAsr(wrote), Config())
    assert [t.text for t in c.of(Transcript)] == [w for w, _ in wrote]  # shown and stored as written
    assert [t.text for t in c.of(TextEmotion)] == ["我想结束生命", "我有三个问题"]
    replies = c.of(Reply)
    assert replies and replies[0].source == "crisis"  # "结束生命" matched although Whisper wrote 結束生命


def test_mixed_speech_keeps_its_english_words_at_the_handoff(two_utterances) -> None:
    path, _ = two_utterances
    c = run(path, ScriptedAsr([("我今天 meeting 好多", "zh"), ("明天的deadline好紧张", "zh")]), Config())
    texts = [t.text for t in c.of(TextEmotion)]
    assert texts == ["我今天 meeting 好多", "明天的deadline好紧张"]
    assert all(t.language == "zh" for t in c.of(TextEmotion))


# -- recorded Mandarin through the embedded model ---------------------------------------------------
def test_speech_in_a_language_not_set_up_gets_a_low_confidence_note(base) -> None:
    res = base.transcribe(clip("other/cv_ja_24511055.wav"))  # Japanese; asr.languages = zh, en
    assert res.language in ("zh", "en")
    assert res.language_probability < base.cfg.min_language_probability, res
    tr = Transcript(
        segment_id=0,
        text=res.text,
        dropped_as_hallucination=res.dropped_as_hallucination,
        language=res.language,
        language_probability=res.language_probability,
        start_s=0.0,
        end_s=1.0,
        backend="test",
        no_speech_prob=res.no_speech_prob,
        avg_logprob=res.avg_logprob,
    )
    note = language_note(tr, base.cfg.min_language_probability, base.cfg.languages)
    assert note is not None and "language uncertain" in note["en"] and "语言不确定" in note["zh"]


def test_confident_mandarin_gets_no_note() -> None:
    tr = Transcript(
        segment_id=0,
        text="你好",
        language="zh",
        language_probability=0.97,
        start_s=0.0,
        end_s=1.0,
        backend="test",
        no_speech_prob=0.0,
        avg_logprob=-0.2,
    )
    assert language_note(tr, 0.5, ["zh", "en"]) is None
    skipped = dataclasses.replace(tr, text="", language_probability=0.0, dropped_reason="no_speech")
    assert language_note(skipped, 0.5, ["zh", "en"]) is None  # never decoded: no language to doubt


# -- prompt, hotwords, the auto model ----------------------------------------------------------------
def test_prompt_and_hotwords_reach_faster_whisper() -> None:
    from voiceassist.asr.whisper import FasterWhisperBackend

    seen: list[dict] = []

    class Model:
        def transcribe(self, audio, **kw):  # type: ignore[no-untyped-def]
            seen.append(kw)
            return iter(()), None

    b = FasterWhisperBackend(AsrConfig(initial_prompt_zh="以下是普通话的句子。", hotwords=["张伟", "王芳"]))
    b.model = Model()
    b._decode(np.zeros(1600, np.float32), "zh")
    b._decode(np.zeros(1600, np.float32), "en")
    assert seen[0]["initial_prompt"] == "以下是普通话的句子。" and seen[0]["hotwords"] == "张伟 王芳"
    assert seen[1]["initial_prompt"] is None and seen[1]["hotwords"] == "张伟 王芳"  # the prompt is Mandarin's only


def test_auto_model_is_base_on_a_laptop_and_small_only_where_found(tmp_path: Path, monkeypatch) -> None:
    from voiceassist.asr import models

    name, why = choose_auto_model(tmp_path, cores=4, gpu=False)
    assert name == "base" and "4 CPU cores" in why
    with monkeypatch.context() as mp:  # as on a machine with no copy of small anywhere (HF cache included)
        mp.setattr(models, "resolve_whisper_model", lambda *a, **k: (_ for _ in ()).throw(ModelNotFoundError("x")))
        name, why = choose_auto_model(tmp_path, cores=4, gpu=True)
    assert name == "base" and "no copy" in why  # small would suit, but none is installed
    small = tmp_path / "small"
    small.mkdir()
    for f in ("config.json", "model.bin"):
        (small / f).write_text("{}")
    assert choose_auto_model(tmp_path, cores=16, gpu=False)[0] == "small"


def test_hotwords_are_validated() -> None:
    from voiceassist.config import ConfigError

    with pytest.raises(ConfigError):
        AsrConfig(hotwords=[""]).validate()
    AsrConfig(hotwords=["张伟"], initial_prompt_zh="以下是普通话的句子。").validate()


def test_the_analyze_document_notes_a_language_not_set_up() -> None:
    from voiceassist.analysis import analyze
    from voiceassist.audio.sources import FileSource
    from voiceassist.config import load_config

    path = DATA / "other" / "cv_ja_24511055.wav"
    clip("other/cv_ja_24511055.wav")
    cfg = load_config(None, ["reply.enabled=false"])
    source = FileSource(path, realtime=False)
    source.open()
    doc = analyze(cfg, source, str(path))
    notes = [s["asr"]["language_note"] for s in doc["segments"] if s["asr"] is not None]
    assert notes and all(n is not None and "language uncertain" in n["en"] for n in notes), doc["segments"]
