"""The FunASR recogniser (SenseVoice-Small, Paraformer) on tiny random checkpoints built with FunASR's own
classes: the real loading code (AutoModel from a folder, no network), the tokenizer's special tokens at the
ids the model code hard-codes, the tag parsing and emotion mapping, the numbers read from the output layer,
and the errors for missing files and for a config that does not match its weights."""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import espeak
from voiceassist.asr import AsrResult
from voiceassist.asr.funasr_asr import (
    EMOTION_TAGS,
    LANGUAGE_TAGS,
    SENSEVOICE_BPE,
    FunAsrBackend,
    FunAsrModelError,
    find_model,
    parse_tags,
)
from voiceassist.asr.funasr_random import SENSEVOICE_TAGS, SENSEVOICE_VOCAB, build_paraformer, build_sensevoice
from voiceassist.config import AsrConfig
from voiceassist.emotion.labels import LABELS
from voiceassist.events import Word


@pytest.fixture(scope="session")
def funasr_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models dir holding a tiny SenseVoiceSmall and a tiny paraformer-zh, named like the real folders."""
    root = tmp_path_factory.mktemp("funasr-models")
    build_sensevoice(root / "SenseVoiceSmall")
    build_paraformer(root / "paraformer-zh")
    return root


def _cfg(model: str, **kw: object) -> AsrConfig:
    return AsrConfig(backend="funasr", model=model, device="cpu", cpu_threads=1, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def backends(funasr_models: Path) -> Iterator[dict[str, FunAsrBackend]]:
    import torch

    threads = torch.get_num_threads()  # AutoModel sets torch's thread count for the whole process
    out = {}
    for name in ("sensevoice-small", "paraformer-zh"):
        b = FunAsrBackend(_cfg(name), str(funasr_models))
        b.load()
        b.warmup()
        out[name] = b
    yield out
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return espeak("Could you please remind me to call my sister tomorrow morning.").astype(np.float32) / 32768


# -- tags ------------------------------------------------------------------------------------------------


def test_parses_sensevoice_tags_into_text_language_emotion_event():
    text, tags = parse_tags("<|zh|><|HAPPY|><|Speech|><|withitn|>今天天气真好。")
    assert text == "今天天气真好。"
    assert tags == {"language": "zh", "emotion": "happy", "event": "Speech", "emotion_scores": None}
    text, tags = parse_tags("<|en|><|ANGRY|><|Speech|><|woitn|>i'm so angry")
    assert text == "i'm so angry"
    assert (tags["language"], tags["emotion"], tags["event"]) == ("en", "angry", "Speech")


def test_tag_parser_edge_cases():
    assert parse_tags("plain text") == ("plain text", parse_tags("")[1])
    assert parse_tags("")[1] == {"language": None, "emotion": None, "event": None, "emotion_scores": None}
    text, tags = parse_tags("<|nospeech|><|EMO_UNKNOWN|><|Event_UNK|><|woitn|>")
    assert text == "" and tags["language"] == "nospeech" and tags["emotion"] == "unknown" and tags["event"] is None
    # several segments (FunASR with a VAD): the first tag of each kind counts, the text is joined
    text, tags = parse_tags("<|yue|><|SAD|><|Laughter|><|withitn|>唔該。 <|zh|><|NEUTRAL|><|Speech|><|withitn|>好的")
    assert text == "唔該。 好的" and (tags["language"], tags["emotion"], tags["event"]) == ("yue", "sad", "Laughter")
    assert parse_tags("<|future_tag|>hello <broken>")[0] == "hello <broken>"  # unknown tags go, other text stays


def test_every_sensevoice_emotion_maps_to_a_project_label():
    assert set(EMOTION_TAGS.values()) <= set(LABELS)
    expected = {"HAPPY": "happy", "SAD": "sad", "ANGRY": "angry", "NEUTRAL": "neutral", "FEARFUL": "fearful"}
    expected |= {"DISGUSTED": "disgusted", "SURPRISED": "surprised", "EMO_UNKNOWN": "unknown"}
    assert expected == EMOTION_TAGS
    for tag, label in EMOTION_TAGS.items():
        assert parse_tags(f"<|zh|><|{tag}|><|Speech|><|woitn|>好")[1]["emotion"] == label


# -- the tiny checkpoints ----------------------------------------------------------------------------------


def test_random_folders_are_laid_out_like_the_released_ones(funasr_models: Path):
    sv, pf = funasr_models / "SenseVoiceSmall", funasr_models / "paraformer-zh"
    expected_sv = {"config.yaml", "configuration.json", "model.pt", "am.mvn", SENSEVOICE_BPE}
    assert {p.name for p in sv.iterdir()} == expected_sv
    expected_pf = {"config.yaml", "configuration.json", "model.pt", "am.mvn", "tokens.json", "seg_dict"}
    assert {p.name for p in pf.iterdir()} == expected_pf
    metas = json.loads((sv / "configuration.json").read_text(encoding="utf-8"))["file_path_metas"]
    assert metas["tokenizer_conf"] == {"bpemodel": SENSEVOICE_BPE} and metas["frontend_conf"]["cmvn_file"] == "am.mvn"
    tokens = json.loads((pf / "tokens.json").read_text(encoding="utf-8"))
    assert tokens[:3] == ["<blank>", "<s>", "</s>"] and tokens[-1] == "<unk>"
    for folder in (sv, pf):  # small enough to build per test session
        assert sum(p.stat().st_size for p in folder.iterdir()) < 4_000_000


def test_special_tokens_decode_at_the_ids_the_model_code_hard_codes(backends: dict[str, FunAsrBackend]):
    automodel = backends["sensevoice-small"]._model
    net, tokenizer = automodel.model, automodel.kwargs["tokenizer"]
    assert tokenizer.get_vocab_size() == SENSEVOICE_VOCAB == net.ctc.ctc_lo.out_features
    lang_ids = {24884: "zh", 24885: "en", 24888: "yue", 24892: "ja", 24896: "ko", 24992: "nospeech"}
    assert set(net.lid_int_dict) == set(lang_ids)  # the installed FunASR still uses these numbers
    for token_id, lang in lang_ids.items():
        assert tokenizer.decode([token_id]) == f"<|{lang}|>"
    for style, token_id in (("withitn", 25016), ("woitn", 25017)):
        assert net.textnorm_int_dict[token_id] == net.textnorm_dict[style]
        assert tokenizer.decode([token_id]) == f"<|{style}|>"
    for emo, token_id in net.emo_dict.items():
        assert tokenizer.decode([token_id]) == ("<|EMO_UNKNOWN|>" if emo == "unk" else f"<|{emo.upper()}|>")
    speech = next(i for i, t in SENSEVOICE_TAGS.items() if t == "<|Speech|>")
    raw = tokenizer.decode([24884, 25001, speech, 25016, *tokenizer.encode("今天天气真好")])
    assert raw.startswith("<|zh|><|HAPPY|><|Speech|><|withitn|>")  # then the text (after a "▁": a space)
    assert parse_tags(raw)[0] == "今天天气真好"


# -- loading -----------------------------------------------------------------------------------------------


def test_loads_both_models_through_automodel_from_a_local_folder(backends: dict[str, FunAsrBackend], funasr_models):
    sv, pf = backends["sensevoice-small"], backends["paraformer-zh"]
    assert (sv.kind, pf.kind) == ("SenseVoiceSmall", "Paraformer")
    assert sv.folder == funasr_models / "SenseVoiceSmall" and pf.folder == funasr_models / "paraformer-zh"
    assert not sv.embedded and sv.device == "cpu" and "SenseVoiceSmall" in sv.description
    assert FunAsrBackend(_cfg("sensevoice-small")).description == "FunASR sensevoice-small (not loaded)"
    assert sv._model.kwargs["frontend"].dither == 0.0  # features without random noise: the same text every time
    assert set(sv._ids) == set(LANGUAGE_TAGS) | set(EMOTION_TAGS)


def test_load_time_and_auto_choice(funasr_models: Path, backends: dict[str, FunAsrBackend]):
    t0 = time.perf_counter()
    b = FunAsrBackend(_cfg("auto"), str(funasr_models))
    b.load()
    assert time.perf_counter() - t0 < 2.0  # FunASR already imported: the build and the checks
    assert b.kind == "SenseVoiceSmall"  # auto: SenseVoice first


def test_loads_without_configuration_json_and_from_an_explicit_folder(funasr_models: Path, tmp_path: Path):
    folder = shutil.copytree(funasr_models / "paraformer-zh", tmp_path / "my-paraformer")
    (folder / "configuration.json").unlink()
    b = FunAsrBackend(_cfg(str(folder)))
    b.load()
    assert b.kind == "Paraformer" and b.folder == folder


# -- transcription -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sensevoice-small", "paraformer-zh"])
def test_transcribe_returns_an_asr_result(backends: dict[str, FunAsrBackend], speech: np.ndarray, name):
    b = backends[name]
    result, tags = b.transcribe_with_tags(speech)  # (its speed is docs/benchmarks.md's: no timing in tests)
    assert isinstance(result, AsrResult) and isinstance(result.text, str)
    assert result.language in ("zh", "en") and 0.0 <= result.language_probability <= 1.0
    assert 0.0 <= result.no_speech_prob <= 1.0 and math.isfinite(result.avg_logprob) and result.avg_logprob <= 0.0
    assert result.encoder is None and result.words == ()
    assert set(tags) == {"language", "emotion", "event", "emotion_scores"}
    assert b.transcribe(speech) == result  # deterministic: no dither, the same pass
    if name == "paraformer-zh":
        assert result.language == "zh" and result.language_probability == 1.0 and tags["emotion_scores"] is None
    else:
        scores = tags["emotion_scores"]
        assert (
            scores is not None
            and set(scores) == set(EMOTION_TAGS.values())
            and sum(scores.values()) == pytest.approx(1.0)
        )


@pytest.mark.parametrize("name", ["sensevoice-small", "paraformer-zh"])
def test_output_layer_is_read_in_the_same_pass(backends: dict[str, FunAsrBackend], speech: np.ndarray, name):
    b = backends[name]
    _, logits = b._decode(speech, "auto", False)
    assert logits is not None and logits.ndim == 2 and logits.shape[1] == b._model.model.vocab_size
    if name == "sensevoice-small":  # 4 tag positions + one output every 60 ms
        assert abs(logits.shape[0] - (4 + len(speech) / 16000 / 0.06)) <= 2


def test_asked_language_is_reported_with_probability_one(backends: dict[str, FunAsrBackend], speech: np.ndarray):
    for lang in ("zh", "en"):
        result = backends["sensevoice-small"].transcribe(speech, language=lang)
        assert result.language == lang and result.language_probability == 1.0


@pytest.mark.parametrize("name", ["sensevoice-small", "paraformer-zh"])
def test_word_times(backends: dict[str, FunAsrBackend], speech: np.ndarray, name):
    b = backends[name]
    result = b.transcribe(speech, words=True)
    assert result.text == b.transcribe(speech).text  # the same text with or without times
    for w in result.words:
        assert isinstance(w, Word) and w.word and 0.0 <= w.start <= w.end <= len(speech) / 16000 + 0.1
    if name == "paraformer-zh" and result.text and result.dropped_reason is None:
        assert result.words and [w.start for w in result.words] == sorted(w.start for w in result.words)


def test_silence_never_reaches_the_model(backends: dict[str, FunAsrBackend], monkeypatch: pytest.MonkeyPatch):
    b = backends["sensevoice-small"]
    monkeypatch.setattr(b, "_decode", lambda *a: pytest.fail("decoded silence"))
    result, tags = b.transcribe_with_tags(np.zeros(16000, np.float32))
    assert result.text == "" and result.no_speech_prob == 1.0 and result.dropped_reason == "too_quiet"
    assert not result.dropped_as_hallucination and tags["language"] is None


def test_very_short_input_without_the_gate(funasr_models: Path):
    b = FunAsrBackend(_cfg("paraformer-zh", speech_gate=False), str(funasr_models))
    assert isinstance(b.transcribe(np.zeros(80, np.float32)), AsrResult)  # loads on first use; pads to 0.1 s


def _fake_logits(b: FunAsrBackend, lang: str, emotion: str) -> np.ndarray:
    logits = np.zeros((8, SENSEVOICE_VOCAB), np.float32)
    logits[0, b._ids[lang]] = 10.0
    logits[1, b._ids[emotion]] = 10.0
    logits[4:, 0] = 5.0  # CTC blank everywhere after the tags
    return logits


def test_result_from_a_sensevoice_output(backends: dict[str, FunAsrBackend], speech: np.ndarray, monkeypatch):
    b = backends["sensevoice-small"]
    raw = {"text": "<|zh|><|HAPPY|><|Speech|><|withitn|>今天天氣真好。"}  # traditional 氣: converted (OpenCC)
    monkeypatch.setattr(b, "_decode", lambda *a: (raw, _fake_logits(b, "zh", "HAPPY")))
    result, tags = b.transcribe_with_tags(speech)
    assert result.text == "今天天气真好。" and result.language == "zh" and result.dropped_reason is None
    assert result.language_probability > 0.99 and result.no_speech_prob < 0.01 and result.avg_logprob == 0.0
    assert tags["emotion"] == "happy" and tags["event"] == "Speech"
    assert tags["emotion_scores"] is not None and tags["emotion_scores"]["happy"] > 0.99


def test_language_outside_asr_languages_is_reported_as_likely_allowed_one(backends, speech, monkeypatch):
    b = backends["sensevoice-small"]
    raw = {"text": "<|yue|><|NEUTRAL|><|Speech|><|withitn|>唔該晒。"}
    monkeypatch.setattr(b, "_decode", lambda *a: (raw, _fake_logits(b, "yue", "NEUTRAL")))
    result, tags = b.transcribe_with_tags(speech)
    assert tags["language"] == "yue" and result.language in ("zh", "en") and result.language_probability < 0.01
    assert result.text == "唔该晒。" or result.text == "唔該晒。"


def test_nospeech_tag_drops_text(backends: dict[str, FunAsrBackend], speech: np.ndarray, monkeypatch):
    b = backends["sensevoice-small"]
    raw = {"text": "<|nospeech|><|EMO_UNKNOWN|><|Event_UNK|><|woitn|>thank you"}
    monkeypatch.setattr(b, "_decode", lambda *a: (raw, _fake_logits(b, "nospeech", "EMO_UNKNOWN")))
    result = b.transcribe(speech)
    assert result.text == "" and result.dropped_as_hallucination and result.dropped_reason == "no_speech"
    assert result.no_speech_prob > 0.99
    monkeypatch.setattr(b, "_decode", lambda *a: ({"text": "好" * 30}, None))
    looped = b.transcribe(speech)  # the text-shape guards hold as for Whisper
    assert looped.text == "" and looped.dropped_reason == "loop"


def test_one_model_serves_several_threads(backends: dict[str, FunAsrBackend], speech: np.ndarray):
    b = backends["sensevoice-small"]
    expected = b.transcribe(speech)
    results: list[AsrResult] = []
    threads = [threading.Thread(target=lambda: results.append(b.transcribe(speech))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == [expected] * 4


# -- finding a model and errors ----------------------------------------------------------------------------


@pytest.fixture
def no_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Model lookup that cannot see this machine's own hub caches; returns the ModelScope cache it sees."""
    import huggingface_hub

    def no_hf_copy(*a: object, **k: object) -> str:
        raise FileNotFoundError("no copy in the Hugging Face cache")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_hf_copy)
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms-cache"))
    return tmp_path / "ms-cache"


