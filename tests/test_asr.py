"""ASR with the embedded Whisper base model: words, languages, guards against hallucination, and how
models are found. Real model, real audio (espeak-ng), no network."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jiwer
import numpy as np
import pytest

from tests.conftest import SR, espeak, silence
from voiceassist.asr import UnknownBackendError, create_backend
from voiceassist.asr.models import ModelNotFoundError, resolve_whisper_model
from voiceassist.config import AsrConfig

pytestmark = pytest.mark.slow

ENGLISH = [
    "Could you please remind me to call my sister tomorrow morning.",
    "I have been feeling really tired this week.",
    "What is the weather going to be like this weekend?",
]
# espeak-ng's Mandarin is robotic (Debian's 'cmn' voice even reads tone numbers aloud in English); Whisper base
# hears it poorly and differently on each CPU, so these assert script, a loose CER bound and the loop guard.
MANDARIN = ["我最近压力很大，晚上总是失眠。", "我今天很开心。", "谢谢你的帮助。"]
LOOPING = "今天天气很好，我们去公园散步吧。"  # Whisper base loops on this one on some CPUs ("骑骑骑骑...", "騙騙騙...")


def normalise(text: str) -> str:
    return re.sub(r"[^\w\s]", "", text.lower()).strip()


def f32(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 32768.0).astype(np.float32)


def test_english_words(whisper_backend):
    hyps, refs = [], []
    for sentence in ENGLISH:
        r = whisper_backend.transcribe(f32(espeak(sentence)))
        assert r.language == "en"
        hyps.append(normalise(r.text))
        refs.append(normalise(sentence))
    wer = jiwer.wer(refs, hyps)
    assert wer <= 0.2, (wer, hyps)


def zh_backend(whisper_backend):
    from voiceassist.asr.whisper import FasterWhisperBackend

    zh = FasterWhisperBackend(AsrConfig(language="zh", beam_size=5, allow_download=False))
    zh.model, zh.resolved, zh._converter = whisper_backend.model, whisper_backend.resolved, whisper_backend._converter
    return zh


def test_mandarin_in_simplified_script_within_a_cer_bound(whisper_backend):
    """espeak-ng's Mandarin is barely intelligible, and which characters Whisper base hears in it differs
    between instruction sets (CER 0.44 GENERIC, 0.60 AVX2, 0.44 AVX512, measured): assert the script and a
    CER bound that holds on all three and fails if recognition breaks (wrong language, wrong script: ~1.0).
    Mandarin accuracy on real recordings is measured in bench/, not here."""
    import opencc

    zh = zh_backend(whisper_backend)
    to_simplified = opencc.OpenCC("t2s")
    hyps, refs = [], []
    for sentence in MANDARIN:
        r = zh.transcribe(f32(espeak(sentence, voice="cmn-latn-pinyin", rate=90)))
        assert r.language == "zh"
        assert re.search(r"[\u4e00-\u9fff]", r.text), r.text
        assert to_simplified.convert(r.text) == r.text  # nothing left in traditional script
        hyps.append(re.sub(r"[^\u4e00-\u9fff]", "", r.text))
        refs.append(re.sub(r"[^\u4e00-\u9fff]", "", sentence))
    cer = jiwer.cer(refs, hyps)
    assert cer <= 0.75, (cer, hyps)


def test_no_decoding_loop_reaches_the_text(whisper_backend):
    """Whatever this CPU decodes for a sentence Whisper base loops on, no loop is left in the text (the
    exact text differs between instruction sets; tests/test_asr_guard.py checks the recorded ones)."""
    from voiceassist.asr.guard import find_loop, units

    zh = zh_backend(whisper_backend)
    for beam in (1, 5):
        zh.cfg.beam_size = beam
        r = zh.transcribe(f32(espeak(LOOPING, voice="cmn-latn-pinyin", rate=110)))
        assert find_loop(units(r.text), zh.cfg.max_loop_repeats) is None, (beam, r)
        assert r.dropped_as_hallucination == (r.text == "" and r.dropped_reason is not None)


def _noises(seconds: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    return {
        "silence": np.zeros(n, np.float32),
        "white noise": rng.normal(0, 0.05, n).astype(np.float32),
        "hum 50 Hz": (0.1 * np.sin(2 * np.pi * 50 * t)).astype(np.float32),
        "hum 60 Hz": (0.1 * np.sin(2 * np.pi * 60 * t)).astype(np.float32),
        "pink-ish noise": np.cumsum(rng.normal(0, 0.01, n)).astype(np.float32) / 50,
    }


def test_silence_and_noise_never_produce_text(whisper_backend):
    for name, audio in _noises(3.0).items():
        r = whisper_backend.transcribe(audio)
        assert r.text == "" and r.dropped_reason in ("too_quiet", "no_speech"), (name, r)


SHORT_ANSWERS = {"Yes.": "yes", "No.": "no", "Okay.": "okay", "Thank you.": "thank"}


def test_real_short_answers_are_kept(whisper_backend):
    for said, key in SHORT_ANSWERS.items():
        audio = f32(np.concatenate([silence(0.3), espeak(said), silence(0.3)]))
        r = whisper_backend.transcribe(audio)
        assert key in normalise(r.text), (said, r)
    zh = zh_backend(whisper_backend)
    for said in ("好的。", "谢谢你。"):
        r = zh.transcribe(
            f32(np.concatenate([silence(0.3), espeak(said, voice="cmn-latn-pinyin", rate=100), silence(0.3)]))
        )
        assert r.text and not r.dropped_as_hallucination, (said, r)  # espeak's Mandarin: words not asserted


_ISA_PROBE = """
import json, numpy as np
from tests.conftest import SR, espeak
from tests.test_asr import _noises, LOOPING, f32
from voiceassist.asr import create_backend
from voiceassist.asr.guard import find_loop, units
from voiceassist.config import AsrConfig
b = create_backend(AsrConfig(allow_download=False)); b.load()
zh = create_backend(AsrConfig(allow_download=False, language="zh", beam_size=5))
zh.model, zh.resolved, zh._converter = b.model, b.resolved, b._converter
out = {name: b.transcribe(a).text for name, a in _noises(10.0).items()}
out["loop"] = zh.transcribe(f32(espeak(LOOPING, voice="cmn-latn-pinyin", rate=110))).text
pad = np.zeros(4800, np.int16)
out["yes"] = b.transcribe(f32(np.concatenate([pad, espeak("Yes."), pad]))).text
print(json.dumps(out, ensure_ascii=False))
"""


def _cpu_isas() -> list[str]:
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    return [
        i
        for i in ("GENERIC", "AVX2", "AVX512")
        if i == "GENERIC"
        or (i == "AVX2" and " avx2" in flags)
        or (i == "AVX512" and " avx512f" in flags and " avx512bw" in flags)
    ]


@pytest.mark.parametrize("isa", _cpu_isas())
def test_guard_holds_under_each_instruction_set(isa: str):
    """The live model under each CTranslate2 kernel set this CPU can run: 10 s of silence, noise and hum
    give no text, the loop sentence gives no loop, and a real "yes" is kept."""
    import json
    import subprocess
    import sys

    from voiceassist.asr.guard import find_loop, units

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CT2_FORCE_CPU_ISA": isa, "PYTHONPATH": str(root)}
    p = subprocess.run(
        [sys.executable, "-c", _ISA_PROBE], env=env, capture_output=True, text=True, timeout=300, cwd=root
    )
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    for name in _noises(0.1):
        assert out[name] == "", (isa, name, out[name])
    assert find_loop(units(out["loop"]), 4) is None, (isa, out["loop"])
    assert "yes" in normalise(out["yes"]), (isa, out["yes"])


def test_one_encoder_pass_per_utterance_with_language_detection(whisper_backend):
    audio = f32(np.concatenate([espeak("Good evening, everyone."), silence(0.3)]))
    before = whisper_backend.model.encoder_calls
    r = whisper_backend.transcribe(audio)
    assert "evening" in r.text.lower()
    assert whisper_backend.model.encoder_calls - before == 1


def test_embedded_backend_says_so(whisper_backend):
    assert whisper_backend.resolved.source == "embedded"
    assert "embedded" in whisper_backend.description


def test_models_dir_copy_is_preferred_to_embedded(whisper_backend, tmp_path: Path):
    local = tmp_path / "base"
    local.mkdir()
    for f in whisper_backend.resolved.path.iterdir():
        os.symlink(f, local / f.name)
    r = resolve_whisper_model("base", tmp_path, allow_download=False)
    assert r.source == "models_dir" and r.path == local


def test_explicit_folder_and_clear_errors(whisper_backend, tmp_path: Path):
    assert resolve_whisper_model(str(whisper_backend.resolved.path), tmp_path).source == "path"
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    with pytest.raises(ModelNotFoundError, match=r"model\.bin"):
        resolve_whisper_model(str(bad), tmp_path)
    with pytest.raises(ModelNotFoundError) as e:
        resolve_whisper_model("small", tmp_path, allow_download=False, use_embedded=True)
    assert str(tmp_path / "small") in str(e.value)  # says where to put the files
    with pytest.raises(ModelNotFoundError, match="unknown Whisper model"):
        resolve_whisper_model("enormous", tmp_path, allow_download=False)


def test_hub_unreachable_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # what an offline machine looks like to huggingface_hub
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotFoundError) as e:
        resolve_whisper_model("tiny", tmp_path, allow_download=True)
    assert "Hugging Face hub" in str(e.value) and "faster-whisper-tiny" in str(e.value)


def test_unknown_backend_name():
    with pytest.raises(UnknownBackendError, match="faster-whisper"):
        create_backend(AsrConfig(backend="nope"))