def test_finds_a_copy_in_the_modelscope_cache(funasr_models: Path, tmp_path: Path, no_caches: Path):
    copy = shutil.copytree(funasr_models / "SenseVoiceSmall", no_caches / "models" / "iic" / "SenseVoiceSmall")
    assert find_model("sensevoice-small", tmp_path / "empty-models") == copy
    assert find_model("auto", tmp_path / "empty-models") == copy


def test_missing_model_says_how_to_get_it(tmp_path: Path, no_caches: Path):
    with pytest.raises(FunAsrModelError) as e:
        find_model("sensevoice-small", tmp_path)
    message = str(e.value)
    assert "voiceassist models pull sensevoice-small" in message and str(tmp_path / "SenseVoiceSmall") in message
    assert (
        "huggingface.co/FunAudioLLM/SenseVoiceSmall" in message
        and "modelscope.cn/models/iic/SenseVoiceSmall" in message
    )
    assert SENSEVOICE_BPE in message
    with pytest.raises(FunAsrModelError, match="voiceassist models pull paraformer-zh"):
        find_model("paraformer-zh", tmp_path)
    with pytest.raises(FunAsrModelError, match="pull sensevoice-small' or 'voiceassist models pull paraformer-zh"):
        find_model("auto", tmp_path)
    with pytest.raises(FunAsrModelError, match="unknown FunASR model 'whisper-base'"):
        find_model("whisper-base", tmp_path)


def test_incomplete_folder_names_the_missing_files(funasr_models: Path, tmp_path: Path, no_caches: Path):
    folder = tmp_path / "SenseVoiceSmall"
    folder.mkdir()
    shutil.copy(funasr_models / "SenseVoiceSmall" / "config.yaml", folder)
    with pytest.raises(FunAsrModelError) as e:
        find_model("sensevoice-small", tmp_path)
    assert f"{folder} lacks model.pt, am.mvn, {SENSEVOICE_BPE}" in str(e.value)
    assert "voiceassist models pull sensevoice-small" in str(e.value)
    with pytest.raises(FunAsrModelError, match=f"{folder} is not a FunASR model folder: missing model.pt"):
        find_model(str(folder), tmp_path)
    pf = shutil.copytree(funasr_models / "paraformer-zh", tmp_path / "paraformer-zh")
    (pf / "tokens.json").rename(pf / "tokens.txt")  # older folders: a line per token
    (pf / "tokens.txt").write_text("\n".join(json.loads((pf / "tokens.txt").read_text("utf-8"))) + "\n", "utf-8")
    assert find_model("paraformer-zh", tmp_path) == pf


def test_config_that_does_not_match_the_weights_is_refused(funasr_models: Path, tmp_path: Path):
    """FunASR builds the model from config.yaml and keeps random weights where model.pt does not fit."""
    folder = shutil.copytree(funasr_models / "SenseVoiceSmall", tmp_path / "SenseVoiceSmall")
    config = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))
    config["encoder_conf"]["output_size"] = 32
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    with pytest.raises(FunAsrModelError, match=r"does not match .*config.yaml.*would keep random values"):
        FunAsrBackend(_cfg(str(folder))).load()


def test_checkpoint_missing_tensors_is_refused(funasr_models: Path, tmp_path: Path):
    import torch

    folder = shutil.copytree(funasr_models / "paraformer-zh", tmp_path / "paraformer-zh")
    state = torch.load(folder / "model.pt", weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("predictor.")}, folder / "model.pt")
    with pytest.raises(FunAsrModelError, match="not in the checkpoint"):
        FunAsrBackend(_cfg("paraformer-zh"), str(tmp_path)).load()


def test_other_model_classes_and_missing_fbank_are_refused(funasr_models: Path, tmp_path: Path, monkeypatch):
    folder = shutil.copytree(funasr_models / "paraformer-zh", tmp_path / "not-asr")
    text = (folder / "config.yaml").read_text(encoding="utf-8").replace("model: Paraformer", "model: Emotion2vec")
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(FunAsrModelError, match="holds a Emotion2vec model"):
        FunAsrBackend(_cfg(str(folder))).load()
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n in ("torchaudio", "kaldi_native_fbank") else real(n, *a)
    )
    with pytest.raises(FunAsrModelError, match="pip install kaldi-native-fbank"):
        FunAsrBackend(_cfg("paraformer-zh"), str(funasr_models)).load()
